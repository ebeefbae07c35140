"""A live-search round trip against the loopback PubMed/UniProt server (recorded responses, tests/live_server.py).

    python benchmarks/live_roundtrip.py

The agent (`agent.live: auto`, hash embedder, the tests' small local corpus) is asked a question the local
indexes cannot answer, then asked again by a fresh agent: prints what was added and cited, the requests sent each
time and the wall time of each answer. Needs ../shared/data (the recorded responses).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from agent_corpus import build_agent_indexes  # noqa: E402
from live_server import serving  # noqa: E402
from test_agent_live import live_settings, make_agent  # noqa: E402

from bioagent.index import load_index  # noqa: E402

QUESTIONS = ("What is the role of gemcitabine in pancreatic cancer?", "What is the function of MICU1?")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, serving(ROOT.parent / "shared" / "data") as server:
        settings = live_settings(Path(folder), server.ncbi_url, server.uniprot_url)
        build_agent_indexes(settings)
        for question in QUESTIONS:
            for attempt in ("first", "second"):
                before = len(server.requests)
                sizes = [
                    len(load_index(p, settings))
                    for p in (settings.literature_index_path(), settings.protein_index_path())
                ]
                start = time.perf_counter()
                answer = make_agent(settings).ask(question)
                seconds = time.perf_counter() - start
                after = [
                    len(load_index(p, settings))
                    for p in (settings.literature_index_path(), settings.protein_index_path())
                ]
                print(
                    f"{question!r} ({attempt} time): {seconds:.2f} s, {len(server.requests) - before} requests, "
                    f"documents added {after[0] - sizes[0]} literature / {after[1] - sizes[1]} proteins, "
                    f"cited {[c.id for c in answer.citations]}"
                )


if __name__ == "__main__":
    main()
