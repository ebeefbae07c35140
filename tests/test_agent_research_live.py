"""Live search inside the research loop (``agent.research: auto`` with ``agent.live: auto``): the model's
pubmed_search and uniprot_search calls grow the local indexes on disk, and what they find becomes evidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from live_server import LiveServer, Reply, serving
from test_agent_live import live_settings
from test_agent_research import FINAL, QUESTION, calls

from bioagent.agent import Agent
from bioagent.index import load_index
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings
from bioagent.types import Answer

PUBMED = ("pubmed_search", {"query": "gemcitabine pancreatic cancer", "k": 3})
UNIPROT = ("uniprot_search", {"query": "(gene:MICU1) AND reviewed:true", "k": 2})
RESEARCH = {"research": "auto", "writer": "model"}
ANY_RELEVANCE = {"min_relevance": 0.0}  # hash-embedder cosines of a record and its query words are near zero


@pytest.fixture()
def server(shared_data: Path) -> Iterator[LiveServer]:
    with serving(shared_data) as running:
        yield running


def ask(settings: Settings, replies: list[Any]) -> tuple[Answer, ScriptedChatModel]:
    llm = ScriptedChatModel(responses=replies, profile={"tool_calling": True})
    return Agent.from_settings(settings, llm=llm, tools=[]).ask(QUESTION), llm


def test_the_model_searches_pubmed_and_uniprot_live_and_cites_what_they_add(
    tmp_path: Path, server: LiveServer
) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url, **RESEARCH, **ANY_RELEVANCE)
    build_agent_indexes(settings)
    literature_before = len(load_index(settings.literature_index_path(), settings))

    answer, llm = ask(settings, [calls(PUBMED, UNIPROT), "Enough evidence.", FINAL])

    assert {"pubmed_search", "uniprot_search"} <= set(llm.bound_tools[0])
    assert "gemcitabine pancreatic cancer" in [r.params["term"] for r in server.received("esearch")]
    assert "(gene:MICU1) AND reviewed:true" in [r.params["query"] for r in server.received("uniprot-search")]
    assert len(load_index(settings.literature_index_path(), settings)) == literature_before + 3
    assert load_index(settings.protein_index_path(), settings).get("Q9BPX6") is not None
    assert [c.name for c in answer.tool_calls] == ["pubmed_search", "uniprot_search"]
    keys = [e.id for e in answer.evidence]
    assert "UniProt:Q9BPX6" in keys and any(key.startswith("PMID:") for key in keys[1:])
    told = [str(m.content) for m in llm.calls[1] if m.type == "tool"]
    assert '"id": "Q9BPX6"' in told[1]  # the entry UniProt returned, not a local search for the syntax
    assert any("PubMed 'gemcitabine pancreatic cancer' added 3" in note for note in answer.notes)


def test_offline_live_search_says_so_and_returns_local_hits(tmp_path: Path, server: LiveServer) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url, **RESEARCH)
    build_agent_indexes(settings)
    server.script("esearch", Reply(delay_s=5.0))  # a stalled NCBI: the reachability check times out

    answer, llm = ask(settings, [calls(PUBMED), "Nothing more to search.", FINAL])

    assert [c.name for c in answer.tool_calls] == ["pubmed_search"] and answer.tool_calls[0].result.ok
    assert any("PubMed is not reachable" in note for note in answer.notes)
    told = [str(m.content) for m in llm.calls[1] if m.type == "tool"]
    assert "not reachable" in told[0] and '"hits": [{' in told[0]  # the local index still answered


def test_live_tools_are_offered_only_in_live_mode(tmp_path: Path, server: LiveServer) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url, live="off", **RESEARCH)
    build_agent_indexes(settings)
    _, llm = ask(settings, ["Nothing to search.", FINAL])
    assert not {"pubmed_search", "uniprot_search"} & set(llm.bound_tools[0])
    assert server.requests == []
