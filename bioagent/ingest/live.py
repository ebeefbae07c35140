"""Live sources: PubMed through NCBI E-utilities and the UniProt REST API, over plain HTTP with timeouts.

Both clients take an injectable transport (``(url, timeout_s) -> HttpResponse``), so tests run offline on
recorded responses. Every request has a timeout (``timeout_s`` in the settings); requests are spaced by a rate
limiter (NCBI: 3 requests/s, 10 with an API key; UniProt: ``uniprot.requests_per_second``), and those to NCBI
carry ``tool``, ``email`` and ``api_key``. Timeouts, connection errors, HTTP 429 and 5xx are retried with
backoff, honouring ``Retry-After``; what still fails, or answers with something other than the expected XML/JSON,
raises :class:`~bioagent.errors.IngestError`, whose message quotes at most 200 characters of the response with
keys, emails and URL credentials shown as ``***`` (a server may echo the request).
``reachable()`` tells within a few seconds whether a service can be used at all.
"""

from __future__ import annotations

import email.utils
import io
import json
import logging
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from bioagent.errors import IngestError
from bioagent.ingest.literature import pubmed_documents
from bioagent.ingest.uniprot import ACCESSION
from bioagent.ingest.uniprot_xml import json_entry_document
from bioagent.ingest.xmlrecords import root_element
from bioagent.redact import redact
from bioagent.settings import NCBISettings, UniProtSettings
from bioagent.types import Document

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 60.0
FETCH_BATCH = 200
UNIPROT_PAGE = 500
UNIPROT_FETCH_BATCH = 100
REACHABLE_TIMEOUT_S = 3.0
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class HttpResponse:
    """What a transport returns: status code, raw body and headers."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), "")


#: ``(url, timeout_s) -> response`` for one HTTP GET. HTTP errors come back as responses; a failure to get
#: any answer raises ``OSError`` (``TimeoutError``, ``ConnectionError``) with a one-line reason.
HttpTransport = Callable[[str, float], HttpResponse]


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
    target: str = "the service",
    secrets: Iterable[str] = (),
) -> HttpResponse:
    """Call ``send`` until it succeeds; retry 429/5xx, timeouts and connection errors up to ``max_retries`` times.

    What still fails raises IngestError, e.g. ``"<where>: HTTP 503 after 5 tries: …"`` (the body's start, with
    ``secrets`` hidden) or ``"<where>: cannot reach <target>: timed out after 20 s (5 tries)"``.
    """
    for attempt in range(max_retries + 1):
        if limiter is not None:
            limiter.wait()
        try:
            response = send()
        except OSError as exc:
            if attempt == max_retries:
                tries = f" ({attempt + 1} tries)" if attempt else ""
                reason = str(exc) or type(exc).__name__
                raise IngestError(where, f"cannot reach {target}: {reason}{tries}") from exc
            sleep(min(backoff_s * 2**attempt, MAX_RETRY_WAIT_S))
            continue
        if response.status < 400:
            return response
        if response.status not in RETRY_STATUSES or attempt == max_retries:
            tries = f" after {attempt + 1} tries" if attempt else ""
            raise IngestError(where, f"HTTP {response.status}{tries}: {_snippet(response.body, secrets)}")
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


def _snippet(body: bytes, secrets: Iterable[str] = ()) -> str:
    """The start of a response body on one line, with secrets (and anything key-like) shown as ``***``."""
    text = " ".join(body[:200].decode("utf-8", errors="replace").split())
    return redact(text, secrets) or "(empty body)"


def _failure(call: Callable[[], object]) -> str | None:
    """None when ``call`` succeeds, else the IngestError's reason (one line)."""
    try:
        call()
    except IngestError as exc:
        return exc.reason
    return None


def urllib_transport(url: str, timeout_s: float) -> HttpResponse:
    """HTTP GET with the standard library, waiting at most ``timeout_s`` for the connection and each read."""
    request = Request(url, headers={"User-Agent": "bioagent"})
    try:
        with urlopen(request, timeout=timeout_s) as reply:
            return HttpResponse(reply.status, reply.read(), dict(reply.headers))
    except HTTPError as exc:
        return HttpResponse(exc.code, exc.read() or b"", dict(exc.headers or {}))
    except (OSError, HTTPException) as exc:
        raise _connection_error(exc, timeout_s) from exc


