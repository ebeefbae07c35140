"""Misconfigured and unreachable backends give LLMError naming the setting (fast, no model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback import free_port

from bioagent.errors import LLMError
from bioagent.llm import check_chat_model, create_chat_model, describe_model
from bioagent.settings import LLMSettings, Settings


def test_openai_needs_a_model_name() -> None:
    pytest.importorskip("langchain_openai")
    with pytest.raises(LLMError, match=r"llm\.model"):
        create_chat_model(LLMSettings(backend="openai", base_url="http://127.0.0.1:8000/v1"))


@pytest.mark.parametrize("url", ["localhost:8000/v1", "ftp://host/v1", "http://"])
def test_openai_rejects_a_malformed_base_url(url: str) -> None:
    pytest.importorskip("langchain_openai")
    with pytest.raises(LLMError, match=r"llm\.base_url must be an http\(s\) URL"):
        create_chat_model(LLMSettings(backend="openai", model="m", base_url=url))


def test_openai_without_key_or_endpoint_names_the_key_setting() -> None:
    pytest.importorskip("langchain_openai")
    with pytest.raises(LLMError, match="BIOAGENT_LLM__API_KEY"):
        create_chat_model(LLMSettings(backend="openai", model="gpt-4o-mini"))


def test_unreachable_openai_endpoint_says_connection_refused() -> None:
    pytest.importorskip("langchain_openai")
    url = f"http://127.0.0.1:{free_port()}/v1"
    settings = LLMSettings(backend="openai", model="m", base_url=url, max_retries=0, timeout_s=5)
    model = create_chat_model(settings)
    with pytest.raises(LLMError) as caught:
        check_chat_model(model)
    message = str(caught.value)
    assert f"cannot reach the OpenAI-compatible endpoint at {url}" in message
    assert "llm.base_url / BIOAGENT_LLM__BASE_URL" in message
    assert message.endswith("connection refused")


def test_unreachable_ollama_server_names_the_setting() -> None:
    pytest.importorskip("langchain_ollama")
    url = f"http://127.0.0.1:{free_port()}"
    model = create_chat_model(LLMSettings(backend="ollama", model="smollm2", base_url=url, timeout_s=5))
    with pytest.raises(LLMError, match=rf"cannot reach the Ollama server at {url} .*llm\.base_url"):
        check_chat_model(model)


def test_ollama_needs_a_model_name() -> None:
    pytest.importorskip("langchain_ollama")
    with pytest.raises(LLMError, match=r"llm\.model"):
        create_chat_model(LLMSettings(backend="ollama"))


def test_missing_local_model_files_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match=r"GGUF model file not found: .*llm\.model"):
        create_chat_model(LLMSettings(model=str(tmp_path / "absent.gguf")))
    with pytest.raises(LLMError, match=r"not a Hugging Face model folder .*llm\.model"):
        create_chat_model(LLMSettings(backend="transformers", model=str(tmp_path)))


def test_backend_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOAGENT_LLM__BACKEND", "openai")
    monkeypatch.setenv("BIOAGENT_LLM__MODEL", "llama-3")
    monkeypatch.setenv("BIOAGENT_LLM__BASE_URL", "http://10.0.0.5:8000/v1")
    settings = Settings.load().llm
    assert describe_model(settings) == "openai:llama-3@http://10.0.0.5:8000/v1"


def test_describe_model_labels() -> None:
    assert describe_model(LLMSettings()) == "embedded:SmolLM2-135M-Instruct.Q4_1.gguf"
    assert describe_model(LLMSettings(model="/m/other.gguf")) == "embedded:other.gguf"
    assert (
        describe_model(LLMSettings(backend="openai", model="gpt-4o"))
        == "openai:gpt-4o@https://api.openai.com/v1"
    )
    assert describe_model(LLMSettings(backend="ollama", model="qwen")) == "ollama:qwen@http://127.0.0.1:11434"
    assert describe_model(LLMSettings(backend="transformers", model="/models/tiny")) == "transformers:tiny"
    assert describe_model(LLMSettings(backend="fake")) == "fake:scripted"
