"""A loopback HTTP server that answers like NCBI E-utilities and the UniProt REST API, from recorded data.

PubMed: ``esearch.fcgi`` finds the PMIDs of the recorded articles whose XML contains the term, and
``efetch.fcgi`` returns the recorded ``<PubmedArticle>`` records asked for (100 real articles on pancreatic
cancer, ``medline_pubmed_xml_pubmed_parser/pubmedportable_pancreatic_cancer``). UniProt: ``/uniprotkb/search``
(query, size, fields=accession, cursor pages with a ``Link: rel="next"`` header) and ``/uniprotkb/<acc>.json``
over 52 recorded REST entries (``uniprot_more/uniprot_parquet_fixture_small.json.gz``).

Tests script faults per route with :meth:`LiveServer.script` (a status, a body, headers, a stall) and read what
the server received in :attr:`LiveServer.requests`.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

PUBMED_FILE = "medline_pubmed_xml_pubmed_parser/pubmedportable_pancreatic_cancer/medline_00000000.xml"
UNIPROT_FILE = "uniprot_more/uniprot_parquet_fixture_small.json.gz"
EUTILS_PATH = "/entrez/eutils"
_ARTICLE = re.compile(r"<PubmedArticle>.*?</PubmedArticle>", re.S)
_PMID = re.compile(r"<PMID[^>]*>(\d+)</PMID>")
_ESEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)


@dataclass
class Reply:
    """A scripted answer. With status 200 and no body the recorded answer is sent (after ``delay_s``)."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request the server got: its route, query parameters and arrival time (``time.monotonic``)."""

    route: str
    params: dict[str, str]
    at: float


@dataclass(frozen=True)
class Recorded:
    """The recorded data served: PubMed articles by PMID (in file order) and UniProt REST entries."""

    pubmed_prolog: str
    articles: dict[str, str]
    uniprot: list[dict[str, Any]]


@functools.lru_cache(maxsize=2)
def load_recorded(shared_data: Path) -> Recorded:
    """Read the recorded PubMed XML and UniProt JSON once per session."""
    text = (shared_data / PUBMED_FILE).read_text(encoding="utf-8")
    articles = {_PMID.search(xml).group(1): xml for xml in _ARTICLE.findall(text)}
    entries = json.loads(gzip.decompress((shared_data / UNIPROT_FILE).read_bytes()))["results"]
    return Recorded(text[: text.index("<PubmedArticleSet>")], articles, entries)