def _connection_error(exc: Exception, timeout_s: float) -> OSError:
    """A TimeoutError or ConnectionError whose message is a short reason ("timed out after 20 s")."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError):
        return TimeoutError(f"timed out after {timeout_s:g} s")
    if isinstance(reason, OSError) and reason.strerror:
        return ConnectionError(reason.strerror.lower())
    return ConnectionError(str(reason) or type(reason).__name__)


class PubMedClient:
    """Search PubMed and fetch abstracts as Documents (``id`` = PMID, ``source`` = "pubmed")."""

    def __init__(
        self,
        settings: NCBISettings,
        *,
        transport: HttpTransport = urllib_transport,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._sleep = sleep
        self.limiter = RateLimiter(10.0 if settings.api_key else 3.0, clock=clock, sleep=sleep)
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._secrets = tuple(value for value in (key, settings.email) if value)

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def search(self, query: str, retmax: int = 20) -> list[str]:
        """PMIDs of the best matches for ``query`` (PubMed's own ranking), at most ``retmax``."""
        return self._search(query, retmax)

    def fetch(self, pmids: Iterable[str]) -> list[Document]:
        """Documents for ``pmids`` (title, abstract, journal, year, authors, MeSH, DOI); unknown ids and
        unreadable records are skipped (with a warning)."""
        ids = [str(pmid).strip() for pmid in pmids if str(pmid).strip()]
        documents: list[Document] = []
        for start in range(0, len(ids), FETCH_BATCH):
            batch = ",".join(ids[start : start + FETCH_BATCH])
            body = self._call("efetch", {"db": "pubmed", "id": batch, "retmode": "xml"})
            text = body.decode("utf-8", errors="replace")
            if root_element(text[:4096])[0] != "PubmedArticleSet":
                raise IngestError(
                    "PubMed efetch", f"unexpected response (not PubMed XML): {_snippet(body, self._secrets)}"
                )
            for record in pubmed_documents(io.StringIO(text), "PubmedArticle", "PubMed efetch"):
                if isinstance(record, IngestError):
                    log.warning("skipped a PubMed record: %s", record)
                else:
                    documents.append(record)
        return documents

    def reachable(self, timeout_s: float = REACHABLE_TIMEOUT_S) -> str | None:
        """None when E-utilities answer a tiny search within ``timeout_s`` (one try), else why not (one line)."""
        return _failure(lambda: self._search("cancer", 0, timeout_s=timeout_s, max_retries=0))

    def _search(
        self, query: str, retmax: int, *, timeout_s: float | None = None, max_retries: int | None = None
    ) -> list[str]:
        params = {"db": "pubmed", "term": query, "retmax": retmax}
        body = self._call("esearch", params, timeout_s=timeout_s, max_retries=max_retries)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise IngestError(
                "PubMed esearch", f"unreadable response ({exc}): {_snippet(body, self._secrets)}"
            ) from exc
        if root.tag != "eSearchResult":
            raise IngestError(
                "PubMed esearch", f"unexpected response <{root.tag}>: {_snippet(body, self._secrets)}"
            )
        if (error := root.findtext("ERROR")) is not None:
            raise IngestError("PubMed esearch", f"query '{query}' failed: {redact(error, self._secrets)}")
        return [node.text.strip() for node in root.iterfind("IdList/Id") if node.text]

    def _call(
        self,
        utility: str,
        params: dict[str, Any],
        *,
        timeout_s: float | None = None,
        max_retries: int | None = None,
    ) -> bytes:
        api_key = self.settings.api_key
        identity = {
            "tool": self.settings.tool,
            "email": self.settings.email,
            "api_key": api_key.get_secret_value() if api_key else None,
        }
        query = urlencode({**params, **{key: value for key, value in identity.items() if value}})
        url = f"{self.base_url}/{utility}.fcgi?{query}"
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        response = send_with_retries(
            lambda: self._transport(url, timeout),
            where=f"PubMed {utility}",
            max_retries=self.settings.max_retries if max_retries is None else max_retries,
            sleep=self._sleep,
            limiter=self.limiter,
            target=f"PubMed at {redact(self.base_url)}",  # not the URL: it may carry the API key
            secrets=self._secrets,
        )
        return response.body


class UniProtClient:
    """Query UniProtKB over its REST API; entries come back as UniProt Documents, shaped like the parsers'."""

    def __init__(
        self,
        settings: UniProtSettings,
        *,
        transport: HttpTransport = urllib_transport,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._sleep = sleep
        self.limiter = RateLimiter(settings.requests_per_second, clock=clock, sleep=sleep)

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def search(self, query: str, size: int = 10) -> list[Document]:
        """Entries matching a UniProt query (e.g. ``gene:TP53 AND organism_id:9606``), best first, at most
        ``size`` (pages are followed)."""
        return [json_entry_document(entry) for entry in self._search(query, size)]

    def search_accessions(self, query: str, limit: int = 100) -> list[str]:
        """Accessions of the entries matching ``query``, best first, at most ``limit`` (cheap: no entry data)."""
        return [entry["primaryAccession"] for entry in self._search(query, limit, fields="accession")]

    def fetch(self, accessions: Iterable[str]) -> list[Document]:
        """Documents for ``accessions``, fetched in batches; unknown accessions are skipped."""
        ids = [str(accession).strip().upper() for accession in accessions if str(accession).strip()]
        documents: list[Document] = []
        for start in range(0, len(ids), UNIPROT_FETCH_BATCH):
            batch = ids[start : start + UNIPROT_FETCH_BATCH]
            documents += self.search(" OR ".join(f"accession:{a}" for a in batch), size=len(batch))
        return documents

    def get(self, accession: str) -> Document:
        """The entry with this accession (e.g. "P04637")."""
        accession = accession.strip().upper()
        if not ACCESSION.match(accession):
            raise IngestError("UniProt", f"'{accession}' is not a UniProt accession")
        url = f"{self.base_url}/uniprotkb/{quote(accession)}.json"
        data = _json_object(self._get(url), url)
        if not data.get("primaryAccession"):
            raise IngestError("UniProt", f"no entry for {accession}")
        return json_entry_document(data)

    def reachable(self, timeout_s: float = REACHABLE_TIMEOUT_S) -> str | None:
        """None when UniProt answers a one-entry search within ``timeout_s`` (one try), else why not (one line)."""
        return _failure(lambda: self._search("*", 1, fields="accession", timeout_s=timeout_s, max_retries=0))

    def _search(
        self,
        query: str,
        limit: int,
        *,
        fields: str | None = None,
        timeout_s: float | None = None,
        max_retries: int | None = None,
    ) -> list[dict[str, Any]]:
        """Result entries of ``query``, following the ``Link: <…>; rel="next"`` pages up to ``limit``."""
        params: dict[str, Any] = {"query": query, "format": "json", "size": max(1, min(limit, UNIPROT_PAGE))}
        if fields:
            params["fields"] = fields
        url: str | None = f"{self.base_url}/uniprotkb/search?{urlencode(params)}"
        entries: list[dict[str, Any]] = []
        while url and len(entries) < limit:
            response = self._get(url, timeout_s=timeout_s, max_retries=max_retries)
            results = _json_object(response, url).get("results", [])
            entries += [e for e in results if isinstance(e, dict) and e.get("primaryAccession")]
            url = match.group(1) if (match := _NEXT_LINK.search(response.header("Link"))) else None
        return entries[:limit]

    def _get(
        self, url: str, *, timeout_s: float | None = None, max_retries: int | None = None
    ) -> HttpResponse:
        timeout = self.settings.timeout_s if timeout_s is None else timeout_s
        return send_with_retries(
            lambda: self._transport(url, timeout),
            where=redact(url),
            max_retries=self.settings.max_retries if max_retries is None else max_retries,
            sleep=self._sleep,
            limiter=self.limiter,
            target=f"UniProt at {redact(self.base_url)}",
        )


def _json_object(response: HttpResponse, url: str) -> dict[str, Any]:
    """The response body as a JSON object, or a clear IngestError."""
    try:
        data = json.loads(response.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(redact(url), f"response is not JSON ({exc}): {_snippet(response.body)}") from exc
    if not isinstance(data, dict):
        raise IngestError(redact(url), f"unexpected JSON response: {_snippet(response.body)}")
    return data
