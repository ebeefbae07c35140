"""literature_search / protein_search over Retrievers, metadata filters, and IndexRetriever on a real index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from agent_corpus import corpus_documents
from pydantic import ValidationError

from bioagent.index import build_index
from bioagent.index.retriever import IndexRetriever, matches
from bioagent.settings import Settings
from bioagent.tools.search import literature_search_tool, protein_search_tool, search_tools
from bioagent.types import Hit


class ListRetriever:
    """A Retriever over fixed hits: every hit matches, filtered on metadata; relevance = the hit's score."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, query: str, k: int, **filters: Any) -> list[Hit]:
        return [hit for hit in self.hits if matches(hit, filters)][:k]

    def relevance(self, query: str, hits: Sequence[Hit]) -> list[float]:
        return [hit.score for hit in hits]


def _hit(doc_id: str, score: float, source: str = "pubmed", **metadata: Any) -> Hit:
    return Hit(
        id=doc_id,
        score=score,
        rank=1,
        title=f"Title {doc_id}",
        text="word " * 100,
        source=source,
        metadata=metadata,
    )


PAPERS = [
    _hit("1", 0.9, year=2001),
    _hit("2", 0.8, year=2015),
    _hit("3", 0.7, "scifact"),
    _hit("4", 0.6, year=2020),
]
PROTEINS = [
    _hit("P04637", 0.9, "uniprot", organism="Homo sapiens", reviewed=True),
    _hit("Q9XYZ1", 0.8, "uniprot", organism="Mus musculus", reviewed=True),
    _hit("A0A000", 0.7, "uniprot", organism="Homo sapiens", reviewed=False),
]


def test_literature_search_filters_on_year_and_source_and_returns_json_hits() -> None:
    tool = literature_search_tool([ListRetriever(PAPERS)])
    result = tool.invoke({"query": "p53", "k": 5, "year_from": 2010})
    assert [h["id"] for h in result["hits"]] == ["2", "4"]  # a hit without a year fails a year filter
    assert set(result["hits"][0]) == {"id", "title", "snippet", "score", "source"}
    assert result["hits"][0]["snippet"].endswith("...") and len(result["hits"][0]["snippet"]) <= 304
    assert [h["id"] for h in tool.invoke({"query": "p53", "year_to": 2015})["hits"]] == ["1", "2"]
    assert [h["id"] for h in tool.invoke({"query": "p53", "source": "scifact"})["hits"]] == ["3"]


def test_hits_from_several_retrievers_are_merged_by_relevance() -> None:
    tool = literature_search_tool([ListRetriever(PAPERS[2:]), ListRetriever(PAPERS[:2])])
    assert [h["id"] for h in tool.invoke({"query": "p53", "k": 3})["hits"]] == ["1", "2", "3"]


def test_protein_search_filters_on_organism_and_review_status() -> None:
    tool = protein_search_tool(ListRetriever(PROTEINS))
    found = tool.invoke({"query": "tumour suppressor", "organism": "sapiens", "reviewed": True})
    assert [h["id"] for h in found["hits"]] == ["P04637"]
    assert [h["id"] for h in tool.invoke({"query": "p53", "reviewed": False})["hits"]] == ["A0A000"]


def test_the_schemas_refuse_unknown_arguments_and_bad_values() -> None:
    tool = protein_search_tool(ListRetriever(PROTEINS))
    with pytest.raises(ValidationError, match="Extra inputs"):
        tool.invoke({"query": "p53", "species": "human"})
    with pytest.raises(ValidationError):
        literature_search_tool([]).invoke({"query": "p53", "k": 0})


def test_search_tools_exist_only_for_the_indexes_there_are() -> None:
    assert [t.name for t in search_tools([], None)] == []
    assert [t.name for t in search_tools([ListRetriever(PAPERS)], ListRetriever(PROTEINS))] == [
        "literature_search",
        "protein_search",
    ]


def test_index_retriever_filters_a_real_index_and_scores_like_the_agent(tmp_path: Path) -> None:
    settings = Settings.load(embedding={"backend": "hash"}, cache_dir=tmp_path / "cache")
    index = build_index(corpus_documents("proteins"), tmp_path / "proteins", settings)
    retriever = IndexRetriever(index)
    hits = retriever.search("tumor suppressor", k=2)
    assert len(hits) == 2
    human = retriever.search("tumor suppressor", k=2, organism="Homo sapiens", reviewed=True)
    assert human and all(h.metadata["organism"] == "Homo sapiens" for h in human)
    assert [h.rank for h in human] == list(range(1, len(human) + 1))
    assert retriever.search("tumor suppressor", k=2, organism="Danio rerio") == []
    stored = retriever.relevance("tumor suppressor", hits)  # vectors read back from the index
    stranger = [h.model_copy(update={"id": "not-a-chunk"}) for h in hits]
    encoded = retriever.relevance("tumor suppressor", stranger)  # texts re-encoded
    assert stored == pytest.approx(encoded, abs=1e-5) and retriever.relevance("x", []) == []
