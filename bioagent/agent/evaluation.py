"""Question-answering evaluation on PubMedQA, BioASQ yes/no and their MIRAGE versions (``bioagent eval qa``).

Datasets (read from ``settings.data_dir``; see each folder's SOURCE.md):

* ``pubmedqa`` - the 500 PQA-L test questions (labels from ``test_ground_truth.json``, evaluation only),
  answered yes/no/maybe with retrieval from the literature index (the demo index holds the PQA-L abstracts,
  conclusions removed, plus SciFact);
* ``mirage-pubmedqa`` - the same questions as MIRAGE's PubMedQA* (``mirage/benchmark.json``), options A/B/C;
* ``bioasq`` - the 618 BioASQ yes/no questions (Tasks 7B-11B), with retrieval from an index of the gold snippets
  of all 618 (grouped per PMID, built once into ``<cache_dir>/eval/bioasq-snippets``), so retrieval must pick
  each question's snippets out of the whole pool;
* ``mirage-bioasq`` - MIRAGE's BioASQ-Y/N (the same 618) with retrieval from the configured literature index
  only (MIRAGE's question-only setting; the demo index lacks most BioASQ documents, so expect abstentions).

``--limit N`` evaluates a fixed random sample (seed 0) of N questions, the same for every model.

Metrics: accuracy (abstentions count as wrong), citation validity (share of citations in the final answers that
name evidence of the same run), support rate (share of the model's claim sentences the verifier accepted),
abstention rate, extractive-fallback rate, gold-document recall (a gold PMID among the evidence), latency.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel

from bioagent.agent.generate import closed_book_messages, leading_option, stream_reply
from bioagent.agent.verify import is_claim_verdict
from bioagent.citations import find_citations
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.types import Answer, Document

DATASETS = ("pubmedqa", "bioasq", "mirage-pubmedqa", "mirage-bioasq")


@dataclass
class QAItem:
    id: str
    question: str
    options: list[str]
    gold: str
    gold_pmids: list[str] = field(default_factory=list)


@dataclass
class QARecord:
    id: str
    gold: str
    predicted: str | None
    correct: bool
    abstained: bool
    extractive: bool
    citations: int
    valid_citations: int
    claims: int
    supported_claims: int
    gold_in_evidence: bool | None
    seconds: float
    answer: str


class Answerer(Protocol):
    def ask(self, question: str, options: Sequence[str] | None = None) -> Answer: ...


def load_items(dataset: str, data_dir: Path, limit: int | None = None, seed: int | None = 0) -> list[QAItem]:
    """The dataset's questions, shuffled with ``seed`` (None keeps file order), the first ``limit`` of them.

    The files are not in random order (PubMedQA's test labels are sorted: its first 276 are all 'yes'), so a
    small ``limit`` needs the shuffle to be a fair sample; the fixed seed keeps runs comparable."""
    loaders: dict[str, Callable[[Path], list[QAItem]]] = {
        "pubmedqa": _pubmedqa,
        "mirage-pubmedqa": lambda d: _mirage(d, "pubmedqa"),
        "bioasq": _bioasq,
        "mirage-bioasq": lambda d: _mirage(d, "bioasq"),
    }
    if dataset not in loaders:
        raise BioagentError(f"unknown dataset '{dataset}'; choose one of {', '.join(DATASETS)}")
    try:
        items = loaders[dataset](data_dir)
    except (OSError, KeyError, ValueError) as exc:
        raise BioagentError(f"cannot read the {dataset} data under {data_dir} ({exc}); set data_dir") from exc
    if seed is not None:
        random.Random(seed).shuffle(items)
    return items[:limit] if limit else items


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _pubmedqa(data_dir: Path) -> list[QAItem]:
    records = _read_json(data_dir / "pubmedqa/ori_pqal.json")
    truth = _read_json(data_dir / "pubmedqa/test_ground_truth.json")
    return [
        QAItem(pmid, records[pmid]["QUESTION"], ["yes", "no", "maybe"], label, [pmid])
        for pmid, label in truth.items()
    ]


def _mirage(data_dir: Path, part: str) -> list[QAItem]:
    entries = _read_json(data_dir / "mirage/benchmark.json")[part]
    items = []
    for key, entry in entries.items():
        options = [str(v).lower() for v in entry["options"].values()]
        gold = str(entry["options"][entry["answer"]]).lower()
        items.append(QAItem(key, entry["question"], options, gold, [str(p) for p in entry.get("PMID", [])]))
    return items


def bioasq_questions(
    data_dir: Path, types: Sequence[str] | None = ("yesno",), tasks: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """BioASQ gold questions of the given types (None: all) from the given tasks ('7B' ... '11B'; None: all),
    each with its task as ``question["task"]``."""
    questions = []
    for path in sorted((data_dir / "bioasq_golden_enriched").glob("Task*BGoldenEnriched/*_golden.json")):
        task = path.parent.name.removeprefix("Task").removesuffix("GoldenEnriched")
        if tasks is not None and task not in tasks:
            continue
        for question in _read_json(path)["questions"]:
            if types is None or question.get("type") in types:
                questions.append({**question, "task": task})
    return questions


def _pmid(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _bioasq(data_dir: Path) -> list[QAItem]:
    return [
        QAItem(
            q["id"],
            q["body"],
            ["yes", "no"],
            str(q["exact_answer"]).lower(),
            [_pmid(d) for d in q["documents"]],
        )
        for q in bioasq_questions(data_dir)
    ]


def bioasq_snippet_documents(data_dir: Path, types: Sequence[str] | None = ("yesno",)) -> list[Document]:
    """The gold snippets of every BioASQ question of ``types`` (None: all types), one Document per PMID
    (its snippets joined)."""
    texts: dict[str, list[str]] = {}
    for question in bioasq_questions(data_dir, types):
        for snippet in question.get("snippets", []):
            pieces = texts.setdefault(_pmid(snippet["document"]), [])
            if snippet["text"] not in pieces:
                pieces.append(snippet["text"])
    return [
        Document(id=pmid, text=" ".join(pieces), source="pubmed", metadata={"pmid": pmid})
        for pmid, pieces in texts.items()
    ]


def bioasq_snippet_index(settings: Settings, types: Sequence[str] | None = ("yesno",)) -> Any:
    """The index of the BioASQ gold snippets of ``types`` (None: all 21,998 snippets of Tasks 7B-11B), built
    once with the configured embedder into the cache folder."""
    from bioagent.errors import IndexLoadError
    from bioagent.index import build_index, load_index

    out = settings.cache_dir / "eval" / ("bioasq-snippets" if types == ("yesno",) else "bioasq-all-snippets")
    try:
        return load_index(out, settings)
    except IndexLoadError:
        return build_index(bioasq_snippet_documents(settings.data_dir, types), out, settings, progress=True)


class ClosedBook:
    """The same chat model without retrieval or tools (``--no-retrieval``), for the RAG lift."""

    def __init__(self, llm: BaseChatModel, model_name: str = "") -> None:
        self.llm = llm
        self.model_name = model_name

    def ask(self, question: str, options: Sequence[str] | None = None) -> Answer:
        start = time.perf_counter()
        reply = stream_reply(self.llm, closed_book_messages(question, options), lambda _: None)
        return Answer(
            question=question,
            text=reply.strip(),
            model=self.model_name,
            timings={"total": round(time.perf_counter() - start, 4)},
        )


def evaluate(
    answerer: Answerer, items: Iterable[QAItem], on_record: Callable[[QARecord], None] | None = None
) -> list[QARecord]:
    """Ask every item; conversation memory is cleared between questions."""
    records = []
    for item in items:
        if hasattr(answerer, "reset"):
            answerer.reset()
        start = time.perf_counter()
        answer = answerer.ask(item.question, item.options)
        record = score(item, answer, time.perf_counter() - start)
        records.append(record)
        if on_record:
            on_record(record)
    return records


def score(item: QAItem, answer: Answer, seconds: float) -> QARecord:
    body = answer.text.split("\n\nNote:")[0]
    predicted = None if answer.abstained else leading_option(body, item.options)
    evidence_ids = {e.id for e in answer.evidence}
    cited = [key for mark in find_citations(body, numbers=not answer.extractive) for key in mark.keys]
    claims = [v for v in answer.verdicts if is_claim_verdict(v)]
    gold_keys = {f"PMID:{p}" for p in item.gold_pmids}
    return QARecord(
        id=item.id,
        gold=item.gold,
        predicted=predicted,
        correct=predicted == item.gold,
        abstained=answer.abstained,
        extractive=answer.extractive,
        citations=len(cited),
        valid_citations=sum(key in evidence_ids for key in cited),
        claims=len(claims),
        supported_claims=sum(v.supported for v in claims),
        gold_in_evidence=bool(gold_keys & evidence_ids) if gold_keys and answer.evidence else None,
        seconds=round(seconds, 3),
        answer=body[:500],
    )


def qa_metrics(records: list[QARecord]) -> dict[str, Any]:
    """The headline metrics over ``records`` (None where a metric has nothing to count)."""
    n = len(records)
    if not n:
        return {"questions": 0}
    citations = sum(r.citations for r in records)
    claims = sum(r.claims for r in records)
    answered = [r for r in records if not r.abstained]
    recall = [r.gold_in_evidence for r in records if r.gold_in_evidence is not None]
    latencies = sorted(r.seconds for r in records)
    return {
        "questions": n,
        "accuracy": sum(r.correct for r in records) / n,
        "accuracy_answered": sum(r.correct for r in answered) / len(answered) if answered else None,
        "citation_validity": sum(r.valid_citations for r in records) / citations if citations else None,
        "citations_per_answer": citations / n,
        "support_rate": sum(r.supported_claims for r in records) / claims if claims else None,
        "abstention_rate": (n - len(answered)) / n,
        "extractive_rate": sum(r.extractive for r in records) / n,
        "unparsed_rate": sum(r.predicted is None and not r.abstained for r in records) / n,
        "gold_evidence_recall": sum(recall) / len(recall) if recall else None,
        "latency_p50_s": statistics.median(latencies),
        "latency_p95_s": latencies[min(n - 1, round(0.95 * (n - 1)))],
    }


def write_records(records: list[QARecord], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(asdict(record)) + "\n")
