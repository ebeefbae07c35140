"""Prompt-based tool calling and streaming of in-process models, on a canned local model (fast)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from bioagent.llm import LocalChatModel
from bioagent.llm.prompt_tools import parse_tool_call, render_messages, required_tool, tool_call_schema


@tool
def uniprot_lookup(accession: str) -> str:
    """Fetch a UniProt entry by accession."""
    return accession


@tool
def drug_lookup(name: str) -> str:
    """Find a drug by name."""
    return name


class CannedModel(LocalChatModel):
    """Yields fixed pieces and records what it was asked."""

    pieces: list[str]
    seen: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "canned"

    def _stream_text(self, messages: list[dict[str, str]], **options: Any) -> Iterator[str]:
        self.seen.append({"messages": messages, **options})
        yield from self.pieces


def _merged(chunks: Iterator[Any]) -> Any:
    merged = None
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
    return merged


def test_plain_reply_streams_piece_by_piece_with_limits_passed_down() -> None:
    model = CannedModel(pieces=["TP53 ", "is a ", "tumour suppressor."], seen=[], max_tokens=7)
    assert [chunk.text for chunk in model.stream("q") if chunk.text] == [
        "TP53 ",
        "is a ",
        "tumour suppressor.",
    ]
    assert model.invoke("q", max_tokens=3).content == "TP53 is a tumour suppressor."
    assert [call["max_tokens"] for call in model.seen] == [7, 3]
    assert model.seen[0]["json_schema"] is None


def test_json_reply_becomes_a_tool_call_in_invoke_and_stream() -> None:
    pieces = [" ", '{"tool": "uniprot_lookup", ', '"arguments": {"accession": "P04637"}}']
    model = CannedModel(pieces=pieces, seen=[])
    bound = model.bind_tools([uniprot_lookup, drug_lookup])
    reply = bound.invoke("What is P04637?")
    assert reply.content == ""
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("uniprot_lookup", {"accession": "P04637"})]
    streamed = _merged(bound.stream("again"))
    assert streamed.tool_calls[0]["args"] == {"accession": "P04637"}
    system = model.seen[0]["messages"][0]
    assert (
        system["role"] == "system"
        and "uniprot_lookup" in system["content"]
        and "drug_lookup" in system["content"]
    )


def test_text_reply_with_tools_bound_stays_text() -> None:
    model = CannedModel(pieces=["I cannot ", "answer."], seen=[])
    reply = model.bind_tools([uniprot_lookup]).invoke("q")
    assert reply.content == "I cannot answer." and reply.tool_calls == []


def test_tool_choice_none_leaves_tools_out_of_the_prompt() -> None:
    model = CannedModel(pieces=['{"tool": "uniprot_lookup", "arguments": {"accession": "P1"}}'], seen=[])
    reply = model.bind_tools([uniprot_lookup], tool_choice="none").invoke("q")
    assert reply.tool_calls == [] and reply.text.startswith("{")
    assert model.seen[0]["messages"] == [{"role": "user", "content": "q"}]


def test_forced_tool_choice_constrains_decoding_to_that_tool() -> None:
    model = CannedModel(pieces=['{"tool": "drug_lookup", "arguments": {"name": "imatinib"}}'], seen=[])
    reply = model.bind_tools([uniprot_lookup, drug_lookup], tool_choice="drug_lookup").invoke("q")
    assert reply.tool_calls[0]["name"] == "drug_lookup"
    schema = model.seen[0]["json_schema"]
    assert schema["properties"]["tool"]["enum"] == ["drug_lookup"]
    with pytest.raises(ValueError, match="not one of the bound tools"):
        model.bind_tools([uniprot_lookup], tool_choice="nope")


def test_parse_tool_call_accepts_only_known_tools_and_object_arguments() -> None:
    names = ["uniprot_lookup"]
    call = parse_tool_call('Sure: {"name": "uniprot_lookup", "args": {"accession": "Q9Y"}} done', names)
    assert call is not None and call["args"] == {"accession": "Q9Y"} and call["id"].startswith("call_")
    assert parse_tool_call('{"tool": "rm_rf", "arguments": {}}', names) is None
    assert parse_tool_call('{"tool": "uniprot_lookup", "arguments": "P1"}', names) is None
    assert parse_tool_call("{not json", names) is None
    assert parse_tool_call("no braces at all", names) is None


def test_required_tool_and_schema_for_any() -> None:
    schemas = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in ("a", "b")]
    assert required_tool(schemas, "auto") is None
    assert required_tool(schemas, "any") == ["a", "b"]
    assert required_tool(schemas, {"type": "function", "function": {"name": "b"}}) == ["b"]
    assert len(tool_call_schema(schemas, ["a", "b"])["anyOf"]) == 2


def test_history_renders_tool_calls_and_results_as_plain_roles() -> None:
    history = [
        SystemMessage(content="Be brief."),
        HumanMessage(content="What is P04637?"),
        AIMessage(
            content="", tool_calls=[{"name": "uniprot_lookup", "args": {"accession": "P04637"}, "id": "1"}]
        ),
        ToolMessage(content="Cellular tumor antigen p53", tool_call_id="1", name="uniprot_lookup"),
    ]
    rendered = render_messages(history)
    assert [m["role"] for m in rendered] == ["system", "user", "assistant", "user"]
    assert rendered[2]["content"] == '{"tool": "uniprot_lookup", "arguments": {"accession": "P04637"}}'
    assert rendered[3]["content"] == "Result of tool uniprot_lookup:\nCellular tumor antigen p53"
