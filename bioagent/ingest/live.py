"""Live sources: PubMed through NCBI E-utilities (Bio.Entrez) and the UniProt REST API.

Both clients take an injectable transport, so tests run offline on recorded responses. Requests are spaced
by a rate limiter (NCBI allows 3 requests/s, 10 with an API key) and retried with backoff on HTTP 429 and
5xx, honouring ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import io
import json
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from bioagent.errors import IngestError
from bioagent.ingest.literature import pubmed_documents
from bioagent.ingest.uniprot import ACCESSION
from bioagent.ingest.uniprot_xml import json_entry_document
from bioagent.settings import NCBISettings, UniProtSettings
from bioagent.types import Document

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 60.0
FETCH_BATCH = 200


@dataclass(frozen=True)
class HttpResponse:
    """What a transport returns: status code, raw body and headers."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), "")


#: ``(utility, params) -> response`` for E-utilities ("esearch", "efetch").
EntrezTransport = Callable[[str, dict[str, Any]], HttpResponse]
#: ``url -> response`` for HTTP GET.
HttpTransport = Callable[[str], HttpResponse]


class RateLimiter:
    """Spaces calls at least ``1 / per_second`` seconds apart (thread-safe)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next call is allowed."""
        with self._lock:
            now = self._clock()
            if self._next > now:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


