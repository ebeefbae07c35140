"""Reachability checks and error translation into :class:`LLMError` messages that name the setting."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

from bioagent.errors import LLMError
from bioagent.llm.fake import ScriptedChatModel
from bioagent.llm.local import LocalChatModel
from bioagent.redact import redact

_URL_SETTING = "settings llm.base_url / BIOAGENT_LLM__BASE_URL"
_KEY_SETTING = "settings llm.api_key / BIOAGENT_LLM__API_KEY"
_MODEL_SETTING = "settings llm.model / BIOAGENT_LLM__MODEL"
_TIMEOUT_SETTING = "settings llm.timeout_s / BIOAGENT_LLM__TIMEOUT_S"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"


def check_chat_model(model: BaseChatModel) -> None:
    """Send a one-token probe; raise :class:`LLMError` naming the setting to fix if the model cannot answer."""
    try:
        model.invoke([HumanMessage(content="Reply with OK.")], **_probe_kwargs(model))
    except LLMError:
        raise
    except Exception as exc:
        raise explain_llm_error(exc, model) from exc


def _probe_kwargs(model: BaseChatModel) -> dict[str, Any]:
    if isinstance(model, LocalChatModel | ScriptedChatModel):
        return {"max_tokens": 1}
    if hasattr(model, "openai_api_base"):
        extra = getattr(model, "extra_body", None) or {}
        return {
            "max_tokens": 1,
            **({"extra_body": {**extra, "max_tokens": 1}} if "max_tokens" in extra else {}),
        }
    if hasattr(model, "num_predict"):
        return {"options": {"num_predict": 1}}
    return {}


def explain_llm_error(exc: BaseException, model: BaseChatModel) -> LLMError:
    """An :class:`LLMError` that says what went wrong with ``model``'s backend and which setting to check;
    URL credentials and the API key are shown as ``***``."""
    if isinstance(exc, LLMError):
        return exc
    return LLMError(redact(_explanation(exc, model), _api_keys(model)))


def _explanation(exc: BaseException, model: BaseChatModel) -> str:
    kind, url, name = _endpoint(model)
    if url is None:
        return f"the chat model failed: {_first_line(exc)}"
    status = _http_status(exc)
    if status in (401, 403):
        return f"the {kind} at {url} rejected the API key ({_KEY_SETTING}): {_first_line(exc)}"
    if status == 404:
        return (
            f"the {kind} at {url} has no model {name!r} or no such API path "
            f"({_MODEL_SETTING}, {_URL_SETTING}): {_first_line(exc)}"
        )
    if status is not None:
        return f"the {kind} at {url} answered HTTP {status}: {_first_line(exc)}"
    reason = _connection_reason(exc)
    if reason is not None:
        return f"cannot reach the {kind} at {url} ({_URL_SETTING}): {reason}"
    return f"the {kind} at {url} failed: {_first_line(exc)}"


def _api_keys(model: BaseChatModel) -> list[str]:
    """The API key a remote chat model sends (LangChain keeps it as a SecretStr), to hide it from messages."""
    key = getattr(model, "openai_api_key", None)
    return [key.get_secret_value()] if isinstance(key, SecretStr) else []


def _endpoint(model: BaseChatModel) -> tuple[str, str | None, str | None]:
    """(what it is, URL, model name) of a remote chat model; URL is None for in-process models."""
    if hasattr(model, "openai_api_base"):
        url = getattr(model, "openai_api_base", None) or OPENAI_DEFAULT_URL
        return "OpenAI-compatible endpoint", url, getattr(model, "model_name", None)
    if hasattr(model, "num_predict") and hasattr(model, "base_url"):
        return (
            "Ollama server",
            getattr(model, "base_url", None) or OLLAMA_DEFAULT_URL,
            getattr(model, "model", None),
        )
    return "chat model", None, None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _http_status(exc: BaseException) -> int | None:
    for error in _causes(exc):
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _connection_reason(exc: BaseException) -> str | None:
    """'connection refused', 'timed out …', … when ``exc`` is a failure to connect, else None."""
    openai = sys.modules.get("openai")
    httpx = sys.modules.get("httpx")
    connect_types: tuple[type[BaseException], ...] = (ConnectionError, socket.gaierror, TimeoutError)
    if openai is not None:
        connect_types += (openai.APIConnectionError,)
    if httpx is not None:
        connect_types += (httpx.TransportError,)
    chain = list(_causes(exc))
    if not any(isinstance(error, connect_types) for error in chain):
        return None
    if any(isinstance(error, ConnectionRefusedError) for error in chain):
        return "connection refused"
    if any(isinstance(error, socket.gaierror) for error in chain):
        return "unknown host name"
    timeout_types = (TimeoutError,) + ((httpx.TimeoutException,) if httpx is not None else ())
    timeout_types += (openai.APITimeoutError,) if openai is not None else ()
    if any(isinstance(error, timeout_types) for error in chain):
        return f"no answer in time ({_TIMEOUT_SETTING})"
    refused = [error for error in chain if "refused" in str(error).lower()]
    return "connection refused" if refused else _first_line(chain[-1])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
