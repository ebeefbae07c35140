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
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from bioagent.agent.terms import QUESTION_WORDS
from bioagent.errors import BioagentError, ServiceUnreachableError
from bioagent.index import Index
from bioagent.index.live import grow_index
from bioagent.ingest import PubMedClient, UniProtClient
from bioagent.settings import Settings

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


def uniprot_query(symbols: list[str]) -> str:
    """Reviewed UniProt entries for any of the gene ``symbols`` (empty when there are none)."""
    if not symbols:
        return ""
    genes = " OR ".join(f"gene:{symbol}" for symbol in dict.fromkeys(symbols))
    return f"({genes}) AND reviewed:true"


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
        self._searched: dict[tuple[str, str], float] = {}

    def grow(self, kind: Kind, index_path: Path, query: str) -> tuple[Index | None, str]:
        """Search the live source of ``kind`` for ``query`` (see :func:`pubmed_query`, :func:`uniprot_query`) and
        add new records to the index at ``index_path`` (built when it does not exist). Returns the grown index
        (None when nothing was added) and a note for the answer."""
        label = _LABELS[kind]
        if not query:
            return None, ""
        if self._clock() < self._offline_until.get(kind, float("-inf")):
            return (
                None,
                f"Live search: {label} was not reachable a moment ago; answered from the local index.",
            )
        if self._clock() < self._searched.get((kind, query), float("-inf")) + RESEARCH_AFTER_S:
            return None, ""  # asked a moment ago: what it returned is in the index already
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
            return None, f"Live search: {exc}; answered from the local index."
        except BioagentError as exc:
            logger.warning("live %s search failed: %s", label, exc)
            return None, f"Live search: {exc}; answered from the local index."
        self._searched[(kind, query)] = self._clock()
        source = report.sources[0]
        if not source.added:
            found = "nothing" if not source.found else f"only records already in {index_path}"
            return None, f"Live search: {label} '{query}' found {found}."
        return index, (
            f"Live search: {label} '{query}' added {source.added} new record(s) to {index_path} "
            "(kept for later questions)."
        )
