"""Live search for the agent (``agent.live: auto``): when the local evidence is weak, search PubMed or UniProt,
add what comes back to the local index (persisted, so the next question finds it locally) and search again.

A service that does not answer is asked once, with a short timeout, and then left alone for
``OFFLINE_RETRY_S``: an offline agent says so in one line and never waits on the network again for a while. The
same query is not sent again within ``RESEARCH_AFTER_S``: what it returned is in the local index already.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from bioagent.agent.terms import QUESTION_WORDS
from bioagent.errors import BioagentError, ServiceUnreachableError
from bioagent.index import Index
from bioagent.index.live import grow_index
from bioagent.index.retriever import Retriever
from bioagent.ingest import PubMedClient, UniProtClient
from bioagent.settings import Settings
from bioagent.tools.search import ScoredHits, scored_hits, search_retrievers
from bioagent.types import Hit

logger = logging.getLogger(__name__)

OFFLINE_RETRY_S = 300.0
RESEARCH_AFTER_S = 3600.0
MAX_QUERY_WORDS = 6
Kind = Literal["literature", "proteins"]
_LABELS = {"literature": "PubMed", "proteins": "UniProt"}
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/.]*[A-Za-z0-9]|[A-Za-z0-9]")


def pubmed_query(question: str, names: list[str]) -> str:
    """The question's key words for PubMed: named entities first, then content words, at most
    ``MAX_QUERY_WORDS`` (PubMed ANDs the words of a query, so a whole question would find nothing)."""
    words = list(dict.fromkeys(names))
    for word in _WORD.findall(question):
        if word.lower() not in QUESTION_WORDS and len(word) > 2 and word.lower() not in map(str.lower, words):
            words.append(word)
    return " ".join(words[:MAX_QUERY_WORDS])


def plain_words(query: str) -> str:
    """A PubMed or UniProt query's words without its syntax, for relevance: ``(gene:MICU1) AND reviewed:true``
    -> ``MICU1``; ``gemcitabine[tiab] AND pancreas`` -> ``gemcitabine pancreas``."""
    text = re.sub(r"\[[^\]]*\]|\b\w+:(?:true|false)\b|\b\w+:", " ", query)
    text = re.sub(r"\b(?:AND|OR|NOT)\b|[()\"]", " ", text)
    return " ".join(text.split()) or query


def uniprot_query(symbols: list[str]) -> str:
    """Reviewed UniProt entries for any of the gene ``symbols`` (empty when there are none)."""
    if not symbols:
        return ""
    genes = " OR ".join(f"gene:{symbol}" for symbol in dict.fromkeys(symbols))
    return f"({genes}) AND reviewed:true"


@dataclass(frozen=True)
class Growth:
    """What one live search did: the grown index (None when nothing was added), a note for the answer, and the
    ids the service returned for the query, best first (empty when it was not asked or did not answer)."""

    index: Index | None
    note: str
    ids: tuple[str, ...] = ()


class LiveSearch:
    """Grows the literature index from PubMed and the protein index from UniProt, on demand."""

    def __init__(
        self,
        settings: Settings,
        *,
        pubmed_client: PubMedClient | None = None,
        uniprot_client: UniProtClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.max_records = settings.agent.live_max_records
        self._pubmed = pubmed_client
        self._uniprot = uniprot_client
        self._clock = clock
        self._offline_until: dict[str, float] = {}
        self._searched: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}

    def grow(self, kind: Kind, index_path: Path, query: str) -> Growth:
        """Search the live source of ``kind`` for ``query`` (see :func:`pubmed_query`, :func:`uniprot_query`) and
        add new records to the index at ``index_path`` (built when it does not exist)."""
        label = _LABELS[kind]
        if not query:
            return Growth(None, "")
        if self._clock() < self._offline_until.get(kind, float("-inf")):
            return Growth(
                None, f"Live search: {label} was not reachable a moment ago; answered from the local index."
            )
        searched_at, ids = self._searched.get((kind, query), (float("-inf"), ()))
        if self._clock() < searched_at + RESEARCH_AFTER_S:
            return Growth(None, "", ids)  # asked a moment ago: what it returned is in the index already
        try:
            index, report = grow_index(
                index_path,
                self.settings,
                pubmed=query if kind == "literature" else None,
                uniprot=query if kind == "proteins" else None,
                max_records=self.max_records,
                pubmed_client=self._pubmed,
                uniprot_client=self._uniprot,
            )
        except ServiceUnreachableError as exc:
            self._offline_until[kind] = self._clock() + OFFLINE_RETRY_S
            return Growth(None, f"Live search: {exc}; answered from the local index.")
        except BioagentError as exc:
            logger.warning("live %s search failed: %s", label, exc)
            return Growth(None, f"Live search: {exc}; answered from the local index.")
        source = report.sources[0]
        ids = tuple(source.ids)
        self._searched[(kind, query)] = (self._clock(), ids)
        if not source.added:
            found = "nothing" if not source.found else f"only records already in {index_path}"
            return Growth(None, f"Live search: {label} '{query}' found {found}.", ids)
        return Growth(
            index,
            f"Live search: {label} '{query}' added {source.added} new record(s) to {index_path} "
            "(kept for later questions).",
            ids,
        )


class GrowingIndexes(Protocol):
    """The agent's indexes as the live tools see them: where each kind grows, and searching it once grown."""

    def live_target(self, kind: Kind) -> Path:
        """The index folder that live records of ``kind`` are added to."""
        ...

    def grew(self, kind: Kind, index: Index) -> None:
        """Use the grown ``index`` from now on."""
        ...

    def live_retrievers(self, kind: Kind) -> list[Retriever]:
        """The retrievers over the (possibly grown) indexes of ``kind``."""
        ...

    def live_hits(self, kind: Kind, ids: Sequence[str]) -> list[Hit]:
        """The records ``ids`` from the indexes of ``kind``, as hits in that order (ids not held are skipped)."""
        ...


class LiveSearchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=2, max_length=300, description="The query, in the service's own syntax.")
    k: int = Field(default=5, ge=1, le=20, description="How many hits to return.")


PUBMED_DESCRIPTION = """Search PubMed itself (over the internet) and add its best new matches to the local
literature index, kept for later questions; then return the best local hits for the query. Call it when
literature_search finds nothing relevant or the question needs recent work. The query is PubMed syntax: a few
key words (PubMed requires every word), MeSH terms or fields such as gemcitabine[tiab]. Offline, it says so
and returns local hits only. Returns id (PMID), title, snippet, score (cosine, 0-1), source and a note."""

UNIPROT_DESCRIPTION = """Search UniProt itself (over the internet) and add matching entries to the local protein
index, kept for later questions; then return the best local hits for the query. Call it when protein_search
does not have the protein. The query is UniProt syntax, e.g. (gene:MICU1) AND reviewed:true or
organism_id:9606 AND keyword:kinase. Offline, it says so and returns local hits only. Returns id (accession),
title, snippet, score (cosine, 0-1), source and a note."""


def live_search_tools(live: LiveSearch, indexes: GrowingIndexes, default_k: int = 5) -> list[StructuredTool]:
    """``pubmed_search`` and ``uniprot_search``: live searches that grow the local indexes (see
    :meth:`LiveSearch.grow`), for the research loop when ``agent.live`` is on."""

    def search(kind: Kind, query: str, k: int) -> tuple[dict[str, Any], ScoredHits]:
        """The records the service returned for ``query`` (their relevance to its words); when it did not
        answer, the local index's best hits for those words."""
        growth = live.grow(kind, indexes.live_target(kind), query)
        if growth.index is not None:
            indexes.grew(kind, growth.index)
        words = plain_words(query)
        retrievers = indexes.live_retrievers(kind)
        if growth.ids and retrievers:
            hits = indexes.live_hits(kind, growth.ids[:k])
            data, scored = scored_hits(hits, retrievers[0].relevance(words, hits))
        else:
            data, scored = search_retrievers(retrievers, words, k) if retrievers else ({"hits": []}, [])
        return {**data, "query": query, "note": growth.note}, scored

    def pubmed_search(query: str, k: int = default_k) -> tuple[dict[str, Any], ScoredHits]:
        return search("literature", query, k)

    def uniprot_search(query: str, k: int = default_k) -> tuple[dict[str, Any], ScoredHits]:
        return search("proteins", query, k)

    return [
        StructuredTool.from_function(
            func=function,
            name=function.__name__,
            description=" ".join(description.split()),
            args_schema=LiveSearchInput,
            response_format="content_and_artifact",
        )
        for function, description in (
            (pubmed_search, PUBMED_DESCRIPTION),
            (uniprot_search, UNIPROT_DESCRIPTION),
        )
    ]
