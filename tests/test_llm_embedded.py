"""The embedded backend on the real SmolLM2-135M GGUF run by llama-cpp-python."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool

from bioagent.errors import MissingExtraError
from bioagent.llm import LlamaCppChatModel, create_chat_model
from bioagent.settings import LLMSettings


@tool
def uniprot_lookup(accession: str) -> str:
    """Fetch the UniProt entry for a protein accession such as P04637."""
    return accession


@pytest.fixture(scope="module")
def embedded() -> LlamaCppChatModel:
    pytest.importorskip("llama_cpp")
    try:
        model = create_chat_model(LLMSettings(max_tokens=24))
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    assert isinstance(model, LlamaCppChatModel)
    return model


@pytest.mark.slow
def test_embedded_model_answers_streams_and_is_loaded_once(embedded: LlamaCppChatModel) -> None:
    again = create_chat_model(LLMSettings(max_tokens=24))
    assert isinstance(again, LlamaCppChatModel) and again.loaded() is embedded.loaded()
    question = "What does the TP53 protein do?"
    assert embedded.invoke(question).text.strip()
    # Greedy decoding repeats itself once llama.cpp's prompt cache holds this prompt (a first evaluation in
    # one batch can differ in the last bits from a cached one), so compare two calls after the first.
    reply = embedded.invoke(question)
    pieces = [chunk.text for chunk in embedded.stream(question) if chunk.text]
    assert len(pieces) > 1
    assert "".join(pieces) == reply.text


@pytest.mark.slow
def test_forced_tool_call_is_well_formed(embedded: LlamaCppChatModel) -> None:
    bound = embedded.bind_tools([uniprot_lookup], tool_choice="uniprot_lookup")
    reply = bound.invoke("Look up the protein P04637.", max_tokens=48)
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "uniprot_lookup"
    assert isinstance(call["args"].get("accession"), str)
