"""Distributed index build on a local Ray instance: same index as the single-process build, resume, retries,
refusals (hash embedder on real SciFact abstracts; one slow test with the real MiniLM model)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bioagent.errors import BioagentError, ConfigError, MissingExtraError
from bioagent.index import HashEmbedder, build_index, load_index
from bioagent.index.distributed import SHARD_DIR, plan_shards
from bioagent.settings import IndexSettings, Settings
from bioagent.types import Document


@pytest.fixture(scope="module")
def abstracts(shared_data: Path) -> list[Document]:
    """The first 2,000 SciFact abstracts (real PubMed text)."""
    with (shared_data / "scifact/beir_format/corpus.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(2000), handle)]
    return [Document(id=r["_id"], title=r["title"], text=r["text"], source="beir") for r in records]


@pytest.fixture(scope="module")
def ray():
    """The ray package (tests that need it skip without the 'distributed' extra)."""
    pytest.importorskip("ray.data")
    import ray

    # The crashing test embedders below are shipped to the actors by value (workers cannot import this module).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray


@pytest.fixture(scope="module")
def local_ray(ray):
    """One local Ray instance with 2 CPUs for the module; builds use it instead of starting their own."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def ray_settings(tmp_path: Path, shard_size: int = 256, dimension: int = 128, **distributed) -> Settings:
    return Settings.load(
        cache_dir=tmp_path / "cache",
        embedding={"backend": "hash", "hash_dimension": dimension},
        distributed={"engine": "ray", "num_workers": 2, "shard_size": shard_size, **distributed},
    )


def single_settings(tmp_path: Path) -> Settings:
    return Settings.load(cache_dir=tmp_path / "cache", embedding={"backend": "hash", "hash_dimension": 128})


def all_vectors(index) -> np.ndarray:
    return index.dense.reconstruct(list(range(len(index.chunks))))


def assert_same_index(got, expected) -> None:
    assert [d.id for d in got.documents] == [d.id for d in expected.documents]
    assert [got.documents.chunk(row) for row in got.chunks] == [
        expected.documents.chunk(row) for row in expected.chunks
    ]
    np.testing.assert_allclose(all_vectors(got), all_vectors(expected), atol=1e-6)


def shard_stamps(out: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in sorted((out / SHARD_DIR).glob("*.json"))}


class CrashOnceEmbedder(HashEmbedder):
    """Kills its worker process the first time it embeds (a marker file remembers that it did)."""

    def __init__(self, marker: Path) -> None:
        super().__init__(128)
        self.marker = marker

    def encode_documents(self, texts: list[str], progress: bool = False):
        if not self.marker.exists():
            self.marker.write_text("crashed")
            os._exit(1)
        return super().encode_documents(texts)


class CrashAlwaysEmbedder(HashEmbedder):
    """Kills its worker process every time it embeds."""

    def encode_documents(self, texts: list[str], progress: bool = False):
        os._exit(1)


class FailOnTextEmbedder(HashEmbedder):
    """Raises on the shard that holds ``poison`` (an application error: not retried)."""

    def __init__(self, poison: str) -> None:
        super().__init__(128)
        self.poison = poison

    def encode_documents(self, texts: list[str], progress: bool = False):
        if self.poison in texts:
            raise RuntimeError("embedding failed on purpose")
        return super().encode_documents(texts)


