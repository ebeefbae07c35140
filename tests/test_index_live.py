"""Growing an index from live PubMed/UniProt queries, against the loopback server (hash embedder, real FAISS)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from live_server import LiveServer, Reply, serving
from typer.testing import CliRunner

from bioagent.cli.main import app
from bioagent.errors import BioagentError
from bioagent.index import build_index
from bioagent.index import live as index_live
from bioagent.index.live import grow_index, staging_file
from bioagent.ingest import PubMedClient
from bioagent.settings import Settings
from bioagent.types import Document

LOCAL = [
    Document(
        id="d1", title="Imatinib targets BCR-ABL", text="Imatinib inhibits the ABL1 kinase.", source="local"
    ),
    Document(id="d2", title="Insulin", text="Insulin lowers blood glucose.", source="local"),
]


@pytest.fixture()
def server(shared_data: Path) -> Iterator[LiveServer]:
    with serving(shared_data) as running:
        yield running


@pytest.fixture()
def live_settings(tmp_path: Path, server: LiveServer) -> Settings:
    """Hash embeddings; clients pointed at the loopback server (10 requests/s with the key, short timeouts)."""
    return Settings.load(
        cache_dir=tmp_path / "cache",
        embedding={"backend": "hash", "hash_dimension": 64},
        ncbi={"base_url": server.ncbi_url, "api_key": "test-key", "timeout_s": 2},
        uniprot={"base_url": server.uniprot_url, "timeout_s": 2},
    )


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def fetched_ids(server: LiveServer) -> list[str]:
    """Every PMID the server was asked to efetch, in order."""
    return [pmid for request in server.received("efetch") for pmid in request.params["id"].split(",")]


class InterruptingClient(PubMedClient):
    """Stops the run (as Ctrl-C would) when asked for its ``fetches + 1``-th batch."""

    def __init__(self, settings: Settings, fetches: int) -> None:
        super().__init__(settings.ncbi)
        self.fetches_left = fetches

    def fetch(self, pmids: Iterable[str]) -> list[Document]:
        if self.fetches_left == 0:
            raise KeyboardInterrupt
        self.fetches_left -= 1
        return super().fetch(pmids)


def test_grow_adds_only_records_not_yet_in_the_index(
    tmp_path: Path, server: LiveServer, live_settings: Settings
) -> None:
    path = tmp_path / "idx"
    build_index(LOCAL, path, live_settings)
    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=10)
    (first,) = report.sources
    assert (first.found, first.already_present, first.fetched, first.added) == (10, 0, 10, 10)
    assert len(index) == 12 and report.added == 10
    pmids = [request.params for request in server.received("esearch")][-1]
    assert pmids["term"] == "pancreatic" and pmids["retmax"] == "10"
    assert index.search("pancreatic cancer", k=1)[0].source == "pubmed"
    assert first.summary() == "PubMed 'pancreatic': found 10, already present 0, added 10"

    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=15)
    (second,) = report.sources
    assert (second.found, second.already_present, second.added) == (15, 10, 5)
    assert len(index) == 17 and len(fetched_ids(server)) == 15  # only the 5 new PMIDs were fetched

    data_dir = json.loads((path / "manifest.json").read_text())["data_dir"]
    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=15)
    assert report.sources[0].added == 0 and len(index) == 17 and len(fetched_ids(server)) == 15
    assert json.loads((path / "manifest.json").read_text())["data_dir"] == data_dir  # nothing rewritten
    assert not (path / index_live.STAGING_DIR).exists()


def test_grow_builds_a_new_index_from_both_sources(
    tmp_path: Path, server: LiveServer, live_settings: Settings
) -> None:
    path = tmp_path / "new"
    index, report = grow_index(path, live_settings, pubmed="chemotherapy", uniprot="keratin", max_records=3)
    pubmed, uniprot = report.sources
    assert pubmed.added == 3 and uniprot.added == 3 and len(index) == 6
    keratins = [doc for doc in index.documents if doc.source == "uniprot"]
    assert [doc.id for doc in keratins][0] == "P02538" and keratins[0].metadata["gene"] == "KRT6A"
    searched = server.received("uniprot-search")
    assert searched[1].params == {"query": "keratin", "format": "json", "size": "3", "fields": "accession"}
    manifest = json.loads((path / "manifest.json").read_text())
    assert [(s["path"], s["format"], s["documents"]) for s in manifest["sources"]] == [
        ("pubmed:chemotherapy", "pubmed-live", 3),
        ("uniprot:keratin", "uniprot-live", 3),
    ]
    requests = [r for r in server.requests if r.route in ("esearch", "efetch")]
    assert all(r.params["tool"] == "bioagent" and r.params["api_key"] == "test-key" for r in requests)


def test_an_interrupted_fetch_resumes_without_refetching(
    tmp_path: Path, server: LiveServer, live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_live, "STAGE_BATCH", 4)
    path = tmp_path / "idx"
    build_index(LOCAL, path, live_settings)
    with pytest.raises(KeyboardInterrupt):
        grow_index(
            path,
            live_settings,
            pubmed="pancreatic",
            max_records=10,
            pubmed_client=InterruptingClient(live_settings, fetches=2),
        )
    staged = staging_file(path, "pubmed", "pancreatic")
    first_run = fetched_ids(server)
    assert len(first_run) == 8 and len(staged.read_text().splitlines()) == 8

    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=10)
    second_run = fetched_ids(server)[8:]
    assert len(second_run) == 2 and not set(second_run) & set(first_run)
    assert (report.sources[0].resumed, report.sources[0].fetched, report.sources[0].added) == (8, 2, 10)
    assert len(index) == 12 and not staged.exists()


def test_an_interrupted_commit_refetches_nothing(
    tmp_path: Path, server: LiveServer, live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "idx"
    build_index(LOCAL, path, live_settings)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(index_live, "add_documents", interrupted)
        with pytest.raises(KeyboardInterrupt):
            grow_index(path, live_settings, uniprot="*", pubmed="pancreatic", max_records=6)
    assert len(server.received("efetch")) == 1
    index, report = grow_index(path, live_settings, uniprot="*", pubmed="pancreatic", max_records=6)
    assert len(server.received("efetch")) == 1 and len(index) == 14
    assert [source.resumed for source in report.sources] == [6, 6]


def test_a_fetch_that_fails_midway_keeps_what_came(
    tmp_path: Path, server: LiveServer, live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_live, "STAGE_BATCH", 4)
    path = tmp_path / "idx"
    build_index(LOCAL, path, live_settings)
    server.script("efetch", Reply(), Reply(400, b"Bad Request"))
    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=10)
    (source,) = report.sources
    assert source.added == 4 and len(index) == 6
    assert (
        source.error
        == "PubMed efetch: HTTP 400: Bad Request (6 records not fetched; run again to fetch them)"
    )
    index, report = grow_index(path, live_settings, pubmed="pancreatic", max_records=10)
    assert (report.sources[0].already_present, report.sources[0].added, len(index)) == (4, 6, 12)


def test_records_the_server_does_not_return_are_reported(
    tmp_path: Path, server: LiveServer, live_settings: Settings
) -> None:
    first = next(iter(server.recorded.articles))
    body = f"{server.recorded.pubmed_prolog}<PubmedArticleSet>{server.recorded.articles[first]}</PubmedArticleSet>"
    server.script("efetch", Reply(200, body.encode()))
    index, report = grow_index(tmp_path / "idx", live_settings, pubmed="pancreatic", max_records=3)
    (source,) = report.sources
    assert [doc.id for doc in index.documents] == [first] and len(source.not_returned) == 2
    assert source.summary().endswith(f"added 1; 2 not returned (first: {source.not_returned[0]})")


def test_an_unreachable_source_adds_nothing(tmp_path: Path, live_settings: Settings) -> None:
    path = tmp_path / "idx"
    build_index(LOCAL, path, live_settings)
    offline = live_settings.model_copy(
        update={"ncbi": live_settings.ncbi.model_copy(update={"base_url": closed_port_url()})}
    )
    started = time.monotonic()
    with pytest.raises(
        BioagentError,
        match=r"^PubMed is not reachable \(cannot reach PubMed at .*: connection refused\); nothing added$",
    ):
        grow_index(path, offline, pubmed="pancreatic", uniprot="keratin")
    assert time.monotonic() - started < 3


@pytest.fixture()
def cli_env(tmp_path: Path, server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment a user would set to point bioagent at the loopback server; returns a corpus file."""
    for name, value in {
        "EMBEDDING__BACKEND": "hash",
        "CACHE_DIR": str(tmp_path / "cache"),
        "NCBI__BASE_URL": server.ncbi_url,
        "NCBI__API_KEY": "test-key",
        "UNIPROT__BASE_URL": server.uniprot_url,
    }.items():
        monkeypatch.setenv(f"BIOAGENT_{name}", value)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in LOCAL)
    )
    return corpus


