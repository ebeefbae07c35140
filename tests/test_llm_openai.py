"""The openai backend against a real OpenAI-compatible server on loopback (llama_cpp.server + SmolLM2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_server import ALIAS, llama_server

from bioagent.llm import check_chat_model, create_chat_model
from bioagent.settings import LLMSettings


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(tmp_path_factory.mktemp("llama-server")) as url:
        yield url


@pytest.mark.slow
def test_completion_and_token_streaming_through_the_factory(server_url: str) -> None:
    settings = LLMSettings(backend="openai", base_url=server_url, model=ALIAS, max_tokens=16, timeout_s=60)
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