def test_ray_build_equals_the_single_process_build(local_ray, abstracts, tmp_path: Path) -> None:
    expected = build_index(abstracts, tmp_path / "single", single_settings(tmp_path))
    settings = ray_settings(tmp_path)
    got = build_index(abstracts, tmp_path / "ray", settings)
    assert_same_index(got, expected)
    queries = [doc.title for doc in abstracts[:: len(abstracts) // 8]]
    for mode in ("dense", "hybrid"):
        got_hits = got.search_many(queries, k=5, mode=mode)
        expected_hits = expected.search_many(queries, k=5, mode=mode)
        assert [[h.id for h in hits] for hits in got_hits] == [[h.id for h in hits] for hits in expected_hits]
    shards = len(plan_shards(expected.documents.chunk_lengths(), 256))
    assert got.manifest.build == {"engine": "ray", "workers": 2, "shards": shards, "shard_size": 256}
    assert got.manifest.embedder == expected.manifest.embedder
    assert len(list((tmp_path / "ray" / SHARD_DIR).glob("shard-*.faiss"))) == shards
    assert_same_index(load_index(tmp_path / "ray", settings), expected)


def test_a_rerun_embeds_only_the_missing_shards(local_ray, abstracts, tmp_path: Path) -> None:
    settings = ray_settings(tmp_path, shard_size=50)
    first = build_index(abstracts[:300], tmp_path / "ray", settings)
    before = shard_stamps(tmp_path / "ray")
    assert len(before) == len(plan_shards(first.documents.chunk_lengths(), 50)) > 3
    for path in (tmp_path / "ray" / SHARD_DIR).glob("shard-00002.*"):
        path.unlink()
    again = build_index(abstracts[:300], tmp_path / "ray", settings)
    after = shard_stamps(tmp_path / "ray")
    assert [name for name in after if after[name] != before.get(name)] == ["shard-00002.json"]
    assert_same_index(again, first)


def test_shards_go_to_ray_in_windows_of_build_block_texts(
    local_ray, abstracts, tmp_path: Path, monkeypatch
) -> None:
    """The driver holds one window of texts at a time: here 2 shards of 50 per Ray run."""
    from bioagent.index import distributed

    runs: list[int] = []
    original = distributed.embedded_shards

    def counting(ray, items, settings, embedder):
        runs.append(sum(len(item["texts"]) for item in items))
        yield from original(ray, items, settings, embedder)

    monkeypatch.setattr(distributed, "embedded_shards", counting)
    docs = abstracts[:300]
    expected = build_index(docs, tmp_path / "single", single_settings(tmp_path))
    settings = ray_settings(tmp_path, shard_size=50).model_copy(
        update={"index": IndexSettings(build_block=100)}
    )
    got = build_index(docs, tmp_path / "ray", settings)
    assert len(runs) > 2 and max(runs) <= 100
    assert_same_index(got, expected)


def test_a_failed_build_writes_no_index_and_resumes_from_finished_shards(
    local_ray, abstracts, tmp_path: Path
) -> None:
    docs = abstracts[:300]
    expected = build_index(docs, tmp_path / "single", single_settings(tmp_path))
    settings = ray_settings(tmp_path, shard_size=50)
    shortest = min(
        expected.documents.chunk_texts(expected.chunks), key=len
    )  # it lies in the last shard, embedded last
    with pytest.raises(
        BioagentError, match="RuntimeError: embedding failed on purpose.*rerun the same command"
    ):
        build_index(docs, tmp_path / "ray", settings, FailOnTextEmbedder(shortest))
    assert not (tmp_path / "ray" / "manifest.json").exists()
    finished = shard_stamps(tmp_path / "ray")
    assert 1 <= len(finished) < len(plan_shards(expected.documents.chunk_lengths(), 50))
    resumed = build_index(docs, tmp_path / "ray", settings)
    after = shard_stamps(tmp_path / "ray")
    assert all(after[name] == stamp for name, stamp in finished.items())
    assert_same_index(resumed, expected)


def test_a_killed_worker_is_restarted_and_its_shard_retried(local_ray, abstracts, tmp_path: Path) -> None:
    docs = abstracts[:200]
    expected = build_index(docs, tmp_path / "single", single_settings(tmp_path))
    marker = tmp_path / "crashed"
    got = build_index(
        docs, tmp_path / "ray", ray_settings(tmp_path, shard_size=50), CrashOnceEmbedder(marker)
    )
    assert marker.exists()
    assert_same_index(got, expected)


def test_a_worker_that_keeps_dying_fails_the_build_after_its_retries(
    local_ray, abstracts, tmp_path: Path
) -> None:
    settings = ray_settings(tmp_path, shard_size=50, max_retries=1)
    with pytest.raises(BioagentError, match=r"stopped after 0 of 2 shards \(ActorDiedError"):
        build_index(abstracts[:80], tmp_path / "ray", settings, CrashAlwaysEmbedder(128))
    assert not (tmp_path / "ray" / "manifest.json").exists()


def test_shards_embedded_with_another_embedder_are_refused(local_ray, abstracts, tmp_path: Path) -> None:
    build_index(abstracts[:100], tmp_path / "ray", ray_settings(tmp_path, shard_size=50))
    with pytest.raises(ConfigError, match=r"shard-00000\.json was embedded with 'hash-128'.*'hash-64'"):
        build_index(abstracts[:100], tmp_path / "ray", ray_settings(tmp_path, shard_size=50, dimension=64))


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bioagent.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", **env},
        timeout=300,
    )


@pytest.fixture()
def corpus_file(abstracts, tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    rows = [{"_id": d.id, "title": d.title, "text": d.text} for d in abstracts[:200]]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_the_ray_engine_without_ray_names_the_extra(monkeypatch, abstracts, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(MissingExtraError, match=r"pip install -e \.\[distributed\]"):
        build_index(abstracts[:10], tmp_path / "idx", ray_settings(tmp_path))


def test_cli_builds_with_ray_on_a_local_instance(ray, corpus_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    result = run_cli(
        "index", "build", "-i", str(corpus_file), "-f", "beir", "-o", str(out), "--engine", "ray",
        "--num-workers", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "indexed 200 documents" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["build"]["engine"] == "ray" and manifest["build"]["workers"] == 2
    hits = run_cli("search", "--index", str(out), "-q", "vitamin D deficiency", "--json")
    assert hits.returncode == 0 and json.loads(hits.stdout)["hits"]


@pytest.mark.parametrize("address", ["ray://127.0.0.1:{closed}", "127.0.0.1:{silent}"])
def test_an_unreachable_address_fails_within_the_timeout(
    ray, address: str, corpus_file: Path, tmp_path: Path
) -> None:
    with socket.socket() as closed, socket.socket() as silent:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts, never answers: only the timeout ends the wait
        address = address.format(closed=closed.getsockname()[1], silent=silent.getsockname()[1])
        started = time.monotonic()
        result = run_cli(
            "index", "build", "-i", str(corpus_file), "-o", str(tmp_path / "idx"), "--engine", "ray",
            "--address", address, BIOAGENT_DISTRIBUTED__CONNECT_TIMEOUT_S="2",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"the Ray cluster at {address}" in result.stderr and "2 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 2 + 15  # the timeout plus interpreter start-up and input reading on a busy machine
    assert not (tmp_path / "idx" / "manifest.json").exists()


@pytest.mark.slow
def test_real_minilm_vectors_match_the_single_process_build(local_ray, abstracts, tmp_path: Path) -> None:
    docs = abstracts[:200]
    settings = Settings.load(cache_dir=tmp_path / "cache")
    expected = build_index(docs, tmp_path / "single", settings)
    ray_built = Settings.load(cache_dir=tmp_path / "cache", distributed={"engine": "ray", "shard_size": 64})
    got = build_index(docs, tmp_path / "ray", ray_built)
    assert got.manifest.embedder == expected.manifest.embedder
    assert [d.id for d in got.documents] == [d.id for d in expected.documents]
    np.testing.assert_allclose(all_vectors(got), all_vectors(expected), atol=1e-5)
