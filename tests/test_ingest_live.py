"""Live PubMed and UniProt clients, offline on recorded responses (real-network tests are marked)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

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
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, utility: str, params: dict[str, Any]) -> HttpResponse:
        self.calls.append((utility, params))
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
    settings = NCBISettings(email="me@example.org", api_key="KEY", tool="bioagent-test")
    client = PubMedClient(settings, transport=transport, sleep=clock.sleep, clock=clock)
    pmids = client.search("biopython", retmax=20)
    assert len(pmids) == 20 and pmids[0] == "41282813"
    docs = client.fetch(["12091962", "9997"])
    assert [doc.id for doc in docs] == ["12091962", "9997"]
    assert docs[0].source == "pubmed" and docs[0].metadata["journal"]
    (search_utility, search_params), (fetch_utility, fetch_params) = transport.calls
    assert (
        search_utility == "esearch" and search_params["term"] == "biopython" and search_params["retmax"] == 20
    )
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
    def transport(utility: str, params: dict[str, Any]) -> HttpResponse:
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

    def transport(url: str) -> HttpResponse:
        urls.append(url)
        return HttpResponse(200, json.dumps(uniprot_results).encode())

    client = UniProtClient(UniProtSettings(), transport=transport)
    docs = client.search("keratin AND organism_id:9606", size=5)
    assert len(docs) == 52 and docs[0].id == "P02538"
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

    def transport(url: str) -> HttpResponse:
        urls.append(url)
        return replies.pop(0)

    clock = FakeClock()
    client = UniProtClient(UniProtSettings(max_retries=2), transport=transport, sleep=clock.sleep)
    doc = client.get("p02538")
    assert doc.id == "P02538"
    assert urls == ["https://rest.uniprot.org/uniprotkb/P02538.json"] * 3
    assert clock.sleeps == [3.0, 1.0]


def test_uniprot_get_errors() -> None:
    client = UniProtClient(
        UniProtSettings(), transport=lambda url: HttpResponse(404, b'{"messages": ["not found"]}')
    )
    with pytest.raises(IngestError, match="HTTP 404"):
        client.get("P99999")
    with pytest.raises(IngestError, match="'NOT-AN-ID' is not a UniProt accession"):
        client.get("not-an-id")


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
