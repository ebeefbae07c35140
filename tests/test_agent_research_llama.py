"""The research loop's protocol against a real OpenAI-compatible server: llama.cpp's server in its
function-calling chat format (``chatml-function-calling``) serving SmolLM2 on loopback.

The 135M model's choices are not the point (they are not good); the wire format is: tool schemas sent, tool
calls parsed into LangChain ``tool_calls``, tool results sent back as ``tool`` messages, and the loop ending
within its budget with an answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_server import ALIAS, llama_server

from bioagent.agent import Agent
from bioagent.agent.planner import declares_tool_calling
from bioagent.llm import create_chat_model
from bioagent.settings import Settings
from bioagent.tools.search import LiteratureSearchInput

pytestmark = pytest.mark.slow
QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("research-llama")
    with llama_server(root, "--chat_format", "chatml-function-calling") as url:
        yield Settings.load(
            embedding={"backend": "hash"},
            cache_dir=root / "cache",
            index_dir=root / "indexes",
            llm={
                "backend": "openai",
                "base_url": url,
                "model": ALIAS,
                "max_tokens": 96,
                "tool_calling": "yes",
            },
            agent={"research_max_steps": 2, "research_max_seconds": 240, "min_relevance": 0.25},
        )


def literature_search(query: str, k: int = 5) -> dict[str, Any]:
    """Search the literature for passages about a topic."""
    return {"query": query, "k": k}


def test_a_forced_tool_call_round_trips_through_the_server(settings: Settings) -> None:
    model = create_chat_model(settings.llm)
    assert declares_tool_calling(model)  # llm.tool_calling: yes declares what the endpoint's name cannot
    bound = model.bind_tools([literature_search], tool_choice="literature_search")
    question = HumanMessage(content="Find papers on mitochondria in lace plant programmed cell death.")
    reply = bound.invoke([question])
    assert isinstance(reply, AIMessage) and len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "literature_search" and isinstance(call["args"].get("query"), str)
    LiteratureSearchInput.model_validate({"query": call["args"]["query"] or "xx"})  # a usable argument
    result = ToolMessage(content='{"hits": []}', tool_call_id=call["id"] or "call")
    follow_up = model.bind_tools([literature_search]).invoke([question, reply, result])
    assert isinstance(follow_up, AIMessage)  # the server took the tool result back in its own format


def test_the_research_loop_runs_against_the_server(settings: Settings, tmp_path: Path) -> None:
    build_agent_indexes(settings)
    answer = Agent.from_settings(settings, tools=[]).ask(QUESTION)
    assert answer.planner == "research"
    assert any(line.startswith("Researched in ") for line in answer.reasoning.splitlines())
    assert not any("the chat model failed" in note for note in answer.notes), answer.notes
    calls_made = [c.name for c in answer.tool_calls]
    assert set(calls_made) <= {"literature_search", "protein_search"}
    assert answer.text.strip()
