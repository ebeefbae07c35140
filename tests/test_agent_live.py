"""The agent's live mode (``agent.live: auto``) against the loopback PubMed/UniProt server: weak local evidence
triggers a live search, the records are added to the index on disk, cited, and found locally the next time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from live_server import LiveServer, Reply, serving

from bioagent.agent import Agent
from bioagent.agent.live import pubmed_query, uniprot_query
from bioagent.index import load_index
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings

QUESTION = "What is the role of gemcitabine in pancreatic cancer?"
# Hash-embedder cosines are lower than a real model's (as in test_agent_graph.py).
HASH_AGENT = {"min_relevance": 0.25, "support_cosine": 0.3, "writer": "evidence", "verdicts": "off"}


@pytest.fixture()
def server(shared_data: Path) -> Iterator[LiveServer]:
    with serving(shared_data) as running:
        yield running


def live_settings(root: Path, ncbi_url: str, uniprot_url: str, **agent: Any) -> Settings:
    return Settings.load(
        embedding={"backend": "hash"},
        cache_dir=root / "cache",
        index_dir=root / "indexes",
        agent={**HASH_AGENT, "live": "auto", "live_max_records": 3, **agent},
        ncbi={"base_url": ncbi_url, "timeout_s": 1, "max_retries": 0},
        uniprot={"base_url": uniprot_url, "timeout_s": 1, "max_retries": 0},
    )


def make_agent(settings: Settings) -> Agent:
    return Agent.from_settings(settings, llm=ScriptedChatModel(responses=["unused"], cycle=True), tools=[])


def test_live_queries_keep_names_and_content_words() -> None:
    assert pubmed_query(QUESTION, []) == "gemcitabine pancreatic cancer"
    assert pubmed_query("Which kinase does imatinib inhibit?", ["imatinib"]) == "imatinib kinase inhibit"
    assert len(pubmed_query("a b " + " ".join(f"word{i}" for i in range(20)), []).split()) == 6
    assert uniprot_query(["MICU1", "GAL4", "MICU1"]) == "(gene:MICU1 OR gene:GAL4) AND reviewed:true"
    assert uniprot_query([]) == ""


def test_weak_evidence_is_searched_live_added_cited_and_found_locally_next_time(
    tmp_path: Path, server: LiveServer
) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url)
    build_agent_indexes(settings)
    before = len(load_index(settings.literature_index_path(), settings))

    answer = make_agent(settings).ask(QUESTION)

    assert [r.params["term"] for r in server.received("esearch")][-1] == "gemcitabine pancreatic cancer"
    added = len(load_index(settings.literature_index_path(), settings)) - before
    assert added == 3  # live_max_records, persisted in the index folder
    assert any("Live search: PubMed 'gemcitabine pancreatic cancer' added 3" in note for note in answer.notes)
    cited = [c.id for c in answer.citations]
    assert cited and all(c.startswith("PMID:") for c in cited)
    assert "gemcitabine" in answer.text.lower()

    searches = len(server.received("esearch"))
    again = make_agent(settings).ask(QUESTION)  # a new agent, so only the index on disk remembers
    assert len(server.received("esearch")) == searches  # local evidence is strong now: no live search
    assert not any(note.startswith("Live search") for note in again.notes)
    assert {c.id for c in again.citations} & set(cited)


def test_offline_is_one_note_within_seconds_and_not_retried_at_once(
    tmp_path: Path, server: LiveServer
) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url)
    build_agent_indexes(settings)
    server.script("esearch", Reply(delay_s=5.0))  # a stalled NCBI: the reachability check times out
    agent = make_agent(settings)

    start = time.monotonic()
    answer = agent.ask(QUESTION)
    assert time.monotonic() - start < 4.5
    live_notes = [note for note in answer.notes if note.startswith("Live search")]
    assert live_notes and "PubMed is not reachable" in live_notes[0] and "timed out" in live_notes[0]

    requests = len(server.received("esearch"))
    second = agent.ask(QUESTION)
    assert len(server.received("esearch")) == requests  # not asked again while it was just unreachable
    assert any("was not reachable a moment ago" in note for note in second.notes)


def test_live_off_never_touches_the_network(tmp_path: Path, server: LiveServer) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url, live="off")
    build_agent_indexes(settings)
    make_agent(settings).ask(QUESTION)
    assert server.requests == []


def test_no_local_index_is_built_from_live_results(tmp_path: Path, server: LiveServer) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url)
    answer = make_agent(settings).ask(QUESTION)
    assert settings.literature_index_path().joinpath("manifest.json").is_file()
    assert answer.citations and all(c.id.startswith("PMID:") for c in answer.citations)


def test_a_gene_missing_locally_is_fetched_from_uniprot_and_answered(
    tmp_path: Path, server: LiveServer
) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url)
    build_agent_indexes(settings)
    answer = make_agent(settings).ask("What is the function of MICU1?")
    queries = [r.params["query"] for r in server.received("uniprot-search")]
    assert "(gene:MICU1) AND reviewed:true" in queries
    assert load_index(settings.protein_index_path(), settings).get("Q9BPX6") is not None
    assert "UniProt:Q9BPX6" in [c.id for c in answer.citations]
    assert "calcium" in answer.text.lower()


def test_the_same_query_is_not_sent_twice_by_one_agent(tmp_path: Path, server: LiveServer) -> None:
    settings = live_settings(tmp_path, server.ncbi_url, server.uniprot_url)
    build_agent_indexes(settings)
    agent = make_agent(settings)
    agent.ask("What is the function of MICU1?")  # PubMed finds nothing for 'MICU1'; UniProt adds the entry
    searches = len(server.received("esearch"))
    agent.ask("What is the function of MICU1?")
    assert len(server.received("esearch")) == searches
