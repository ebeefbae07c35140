"""One factory for every chat backend, chosen by ``settings.llm.backend``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from bioagent.errors import LLMError, require
from bioagent.llm.fake import DEFAULT_REPLY, ScriptedChatModel, load_script
from bioagent.llm.llamacpp import SMOLLM2_FILE, LlamaCppChatModel, resolve_gguf, smollm2_gguf_path
from bioagent.llm.probe import OLLAMA_DEFAULT_URL, OPENAI_DEFAULT_URL
from bioagent.redact import redact
from bioagent.settings import LLMSettings

_PLACEHOLDER_KEY = "not-needed"


def create_chat_model(settings: LLMSettings, *, cache_dir: Path | None = None) -> BaseChatModel:
    """A LangChain chat model for ``settings.backend``; local models are loaded now (once per process).

    ``cache_dir`` holds converted weights (transformers backend given a GGUF file). Configuration mistakes
    raise :class:`LLMError` naming the setting; a missing optional package raises ``MissingExtraError``.
    Remote endpoints are not contacted here: call :func:`bioagent.llm.check_chat_model` for that.
    """
    builders: dict[str, Callable[[LLMSettings, Path | None], BaseChatModel]] = {
        "embedded": _embedded,
        "openai": _openai,
        "ollama": _ollama,
        "transformers": _transformers,
        "fake": _fake,
    }
    model = builders[settings.backend](settings, cache_dir)
    if settings.tool_calling != "auto":  # the setting overrides what the model's LangChain profile declares
        model.profile = {**(model.profile or {}), "tool_calling": settings.tool_calling == "yes"}
    return model


def describe_model(settings: LLMSettings) -> str:
    """A short label of the configured model, e.g. ``embedded:SmolLM2-135M-Instruct.Q4_1.gguf``; credentials in
    the endpoint URL are shown as ``***``."""
    local_name = Path(settings.model).name if settings.model else SMOLLM2_FILE
    if settings.backend == "openai":
        return f"openai:{settings.model}@{redact(settings.base_url or OPENAI_DEFAULT_URL)}"
    if settings.backend == "ollama":
        return f"ollama:{settings.model}@{redact(settings.base_url or OLLAMA_DEFAULT_URL)}"
    if settings.backend == "fake":
        return f"fake:{local_name if settings.model else 'scripted'}"
    return f"{settings.backend}:{local_name}"


def _embedded(settings: LLMSettings, cache_dir: Path | None) -> BaseChatModel:
    model = LlamaCppChatModel(
        model_path=str(resolve_gguf(settings.model)),
        n_ctx=settings.context_tokens,
        n_threads=settings.threads,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
    )
    model.loaded()
    return model


def _transformers(settings: LLMSettings, cache_dir: Path | None) -> BaseChatModel:
    from bioagent.llm.hf import TransformersChatModel

    path = Path(settings.model).expanduser() if settings.model else smollm2_gguf_path()
    model = TransformersChatModel(
        model_path=str(path),
        cache_dir=str(cache_dir) if cache_dir else None,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
    )
    model.loaded()
    return model


def _openai(settings: LLMSettings, cache_dir: Path | None) -> BaseChatModel:
    require("langchain_openai", "langchain-openai", "llm", "The openai chat backend")
    from bioagent.llm.endpoint import EndpointChatOpenAI

    model_name = _required_model_name(settings, "an OpenAI-compatible endpoint")
    base_url = _checked_url(settings.base_url)
    configured_key = settings.api_key.get_secret_value() if settings.api_key else ""
    api_key = configured_key or (_PLACEHOLDER_KEY if base_url else None)
    if api_key is None:
        raise LLMError(
            "the openai backend needs an API key for api.openai.com (settings llm.api_key / "
            "BIOAGENT_LLM__API_KEY), or an endpoint that needs none "
            "(settings llm.base_url / BIOAGENT_LLM__BASE_URL)"
        )
    # Servers such as llama.cpp's read `max_tokens`, not OpenAI's newer `max_completion_tokens`: send both.
    extra_body = {"max_tokens": settings.max_tokens} if base_url else None
    return EndpointChatOpenAI(
        model=model_name,
        base_url=base_url
        or OPENAI_DEFAULT_URL,  # explicit, so OPENAI_API_BASE in the environment is not read
        api_key=SecretStr(api_key),
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        max_completion_tokens=settings.max_tokens,
        extra_body=extra_body,
    )


def _ollama(settings: LLMSettings, cache_dir: Path | None) -> BaseChatModel:
    langchain_ollama: Any = require("langchain_ollama", "langchain-ollama", "llm", "The ollama chat backend")
    return langchain_ollama.ChatOllama(
        model=_required_model_name(settings, "Ollama"),
        base_url=_checked_url(settings.base_url),
        temperature=settings.temperature,
        num_predict=settings.max_tokens,
        num_ctx=settings.context_tokens,
        client_kwargs={"timeout": settings.timeout_s},
    )


def _fake(settings: LLMSettings, cache_dir: Path | None) -> BaseChatModel:
    if settings.model:
        return ScriptedChatModel(responses=load_script(Path(settings.model)))
    return ScriptedChatModel(responses=[AIMessage(content=DEFAULT_REPLY)], cycle=True)


def _required_model_name(settings: LLMSettings, where: str) -> str:
    if not settings.model:
        raise LLMError(
            f"the {settings.backend} backend needs the name of a model served by {where} "
            "(settings llm.model / BIOAGENT_LLM__MODEL)"
        )
    return settings.model


def _checked_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL (or None); a clear error otherwise."""
    if url is None:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise LLMError(
            f"llm.base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, not {redact(url)!r} "
            "(settings llm.base_url / BIOAGENT_LLM__BASE_URL)"
        )
    return url.rstrip("/")
