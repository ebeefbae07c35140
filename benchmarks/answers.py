"""Answer quality on BioASQ: does the answer state what its evidence holds?

    python benchmarks/answers.py                          # Task 11B (evaluation only): composed vs lead
    python benchmarks/answers.py --systems composed,lead,model   # also the chat model writing (the old agent)
    python benchmarks/answers.py --tasks 7B,8B,9B,10B --limit 200 # development questions, for choosing settings

Corpus: one index of the gold snippets of every BioASQ question of Tasks 7B-11B (21,998 snippets, grouped per
PMID; built once into <cache_dir>/eval/bioasq-all-snippets), so retrieval must find each question's snippets in
the whole pool. Systems, in the same run over the same retrieval:

* ``composed``: the agent's default answer (evidence composer, no chat model);
* ``model``: the chat model writes the answer over the evidence (``agent.writer=model``; with the embedded
  SmolLM2-135M this is how the agent answered before the composer);
* ``lead``: the first two sentences of the top retrieved snippets.

Metrics: factoid and list questions - the share of answers whose text contains a gold exact answer or a synonym
of it (case-insensitive); all questions - ROUGE-2 F1 against the ideal answer (best over the ideal answers);
yes/no questions - accuracy of the leading verdict against the majority class; citation validity and the
verifier's support rate. Results go to benchmarks/results/answers/<tasks>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bioagent import Agent
from bioagent.agent.evaluation import bioasq_questions, bioasq_snippet_index
from bioagent.agent.generate import leading_option
from bioagent.agent.verify import is_claim_verdict
from bioagent.citations import find_citations, split_sentences
from bioagent.settings import Settings

RESULTS = Path(__file__).parent / "results" / "answers"


def gold_answers(question: dict[str, Any]) -> list[str]:
    """Every gold exact answer and synonym of a factoid or list question, flattened."""
    names: list[str] = []
    for entry in question.get("exact_answer") or []:
        names += [str(x) for x in entry] if isinstance(entry, list) else [str(entry)]
    return [n.strip() for n in names if n.strip()]


def contains_answer(text: str, golds: list[str]) -> bool:
    lowered = text.lower()
    return any(g.lower() in lowered for g in golds)


def rouge2(text: str, ideals: list[str], scorer: Any) -> float:
    return max((scorer.score(ideal, text)["rouge2"].fmeasure for ideal in ideals if ideal), default=0.0)


def lead_answer(question: str, index: Any, k: int) -> str:
    """The first two sentences of the top retrieved snippets, in rank order."""
    sentences: list[str] = []
    for hit in index.search(question, k=k):
        sentences += split_sentences(hit.text)
        if len(sentences) >= 2:
            break
    return " ".join(sentences[:2])


def body(text: str) -> str:
    return text.split("\n\nNote:")[0]


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings.load()
    tasks = args.tasks.split(",")
    questions = bioasq_questions(settings.data_dir, types=None, tasks=tasks)
    if args.limit:
        random.Random(0).shuffle(questions)
        questions = questions[: args.limit]
    index = bioasq_snippet_index(settings, types=None)
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    systems = args.systems.split(",")
    agents = {
        name: Agent.from_settings(
            Settings.load(agent={"writer": "model" if name == "model" else "evidence"}),
            literature_index=index,
            protein_index=None,
            tools=[],
        )
        for name in systems
        if name != "lead"
    }
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for question in tqdm(questions, desc="questions", file=sys.stderr):
        golds, ideals = gold_answers(question), list(question.get("ideal_answer") or [])
        if isinstance(question.get("ideal_answer"), str):
            ideals = [question["ideal_answer"]]
        for name in systems:
            start = time.perf_counter()
            row: dict[str, Any] = {"id": question["id"], "type": question["type"]}
            if name == "lead":
                text = lead_answer(question["body"], index, settings.agent.literature_k)
            else:
                agents[name].reset()
                answer = agents[name].ask(question["body"])
                text = body(answer.text)
                evidence = {e.id for e in answer.evidence}
                cited = [key for mark in find_citations(text, not answer.extractive) for key in mark.keys]
                claims = [
                    v for v in answer.verdicts if is_claim_verdict(v) or v.reason != "no checkable claim"
                ]
                row |= {
                    "citations": len(cited),
                    "valid_citations": sum(key in evidence for key in cited),
                    "sentences": len(claims),
                    "supported": sum(v.supported for v in claims),
                }
            row["seconds"] = round(time.perf_counter() - start, 3)
            row["answer"] = text
            row["rouge2"] = rouge2(text, ideals, scorer)
            if question["type"] in ("factoid", "list"):
                row["contains"] = contains_answer(text, golds)
            if question["type"] == "yesno":
                row["gold"] = str(question.get("exact_answer")).lower()
                row["predicted"] = leading_option(text, ["yes", "no"], anywhere=False)
            rows[name].append(row)
    return {
        "tasks": tasks,
        "questions": len(questions),
        "systems": {n: summarise(r) for n, r in rows.items()},
    } | {"rows": rows}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    contains = [r["contains"] for r in rows if "contains" in r]
    yesno = [r for r in rows if "gold" in r]
    majority = Counter(r["gold"] for r in yesno).most_common(1)[0] if yesno else ("-", 0)
    citations = sum(r.get("citations", 0) for r in rows)
    sentences = sum(r.get("sentences", 0) for r in rows)
    return {
        "factoid_list_questions": len(contains),
        "answer_contained": sum(contains) / len(contains) if contains else None,
        "rouge2_f1": statistics.mean(r["rouge2"] for r in rows) if rows else None,
        "yesno_questions": len(yesno),
        "yesno_verdicts": sum(r["predicted"] is not None for r in yesno),
        "yesno_accuracy": sum(r["predicted"] == r["gold"] for r in yesno) / len(yesno) if yesno else None,
        "yesno_majority": f"{majority[0]} {majority[1] / len(yesno):.3f}" if yesno else None,
        "citation_validity": sum(r.get("valid_citations", 0) for r in rows) / citations
        if citations
        else None,
        "support_rate": sum(r.get("supported", 0) for r in rows) / sentences if sentences else None,
        "latency_p50_s": statistics.median(r["seconds"] for r in rows) if rows else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", default="11B", help="comma-separated BioASQ tasks (11B is evaluation only)"
    )
    parser.add_argument("--systems", default="composed,lead", help="composed, lead, model")
    parser.add_argument("--limit", type=int, default=0, help="a fixed random sample (seed 0) of N questions")
    args = parser.parse_args()
    report = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.tasks.replace(',', '-')}{f'-n{args.limit}' if args.limit else ''}.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"BioASQ {args.tasks}: {report['questions']} questions (details: {out})")
    header = f"{'system':10} {'contained':>10} {'ROUGE-2':>8} {'yes/no acc':>10} {'verdicts':>9} {'cit.valid':>9} {'support':>8} {'p50 s':>6}"
    print(header)
    for name, s in report["systems"].items():

        def show(value: Any, digits: int = 3) -> str:
            return "-" if value is None else f"{value:.{digits}f}"

        print(
            f"{name:10} {show(s['answer_contained']):>10} {show(s['rouge2_f1']):>8} {show(s['yesno_accuracy']):>10} "
            f"{s['yesno_verdicts']:>4}/{s['yesno_questions']:<4} {show(s['citation_validity']):>9} "
            f"{show(s['support_rate']):>8} {show(s['latency_p50_s'], 2):>6}"
        )
    first = next(iter(report["systems"].values()))
    print(
        f"factoid+list questions: {first['factoid_list_questions']}; yes/no majority class: {first['yesno_majority']}"
    )


if __name__ == "__main__":
    main()