def test_cli_index_add_pubmed_then_again(tmp_path: Path, cli_env: Path) -> None:
    runner, path = CliRunner(), str(tmp_path / "idx")
    built = runner.invoke(app, ["index", "build", "--input", str(cli_env), "--out", path])
    assert built.exit_code == 0, built.output
    added = runner.invoke(app, ["index", "add", "--index", path, "--pubmed", "pancreatic", "--max", "5"])
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[-2:] == [
        "PubMed 'pancreatic': found 5, already present 0, added 5",
        "added 5 documents (0 already present); index now holds 7",
    ]
    again = runner.invoke(app, ["index", "add", "--index", path, "--pubmed", "pancreatic", "--max", "5"])
    assert again.stdout.splitlines()[-2:] == [
        "PubMed 'pancreatic': found 5, already present 5, added 0",
        "added 0 documents (0 already present); index now holds 7",
    ]


def test_cli_index_build_from_uniprot_and_a_file(tmp_path: Path, cli_env: Path) -> None:
    out = str(tmp_path / "idx")
    args = ["index", "build", "--out", out, "--uniprot", "keratin", "--max", "3", "--input", str(cli_env)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary, total = result.stdout.splitlines()[-2:]
    assert summary == "UniProt 'keratin': found 3, already present 0, added 3"
    assert total.startswith("indexed 5 documents (") and total.endswith(f"chunks) into {out}")


def test_cli_offline_is_one_line_and_quick(
    tmp_path: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOAGENT_NCBI__BASE_URL", closed_port_url())
    started = time.monotonic()
    result = CliRunner().invoke(app, ["index", "build", "--out", str(tmp_path / "idx"), "--pubmed", "tp53"])
    assert result.exit_code == 1 and time.monotonic() - started < 3
    assert result.stderr.startswith(
        "error: PubMed is not reachable (cannot reach PubMed at http://127.0.0.1:"
    )
    assert (
        result.stderr.endswith("connection refused); nothing added\n")
        and len(result.stderr.splitlines()) == 1
    )
    assert not (tmp_path / "idx").exists()


def test_cli_needs_a_source(tmp_path: Path, cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["index", "add", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert (
        result.stderr == "error: give at least one source: --input FILE, --pubmed QUERY or --uniprot QUERY\n"
    )


def test_cli_add_to_a_missing_index_is_an_error_not_a_new_index(tmp_path: Path, cli_env: Path) -> None:
    missing = tmp_path / "typo"
    result = CliRunner().invoke(app, ["index", "add", "--index", str(missing), "--input", str(cli_env)])
    assert result.exit_code == 1 and f"no index at {missing}" in result.stderr
    assert not missing.exists()
