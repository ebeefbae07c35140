"""Live PubMed and UniProt clients, offline on recorded responses (real-network tests are marked)."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from live_server import LiveServer, Reply, serving

from bioagent.errors import IngestError
from bioagent.ingest import PubMedClient, RateLimiter, UniProtClient
from bioagent.ingest.live import HttpResponse, send_with_retries
from bioagent.settings import NCBISettings, UniProtSettings


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordedEntrez:
    """Answers esearch/efetch with recorded XML; can fail the first calls with a given status."""

    def __init__(self, entrez_dir: Path, failures: list[HttpResponse] | None = None) -> None:
        self.dir = entrez_dir
        self.failures = list(failures or [])
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.timeouts: list[float] = []

    def __call__(self, url: str, timeout_s: float) -> HttpResponse:
        parts = urlparse(url)
        utility = parts.path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        self.calls.append((utility, {key: values[-1] for key, values in parse_qs(parts.query).items()}))
        self.timeouts.append(timeout_s)
        if self.failures:
            return self.failures.pop(0)
        name = "esearch1.xml" if utility == "esearch" else "pubmed1.xml"
        return HttpResponse(200, (self.dir / name).read_bytes())


@pytest.fixture(scope="module")
def entrez_dir(shared_data: Path) -> Path:
    return shared_data / "medline_pubmed_biopython_tests" / "Entrez"


@pytest.fixture(scope="module")
def uniprot_results(shared_data: Path) -> dict[str, Any]:
    path = shared_data / "uniprot_more" / "uniprot_parquet_fixture_small.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


def test_pubmed_search_and_fetch(entrez_dir: Path) -> None:
    transport = RecordedEntrez(entrez_dir)
    clock = FakeClock()
    settings = NCBISettings(email="me@example.org", api_key="KEY", tool="bioagent-test", timeout_s=7)
    client = PubMedClient(settings, transport=transport, sleep=clock.sleep, clock=clock)
    pmids = client.search("biopython", retmax=20)
    assert len(pmids) == 20 and pmids[0] == "41282813"
    docs = client.fetch(["12091962", "9997"])
    assert [doc.id for doc in docs] == ["12091962", "9997"]
    assert docs[0].source == "pubmed" and docs[0].metadata["journal"]
    (search_utility, search_params), (fetch_utility, fetch_params) = transport.calls
    assert (
        search_utility == "esearch"
        and search_params["term"] == "biopython"
        and search_params["retmax"] == "20"
    )
    assert transport.timeouts == [7, 7]
    assert (
        fetch_utility == "efetch"
        and fetch_params["id"] == "12091962,9997"
        and fetch_params["retmode"] == "xml"
    )
    for params in (search_params, fetch_params):
        assert (params["email"], params["api_key"], params["tool"]) == (
            "me@example.org",
            "KEY",
            "bioagent-test",
        )


def test_pubmed_without_key_sends_no_key_and_is_limited_to_3_per_second(entrez_dir: Path) -> None:
    clock = FakeClock()
    transport = RecordedEntrez(entrez_dir)
    client = PubMedClient(NCBISettings(), transport=transport, sleep=clock.sleep, clock=clock)
    for _ in range(3):
        client.search("x")
    assert "api_key" not in transport.calls[0][1] and "email" not in transport.calls[0][1]
    assert clock.sleeps == pytest.approx([1 / 3, 1 / 3])
    keyed = PubMedClient(NCBISettings(api_key="K"), transport=transport, sleep=clock.sleep, clock=clock)
    assert keyed.limiter.interval == pytest.approx(0.1)


def test_pubmed_retries_429_then_succeeds(entrez_dir: Path) -> None:
    clock = FakeClock()
    failures = [HttpResponse(429, b"Too Many Requests"), HttpResponse(503, b"busy", {"retry-after": "2"})]
    transport = RecordedEntrez(entrez_dir, failures)
    client = PubMedClient(NCBISettings(max_retries=2), transport=transport, sleep=clock.sleep, clock=clock)
    assert len(client.search("biopython")) == 20
    assert len(transport.calls) == 3
    assert 1.0 in clock.sleeps and 2.0 in clock.sleeps  # backoff, then the server's Retry-After


def test_pubmed_gives_up_after_max_retries(entrez_dir: Path) -> None:
    clock = FakeClock()
    transport = RecordedEntrez(entrez_dir, [HttpResponse(503, b"down")] * 5)
    client = PubMedClient(NCBISettings(max_retries=1), transport=transport, sleep=clock.sleep, clock=clock)
    with pytest.raises(IngestError, match=r"PubMed esearch: HTTP 503 after 2 tries: down"):
        client.search("x")
    assert len(transport.calls) == 2


def test_pubmed_search_error_element() -> None:
    def transport(url: str, timeout_s: float) -> HttpResponse:
        return HttpResponse(200, b"<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>")

    client = PubMedClient(NCBISettings(), transport=transport, sleep=lambda s: None)
    with pytest.raises(IngestError, match="Invalid query"):
        client.search("((")


def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    clock.now += 1.0  # idle time is not banked beyond one interval
    limiter.wait()
    limiter.wait()
    assert clock.sleeps == pytest.approx([0.1, 0.1])


def test_no_retry_on_client_errors() -> None:
    calls: list[int] = []

    def send() -> HttpResponse:
        calls.append(1)
        return HttpResponse(400, b"bad request")

    with pytest.raises(IngestError, match="HTTP 400: bad request"):
        send_with_retries(send, where="svc", max_retries=3, sleep=lambda s: None)
    assert len(calls) == 1


def test_connection_errors_are_retried() -> None:
    attempts: list[int] = []

    def send() -> HttpResponse:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionResetError("reset")
        return HttpResponse(200, b"{}")

    assert send_with_retries(send, where="svc", max_retries=2, sleep=lambda s: None).status == 200


def test_uniprot_search_on_recorded_json(uniprot_results: dict[str, Any]) -> None:
    urls: list[str] = []

    def transport(url: str, timeout_s: float) -> HttpResponse:
        urls.append(url)
        return HttpResponse(200, json.dumps(uniprot_results).encode())

    client = UniProtClient(UniProtSettings(), transport=transport)
    docs = client.search("keratin AND organism_id:9606", size=5)
    assert len(docs) == 5 and docs[0].id == "P02538"
    assert docs[0].metadata["gene"] == "KRT6A" and docs[0].source == "uniprot"
    query = parse_qs(urlparse(urls[0]).query)
    assert urls[0].startswith("https://rest.uniprot.org/uniprotkb/search?")
    assert query == {"query": ["keratin AND organism_id:9606"], "format": ["json"], "size": ["5"]}


def test_uniprot_get_retries_503_with_retry_after(uniprot_results: dict[str, Any]) -> None:
    entry = uniprot_results["results"][0]
    replies = [
        HttpResponse(503, b"unavailable", {"Retry-After": "3"}),
        HttpResponse(429, b"slow down", {"Retry-After": "1"}),
        HttpResponse(200, json.dumps(entry).encode()),
    ]
    urls: list[str] = []

    def transport(url: str, timeout_s: float) -> HttpResponse:
        urls.append(url)
        return replies.pop(0)

    clock = FakeClock()
    client = UniProtClient(
        UniProtSettings(max_retries=2), transport=transport, sleep=clock.sleep, clock=clock
    )
    doc = client.get("p02538")
    assert doc.id == "P02538"
    assert urls == ["https://rest.uniprot.org/uniprotkb/P02538.json"] * 3
    assert clock.sleeps == [3.0, 1.0]


def test_uniprot_requests_are_spaced_by_the_rate_limit(uniprot_results: dict[str, Any]) -> None:
    entry = json.dumps(uniprot_results["results"][0]).encode()
    clock = FakeClock()
    arrivals: list[float] = []

    def transport(url: str, timeout_s: float) -> HttpResponse:
        arrivals.append(clock.now)
        return HttpResponse(200, entry)

    settings = UniProtSettings(requests_per_second=4)
    client = UniProtClient(settings, transport=transport, sleep=clock.sleep, clock=clock)
    for _ in range(3):
        client.get("P02538")
    assert [later - earlier for earlier, later in zip(arrivals, arrivals[1:])] == [0.25, 0.25]
    assert UniProtSettings().requests_per_second == 10


def test_uniprot_get_errors() -> None:
    client = UniProtClient(
        UniProtSettings(), transport=lambda url, timeout_s: HttpResponse(404, b'{"messages": ["not found"]}')
    )
    with pytest.raises(IngestError, match="HTTP 404"):
        client.get("P99999")
    with pytest.raises(IngestError, match="'NOT-AN-ID' is not a UniProt accession"):
        client.get("not-an-id")


@pytest.fixture()
def server(shared_data: Path) -> Iterator[LiveServer]:
    with serving(shared_data) as running:
        yield running


def closed_port_url(path: str = "") -> str:
    """A loopback URL on which nothing listens (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def pubmed_client(server: LiveServer, **settings: Any) -> tuple[PubMedClient, FakeClock]:
    """A client of the loopback server whose waits (rate limit, backoff) are recorded, not slept."""
    clock = FakeClock()
    options = {"base_url": server.ncbi_url, "timeout_s": 0.5, **settings}
    return PubMedClient(NCBISettings(**options), sleep=clock.sleep, clock=clock), clock


def test_pubmed_over_http_sends_identity_on_every_call(server: LiveServer) -> None:
    client, _ = pubmed_client(server, email="me@example.org", api_key="KEY", tool="bioagent-test")
    pmids = client.search("pancreatic", retmax=5)
    docs = client.fetch(pmids)
    assert len(pmids) == 5 and [doc.id for doc in docs] == pmids
    assert all(doc.source == "pubmed" and doc.title for doc in docs)
    assert pmids[0] == "1000475" and "pancrea" in (docs[0].title + docs[0].text).lower()
    assert [r.route for r in server.requests] == ["esearch", "efetch"]
    for request in server.requests:
        assert (request.params["tool"], request.params["email"], request.params["api_key"]) == (
            "bioagent-test",
            "me@example.org",
            "KEY",
        )
    assert server.requests[1].params["id"] == ",".join(pmids)


@pytest.mark.parametrize(("api_key", "interval"), [(None, 1 / 3), ("KEY", 0.1)])
def test_pubmed_requests_are_spaced_by_the_rate_limit(
    server: LiveServer, api_key: str | None, interval: float
) -> None:
    client = PubMedClient(NCBISettings(base_url=server.ncbi_url, api_key=api_key, timeout_s=2))
    for _ in range(3):
        client.search("insulin", retmax=1)
    arrivals = [request.at for request in server.received("esearch")]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert len(gaps) == 2 and min(gaps) >= interval * 0.9, gaps


def test_pubmed_honours_retry_after_on_429_and_backs_off_on_503(server: LiveServer) -> None:
    server.script("esearch", Reply(429, b"Too Many Requests", {"Retry-After": "7"}), Reply(503, b"busy"))
    client, clock = pubmed_client(server, api_key="KEY", max_retries=2)
    assert len(client.search("pancreatic", retmax=3)) == 3
    assert len(server.received("esearch")) == 3
    assert 7.0 in clock.sleeps and 2.0 in clock.sleeps  # the server's Retry-After, then backoff (1 s * 2)


def test_pubmed_stall_times_out_and_is_retried(server: LiveServer) -> None:
    server.script("esearch", Reply(delay_s=5))
    client, _ = pubmed_client(server, max_retries=1, timeout_s=0.3)
    started = time.monotonic()
    assert len(client.search("pancreatic", retmax=2)) == 2
    assert len(server.received("esearch")) == 2 and time.monotonic() - started < 2


def test_pubmed_stalled_every_time_is_a_clear_error(server: LiveServer) -> None:
    server.script("esearch", *[Reply(delay_s=5)] * 3)
    client, _ = pubmed_client(server, max_retries=2, timeout_s=0.3)
    started = time.monotonic()
    expected = f"PubMed esearch: cannot reach PubMed at {server.ncbi_url}: timed out after 0.3 s (3 tries)"
    with pytest.raises(IngestError, match=re.escape(expected)):
        client.search("pancreatic")
    assert len(server.received("esearch")) == 3 and time.monotonic() - started < 3


def test_pubmed_errors_never_show_the_api_key(server: LiveServer) -> None:
    client = PubMedClient(
        NCBISettings(base_url=closed_port_url(), api_key="SECRET", max_retries=1), sleep=lambda s: None
    )
    with pytest.raises(IngestError, match="connection refused") as error:
        client.search("x")
    assert "SECRET" not in str(error.value)


@pytest.mark.parametrize(
    ("route", "body", "message"),
    [
        ("esearch", b"<eSearchResult><IdList><Id>1</Id>", "PubMed esearch: unreadable response"),
        ("esearch", b"<html><body>Service unavailable</body></html>", "unexpected response <html>"),
        ("efetch", b"<html><body>Service unavailable</body></html>", "unexpected response (not PubMed XML)"),
        ("efetch", b"", "unexpected response (not PubMed XML): (empty body)"),
    ],
)
def test_pubmed_malformed_responses_are_clear_errors(
    server: LiveServer, route: str, body: bytes, message: str
) -> None:
    server.script(route, Reply(200, body))
    client, _ = pubmed_client(server)
    with pytest.raises(IngestError, match=re.escape(message)):
        client.fetch(client.search("pancreatic", retmax=2))


def test_pubmed_truncated_efetch_keeps_the_whole_records(server: LiveServer) -> None:
    first, second = list(server.recorded.articles)[:2]
    truncated = server.recorded.articles[second][:300]
    body = f"{server.recorded.pubmed_prolog}<PubmedArticleSet>{server.recorded.articles[first]}{truncated}"
    server.script("efetch", Reply(200, body.encode()))
    client, _ = pubmed_client(server)
    assert [doc.id for doc in client.fetch([first, second])] == [first]


def test_reachable_answers_quickly(server: LiveServer) -> None:
    client, _ = pubmed_client(server)
    assert client.reachable() is None
    server.script("esearch", Reply(delay_s=5))
    started = time.monotonic()
    assert (
        client.reachable(timeout_s=0.3) == f"cannot reach PubMed at {server.ncbi_url}: timed out after 0.3 s"
    )
    offline = PubMedClient(NCBISettings(base_url=closed_port_url("/eutils")))
    assert offline.reachable() == f"cannot reach PubMed at {offline.base_url}: connection refused"
    server.script("esearch", Reply(503, b"down"))
    assert client.reachable() == "HTTP 503: down"
    assert time.monotonic() - started < 2
    assert UniProtClient(UniProtSettings(base_url=server.uniprot_url)).reachable() is None
    unreachable = UniProtClient(UniProtSettings(base_url=closed_port_url()))
    assert unreachable.reachable() == f"cannot reach UniProt at {unreachable.base_url}: connection refused"


def test_uniprot_over_http_pages_and_fetches(server: LiveServer) -> None:
    server.uniprot_page_size = 10
    client = UniProtClient(UniProtSettings(base_url=server.uniprot_url, timeout_s=0.5))
    accessions = client.search_accessions("*", limit=25)
    expected = [entry["primaryAccession"] for entry in server.recorded.uniprot[:25]]
    assert accessions == expected
    cursors = [r.params.get("cursor") for r in server.received("uniprot-search")]
    assert cursors == [None, "10", "20"]
    assert all(r.params["fields"] == "accession" for r in server.received("uniprot-search"))
    docs = client.fetch(accessions[:3])
    assert [doc.id for doc in docs] == expected[:3] and docs[0].metadata["gene"] == "KRT6A"
    assert server.requests[-1].params["query"] == " OR ".join(f"accession:{a}" for a in expected[:3])
    assert client.get("P02538").metadata["gene"] == "KRT6A"


def test_uniprot_faults(server: LiveServer) -> None:
    client = UniProtClient(
        UniProtSettings(base_url=server.uniprot_url, timeout_s=0.3, max_retries=1), sleep=lambda s: None
    )
    server.script("uniprot-entry", Reply(503, b"busy", {"Retry-After": "1"}))
    assert client.get("P02538").id == "P02538"
    server.script("uniprot-search", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(IngestError, match=r"response is not JSON .*: <html>maintenance</html>"):
        client.search_accessions("keratin")
    server.script("uniprot-search", Reply(200, b"[1, 2]"))
    with pytest.raises(IngestError, match="unexpected JSON response"):
        client.search("keratin")
    server.script("uniprot-entry", *[Reply(delay_s=5)] * 2)
    with pytest.raises(IngestError, match=r"cannot reach UniProt at .*: timed out after 0.3 s \(2 tries\)"):
        client.get("P02538")


@pytest.mark.network
def test_live_pubmed_search() -> None:
    client = PubMedClient(NCBISettings(email="bioagent-tests@example.org"))
    pmids = client.search("TP53 tumor suppressor", retmax=3)
    assert len(pmids) == 3
    assert all(doc.id in pmids for doc in client.fetch(pmids))


@pytest.mark.network
def test_live_uniprot_get() -> None:
    doc = UniProtClient(UniProtSettings()).get("P04637")
    assert doc.metadata["gene"] == "TP53"
