"""Capacity planning: FAISS kinds at 1M vectors, embedding throughput, and a projection to all of PubMed.

    python benchmarks/scale.py                      # all parts (about 30 min on 2 cores)
    python benchmarks/scale.py --part faiss         # (a) flat / HNSW / IVF-PQ at --vectors (default 1M)
    python benchmarks/scale.py --part embedding     # (b) torch vs ONNX documents/s, single process vs Ray workers
    python benchmarks/scale.py --part project       # (c) the projection table from the stored (a), (b) and (d)
    python benchmarks/scale.py --part serving       # (d) disk-backed serving at --serving-docs (see scale_serving.py)

(a) Vectors are synthetic but built from real ones: each is a normalised mix of two real all-MiniLM-L6-v2 SciFact
abstract vectors (random pair, weight ~ U(0, 1)) plus Gaussian noise of norm 0.25; queries are the real SciFact
query embeddings. Ground truth is exact (flat) search. Latency is one query at a time, warm (files in the page
cache; flat is timed on the first 100 queries). Results are stored in benchmarks/results/scale.json so --part project can reuse them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval import read_queries, scifact_index  # noqa: E402

from bioagent.index.dense import DenseStore, bytes_per_vector, faiss_module  # noqa: E402
from bioagent.settings import IndexSettings, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
PUBMED_ABSTRACTS = 36_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "faiss", "embedding", "project", "serving"], default="all")
    parser.add_argument("--vectors", type=int, default=1_000_000, help="Synthetic corpus size for (a).")
    parser.add_argument("--queries", type=int, default=1_000, help="Queries timed and scored in (a).")
    parser.add_argument(
        "--embed-docs", type=int, default=1_000, help="Abstracts embedded per backend in (b)."
    )
    parser.add_argument("--ray-docs", type=int, default=2_000, help="Abstracts built per Ray setup in (b).")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--serving-docs", default="100000,1000000,2000000",
        help="Synthetic corpus sizes for (d), comma-separated; the smallest is compared with in-memory stores.",
    )  # fmt: skip
    parser.add_argument(
        "--serving-dir", type=Path, default=ROOT / ".cache" / "benchmarks" / "serving",
        help="Where (d) builds its indexes once (reused by later runs).",
    )  # fmt: skip
    parser.add_argument(
        "--gpu-tflops", type=float, default=94.0,
        help="Assumed sustained GPU throughput for the projection (default: 30%% of an A100's 312 bf16 TFLOPS).",
    )  # fmt: skip
    return parser.parse_args()


# ---------------------------------------------------------------- (a) FAISS at scale


def real_vectors(index: Any, data: Path, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Real MiniLM vectors: SciFact abstracts (from the benchmark index) and SciFact queries."""
    documents = index.dense.reconstruct(list(range(index.dense.size)))
    queries = index.embedder.encode_queries(list(read_queries(data).values())[:n_queries])
    return documents, queries


