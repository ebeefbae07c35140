"""Overhead of the research loop's machinery per step, with a zero-cost scripted model and instant tools.

    python benchmarks/research_overhead.py [--steps 6] [--repeats 20]

Each step the model calls literature_search (over an in-memory retriever of 5 hits) and a prediction tool that
returns one fact at once, so what is timed is the loop itself: binding tools, the LangChain model call,
argument checks, tool invocation, evidence bookkeeping and the messages fed back. Target: under 50 ms a step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.research import Budget, ResearchLoop
from bioagent.llm import ScriptedChatModel
from bioagent.tools.search import literature_search_tool
from bioagent.types import Hit


class InstantRetriever:
    """Five fixed PubMed hits, relevance 0.9 down to 0.5."""

    def __init__(self) -> None:
        text = "Aspirin irreversibly inhibits cyclooxygenase and lowers colorectal cancer risk. " * 4
        self.hits = [
            Hit(id=str(1000 + i), score=1.0, rank=i + 1, title=f"Paper {i}", text=text, source="pubmed")
            for i in range(5)
        ]

    def search(self, query: str, k: int, **filters: Any) -> list[Hit]:
        return self.hits[:k]

    def relevance(self, query: str, hits: Sequence[Hit]) -> list[float]:
        return [0.9 - 0.1 * i for i in range(len(hits))]


class SmilesInput(BaseModel):
    smiles: str


def _predict(smiles: str) -> dict[str, Any]:
    fact = {"key": "logp", "label": "logP", "value": 1.2, "statement": "{subject} has a logP of 1.2."}
    return {"tool": "drug_properties", "model": "instant", "facts": [fact]}


def _script(steps: int) -> list[AIMessage]:
    replies = [
        AIMessage(
            content=f"Step {step}: looking further.",
            tool_calls=[
                {"name": "literature_search", "args": {"query": f"aspirin topic {step}"}, "id": f"a{step}"},
                {"name": "drug_properties", "args": {"smiles": "C" * (step + 1)}, "id": f"b{step}"},
            ],
        )
        for step in range(steps)
    ]
    return [*replies, AIMessage(content="Enough evidence.")]


def run_once(steps: int) -> float:
    """Seconds per model step of one loop of ``steps`` tool-calling steps plus the final one."""
    tools = [
        literature_search_tool([InstantRetriever()]),
        StructuredTool.from_function(
            _predict, name="drug_properties", description="x", args_schema=SmilesInput
        ),
    ]
    llm = ScriptedChatModel(responses=_script(steps), profile={"tool_calling": True})
    loop = ResearchLoop(llm, tools, Budget(steps + 1, 2 * steps, 10**9, 600.0), 0.3)
    start = time.perf_counter()
    done = loop.run(
        "Does aspirin prevent colorectal cancer?", Entities(), EvidenceSet(), lambda calls: "aspirin"
    )
    seconds = time.perf_counter() - start
    assert done.steps == steps + 1 and len(done.calls) == 2 * steps and done.stopped_by is None
    return seconds / done.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    run_once(args.steps)  # warm-up: imports, prompt loading, pydantic schema builds
    per_step = [run_once(args.steps) for _ in range(args.repeats)]
    print(
        f"research loop overhead: {statistics.median(per_step) * 1000:.1f} ms per step (median of {args.repeats} "
        f"loops of {args.steps} tool-calling steps + 1 final step, 2 tool calls a step; "
        f"max {max(per_step) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
