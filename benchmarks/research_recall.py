"""Multi-hop evidence recall: one retrieval pass against the research loop, on BioASQ development questions.

    python benchmarks/research_recall.py [--limit 300] [--seed 0] [--k 5] [--searches 4]

Questions: BioASQ Tasks 7B-10B (development data; Task 11B is never used here) of type list or summary whose
gold documents span at least 3 PMIDs of the corpus. Corpus: the gold snippets of every BioASQ question of
Tasks 7B-11B, one document per PMID (``<cache_dir>/eval/bioasq-all-snippets``, as ``benchmarks/answers.py``
builds it), so the search must find each question's documents among 15k others.

Every arm runs through the agent's real research loop (``ResearchLoop`` with ``literature_search`` and the
``agent.min_relevance`` threshold that decides what becomes evidence); only the "model" is scripted:

* ``one pass, k``: the model searches once with the question, ``k`` hits (the agent's fixed pass);
* ``one pass, searches x k``: once, with as many hits as the loop may collect (the same passage budget);
* ``loop``: the question first, then ``searches - 1`` reformulations written from the retrieved text: the
  question's key words plus the term most shared by the hits so far that the question does not hold (a gene,
  drug or process the first papers name), ``k`` hits each.

Reported: evidence recall of the gold PMIDs (mean over questions) and the evidence items collected. A capable
chat model reformulates better than this script; its figures need such a model and are not measured here.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from tqdm import tqdm

from bioagent.agent.entities import Entities
from bioagent.agent.evaluation import bioasq_questions, bioasq_snippet_index
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.research import Budget, ResearchLoop
from bioagent.agent.terms import QUESTION_WORDS
from bioagent.index.retriever import IndexRetriever
from bioagent.settings import Settings
from bioagent.tools.search import literature_search_tool

RESULTS = Path(__file__).parent / "results" / "research_recall.json"
DEVELOPMENT_TASKS = ("7B", "8B", "9B", "10B")
MIN_GOLD = 3
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}")
_SHOWN_TEXT = re.compile(r'"(?:title|snippet)": "((?:[^"\\]|\\.)*)')
_STOP = frozenset(
    """the and for with that this from were was are have has been which their these those into than also other
    such both between within among after before during however using used use may can not only most more its
    our his her they them there here whose when where while what who how why all any each per via""".split()  # noqa: SIM905
)


def content_words(text: str) -> list[str]:
    """Lower-cased words of ``text`` that carry meaning (no question words, stop words or short words)."""
    words = (w.lower() for w in _WORD.findall(text))
    return list(dict.fromkeys(w for w in words if w not in QUESTION_WORDS and w not in _STOP))


def next_term(question: str, snippets: Sequence[str], used: set[str]) -> str | None:
    """The term most of the retrieved snippets share that the question does not hold; names with capitals or
    digits (genes, drugs, variants) count double."""
    asked = set(content_words(question)) | used
    counts: Counter[str] = Counter()
    for snippet in snippets:
        for word in set(_WORD.findall(snippet)):
            lowered = word.lower()
            if lowered in asked or lowered in QUESTION_WORDS or lowered in _STOP:
                continue
            counts[lowered] += (
                2 if any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]) else 1
            )
    best = [term for term, count in counts.most_common() if count >= 2]
    return best[0] if best else None


class ReformulatingModel(BaseChatModel):
    """A scripted researcher: searches the question, then reformulates from what the hits say."""

    searches: int = 3
    k: int = 10

    @property
    def _llm_type(self) -> str:
        return "reformulating-script"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ReformulatingModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        question = _question(messages)
        asked = [
            m.tool_calls[0]["args"]["query"] for m in messages if isinstance(m, AIMessage) and m.tool_calls
        ]
        if not asked:
            return _reply(_call(question, self.k, 0))
        if len(asked) >= self.searches:
            return _reply(AIMessage(content="Enough searching."))
        seen = "\n".join(str(m.content) for m in messages if isinstance(m, ToolMessage))
        snippets = _SHOWN_TEXT.findall(seen)  # what the model was shown (results are cut at 2,000 characters)
        used = {query.rsplit(" ", 1)[-1].lower() for query in asked[1:]}
        term = next_term(question, snippets, used)
        if term is None:
            return _reply(AIMessage(content="Nothing new to search for."))
        query = " ".join([*content_words(question)[:3], term])
        return _reply(_call(query, self.k, len(asked)))


def _question(messages: list[BaseMessage]) -> str:
    human = next(m for m in messages if isinstance(m, HumanMessage))
    return str(human.content).split("Question: ", 1)[1].split("\n", 1)[0]


def _call(query: str, k: int, number: int) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": "literature_search", "args": {"query": query, "k": k}, "id": f"s{number}"}],
    )


def _reply(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])


def multi_hop_questions(settings: Settings, indexed: Callable[[str], bool]) -> list[tuple[str, set[str]]]:
    """(question, gold PMIDs in the corpus) of the development list and summary questions with >= MIN_GOLD."""
    found = []
    for question in bioasq_questions(settings.data_dir, types=("list", "summary"), tasks=DEVELOPMENT_TASKS):
        gold = {url.rstrip("/").rsplit("/", 1)[-1] for url in question.get("documents", [])}
        gold = {pmid for pmid in gold if indexed(pmid)}
        if len(gold) >= MIN_GOLD:
            found.append((question["body"], gold))
    return found


def evidence_recall(loop: ResearchLoop, question: str, gold: set[str]) -> tuple[float, int]:
    """Share of ``gold`` among the PMIDs the loop turned into evidence, and how many items it collected."""
    evidence = EvidenceSet()
    loop.run(question, Entities(), evidence, lambda calls: "it")
    pmids = {item.id.split(":", 1)[1] for item in evidence.items}
    return len(pmids & gold) / len(gold), len(evidence)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=300, help="Questions sampled (0: all).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=5, help="Hits per search.")
    parser.add_argument(
        "--searches",
        type=int,
        default=4,
        help="Searches the loop may make (searches x k <= 20, the tool's most).",
    )
    args = parser.parse_args()
    settings = Settings.load()
    index = bioasq_snippet_index(settings, types=None)
    questions = multi_hop_questions(settings, lambda pmid: index.get(pmid) is not None)
    total = len(questions)
    if args.limit and total > args.limit:
        questions = random.Random(args.seed).sample(questions, args.limit)
    search = literature_search_tool([IndexRetriever(index)], default_k=args.k)
    budget = Budget(steps=args.searches + 1, tool_calls=args.searches, tokens=10**9, seconds=600.0)
    threshold = settings.agent.min_relevance
    wide = args.searches * args.k
    arms = {
        f"one pass, k={args.k}": ReformulatingModel(searches=1, k=args.k),
        f"one pass, k={wide}": ReformulatingModel(searches=1, k=wide),
        f"loop, {args.searches} searches x k={args.k}": ReformulatingModel(searches=args.searches, k=args.k),
    }
    rows = {}
    for name, model in arms.items():
        loop = ResearchLoop(model, [search], budget, threshold)
        start = time.perf_counter()
        scores = [evidence_recall(loop, q, gold) for q, gold in tqdm(questions, desc=name)]
        rows[name] = {
            "evidence_recall": round(statistics.mean(s[0] for s in scores), 4),
            "evidence_items": round(statistics.mean(s[1] for s in scores), 2),
            "seconds_per_question": round((time.perf_counter() - start) / len(questions), 3),
        }
    print(
        f"{len(questions)} of {total} BioASQ 7B-10B list/summary questions with >= {MIN_GOLD} gold PMIDs "
        f"in the corpus; evidence threshold agent.min_relevance = {threshold}"
    )
    print(f"{'arm':34} {'evidence recall':>16} {'evidence items':>15} {'s/question':>11}")
    for name, row in rows.items():
        print(
            f"{name:34} {row['evidence_recall']:16.4f} {row['evidence_items']:15.2f} {row['seconds_per_question']:11.3f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"questions": len(questions), "of": total, "args": vars(args), "arms": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
