"""literature_search and protein_search: the indexes as tools a chat model can call, over Retrievers.

Each returns JSON-serialisable hits (id, title, snippet, score, source) as its content and the hits themselves
with their relevance as the artifact (LangChain's ``content_and_artifact``), so that the agent can add them to
its evidence. They need an index, so they are not in the prediction-tool registry (``bioagent tool``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from bioagent.index.retriever import Retriever
from bioagent.types import Hit

SNIPPET_CHARS = 300
ScoredHits = list[tuple[Hit, float]]

LITERATURE_DESCRIPTION = """Search the local literature index (PubMed abstracts and other articles) for
passages about a topic. Call it when the question needs published findings, mechanisms or clinical evidence,
and again with a narrower query (other words, a gene or drug name) when the first hits are off topic. Optional
filters: year_from / year_to (publication year; articles without a year are then left out) and source
(e.g. 'pubmed'). Returns up to k hits, best first: id (a PMID for PubMed), title, snippet, score (cosine
similarity to the query, 0-1; below ~0.35 a passage is rarely on topic) and source."""

PROTEIN_DESCRIPTION = """Search the local UniProt index for protein entries (function, location, disease,
gene names). Call it to identify a protein named loosely ('the p53 tumour suppressor'), to find proteins with
a function, or to get the accession needed for other tools. Optional filters: organism (e.g. 'Homo sapiens';
part of the name is enough) and reviewed (true for Swiss-Prot entries only). Returns up to k hits, best
first: id (UniProt accession), title, snippet, score (cosine similarity to the query, 0-1) and source."""


class LiteratureSearchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=2, description="What to search for, in words (not a whole question).")
    k: int = Field(default=5, ge=1, le=20, description="How many hits to return.")
    year_from: int | None = Field(default=None, ge=1800, le=2100, description="Earliest publication year.")
    year_to: int | None = Field(default=None, ge=1800, le=2100, description="Latest publication year.")
    source: str | None = Field(default=None, description="Only this source, e.g. 'pubmed'.")


class ProteinSearchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=2, description="Protein, gene or function to search for.")
    k: int = Field(default=5, ge=1, le=20, description="How many hits to return.")
    organism: str | None = Field(
        default=None, description="Only entries of this organism, e.g. 'Homo sapiens'."
    )
    reviewed: bool | None = Field(default=None, description="true: reviewed (Swiss-Prot) entries only.")


def search_retrievers(
    retrievers: Sequence[Retriever], query: str, k: int, **filters: Any
) -> tuple[dict[str, Any], ScoredHits]:
    """The ``k`` most relevant hits over all ``retrievers`` (ranked by relevance, which they share), as the
    tools' JSON result and as (hit, relevance) pairs."""
    scored: ScoredHits = []
    for retriever in retrievers:
        hits = retriever.search(query, k, **filters)
        scored += zip(hits, retriever.relevance(query, hits))
    ranked = sorted(scored, key=lambda pair: -pair[1])[:k]
    data, ranked = scored_hits([hit for hit, _ in ranked], [relevance for _, relevance in ranked])
    return {"query": query, **data}, ranked


def scored_hits(hits: Sequence[Hit], relevance: Sequence[float]) -> tuple[dict[str, Any], ScoredHits]:
    """``hits`` with their relevance, as a search tool's JSON result and as (hit, relevance) pairs."""
    scored = list(zip(hits, relevance))
    return {"hits": [_as_json(hit, score) for hit, score in scored]}, scored


def _as_json(hit: Hit, score: float) -> dict[str, Any]:
    snippet = (
        hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " ..."
    )
    return {
        "id": hit.id,
        "title": hit.title,
        "snippet": snippet,
        "score": round(score, 4),
        "source": hit.source,
    }


def literature_search_tool(retrievers: Sequence[Retriever], default_k: int = 5) -> StructuredTool:
    """``literature_search`` over the literature retrievers."""

    def literature_search(
        query: str,
        k: int = default_k,
        year_from: int | None = None,
        year_to: int | None = None,
        source: str | None = None,
    ) -> tuple[dict[str, Any], ScoredHits]:
        return search_retrievers(retrievers, query, k, year_from=year_from, year_to=year_to, source=source)

    return _tool(literature_search, LITERATURE_DESCRIPTION, LiteratureSearchInput)


def protein_search_tool(retriever: Retriever, default_k: int = 5) -> StructuredTool:
    """``protein_search`` over the UniProt retriever."""

    def protein_search(
        query: str, k: int = default_k, organism: str | None = None, reviewed: bool | None = None
    ) -> tuple[dict[str, Any], ScoredHits]:
        return search_retrievers([retriever], query, k, organism=organism, reviewed=reviewed)

    return _tool(protein_search, PROTEIN_DESCRIPTION, ProteinSearchInput)


def search_tools(
    literature: Sequence[Retriever], proteins: Retriever | None, default_k: int = 5
) -> list[StructuredTool]:
    """The search tools for the indexes there are (none without indexes)."""
    tools = [literature_search_tool(literature, default_k)] if literature else []
    return tools + ([protein_search_tool(proteins, default_k)] if proteins is not None else [])


def _tool(function: Any, description: str, schema: type[BaseModel]) -> StructuredTool:
    return StructuredTool.from_function(
        func=function,
        name=function.__name__,
        description=" ".join(description.split()),
        args_schema=schema,
        response_format="content_and_artifact",
    )
