"""FAISS stores: kinds, shards merged by score, IVF-PQ re-scoring from disk, memory estimates and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioagent.errors import ConfigError
from bioagent.index import dense
from bioagent.index.dense import DenseStore, bytes_per_vector, check_memory, merge_by_score
from bioagent.settings import IndexSettings, Settings


def clustered(n: int, dimension: int = 64, centres: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors scattered around random centres (cosine to their centre about 0.85)."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, dimension)).astype(np.float32)
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dimension)).astype(np.float32) * (0.6 / np.sqrt(dimension))
    vectors = middle[rng.integers(0, centres, n)] + noise
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1)[:, :k]


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


ALL = clustered(20_050)
VECTORS, QUERIES = ALL[:20_000], ALL[20_000:]  # queries drawn around the same centres
TRUTH = exact_top(VECTORS, QUERIES, 10)


def test_merge_by_score_by_hand() -> None:
    scores = np.array([[0.9, 0.1, 0.5, 0.7]], dtype=np.float32)
    rows = np.array([[3, 8, -1, 2]])
    top_scores, top_rows = merge_by_score(scores, rows, 3)
    assert top_rows.tolist() == [[3, 2, 8]]
    assert top_scores[0].tolist() == pytest.approx([0.9, 0.7, 0.1])
    _, padded = merge_by_score(scores[:, :2], np.array([[3, -1]]), 2)
    assert padded.tolist() == [[3, -1]]


def test_sharded_flat_store_equals_one_file_and_survives_reload(tmp_path: Path) -> None:
    one = DenseStore.build(VECTORS, 64, IndexSettings(kind="flat"))
    sharded = DenseStore.build(VECTORS, 64, IndexSettings(kind="flat", shard_vectors=6_000))
    assert [s.ntotal for s in sharded.shards] == [6_000, 6_000, 6_000, 2_000]
    expected_scores, expected_rows = one.search(QUERIES, 10)
    scores, rows = sharded.search(QUERIES, 10)
    assert np.array_equal(rows, expected_rows)
    assert np.allclose(scores, expected_scores, atol=1e-5)
    assert np.allclose(sharded.reconstruct([5, 6_001, 19_999]), VECTORS[[5, 6_001, 19_999]])
    sharded.save(tmp_path / "dense.faiss")
    assert (tmp_path / "dense.faiss.3").exists() and not (tmp_path / "dense.faiss.4").exists()
    reloaded = DenseStore.load(tmp_path / "dense.faiss", IndexSettings(), mmap=True)
    assert reloaded.size == 20_000
    assert np.array_equal(reloaded.search(QUERIES, 10)[1], expected_rows)


def test_ivfpq_reranked_from_disk_recovers_recall_that_pq_alone_loses(tmp_path: Path) -> None:
    settings = IndexSettings(kind="ivfpq", ivf_nlist=64, pq_m=16, nprobe=16, rerank=10)
    store = DenseStore.build(VECTORS, 64, settings)
    store.save(tmp_path / "dense.faiss")
    loaded = DenseStore.load(tmp_path / "dense.faiss", settings, mmap=True)
    assert isinstance(loaded.exact, np.memmap) and loaded.exact.dtype == np.float16
    with_rerank = recall_at(loaded.search(QUERIES, 10)[1], TRUTH)
    loaded.set_search_params(rerank=0)
    pq_only = recall_at(loaded.search(QUERIES, 10)[1], TRUTH)
    assert with_rerank >= 0.95
    assert pq_only < with_rerank - 0.2
    assert np.allclose(loaded.reconstruct([0, 7]), VECTORS[[0, 7]], atol=2e-3)


def test_query_time_breadth_changes_ivf_results() -> None:
    settings = IndexSettings(kind="ivfflat", ivf_nlist=128, nprobe=1)
    store = DenseStore.build(VECTORS, 64, settings)
    narrow = recall_at(store.search(QUERIES, 10)[1], TRUTH)
    store.set_search_params(nprobe=128)
    assert recall_at(store.search(QUERIES, 10)[1], TRUTH) == pytest.approx(1.0)
    assert narrow < 1.0


def test_bytes_per_vector_matches_faiss_code_sizes() -> None:
    settings = IndexSettings(pq_m=48, rerank=10)
    assert bytes_per_vector("flat", 384, settings)["memory"] == 1536
    ivfpq = bytes_per_vector("ivfpq", 384, settings)
    assert ivfpq == {"memory": 56, "disk_extra": 768}
    assert bytes_per_vector("ivfpq", 384, settings.model_copy(update={"rerank": 0}))["memory"] == 64
    hnsw = bytes_per_vector("hnsw", 384, IndexSettings(hnsw_m=32))["memory"]
    assert 1536 + 256 <= hnsw < 1536 + 300
    store = DenseStore.build(VECTORS, 64, IndexSettings(kind="ivfpq", ivf_nlist=64, pq_m=8, rerank=1))
    assert store.shards[0].code_size == 8  # what the estimate assumes for pq_m=8, 8 bits


def test_a_build_that_cannot_fit_is_refused_before_work_with_the_estimate(monkeypatch) -> None:
    monkeypatch.setattr(dense, "available_memory_bytes", lambda: 8 * 2**30)
    check_memory(1_000_000, 384, IndexSettings(kind="flat"))  # ~3 GiB: fits
    with pytest.raises(ConfigError, match=r"36,000,000 vectors.*GiB.*ivfpq"):
        check_memory(36_000_000, 384, IndexSettings(kind="flat"))


def test_a_huge_build_is_refused_before_embedding(monkeypatch, tmp_path: Path) -> None:
    from bioagent.index import build_index
    from bioagent.types import Document

    monkeypatch.setattr(dense, "available_memory_bytes", lambda: 1_000)
    called = []
    monkeypatch.setattr("bioagent.index.engines._embed_cached", lambda *a, **k: called.append(1))
    settings = Settings.load(embedding={"backend": "hash"})
    with pytest.raises(ConfigError, match="GiB"):
        build_index([Document(id="1", title="t", text="insulin")], tmp_path / "x", settings)
    assert not called


def test_ivfpq_index_folder_round_trip_with_mmap(tmp_path: Path) -> None:
    from bioagent.index import build_index, load_index
    from bioagent.types import Document

    rng = np.random.default_rng(3)
    words = [f"term{i}" for i in range(400)]
    docs = [
        Document(id=str(i), title=f"record {i}", text=" ".join(rng.choice(words, 30))) for i in range(3_000)
    ]
    settings = Settings.load(
        embedding={"backend": "hash", "hash_dimension": 64},
        index={"kind": "ivfpq", "ivf_nlist": 32, "pq_m": 8, "shard_vectors": 1_000, "mmap": True},
    )
    built = build_index(docs, tmp_path / "pq", settings)
    loaded = load_index(tmp_path / "pq", settings)
    assert len(loaded.dense.shards) == 3
    query = docs[42].text
    assert loaded.search(query, k=1, mode="dense")[0].id == "42"
    assert [h.id for h in loaded.search(query, k=5)] == [h.id for h in built.search(query, k=5)]


def test_small_batches_run_on_one_thread_and_the_setting_is_restored() -> None:
    import faiss
    import torch

    from bioagent.index.threads import SMALL_BATCH, one_thread_if_small

    for library in (faiss, torch):
        get = getattr(library, "omp_get_max_threads", None) or library.get_num_threads
        set_ = getattr(library, "omp_set_num_threads", None) or library.set_num_threads
        set_(2)
        with one_thread_if_small(1, library):
            assert get() == 1
        assert get() == 2
        with one_thread_if_small(SMALL_BATCH + 1, library):
            assert get() == 2


def test_search_cli_sets_query_time_breadth(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from bioagent.cli.main import app
    from bioagent.index import build_index
    from bioagent.types import Document

    monkeypatch.setenv("BIOAGENT_EMBEDDING__BACKEND", "hash")
    monkeypatch.setenv("BIOAGENT_EMBEDDING__HASH_DIMENSION", "64")
    rng = np.random.default_rng(5)
    words = [f"term{i}" for i in range(300)]
    docs = [Document(id=str(i), title="", text=" ".join(rng.choice(words, 25))) for i in range(2_000)]
    build_index(docs, tmp_path / "ivf", Settings.load(index={"kind": "ivfflat", "ivf_nlist": 40}))
    args = [
        "search",
        "--index",
        str(tmp_path / "ivf"),
        "-q",
        docs[7].text,
        "--mode",
        "dense",
        "--json",
        "-k",
        "1",
    ]
    wide = CliRunner().invoke(app, [*args, "--nprobe", "40", "--mmap"])
    assert wide.exit_code == 0, wide.output
    assert json.loads(wide.output)["hits"][0]["id"] == "7"
    bad = CliRunner().invoke(app, [*args, "--nprobe", "0"])
    assert bad.exit_code != 0 and "nprobe" in bad.output
