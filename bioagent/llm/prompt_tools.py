"""Prompt-based tool calling for local models that have no native tool-calling format.

The bound tools are described in a system message, and the model is asked to reply either with plain text
(a final answer) or with one JSON object ``{"tool": NAME, "arguments": {...}}``. Replies are parsed back into
LangChain tool calls. Conversation history is rendered as plain chat roles (system/user/assistant): earlier
tool calls become the JSON the model would have written, tool results become user turns, so that any chat
template can render them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall, tool_call

_INSTRUCTIONS = (
    "You can call tools. To call a tool, reply with only one JSON object of the form "
    '{"tool": "<tool name>", "arguments": {<arguments>}} and nothing else. '
    "To answer without a tool, reply with plain text."
)
_REQUIRED = "You must call exactly one tool now: reply with only the JSON object."


def render_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as ``{"role", "content"}`` dicts with only system/user/assistant roles."""
    rendered: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            rendered.append({"role": "system", "content": message.text})
        elif isinstance(message, ToolMessage):
            name = message.name or "tool"
            rendered.append({"role": "user", "content": f"Result of tool {name}:\n{message.text}"})
        elif isinstance(message, AIMessage):
            rendered.append({"role": "assistant", "content": _assistant_text(message)})
        else:
            rendered.append({"role": "user", "content": message.text})
    return rendered


def _assistant_text(message: AIMessage) -> str:
    if not message.tool_calls:
        return message.text
    return "\n".join(
        json.dumps({"tool": call["name"], "arguments": call["args"]}) for call in message.tool_calls
    )


def tool_names(tools: Sequence[dict[str, Any]]) -> list[str]:
    """Names of OpenAI-format tool schemas."""
    return [tool["function"]["name"] for tool in tools]


def required_tool(tools: Sequence[dict[str, Any]], tool_choice: Any) -> list[str] | None:
    """Names the reply must choose from, or None when the model may also answer in text.

    ``tool_choice`` follows LangChain: None/"auto"/"none" (optional), "any"/"required"/True (any bound
    tool), a tool name, or an OpenAI ``{"type": "function", "function": {"name": ...}}`` dict.
    """
    names = tool_names(tools)
    if tool_choice in (None, False, "auto", "none"):
        return None
    if tool_choice in ("any", "required", True):
        return names
    if isinstance(tool_choice, dict):
        tool_choice = tool_choice.get("function", {}).get("name")
    if tool_choice not in names:
        raise ValueError(f"tool_choice {tool_choice!r} is not one of the bound tools {names}")
    return [tool_choice]


def with_tool_instructions(
    messages: list[dict[str, str]], tools: Sequence[dict[str, Any]], required: list[str] | None
) -> list[dict[str, str]]:
    """Prepend (or merge into the first system message) the description of the bound tools."""
    lines = [_INSTRUCTIONS, "Tools:"]
    for tool in tools:
        function = tool["function"]
        params = json.dumps(function.get("parameters", {}).get("properties", {}))
        lines.append(f"- {function['name']}: {function.get('description', '').strip()} Arguments: {params}")
    if required:
        lines.append(_REQUIRED)
    text = "\n".join(lines)
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{messages[0]['content']}\n\n{text}"}, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def tool_call_schema(tools: Sequence[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """JSON schema of a reply that calls one of ``names`` (for grammar-constrained decoding)."""
    options = []
    for tool in tools:
        function = tool["function"]
        if function["name"] not in names:
            continue
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        options.append(
            {
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": [function["name"]]},
                    "arguments": parameters,
                },
                "required": ["tool", "arguments"],
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


def parse_tool_call(text: str, names: Sequence[str]) -> ToolCall | None:
    """The tool call written in ``text``, or None when the text is not a call to one of ``names``."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    name = value.get("tool", value.get("name"))
    args = value.get("arguments", value.get("args", {}))
    if not isinstance(name, str) or name not in names or not isinstance(args, dict):
        return None
    return tool_call(name=name, args=args, id=f"call_{uuid.uuid4().hex[:12]}")
