"""A deterministic scripted chat model for tests: replies come from a list, tool calls included."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr, field_validator

from bioagent.errors import LLMError

DEFAULT_REPLY = "This is a scripted reply from the fake chat model."


class ScriptedChatModel(BaseChatModel):
    """Returns ``responses`` in order, one per call; streams each reply word by word.

    A response is an :class:`AIMessage` (``tool_calls`` allowed) or a string. Every call records the messages
    it received and the tools bound (``calls``, ``bound_tools``), so tests can check what the agent sent.
    When the script runs out the model raises :class:`LLMError`, unless ``cycle`` is set.
    """

    responses: list[AIMessage] = Field(default_factory=lambda: [AIMessage(content=DEFAULT_REPLY)])
    cycle: bool = Field(default=False, description="Start again from the first response when exhausted.")
    calls: list[list[BaseMessage]] = Field(default_factory=list, description="Messages of each call so far.")
    bound_tools: list[list[str]] = Field(default_factory=list, description="Tool names bound at each call.")
    _next: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("responses", mode="before")
    @classmethod
    def _text_as_message(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [AIMessage(content=item) if isinstance(item, str) else item for item in value]
        return value

    @property
    def _llm_type(self) -> str:
        return "bioagent-scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept tools (recorded per call); the script decides whether a reply calls them."""
        schemas = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=schemas, tool_choice=tool_choice, **kwargs)

    def _next_reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        with self._lock:
            index = self._next
            if index >= len(self.responses):
                if not self.cycle or not self.responses:
                    raise LLMError(
                        f"the scripted chat model has no reply left (it had {len(self.responses)})"
                    )
                index = 0
            self._next = index + 1
            self.calls.append(list(messages))
            self.bound_tools.append([tool["function"]["name"] for tool in tools])
        return _as_message(self.responses[index], index)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next_reply(messages, kwargs.get("tools") or [])
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next_reply(messages, kwargs.get("tools") or [])
        for piece in re.findall(r"\S+\s*|\s+", reply.text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece, id=reply.id))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        if reply.tool_calls:
            chunks = [
                tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=i)
                for i, call in enumerate(reply.tool_calls)
            ]
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", tool_call_chunks=chunks, id=reply.id)
            )


def _as_message(response: AIMessage, index: int) -> AIMessage:
    """A fresh copy of a scripted reply (usage metadata kept), with deterministic ids for tool calls that lack
    one."""
    calls = [
        tool_call(name=call["name"], args=call["args"], id=call.get("id") or f"call_{index}_{n}")
        for n, call in enumerate(response.tool_calls)
    ]
    return AIMessage(
        content=response.content, tool_calls=calls, id=response.id, usage_metadata=response.usage_metadata
    )


def load_script(path: Path) -> list[AIMessage]:
    """Replies from a JSON or YAML list of texts or ``{"content", "tool_calls": [{"name", "args"}]}`` maps."""
    try:
        raw = path.read_text(encoding="utf-8")
        items = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise LLMError(f"cannot read the fake model's script {path} (settings llm.model): {exc}") from exc
    if not isinstance(items, list):
        raise LLMError(f"the fake model's script {path} must be a list of replies (settings llm.model)")
    return [_scripted_reply(item, path) for item in items]


def _scripted_reply(item: Any, path: Path) -> AIMessage:
    if isinstance(item, str):
        return AIMessage(content=item)
    try:
        calls = [
            tool_call(name=str(call["name"]), args=dict(call.get("args") or {}), id=call.get("id"))
            for call in item.get("tool_calls", [])
        ]
        return AIMessage(content=str(item.get("content", "")), tool_calls=calls)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise LLMError(
            f"the fake model's script {path} holds a malformed reply {item!r}: each is a text or a mapping "
            "with 'content' and 'tool_calls' (each with 'name' and 'args') (settings llm.model)"
        ) from exc
