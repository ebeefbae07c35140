"""CPU embedding speed of the default embedder per backend: torch (sentence-transformers) vs ONNX Runtime fp32/int8.

    python benchmarks/embedding_speed.py                    # documents/s on 1,000 SciFact abstracts, 2 threads
    python benchmarks/embedding_speed.py --docs 500 --repeats 3
    python benchmarks/embedding_speed.py --ndcg             # plus SciFact test nDCG@10 (dense, hybrid) per backend

Every backend embeds the same abstracts (an even sample of the corpus, title + text as the index builder sees
them) through its ``encode_documents``; a 32-text warm-up (model load, ONNX export on first run) is not timed.
With ``--repeats`` the rounds are interleaved and the best round is kept (the machine may be shared). ``--ndcg``
builds one SciFact index per backend under .cache/benchmarks/ (the torch one is benchmarks/retrieval.py's) with
its own embedding cache, so each backend's vectors are really its own, and scores them with retrieval.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval import evaluate, read_qrels, read_queries, scifact_index  # noqa: E402

from bioagent.index.embedders import Embedder, load_embedder  # noqa: E402
from bioagent.ingest import read_documents  # noqa: E402
from bioagent.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BACKENDS = ["sentence-transformers", "onnx", "onnx-int8"]


def backend_settings(backend: str, threads: int) -> Settings:
    """Settings for ``backend``; each ONNX backend keeps its exports and embedding cache apart from torch's."""
    overrides: dict[str, Any] = {"embedding": {"backend": backend, "onnx_threads": threads}}
    if backend != "sentence-transformers":
        overrides["cache_dir"] = ROOT / ".cache" / "benchmarks" / f"cache-{backend}"
    return Settings.load(**overrides)


def backend_embedder(backend: str, threads: int) -> Embedder:
    settings = backend_settings(backend, threads)
    if backend == "sentence-transformers":
        import torch

        torch.set_num_threads(threads)
    return load_embedder(settings.embedding, settings.cache_dir)


def corpus_sample(n_docs: int, data: Path = DATA) -> list[str]:
    """``n_docs`` SciFact abstracts spread evenly over the corpus, as the index builder's texts."""
    documents = read_documents(data / "scifact/beir_format", "beir").documents
    step = max(1, len(documents) // n_docs)
    return [doc.full_text() for doc in documents[::step][:n_docs]]


def embedding_throughput(
    backends: list[str], n_docs: int, *, threads: int = 2, repeats: int = 1, data: Path = DATA
) -> list[dict[str, Any]]:
    """Documents/s per backend on the same ``n_docs`` abstracts (best of ``repeats`` interleaved rounds)."""
    texts = corpus_sample(n_docs, data)
    embedders = {backend: backend_embedder(backend, threads) for backend in backends}
    for embedder in embedders.values():
        embedder.encode_documents(texts[:32])  # load, export on first use, warm up
    best: dict[str, float] = {}
    load: dict[str, float] = {}
    for _ in range(repeats):
        for backend, embedder in embedders.items():
            load[backend] = os.getloadavg()[0]
            start = time.perf_counter()
            embedder.encode_documents(texts)
            best[backend] = min(best.get(backend, float("inf")), time.perf_counter() - start)
    reference = best.get("sentence-transformers")
    return [
        {
            "backend": backend,
            "embedder": embedders[backend].name,
            "docs": len(texts),
            "threads": threads,
            "seconds": round(seconds, 2),
            "docs_per_s": round(len(texts) / seconds, 1),
            "speedup_vs_torch": round(reference / seconds, 2) if reference else None,
            "load_avg_1m": round(load[backend], 2),
        }
        for backend, seconds in best.items()
    ]


def retrieval_quality(backends: list[str], threads: int = 2, data: Path = DATA) -> list[dict[str, Any]]:
    """SciFact BEIR test nDCG@10 and Recall@100, dense and hybrid, with each backend's own index."""
    queries = read_queries(data)
    qrels = read_qrels(data / "scifact/beir_format/qrels_beir_official/test.tsv")
    rows = []
    for backend in backends:
        settings = backend_settings(backend, threads)
        out = (
            None if backend == "sentence-transformers" else ROOT / ".cache/benchmarks" / f"scifact-{backend}"
        )
        index = scifact_index(settings, data, out)
        row: dict[str, Any] = {"backend": backend, "embedder": index.embedder.name}
        for mode in ("dense", "hybrid"):
            ndcg, recall = evaluate(index, queries, qrels, mode)
            row[f"ndcg10_{mode}"] = round(ndcg, 4)
            row[f"recall100_{mode}"] = round(recall, 4)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000, help="abstracts embedded per backend")
    parser.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved timing rounds (best kept)")
    parser.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    parser.add_argument("--ndcg", action="store_true", help="also score SciFact test retrieval per backend")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(f"embedding {args.docs} SciFact abstracts, {args.threads} threads, {os.cpu_count()} CPUs")
    for row in embedding_throughput(
        args.backends, args.docs, threads=args.threads, repeats=args.repeats, data=args.data
    ):
        speedup = f"  {row['speedup_vs_torch']:.2f}x torch" if row["speedup_vs_torch"] else ""
        print(
            f"  {row['backend']:22s} {row['docs_per_s']:7.1f} docs/s{speedup}  "
            f"(load average {row['load_avg_1m']:.1f})"
        )
    if args.ndcg:
        print("SciFact BEIR test (300 queries), each backend's own index:")
        for row in retrieval_quality(args.backends, args.threads, args.data):
            print(
                f"  {row['backend']:22s} nDCG@10 dense {row['ndcg10_dense']:.4f}  "
                f"hybrid {row['ndcg10_hybrid']:.4f}   Recall@100 dense {row['recall100_dense']:.4f}"
            )


if __name__ == "__main__":
    main()