def synthetic_corpus(base: np.ndarray, n: int, seed: int = 0, noise: float = 0.25) -> np.ndarray:
    """``n`` unit vectors, each a random mix of two real vectors plus Gaussian noise (see module docstring)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        first, second = rng.integers(0, len(base), size), rng.integers(0, len(base), size)
        weight = rng.random((size, 1), dtype=np.float32)
        mixed = weight * base[first] + (1 - weight) * base[second]
        mixed += rng.standard_normal(mixed.shape, dtype=np.float32) * (noise / np.sqrt(base.shape[1]))
        out[start : start + size] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))


def exact_top_10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Ground truth: exact inner-product top 10, computed in blocks of the corpus."""
    best_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start : start + 200_000].T
        top = np.argpartition(-scores, 9, axis=1)[:, :10]
        merged_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        merged_rows = np.hstack([best_rows, top + start])
        order = np.argsort(-merged_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(merged_scores, order, axis=1)
        best_rows = np.take_along_axis(merged_rows, order, axis=1)
    return best_rows


def timed_search(store: DenseStore, queries: np.ndarray, timed: int) -> tuple[np.ndarray, float, float]:
    """Top-10 rows of every query (batch) and p50/p95 ms of the first ``timed`` searched one at a time."""
    store.search(queries[:5], 10)  # warm-up
    times = []
    for query in queries[:timed]:
        start = time.perf_counter()
        store.search(query[None, :], 10)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    rows = store.search(queries, 10)[1]
    return rows, statistics.median(times), times[int(0.95 * (len(times) - 1))]


def faiss_part(args: argparse.Namespace, scifact: Any) -> list[dict[str, Any]]:
    faiss = faiss_module()
    faiss.omp_set_num_threads(2)
    base, queries = real_vectors(scifact, args.data, args.queries)
    vectors = synthetic_corpus(base, args.vectors)
    print(
        f"(a) {len(vectors):,} vectors of dimension {vectors.shape[1]}, {len(queries)} real SciFact queries"
    )
    setups: list[tuple[str, IndexSettings, list[dict[str, int]]]] = [
        ("flat", IndexSettings(kind="flat"), [{}]),
        ("hnsw", IndexSettings(kind="hnsw", hnsw_m=32), [{"ef_search": e} for e in (64, 128, 256)]),
        (
            "ivfpq",
            IndexSettings(kind="ivfpq", pq_m=48, rerank=10),
            [{"nprobe": p, "rerank": 10} for p in (8, 16, 32, 64)] + [{"nprobe": 32, "rerank": 0}],
        ),
    ]
    truth = exact_top_10(vectors, queries)
    rows: list[dict[str, Any]] = []
    for name, settings, variants in setups:
        folder = Path(tempfile.mkdtemp(prefix=f"scale-{name}-"))
        try:
            start = time.perf_counter()
            store = DenseStore.build(vectors, vectors.shape[1], settings)
            build_s = time.perf_counter() - start
            store.save(folder / "dense.faiss")
            index_bytes = sum(
                p.stat().st_size for p in folder.glob("dense.faiss*") if "vectors" not in p.name
            )
            disk_bytes = sum(p.stat().st_size for p in folder.glob("*vectors*"))
            del store
            store = DenseStore.load(folder / "dense.faiss", settings, mmap=name == "ivfpq")
            for variant in variants:
                store.set_search_params(**variant)
                found, p50, p95 = timed_search(store, queries, 100 if name == "flat" else len(queries))
                rows.append(
                    {
                        "kind": name,
                        "params": variant,
                        "vectors": len(vectors),
                        "build_s": round(build_s, 1),
                        "bytes_per_vector_file": round(index_bytes / len(vectors), 1),
                        "bytes_per_vector_estimate": bytes_per_vector(name, vectors.shape[1], settings),
                        "disk_bytes_per_vector_mmap": round(disk_bytes / len(vectors), 1),
                        "recall@10": round(recall_at_10(found, truth), 4),
                        "p50_ms": round(p50, 2),
                        "p95_ms": round(p95, 2),
                    }
                )
                print(json.dumps(rows[-1]))
            del store
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


# ---------------------------------------------------------------- (b) embedding throughput


def embedding_part(args: argparse.Namespace) -> dict[str, Any]:
    from embedding_speed import embedding_throughput
    from ray_build import ray_throughput

    backends = embedding_throughput(
        ["sentence-transformers", "onnx", "onnx-int8"], args.embed_docs, repeats=2
    )
    ray = ray_throughput(args.ray_docs, workers=(1, 2))
    for row in backends + ray:
        print(json.dumps(row))
    return {"backends": backends, "ray": ray}


# ---------------------------------------------------------------- (c) projection


def projection(results: dict[str, Any], gpu_tflops: float) -> list[dict[str, Any]]:
    """Hours to embed 36M abstracts, from the measured rates (assumptions printed beside the table)."""
    embedding = results["embedding"]
    best = max(embedding["backends"], key=lambda row: row["docs_per_s"])
    ray_rows = {row["setup"]: row["docs_per_s"] for row in embedding["ray"]}
    efficiency = min(1.0, ray_rows["ray-2"] / (2 * ray_rows["ray-1"]))  # per-worker rate kept with 2 workers
    chunks = results["per_document_bytes"]["chunks per abstract"]
    gpu_rate = gpu_tflops * 1e12 / (2 * 22.7e6 * 256)  # 2 x parameters FLOPs per token, 256-token texts
    table = [
        {
            "resource": f"{workers} x 2-core CPU machine ({best['backend']}, Ray efficiency {efficiency:.2f})",
            "abstracts_per_s": round(best["docs_per_s"] * workers * efficiency, 1),
            "hours": _hours(best["docs_per_s"] * workers * efficiency / chunks),
        }
        for workers in (1, 8, 64, 512)
    ]
    table += [
        {
            "resource": f"{gpus} x GPU at an assumed {gpu_tflops:.0f} TFLOPS (not measured)",
            "abstracts_per_s": round(gpu_rate * gpus, 1),
            "hours": _hours(gpu_rate * gpus / chunks),
        }
        for gpus in (1, 8)
    ]
    return table


def _hours(texts_per_s: float) -> float:
    return round(PUBMED_ABSTRACTS / texts_per_s / 3600, 1)


def per_document_bytes(index: Any) -> dict[str, float]:
    """Bytes per abstract of each part of the SciFact benchmark index folder (300-word chunks)."""
    folder = index.path / index.manifest.data_dir
    parts = {"documents and chunks (SQLite)": "documents.sqlite", "BM25 (bm25s)": "bm25"}
    sizes = {}
    for label, name in parts.items():
        path = folder / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        sizes[label] = sum(f.stat().st_size for f in files) / len(index)
    sizes["chunks per abstract"] = len(index.chunks) / len(index)
    return sizes


def memory_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Disk per part at 36M abstracts (from SciFact), and what each FAISS kind holds in memory."""
    per_document = results["per_document_bytes"]
    chunks = per_document["chunks per abstract"]
    table = [
        {
            "part": f"{label} (on disk, memory-mapped)",
            "bytes_per_abstract": round(size),
            "gib_36m": round(size * PUBMED_ABSTRACTS / 2**30, 1),
        }
        for label, size in per_document.items()
        if label != "chunks per abstract"
    ]
    seen = set()
    for row in results.get("faiss", []):
        if row["kind"] in seen:
            continue
        seen.add(row["kind"])
        table.append(
            {
                "part": f"FAISS {row['kind']}",
                "bytes_per_abstract": round(row["bytes_per_vector_file"] * chunks),
                "gib_36m": round(row["bytes_per_vector_file"] * chunks * PUBMED_ABSTRACTS / 2**30, 1),
                "disk_only_gib_36m": round(
                    row["disk_bytes_per_vector_mmap"] * chunks * PUBMED_ABSTRACTS / 2**30, 1
                ),
            }
        )
    return table


# ---------------------------------------------------------------- (d) serving from disk


def serving_part(args: argparse.Namespace, scifact: Any) -> dict[str, Any]:
    """Build (once) and measure the synthetic indexes; agreement with in-memory stores on the smallest."""
    from scale_serving import (
        built_index,
        disk_bytes,
        in_memory_agreement,
        measured,
        scifact_bm25_agreement,
        store_choice,
    )

    queries = list(read_queries(args.data).values())
    result: dict[str, Any] = {"scifact_bm25": scifact_bm25_agreement(scifact, queries)}
    print(json.dumps(result["scifact_bm25"]))
    sizes = sorted(int(n) for n in args.serving_docs.split(","))
    rows = []
    for n in sizes:
        folder = args.serving_dir / f"docs-{n}"
        row = {**built_index(n, folder, scifact, args.data), "disk_bytes": disk_bytes(folder)}
        row.update(measured(folder, args.queries))
        print(json.dumps(row))
        rows.append(row)
    result["sizes"] = rows
    smallest = args.serving_dir / f"docs-{sizes[0]}"
    result["in_memory_agreement"] = in_memory_agreement(smallest, queries[: args.queries])
    result["store_choice"] = store_choice(smallest)
    print(json.dumps(result["in_memory_agreement"]))
    print(json.dumps(result["store_choice"]))
    return result


def serving_projection(serving: dict[str, Any]) -> list[dict[str, Any]]:
    """Disk and serving memory at 36M abstracts, from the two largest measured sizes (linear in documents).

    Memory rows: RSS after load, and the anonymous RSS (the process's own memory) after the queries; the
    file-backed rest is pages of the memory-mapped files, which the kernel keeps or drops as memory allows.
    """
    small, large = serving["sizes"][-2], serving["sizes"][-1]
    extra = large["documents"] - small["documents"]
    table: list[dict[str, Any]] = [
        {
            "part": f"{name} (disk)",
            "bytes_per_abstract": round(size / large["documents"]),
            "gib_36m": round(size / large["documents"] * PUBMED_ABSTRACTS / 2**30, 1),
        }
        for name, size in sorted(large["disk_bytes"].items())
    ]
    for label, key, field in (
        ("RSS after load", "rss_after_load_mib", "VmRSS"),
        ("anonymous RSS after the queries", "rss_after_queries_mib", "RssAnon"),
    ):
        per_document = (large[key][field] - small[key][field]) / extra
        projected = large[key][field] + per_document * (PUBMED_ABSTRACTS - large["documents"])
        table.append(
            {
                "part": label,
                "mib_per_million": round(per_document * 1e6, 1),
                "gib_36m": round(projected / 1024, 2),
            }
        )
    return table


def main() -> None:
    args = parse_args()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    scifact = scifact_index(Settings.load(), args.data)
    if args.part in ("all", "faiss"):
        results["faiss"] = faiss_part(args, scifact)
    if args.part in ("all", "embedding"):
        results["embedding"] = embedding_part(args)
    if args.part in ("all", "serving"):
        results["serving"] = serving_part(args, scifact)
    results["per_document_bytes"] = per_document_bytes(scifact)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    if args.part in ("all", "project"):
        if "embedding" in results:
            for row in projection(results, args.gpu_tflops):
                print(json.dumps(row))
        for row in memory_table(results):
            print(json.dumps(row))
    if args.part in ("all", "project", "serving") and len(results.get("serving", {}).get("sizes", [])) > 1:
        for row in serving_projection(results["serving"]):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
