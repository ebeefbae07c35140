"""The openai backend against a real OpenAI-compatible server on loopback (llama_cpp.server + SmolLM2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bioagent.errors import MissingExtraError
from bioagent.llm import check_chat_model, create_chat_model, smollm2_gguf_path
from bioagent.settings import LLMSettings

_ALIAS = "smollm2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a llama.cpp server serving the packaged SmolLM2."""
    for module in (
        "llama_cpp",
        "fastapi",
        "uvicorn",
        "sse_starlette",
        "starlette_context",
        "langchain_openai",
    ):
        pytest.importorskip(module)
    try:
        gguf = smollm2_gguf_path()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", _ALIAS]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "false"]
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


@pytest.mark.slow
def test_completion_and_token_streaming_through_the_factory(llama_server: str) -> None:
    settings = LLMSettings(backend="openai", base_url=llama_server, model=_ALIAS, max_tokens=16, timeout_s=60)
    model = create_chat_model(settings)
    check_chat_model(model)
    question = "Name one human tumour suppressor gene."
    first = model.invoke(question)
    assert first.text.strip()
    assert first.usage_metadata is not None
    assert 0 < first.usage_metadata["output_tokens"] <= 16  # max_tokens reached the server
    # Greedy decoding repeats itself once the server's prompt cache holds this prompt: compare later calls.
    reply = model.invoke(question)
    pieces = [chunk.text for chunk in model.stream(question) if chunk.text]
    assert len(pieces) > 1
    assert "".join(pieces) == reply.text
