"""(d) Serving at PubMed scale: load time, memory, latency and disk size of disk-backed indexes of 100k-2M
synthetic abstracts, and agreement with fully in-memory stores (run through ``scale.py --part serving``).

Documents are abstract-like: each mixes real sentences (SciFact abstracts and PubMedQA contexts) drawn at random,
as many as a random real abstract has, under a title cut from another sentence, so the vocabulary and lengths
are realistic. Vectors are synthesised the way the 1M-vector FAISS benchmark does (a normalised mix of two real
all-MiniLM-L6-v2 SciFact abstract vectors plus Gaussian noise of norm 0.25), by an embedder that carries the real
model's name, so queries are real SciFact claims encoded by the real model. Each index is built once with the
real build pipeline (IVF-PQ, memory-mapped BM25) into ``--serving-dir`` and reused by later runs; each
measurement runs in a fresh process (``python benchmarks/scale_serving.py measure PATH``) so RSS is its own.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.index import load_embedder, load_index
from bioagent.index.builder import write_index
from bioagent.index.dense import DenseStore
from bioagent.index.doctable import DocumentTable
from bioagent.index.embedders import embedding_for_index
from bioagent.index.lexical import LexicalStore, bm25s_module, stemmer
from bioagent.index.manifest import read_manifest
from bioagent.index.store import Index
from bioagent.index.stores import DENSE_FILE
from bioagent.settings import IndexSettings, Settings
from bioagent.types import Document

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
SERVING_INDEX = IndexSettings(kind="ivfpq", pq_m=48, rerank=10, mmap=True)  # 4*sqrt(chunks) IVF lists


def sentence_pool(data: Path) -> tuple[list[str], list[int]]:
    """Real sentences (SciFact abstracts, PubMedQA contexts) and the sentence count of each real abstract."""
    sentences: list[str] = []
    counts: list[int] = []
    for line in (data / "scifact/beir_format/corpus.jsonl").read_text(encoding="utf-8").splitlines():
        parts = [s for s in SENTENCE_END.split(json.loads(line)["text"]) if len(s) > 20]
        sentences += parts
        counts.append(max(1, len(parts)))
    for record in json.loads((data / "pubmedqa/ori_pqal.json").read_text(encoding="utf-8")).values():
        sentences += [s for text in record["CONTEXTS"] for s in SENTENCE_END.split(text) if len(s) > 20]
    return sentences, counts


def synthetic_documents(n: int, sentences: list[str], counts: list[int], seed: int = 0) -> Iterator[Document]:
    """``n`` abstract-like documents, the same ones (in the same order) for every ``n`` and run."""
    rng = random.Random(seed)
    for number in range(n):
        title_words = rng.choice(sentences).split()[: rng.randint(6, 14)]
        text = " ".join(rng.choice(sentences) for _ in range(rng.choice(counts)))
        yield Document(
            id=f"S{number:08d}",
            title=" ".join(title_words).rstrip(".,;:"),
            text=text,
            source="synthetic",
            metadata={"year": 1975 + number % 50},
        )


class SyntheticEmbedder:
    """Document vectors mixed from real ones (see the module docstring); queries go to the real embedder."""

    def __init__(self, real: Any, base: np.ndarray, noise: float = 0.25) -> None:
        self.real = real
        self.name = real.name
        self.dimension = base.shape[1]
        self.base = base
        self.noise = noise

    def encode_queries(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return np.asarray(self.real.encode_queries(texts), dtype=np.float32)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        seed = int(hashlib.sha256("\n".join(texts[:2]).encode()).hexdigest()[:16], 16)
        rng = np.random.default_rng(seed)
        first, second = (
            rng.integers(0, len(self.base), len(texts)),
            rng.integers(0, len(self.base), len(texts)),
        )
        weight = rng.random((len(texts), 1), dtype=np.float32)
        mixed = weight * self.base[first] + (1 - weight) * self.base[second]
        mixed += rng.standard_normal(mixed.shape, dtype=np.float32) * (self.noise / np.sqrt(self.dimension))
        return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def built_index(n: int, folder: Path, scifact: Any, data: Path) -> dict[str, Any]:
    """Build the ``n``-document index into ``folder`` unless a finished one is there; its build facts."""
    facts_path = folder / "build.json"
    if (folder / "manifest.json").is_file() and facts_path.is_file():
        return json.loads(facts_path.read_text())
    base = scifact.dense.reconstruct(list(range(scifact.dense.size)))
    embedder = SyntheticEmbedder(scifact.embedder, base)
    sentences, counts = sentence_pool(data)
    start = time.perf_counter()
    index = write_index(
        synthetic_documents(n, sentences, counts),
        folder,
        embedder,
        SERVING_INDEX,
        Settings.load().retrieval,
    )
    facts = {
        "documents": len(index),
        "chunks": len(index.chunks),
        "build_s": round(time.perf_counter() - start),
    }
    facts_path.write_text(json.dumps(facts))
    return facts


def disk_bytes(folder: Path) -> dict[str, int]:
    """Bytes of each part of the index's current data folder."""
    data = folder / read_manifest(folder).data_dir
    parts: dict[str, int] = {}
    for path in data.rglob("*"):
        if path.is_file():
            name = path.relative_to(data).parts[0]
            parts[name] = parts.get(name, 0) + path.stat().st_size
    return parts