class LiveServer:
    """The server's state: recorded data, scripted replies per route, and the requests received."""

    def __init__(self, recorded: Recorded, port: int) -> None:
        self.recorded = recorded
        self.uniprot_url = f"http://127.0.0.1:{port}"
        self.ncbi_url = self.uniprot_url + EUTILS_PATH
        self.uniprot_page_size = 500
        self.requests: list[Received] = []
        self.closing = threading.Event()
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()

    def script(self, route: str, *replies: Reply) -> None:
        """Answer the next requests to ``route`` ("esearch", "efetch", "uniprot-search", "uniprot-entry")
        with ``replies``, in order; later requests get the recorded answer."""
        with self._lock:
            self._scripts.setdefault(route, []).extend(replies)

    def received(self, route: str) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if request.route == route]

    def answer(self, path: str, query: str) -> tuple[int, bytes, dict[str, str]] | None:
        """The status, body and headers for a request (None: stalled until the server closed)."""
        route = _route(path)
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        with self._lock:
            self.requests.append(Received(route, params, time.monotonic()))
            queue = self._scripts.get(route)
            reply = queue.pop(0) if queue else Reply()
        if reply.delay_s and self.closing.wait(reply.delay_s):
            return None
        if reply.status != 200 or reply.body is not None:
            return reply.status, reply.body or b"", reply.headers
        status, body, headers = self._recorded(route, path, params)
        return status, body, {**headers, **reply.headers}

    def _recorded(self, route: str, path: str, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if route == "esearch":
            return 200, self._esearch(params), {"Content-Type": "text/xml"}
        if route == "efetch":
            wanted = [
                self.recorded.articles[i]
                for i in params.get("id", "").split(",")
                if i in self.recorded.articles
            ]
            body = (
                self.recorded.pubmed_prolog
                + "<PubmedArticleSet>\n"
                + "\n".join(wanted)
                + "\n</PubmedArticleSet>\n"
            )
            return 200, body.encode(), {"Content-Type": "text/xml"}
        if route == "uniprot-search":
            return self._uniprot_search(params)
        if route == "uniprot-entry":
            accession = path.rsplit("/", 1)[-1].removesuffix(".json")
            entry = next((e for e in self.recorded.uniprot if e["primaryAccession"] == accession), None)
            if entry is None:
                return 404, json.dumps({"messages": [f"{accession} not found"]}).encode(), {}
            return 200, json.dumps(entry).encode(), {"Content-Type": "application/json"}
        return 404, b"no such route", {}

    def _esearch(self, params: dict[str, str]) -> bytes:
        term = params.get("term", "")
        words = term.lower().split()  # PubMed ANDs the words of a query
        found = [pmid for pmid, xml in self.recorded.articles.items() if all(w in xml.lower() for w in words)]
        start, count = int(params.get("retstart", 0)), int(params.get("retmax", 20))
        ids = "".join(f"<Id>{pmid}</Id>\n" for pmid in found[start : start + count])
        return (
            f"{_ESEARCH_HEAD}<eSearchResult><Count>{len(found)}</Count><RetMax>{count}</RetMax>"
            f"<RetStart>{start}</RetStart><IdList>\n{ids}</IdList><TranslationSet/>"
            f"<QueryTranslation>{escape(term)}[All Fields]</QueryTranslation></eSearchResult>\n"
        ).encode()

    def _uniprot_search(self, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        query = params.get("query", "")
        accessions = set(re.findall(r"accession:(\w+)", query))
        entries = [entry for entry in self.recorded.uniprot if _matches(entry, query, accessions)]
        start = int(params.get("cursor", 0))
        end = start + min(int(params.get("size", 25)), self.uniprot_page_size)
        page = entries[start:end]
        if params.get("fields") == "accession":
            page = [{"entryType": e["entryType"], "primaryAccession": e["primaryAccession"]} for e in page]
        headers = {"Content-Type": "application/json", "X-Total-Results": str(len(entries))}
        if end < len(entries):
            headers["Link"] = (
                f'<{self.uniprot_url}/uniprotkb/search?{urlencode({**params, "cursor": end})}>; rel="next"'
            )
        return 200, json.dumps({"results": page}).encode(), headers


def _matches(entry: dict[str, Any], query: str, accessions: set[str]) -> bool:
    """``accession:X OR accession:Y`` picks those entries; ``*`` all; otherwise every ``AND``-ed term must hold:
    ``reviewed:true`` (Swiss-Prot), ``gene:X`` (a gene name), or text the entry contains."""
    if accessions:
        return entry["primaryAccession"] in accessions
    if query == "*":
        return True
    text = json.dumps(entry).lower()
    terms = re.split(r"\s+AND\s+", query.replace("(", " ").replace(")", " ").strip())
    return all(_holds(entry, term, text) for term in terms)


def _holds(entry: dict[str, Any], term: str, text: str) -> bool:
    if term == "reviewed:true":
        return bool(entry["entryType"].startswith("UniProtKB reviewed"))
    if term.startswith("gene:"):
        names = [gene.get("geneName", {}).get("value", "") for gene in entry.get("genes", [])]
        return term[len("gene:") :].upper() in (name.upper() for name in names)
    return term.lower() in text


def _route(path: str) -> str:
    if path == f"{EUTILS_PATH}/esearch.fcgi":
        return "esearch"
    if path == f"{EUTILS_PATH}/efetch.fcgi":
        return "efetch"
    if path == "/uniprotkb/search":
        return "uniprot-search"
    if path.startswith("/uniprotkb/") and path.endswith(".json"):
        return "uniprot-entry"
    return "unknown"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: LiveServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        answer = self.server.state.answer(url.path, url.query)
        if answer is None:
            return
        status, body, headers = answer
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timed out) before the answer came
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests read :attr:`LiveServer.requests` instead."""


@contextmanager
def serving(shared_data: Path) -> Iterator[LiveServer]:
    """Run a :class:`LiveServer` on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = LiveServer(load_recorded(shared_data), server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.state.closing.set()
        server.shutdown()
        server.server_close()
        thread.join()
