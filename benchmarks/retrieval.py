"""Retrieval quality and speed on SciFact (BEIR): nDCG@10 and Recall@100 per mode, indexing throughput, latency.

    python benchmarks/retrieval.py                 # evaluate on the BEIR test qrels (evaluation only)
    python benchmarks/retrieval.py --tune          # grid over fusion settings on the *train* qrels
    python benchmarks/retrieval.py --throughput 0  # skip the throughput comparison

The SciFact index is built once into .cache/benchmarks/scifact (embedding blocks are cached too).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bioagent import index as index_layer
from bioagent.api import read_inputs
from bioagent.errors import IndexLoadError
from bioagent.index.embedders import resolve_backend
from bioagent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text().splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        qrels[query_id][doc_id] = int(score)
    return dict(qrels)


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(rank + 2) for rank, g in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return gains / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & {d for d, g in relevant.items() if g > 0}) / max(1, len(relevant))


def evaluate(
    index, queries: dict[str, str], qrels: dict[str, dict[str, int]], mode: str
) -> tuple[float, float]:
    ids = [q for q in qrels if q in queries]
    results = index.search_many([queries[q] for q in ids], k=100, mode=mode)
    ranked = {q: [h.id for h in hits] for q, hits in zip(ids, results)}
    ndcg = statistics.mean(ndcg_at(ranked[q], qrels[q]) for q in ids)
    recall = statistics.mean(recall_at(ranked[q], qrels[q]) for q in ids)
    return ndcg, recall


def read_queries(data: Path) -> dict[str, str]:
    """SciFact claims by id (all splits; the qrels file picks the evaluated ones)."""
    lines = (data / "scifact/beir_format/queries.jsonl").read_text().splitlines()
    return {r["_id"]: r["text"] for r in map(json.loads, lines)}


def scifact_index(settings: Settings, data: Path, out: Path | None = None):
    """The SciFact index for ``settings``' embedder, built into ``out`` once (default
    .cache/benchmarks/scifact-<backend>, so each backend is measured on vectors of its own)."""
    out = out or ROOT / f".cache/benchmarks/scifact-{resolve_backend(settings.embedding.backend)}"
    try:
        return index_layer.load_index(out, settings)
    except IndexLoadError:
        collected = read_inputs([(data / "scifact/beir_format", "beir", None)], progress=True)
        return index_layer.build_index(collected.documents, out, settings, progress=True)


def throughput(settings: Settings, index, sample: int) -> None:
    """The whole indexing path (chunk, embed, FAISS, BM25, write) vs raw sentence-transformers encode()."""
    import tempfile

    from bioagent.index.builder import write_index

    step = max(1, len(index.documents) // sample)
    documents = index.documents[::step][:sample]
    texts = [doc.full_text() for doc in documents]
    embedder = index.embedder
    embedder.encode_documents(texts[:32])  # load the model before timing
    model = embedder._model(embedder.model_name)  # noqa: SLF001 - the raw model, for the reference timing
    start = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
    raw = len(texts) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_index(documents, Path(folder) / "idx", embedder, settings.index, settings.retrieval)
        ours = len(texts) / (time.perf_counter() - start)
    print(
        f"indexing throughput on {len(texts)} SciFact abstracts (no embedding cache): bioagent index build "
        f"{ours:.1f} docs/s, raw sentence-transformers encode {raw:.1f} docs/s "
        f"(overhead {100 * (1 - ours / raw):+.1f}%)"
    )


def latency(index, queries: list[str], mode: str) -> tuple[float, float]:
    index.search(queries[0], k=10, mode=mode)  # warm
    times = []
    for query in queries:
        start = time.perf_counter()
        index.search(query, k=10, mode=mode)
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def tune(index, queries: dict[str, str], data: Path) -> None:
    qrels = read_qrels(data / "scifact/beir_format/qrels_beir_official/train.tsv")
    print("tuning on SciFact TRAIN qrels (809 queries)")
    for fusion, values in (("rrf", [10, 30, 60, 100]), ("weighted", [0.3, 0.4, 0.5, 0.6, 0.7])):
        for value in values:
            if fusion == "rrf":
                index.retrieval = index.retrieval.model_copy(update={"fusion": "rrf", "rrf_k": value})
            else:
                index.retrieval = index.retrieval.model_copy(
                    update={"fusion": "weighted", "dense_weight": value}
                )
            ndcg, recall = evaluate(index, queries, qrels, "hybrid")
            print(f"  {fusion:8s} {value:>5}: nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--tune", action="store_true", help="grid-search fusion settings on the train qrels")
    parser.add_argument(
        "--throughput", type=int, default=1000, help="texts for the throughput comparison (0: skip)"
    )
    args = parser.parse_args()
    settings = Settings.load()
    index = scifact_index(settings, args.data)
    queries = read_queries(args.data)
    if args.tune:
        tune(index, queries, args.data)
        return
    qrels = read_qrels(args.data / "scifact/beir_format/qrels_beir_official/test.tsv")
    print(
        f"SciFact BEIR test: {len(qrels)} queries, {len(index):,} documents, embedder {index.embedder.name}"
    )
    modes = [("lexical", {}), ("dense", {}), ("hybrid", {"fusion": "rrf"}), ("hybrid", {})]
    for mode, update in modes:
        index.retrieval = settings.retrieval.model_copy(update=update)
        ndcg, recall = evaluate(index, queries, qrels, mode)
        label = f"{mode} ({index.retrieval.fusion})" if mode == "hybrid" else mode
        print(f"  {label:20s} nDCG@10 {ndcg:.4f}  Recall@100 {recall:.4f}")
    index.retrieval = settings.retrieval
    if args.throughput:
        throughput(settings, index, args.throughput)
    sample = [queries[q] for q in list(qrels)[:200]]
    for mode in ("lexical", "dense", "hybrid"):
        p50, p95 = latency(index, sample, mode)
        print(f"  search latency {mode:8s} p50 {p50:.1f} ms  p95 {p95:.1f} ms (single query, warm)")


if __name__ == "__main__":
    main()
