"""The ``Retriever`` seam: search with metadata filters, and the relevance of hits to a query.

:class:`IndexRetriever` adapts an :class:`~bioagent.index.store.Index`; the agent and the search tools use it
instead of reaching into the index's stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bioagent.index.embedders import Embedder
from bioagent.index.store import Index
from bioagent.types import Hit

FILTER_DEPTH = 5
"""A filtered search ranks this many times ``k`` candidates before filtering them."""


class Retriever(Protocol):
    def search(self, query: str, k: int, **filters: Any) -> list[Hit]:
        """The ``k`` best hits for ``query`` whose metadata pass ``filters`` (see :func:`matches`)."""
        ...

    def relevance(self, query: str, hits: Sequence[Hit]) -> list[float]:
        """Cosine between ``query`` and each hit (comparable across retrievers with the same embedder)."""
        ...


def matches(hit: Hit, filters: dict[str, Any]) -> bool:
    """Whether ``hit`` passes every filter that is not None: ``<field>_from`` / ``<field>_to`` bound a number
    (a hit without that field fails), ``source`` is the hit's source, text values match case-insensitively
    inside the field's text ('sapiens' matches 'Homo sapiens'), other values must be equal."""
    for name, wanted in filters.items():
        if wanted is None:
            continue
        field, _, bound = name.rpartition("_")
        if bound in ("from", "to") and field:
            value = hit.metadata.get(field)
            if not isinstance(value, (int, float)) or (value < wanted if bound == "from" else value > wanted):
                return False
            continue
        value = hit.source if name == "source" else hit.metadata.get(name)
        if isinstance(wanted, str):
            if not isinstance(value, str) or wanted.lower() not in value.lower():
                return False
        elif value != wanted:
            return False
    return True


class IndexRetriever:
    """An index as a :class:`Retriever`. ``embedder`` encodes queries for relevance when it is the index's own
    model (e.g. a caching wrapper of it); otherwise the index's embedder does."""

    def __init__(self, index: Index, embedder: Embedder | None = None) -> None:
        self.index = index
        self.embedder = embedder if embedder is not None and embedder.name == index.embedder.name else None

    def search(self, query: str, k: int, **filters: Any) -> list[Hit]:
        if not any(value is not None for value in filters.values()):
            return self.index.search(query, k=k)
        found = [hit for hit in self.index.search(query, k=k * FILTER_DEPTH) if matches(hit, filters)]
        return [hit.model_copy(update={"rank": rank}) for rank, hit in enumerate(found[:k], start=1)]

    def relevance(self, query: str, hits: Sequence[Hit]) -> list[float]:
        """Cosine between the query and each hit's best chunk: the chunk's vector is read back from the index
        (nothing is re-encoded) unless a hit is not a chunk of this index, then the hits' texts are encoded."""
        if not hits:
            return []
        embedder = self.embedder or self.index.embedder
        query_vector = embedder.encode_queries([query])[0]
        found = [self.index.chunk_row(str(h.metadata.get("chunk_id", h.id))) for h in hits]
        if any(row is None for row in found):
            vectors = embedder.encode_documents([f"{h.title}. {h.text}" if h.title else h.text for h in hits])
        else:
            vectors = self.index.dense.reconstruct([row for row in found if row is not None])
        return [float(vector @ query_vector) for vector in vectors]
