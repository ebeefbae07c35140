"""The scripted fake chat model and the factory's fake backend (fast)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from bioagent.agent.planner import declares_tool_calling
from bioagent.errors import LLMError
from bioagent.llm import ScriptedChatModel, create_chat_model, describe_model
from bioagent.llm.fake import DEFAULT_REPLY
from bioagent.settings import LLMSettings


@tool
def search_literature(query: str, k: int = 5) -> str:
    """Search PubMed abstracts for the query; returns numbered hits."""
    return query


def _tool_reply() -> AIMessage:
    return AIMessage(
        content="", tool_calls=[{"name": "search_literature", "args": {"query": "TP53"}, "id": "c1"}]
    )


def test_replies_come_in_script_order_and_calls_are_recorded() -> None:
    model = ScriptedChatModel(responses=["first", "second"])
    assert model.invoke("a").content == "first"
    assert model.invoke([HumanMessage(content="b")]).content == "second"
    assert [call[0].content for call in model.calls] == ["a", "b"]


def test_exhausted_script_raises_unless_cycling() -> None:
    model = ScriptedChatModel(responses=["only"])
    model.invoke("x")
    with pytest.raises(LLMError, match="no reply left"):
        model.invoke("y")
    cycling = ScriptedChatModel(responses=["one", "two"], cycle=True)
    assert [cycling.invoke("q").content for _ in range(3)] == ["one", "two", "one"]


def test_streaming_splits_words_and_rebuilds_the_reply() -> None:
    model = ScriptedChatModel(responses=["TP53 binds DNA  as a tetramer."])
    pieces = [chunk.text for chunk in model.stream("q") if chunk.text]
    assert pieces == ["TP53 ", "binds ", "DNA  ", "as ", "a ", "tetramer."]


def test_bound_tools_and_scripted_tool_calls_survive_invoke_and_stream() -> None:
    model = ScriptedChatModel(responses=[_tool_reply(), _tool_reply()])
    bound = model.bind_tools([search_literature])
    reply = bound.invoke("What does TP53 do?")
    assert reply.tool_calls == [
        {"name": "search_literature", "args": {"query": "TP53"}, "id": "c1", "type": "tool_call"}
    ]
    merged = None
    for chunk in bound.stream("again"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert merged.tool_calls[0]["args"] == {"query": "TP53"}
    assert model.bound_tools == [["search_literature"], ["search_literature"]]


def test_tool_calls_without_ids_get_deterministic_ids() -> None:
    reply = AIMessage(content="", tool_calls=[{"name": "search_literature", "args": {}, "id": None}])
    model = ScriptedChatModel(responses=[reply])
    assert model.invoke("q").tool_calls[0]["id"] == "call_0_0"


def test_factory_fake_backend_default_and_script_file(tmp_path: Path) -> None:
    default = create_chat_model(LLMSettings(backend="fake"))
    assert default.invoke("q").content == DEFAULT_REPLY
    assert default.invoke("q").content == DEFAULT_REPLY
    script = tmp_path / "script.yaml"
    lines = ["- content: ''", "  tool_calls:", "  - name: search_literature", "    args: {query: BRCA1}"]
    script.write_text("\n".join([*lines, "- BRCA1 repairs DNA.", ""]), encoding="utf-8")
    model = create_chat_model(LLMSettings(backend="fake", model=str(script)))
    assert model.invoke("q").tool_calls[0]["args"] == {"query": "BRCA1"}
    assert model.invoke("q").content == "BRCA1 repairs DNA."
    assert describe_model(LLMSettings(backend="fake", model=str(script))) == "fake:script.yaml"


def test_bad_script_file_names_the_setting(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(LLMError, match="llm.model"):
        create_chat_model(LLMSettings(backend="fake", model=str(script)))
    with pytest.raises(LLMError, match="llm.model"):
        create_chat_model(LLMSettings(backend="fake", model=str(tmp_path / "missing.json")))
    script.write_text('[{"tool_calls": [{"args": {}}]}]', encoding="utf-8")
    with pytest.raises(LLMError, match="malformed reply"):
        create_chat_model(LLMSettings(backend="fake", model=str(script)))


def test_async_invoke_and_stream() -> None:
    model = ScriptedChatModel(responses=["async reply here", "streamed reply"])

    async def run() -> tuple[str, list[str]]:
        reply = await model.ainvoke("q")
        return reply.text, [chunk.text async for chunk in model.astream("q") if chunk.text]

    assert asyncio.run(run()) == ("async reply here", ["streamed ", "reply"])


@pytest.mark.parametrize(("setting", "declared"), [("auto", False), ("yes", True), ("no", False)])
def test_the_tool_calling_setting_declares_what_a_profile_cannot(setting: str, declared: bool) -> None:
    model = create_chat_model(LLMSettings(backend="fake", tool_calling=setting))  # type: ignore[arg-type]
    assert declares_tool_calling(model) is declared


def test_an_assistant_turn_that_only_calls_tools_is_sent_with_empty_text() -> None:
    pytest.importorskip("langchain_openai")
    model = create_chat_model(LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m"))
    turn = AIMessage(content="", tool_calls=[{"name": "admet", "args": {"smiles": "CCO"}, "id": "c1"}])
    payload = model._get_request_payload([HumanMessage(content="q"), turn])  # type: ignore[attr-defined]
    assistant = payload["messages"][1]
    assert assistant["role"] == "assistant" and assistant["content"] == ""  # llama.cpp's server refuses null
    assert assistant["tool_calls"][0]["function"]["name"] == "admet"