def measure(path: Path, queries: list[str]) -> dict[str, Any]:
    """Load ``path`` and answer ``queries`` one at a time (hybrid): load time, RSS, p50/p95 (this process)."""
    settings = Settings.load(index={"mmap": True})
    embedder = query_embedder(path, settings)
    embedder.encode_queries(queries[:2])  # the model is loaded before anything is measured
    before = _memory()
    start = time.perf_counter()
    index = load_index(path, settings, embedder)
    load_s = time.perf_counter() - start
    after_load = _memory()
    times = []
    for query in queries:
        start = time.perf_counter()
        index.search(query, k=10, mode="hybrid")
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "load_s": round(load_s, 3),
        "rss_before_load_mib": before,
        "rss_after_load_mib": after_load,
        "rss_after_queries_mib": _memory(),
        "queries": len(queries),
        "hybrid_p50_ms": round(statistics.median(times), 1),
        "hybrid_p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
    }


def measured(path: Path, n_queries: int) -> dict[str, Any]:
    """:func:`measure` in a fresh process (so the RSS is that of serving this index alone)."""
    command = [sys.executable, __file__, "measure", str(path), str(n_queries)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _memory() -> dict[str, float]:
    """VmRSS and its anonymous and file-backed parts (MiB) from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def in_memory_agreement(path: Path, queries: list[str]) -> dict[str, Any]:
    """Top-10 of the disk-backed index against the same index with every store in memory: BM25 built by bm25s
    in memory from the chunk texts, FAISS read (not mapped); per mode, how many queries give identical ids."""
    settings = Settings.load(index={"mmap": True})
    disk = load_index(path, settings, query_embedder(path, settings))
    table = DocumentTable(path / disk.manifest.data_dir)
    texts = table.chunk_texts(range(table.chunk_count))
    bm25s = bm25s_module()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False)
    reference_bm25 = bm25s.BM25(k1=settings.index.bm25_k1, b=settings.index.bm25_b)
    reference_bm25.index(tokens, show_progress=False)
    dense = DenseStore.load(path / disk.manifest.data_dir / DENSE_FILE, settings.index, mmap=False)
    memory = Index(
        path, disk.manifest, table, disk.embedder, dense, LexicalStore(reference_bm25), disk.retrieval
    )
    result: dict[str, Any] = {"documents": len(disk), "queries": len(queries)}
    for mode in ("lexical", "dense", "hybrid"):
        got = disk.search_many(queries, k=10, mode=mode)  # type: ignore[arg-type]
        expected = memory.search_many(queries, k=10, mode=mode)  # type: ignore[arg-type]
        same = sum([h.id for h in a] == [h.id for h in b] for a, b in zip(got, expected))
        result[f"identical_top10_{mode}"] = same
    return result


def query_embedder(path: Path, settings: Settings) -> Any:
    """The real model that encodes queries for an index built with synthetic document vectors."""
    name = read_manifest(path).embedder.name
    return load_embedder(embedding_for_index(settings.embedding, name), settings.cache_dir)


def scifact_bm25_agreement(scifact: Any, queries: list[str]) -> dict[str, Any]:
    """The SciFact index's memory-mapped BM25 (streamed build) against bm25s built in memory from the same
    chunk texts: identical top-10 rows and the largest score difference over ``queries``."""
    texts = scifact.documents.chunk_texts(range(len(scifact.chunks)))
    bm25s = bm25s_module()
    reference = bm25s.BM25(k1=scifact.manifest.lexical["k1"], b=scifact.manifest.lexical["b"])
    reference.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False), show_progress=False
    )
    memory = LexicalStore(reference)
    same, largest = 0, 0.0
    for query in queries:
        got, expected = scifact.lexical.score_all(query), memory.score_all(query)
        largest = max(largest, float(np.abs(got - expected).max()))
        same += list(np.argsort(-got, kind="stable")[:10]) == list(np.argsort(-expected, kind="stable")[:10])
    return {"queries": len(queries), "identical_top10": same, "max_abs_score_difference": largest}


def store_choice(path: Path, lookups: int = 1000) -> dict[str, Any]:
    """SQLite (the store used) against JSON lines with a memory-mapped offset table, on ``path``'s documents:
    bytes per document and the time to fetch 10 random documents by row."""
    data = path / read_manifest(path).data_dir
    table = DocumentTable(data)
    lines = data.parent / "store-choice.jsonl"
    offsets = [0]
    with lines.open("wb") as handle:
        for doc in table:
            offsets.append(offsets[-1] + handle.write(doc.model_dump_json().encode() + b"\n"))
    starts = np.asarray(offsets, dtype=np.int64)
    rng = np.random.default_rng(0)
    picks = [rng.integers(0, len(table), 10).tolist() for _ in range(lookups)]
    sqlite_ms = _timed(lambda rows: table.rows(rows), picks)
    with lines.open("rb") as handle:

        def read_lines(rows: list[int]) -> list[Document]:
            found = []
            for row in rows:
                handle.seek(int(starts[row]))
                found.append(Document.model_validate_json(handle.read(int(starts[row + 1] - starts[row]))))
            return found

        jsonl_ms = _timed(read_lines, picks)
    result = {
        "documents": len(table),
        "sqlite_bytes_per_doc": round((data / "documents.sqlite").stat().st_size / len(table), 1),
        "jsonl_bytes_per_doc": round((lines.stat().st_size + 8 * len(starts)) / len(table), 1),
        "sqlite_fetch10_p50_ms": sqlite_ms,
        "jsonl_fetch10_p50_ms": jsonl_ms,
    }
    lines.unlink()
    return result


def _timed(fetch: Any, picks: list[list[int]]) -> float:
    times = []
    for rows in picks:
        start = time.perf_counter()
        fetch(rows)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


if __name__ == "__main__" and sys.argv[1:2] == ["measure"]:
    from retrieval import read_queries  # noqa: E402 - run as a script from benchmarks/

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    print(json.dumps(measure(Path(sys.argv[2]), list(read_queries(shared).values())[: int(sys.argv[3])])))
