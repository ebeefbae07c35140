"""The fixed question set (benchmarks/answer_questions.yaml) answered end to end with the real models: the
embedded chat model, all-MiniLM-L6-v2, the real tools, and small indexes of real UniProt entries and PubMedQA
abstracts from ../shared/data. The answers no longer depend on the chat model, so each must state its fact."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from bioagent.agent import Agent
from bioagent.api import read_inputs
from bioagent.demo import protein_sources
from bioagent.index import build_index
from bioagent.ingest import read_documents
from bioagent.settings import Settings
from bioagent.types import Document

pytestmark = pytest.mark.slow
QUESTIONS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[1] / "benchmarks/answer_questions.yaml").read_text(encoding="utf-8")
)
DISTRACTORS = 300


def _needs(prefix: str = "") -> set[str]:
    wanted = {n for q in QUESTIONS for n in q.get("needs", [])}
    return {n.removeprefix(prefix) for n in wanted if n.startswith(prefix)} if prefix else wanted


def _proteins(data: Path) -> list[Document]:
    """The entries the questions need plus a fixed random sample of others (so retrieval has to choose)."""
    sources = [(data / s.relative_path, s.format, s.columns) for s in protein_sources()]
    documents = list({d.id: d for d in reversed(read_inputs(sources, False).documents)}.values())[::-1]
    needed = _needs() - _needs("PMID:")
    picked = [d for d in documents if d.id in needed]
    others = [d for d in documents if d.id not in needed]
    return picked + random.Random(0).sample(others, DISTRACTORS)


def _literature(data: Path) -> list[Document]:
    """The abstracts the questions need plus a fixed random sample of other non-test PQA-L abstracts, read as
    the demo reads them (section labels kept, conclusions removed)."""
    test = set(json.loads((data / "pubmedqa/test_ground_truth.json").read_text(encoding="utf-8")))
    documents = read_documents(data / "pubmedqa/ori_pqal.json", "pubmedqa").documents
    needed = _needs("PMID:")
    pool = [d for d in documents if d.id not in test and d.id not in needed]
    return [d for d in documents if d.id in needed] + random.Random(0).sample(pool, 150)


@pytest.fixture(scope="module")
def agent(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Agent:
    root = tmp_path_factory.mktemp("real")
    settings = Settings.load(
        cache_dir=root / "cache",
        index_dir=root / "indexes",
        data_dir=shared_data,
        embedding={"backend": "auto"},  # the default, which conftest pins to torch for other tests
    )
    literature = build_index(_literature(shared_data), settings.literature_index_path(), settings)
    proteins = build_index(_proteins(shared_data), settings.protein_index_path(), settings)
    return Agent.from_settings(settings, literature_index=literature, protein_index=proteins)


@pytest.mark.parametrize("case", QUESTIONS, ids=[q["question"][:48] for q in QUESTIONS])
def test_the_answer_states_the_expected_fact(agent: Agent, case: dict[str, Any]) -> None:
    agent.reset()
    answer = agent.ask(case["question"])
    body = answer.text.split("\n\nNote:")[0]
    missing = [text for text in case["expect"] if text.lower() not in body.lower()]
    present = [text for text in case.get("forbid", []) if text.lower() in body.lower()]
    assert not missing and not present, f"missing {missing}, forbidden {present} in:\n{answer.text}"
    evidence = {e.id for e in answer.evidence}
    assert answer.citations and all(c.id in evidence for c in answer.citations)
    claims = [v for v in answer.verdicts if v.citations]
    assert claims and all(v.supported for v in claims)
