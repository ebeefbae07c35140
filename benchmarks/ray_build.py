"""Overhead of the Ray build: the same SciFact abstracts indexed by the single-process build and by Ray.

    python benchmarks/ray_build.py                       # 2,000 abstracts: single process, Ray 1 and 2 workers
    python benchmarks/ray_build.py --docs 300 --workers 2
    python benchmarks/ray_build.py --backend onnx        # another embedding backend (default: the configured one)

Every setup runs in a fresh Python process and writes a fresh index with the real embedder and no embedding cache
(and no shards from an earlier run). The time is the whole ``build_index`` call as a user waits for it: model
load(s), for Ray also starting and stopping the local instance (one CPU per worker) and the actors, embedding,
merging, BM25 and writing; Python imports are not counted. ``overhead_pct`` compares each Ray setup with the
single-process build (negative: faster). The load average before each run is printed, since the machine may be
shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def ray_throughput(
    n_docs: int,
    workers: tuple[int, ...] = (1, 2),
    *,
    backend: str | None = None,
    shard_size: int | None = None,
    data: Path = DATA,
) -> list[dict[str, Any]]:
    """Documents/s of the single-process build and of Ray with each worker count, on the same ``n_docs``."""
    setups = ["single"] + [f"ray-{count}" for count in workers]
    rows = [_run_setup(setup, n_docs, backend=backend, shard_size=shard_size, data=data) for setup in setups]
    single_s = rows[0]["seconds"]
    for row in rows:
        row["overhead_pct"] = round(100 * (row["seconds"] - single_s) / single_s, 1)
    return rows


def _run_setup(
    setup: str, n_docs: int, *, backend: str | None, shard_size: int | None, data: Path
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", setup, "--docs", str(n_docs), "--data", str(data)]
    command += ["--backend", backend] if backend else []
    command += ["--shard-size", str(shard_size)] if shard_size else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{setup} build failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_once(
    setup: str, n_docs: int, backend: str | None, shard_size: int | None, data: Path
) -> dict[str, Any]:
    """One timed build in this (fresh) process; ``setup`` is 'single' or 'ray-<workers>'."""
    from bioagent.index import build_index
    from bioagent.ingest import read_documents
    from bioagent.settings import Settings

    documents = read_documents(data / "scifact/beir_format", "beir").documents[:n_docs]
    with tempfile.TemporaryDirectory(prefix="ray-build-") as folder:
        overrides: dict[str, Any] = {"cache_dir": Path(folder) / "cache"}
        if backend:
            overrides["embedding"] = {"backend": backend}
        if setup.startswith("ray-"):
            workers = int(setup.removeprefix("ray-"))
            overrides["distributed"] = {"engine": "ray", "num_workers": workers, **_shards(shard_size)}
        settings = Settings.load(**overrides)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        index = build_index(documents, Path(folder) / "index", settings)
        seconds = time.perf_counter() - start
    return {
        "setup": setup,
        "embedder": index.embedder.name,
        "docs": len(index),
        "chunks": len(index.chunks),
        "seconds": round(seconds, 1),
        "docs_per_s": round(len(index) / seconds, 2),
        "load_avg_before": round(load, 2),
    }


def _shards(shard_size: int | None) -> dict[str, int]:
    return {"shard_size": shard_size} if shard_size else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="SciFact abstracts to index (the first N).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to time.")
    parser.add_argument("--backend", default=None, help="embedding.backend (default: the configured one).")
    parser.add_argument("--shard-size", type=int, default=None, help="distributed.shard_size (default 128).")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one setup, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(build_once(args.one, args.docs, args.backend, args.shard_size, args.data)))
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    rows = ray_throughput(
        args.docs, tuple(args.workers), backend=args.backend, shard_size=args.shard_size, data=args.data
    )
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