def send_with_retries(
    send: Callable[[], HttpResponse],
    *,
    where: str,
    max_retries: int,
    sleep: Callable[[float], None] = time.sleep,
    limiter: RateLimiter | None = None,
    backoff_s: float = 1.0,
) -> HttpResponse:
    """Call ``send`` until it succeeds; retry 429/5xx and connection errors up to ``max_retries`` times."""
    for attempt in range(max_retries + 1):
        if limiter is not None:
            limiter.wait()
        try:
            response = send()
        except OSError as exc:
            if attempt == max_retries:
                raise IngestError(where, f"cannot reach the service: {exc}") from exc
            sleep(min(backoff_s * 2**attempt, MAX_RETRY_WAIT_S))
            continue
        if response.status < 400:
            return response
        if response.status not in RETRY_STATUSES or attempt == max_retries:
            tries = f" after {attempt + 1} tries" if attempt else ""
            raise IngestError(where, f"HTTP {response.status}{tries}: {_snippet(response.body)}")
        delay = _retry_after(response.header("Retry-After"))
        sleep(delay if delay is not None else min(backoff_s * 2**attempt, MAX_RETRY_WAIT_S))
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(value: str) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), capped."""
    value = value.strip()
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return min(float(value), MAX_RETRY_WAIT_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_WAIT_S)


def _snippet(body: bytes) -> str:
    return " ".join(body[:200].decode("utf-8", errors="replace").split()) or "(empty body)"


def entrez_transport(utility: str, params: dict[str, Any]) -> HttpResponse:
    """Call one E-utility through Bio.Entrez and return the raw response."""
    from Bio import Entrez

    Entrez.max_tries = 1  # retries (with backoff and Retry-After) are done by send_with_retries
    try:
        handle = getattr(Entrez, utility)(**params)
    except HTTPError as exc:
        return HttpResponse(exc.code, exc.read() or b"", dict(exc.headers or {}))
    with handle:
        body = handle.read()
    return HttpResponse(200, body if isinstance(body, bytes) else body.encode("utf-8"))


def urllib_transport(url: str, timeout_s: float = 30.0) -> HttpResponse:
    """HTTP GET with the standard library; HTTP errors come back as responses, not exceptions."""
    request = Request(url, headers={"Accept": "application/json", "User-Agent": "bioagent"})
    try:
        with urlopen(request, timeout=timeout_s) as reply:
            return HttpResponse(reply.status, reply.read(), dict(reply.headers))
    except HTTPError as exc:
        return HttpResponse(exc.code, exc.read() or b"", dict(exc.headers or {}))


class PubMedClient:
    """Search PubMed and fetch abstracts as Documents (``id`` = PMID, ``source`` = "pubmed")."""

    def __init__(
        self,
        settings: NCBISettings,
        *,
        transport: EntrezTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._transport = transport or entrez_transport
        self._sleep = sleep
        self.limiter = RateLimiter(10.0 if settings.api_key else 3.0, clock=clock, sleep=sleep)

    def search(self, query: str, retmax: int = 20) -> list[str]:
        """PMIDs of the best matches for ``query`` (PubMed's own ranking), at most ``retmax``."""
        body = self._call("esearch", db="pubmed", term=query, retmax=retmax)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise IngestError("PubMed esearch", f"unreadable response: {exc}") from exc
        if (error := root.findtext("ERROR")) is not None:
            raise IngestError("PubMed esearch", f"query '{query}' failed: {error}")
        return [node.text.strip() for node in root.iterfind("IdList/Id") if node.text]

    def fetch(self, pmids: Iterable[str]) -> list[Document]:
        """Documents for ``pmids`` (title, abstract, journal, year, authors, MeSH, DOI); unknown ids are
        skipped."""
        ids = [str(pmid).strip() for pmid in pmids if str(pmid).strip()]
        documents: list[Document] = []
        for start in range(0, len(ids), FETCH_BATCH):
            body = self._call(
                "efetch", db="pubmed", id=",".join(ids[start : start + FETCH_BATCH]), retmode="xml"
            )
            stream = io.StringIO(body.decode("utf-8", errors="replace"))
            for record in pubmed_documents(stream, "PubmedArticle", "PubMed efetch"):
                if isinstance(record, IngestError):
                    log.warning("skipped a PubMed record: %s", record)
                else:
                    documents.append(record)
        return documents

    def _call(self, utility: str, **params: Any) -> bytes:
        identity = {
            "tool": self.settings.tool,
            "email": self.settings.email,
            "api_key": self.settings.api_key,
        }
        params.update({key: value for key, value in identity.items() if value})
        response = send_with_retries(
            lambda: self._transport(utility, dict(params)),
            where=f"PubMed {utility}",
            max_retries=self.settings.max_retries,
            sleep=self._sleep,
            limiter=self.limiter,
        )
        return response.body


class UniProtClient:
    """Query UniProtKB over its REST API; entries come back as UniProt Documents, shaped like the parsers'."""

    def __init__(
        self,
        settings: UniProtSettings,
        *,
        transport: HttpTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._transport = transport or urllib_transport
        self._sleep = sleep

    def search(self, query: str, size: int = 10) -> list[Document]:
        """Entries matching a UniProt query (e.g. ``gene:TP53 AND organism_id:9606``), best first."""
        params = urlencode({"query": query, "format": "json", "size": max(1, min(size, 500))})
        data = self._get_json(f"{self._base}/uniprotkb/search?{params}")
        return [
            json_entry_document(entry) for entry in data.get("results", []) if entry.get("primaryAccession")
        ]

    def get(self, accession: str) -> Document:
        """The entry with this accession (e.g. "P04637")."""
        accession = accession.strip().upper()
        if not ACCESSION.match(accession):
            raise IngestError("UniProt", f"'{accession}' is not a UniProt accession")
        data = self._get_json(f"{self._base}/uniprotkb/{quote(accession)}.json")
        if not data.get("primaryAccession"):
            raise IngestError("UniProt", f"no entry for {accession}")
        return json_entry_document(data)

    @property
    def _base(self) -> str:
        return self.settings.base_url.rstrip("/")

    def _get_json(self, url: str) -> dict[str, Any]:
        response = send_with_retries(
            lambda: self._transport(url), where=url, max_retries=self.settings.max_retries, sleep=self._sleep
        )
        try:
            data = json.loads(response.body)
        except json.JSONDecodeError as exc:
            raise IngestError(url, f"response is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise IngestError(url, "unexpected JSON response")
        return data
