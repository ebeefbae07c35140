"""Shared LangChain chat-model base for in-process models (llama.cpp, transformers).

Subclasses implement one method, :meth:`LocalChatModel._stream_text`, that yields text pieces for a list of
``{"role", "content"}`` messages. This base turns it into token streaming, plain generation, and prompt-based
tool calling (see :mod:`bioagent.llm.prompt_tools`).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from bioagent.llm.prompt_tools import (
    parse_tool_call,
    render_messages,
    required_tool,
    tool_call_schema,
    tool_names,
    with_tool_instructions,
)


class LocalChatModel(BaseChatModel):
    """A chat model that runs in this process and streams text pieces."""

    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature; 0 decodes greedily.")
    max_tokens: int = Field(default=256, ge=1, description="Most new tokens per reply.")

    @abstractmethod
    def _stream_text(
        self,
        messages: list[dict[str, str]],
        *,
        stop: list[str] | None,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None,
    ) -> Iterator[str]:
        """Yield the reply to ``messages`` piece by piece (``json_schema`` constrains it where supported)."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools for prompt-based JSON tool calling (small models follow it only loosely)."""
        schemas = [convert_to_openai_tool(tool) for tool in tools]
        required_tool(schemas, tool_choice)
        return self.bind(tools=schemas, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        if kwargs.get("tool_choice") == "none":
            tools = []
        required = required_tool(tools, kwargs.get("tool_choice")) if tools else None
        prompt = render_messages(messages)
        if tools:
            prompt = with_tool_instructions(prompt, tools, required)
        pieces = self._stream_text(
            prompt,
            stop=stop,
            max_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
            temperature=float(kwargs.get("temperature", self.temperature)),
            json_schema=tool_call_schema(tools, required) if required else None,
        )
        if not tools:
            for piece in pieces:
                yield _token_chunk(piece, run_manager)
            return
        yield from _stream_with_tools(pieces, tool_names(tools), run_manager)


def _token_chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
    if run_manager:
        run_manager.on_llm_new_token(text, chunk=chunk)
    return chunk


def _stream_with_tools(
    pieces: Iterator[str], names: list[str], run_manager: CallbackManagerForLLMRun | None
) -> Iterator[ChatGenerationChunk]:
    """Stream plain-text replies as they come; hold back a reply that starts like JSON and parse it."""
    held = ""
    for piece in pieces:
        held += piece
        if held.strip():
            break
    if not held.lstrip().startswith("{"):
        if held:
            yield _token_chunk(held, run_manager)
        for piece in pieces:
            yield _token_chunk(piece, run_manager)
        return
    text = held + "".join(pieces)
    call = parse_tool_call(text, names)
    if call is None:
        yield _token_chunk(text, run_manager)
        return
    call_chunk = tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=0)
    yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call_chunk]))
