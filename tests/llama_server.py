"""A real OpenAI-compatible server on loopback: ``python -m llama_cpp.server`` serving the packaged SmolLM2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from loopback import free_port

from bioagent.errors import MissingExtraError
from bioagent.llm import smollm2_gguf_path

ALIAS = "smollm2"
SERVER_MODULES = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "langchain_openai")


def _wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path, deadline_s: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"llama_cpp.server did not answer {url}/models in {deadline_s} s:\n{log.read_text()[-2000:]}")


@contextmanager
def llama_server(log_dir: Path, *extra: str) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a llama.cpp server serving SmolLM2 as ``ALIAS`` (``extra``:
    more server options, e.g. ``--chat_format chatml-function-calling``); skipped without the server extra."""
    for module in SERVER_MODULES:
        pytest.importorskip(module)
    try:
        gguf = smollm2_gguf_path()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    port = free_port()
    log = log_dir / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--verbose", "false", *extra]
    threads = str(max((os.cpu_count() or 2) // 2, 1))  # all CPUs for prompt evaluation crawls on a busy box
    command += ["--n_threads", threads, "--n_threads_batch", threads]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(proc, url, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
