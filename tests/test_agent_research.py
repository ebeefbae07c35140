"""The research loop with scripted tool-calling models: multi-step trajectories, budgets, errors, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from bioagent.agent import Agent
from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.research import Budget, ResearchLoop
from bioagent.agent.summaries import parse_summary
from bioagent.errors import ToolInputError
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings
from bioagent.types import Answer

ASPIRIN = "CC(=O)OC1=CC=CC=C1C(=O)O"
QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
FINAL = "Yes. Mitochondria play a role in remodelling lace plant leaves during programmed cell death [1]."
AGENT = {
    "min_relevance": 0.25,
    "support_cosine": 0.3,
    "support_overlap": 0.5,
    "writer": "model",
    "verdicts": "off",
}


class SmilesInput(BaseModel):
    smiles: str


def _admet(smiles: str) -> dict[str, Any]:
    if smiles == "not-a-molecule":
        raise ToolInputError("'not-a-molecule' is not a valid SMILES")
    statement = "{subject} is predicted to cross the blood-brain barrier with probability 0.62."
    facts = [
        {"key": "bbb", "label": "BBB", "value": 0.62, "unit": None, "statement": statement, "topics": []}
    ]
    return {"tool": "admet", "model": "fake-admet", "facts": facts}


def admet_tool() -> StructuredTool:
    return StructuredTool.from_function(
        _admet, name="admet", description="ADMET predictions for a SMILES.", args_schema=SmilesInput
    )


def calls(*pairs: tuple[str, dict[str, Any]], text: str = "") -> AIMessage:
    """A reply calling tools (name, args) in order."""
    return AIMessage(
        content=text, tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(pairs)]
    )


LITERATURE = ("literature_search", {"query": "aspirin colorectal cancer"})
PROTEINS = ("protein_search", {"query": "tumor suppressor p53", "organism": "Homo sapiens"})
ADMET = ("admet", {"smiles": ASPIRIN})


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("research")


@pytest.fixture(scope="module")
def indexes(root: Path) -> tuple[Any, Any]:
    return build_agent_indexes(settings_for(root))


def settings_for(root: Path, **agent: Any) -> Settings:
    return Settings.load(
        embedding={"backend": "hash"},
        cache_dir=root / "cache",
        index_dir=root / "indexes",
        agent={**AGENT, **agent},
    )


def ask(
    root: Path, indexes: tuple[Any, Any], replies: list[Any], **agent: Any
) -> tuple[Answer, ScriptedChatModel]:
    llm = ScriptedChatModel(responses=replies, profile={"tool_calling": True})
    literature, proteins = indexes
    settings = settings_for(root, **agent)
    bot = Agent.from_settings(
        settings, llm=llm, literature_index=literature, protein_index=proteins, tools=[admet_tool()]
    )
    return bot.ask(QUESTION), llm


def tool_messages(llm: ScriptedChatModel, call: int) -> list[str]:
    """What the tools told the model before its ``call``-th reply (0-based)."""
    return [str(m.content) for m in llm.calls[call] if isinstance(m, ToolMessage)]


def test_search_then_proteins_then_admet_then_the_answer(root: Path, indexes: tuple[Any, Any]) -> None:
    script = [
        calls(LITERATURE, text="First the literature."),
        calls(PROTEINS),
        calls(ADMET),
        "The evidence covers mitochondria in lace plant cell death.",
        FINAL,
    ]
    answer, llm = ask(root, indexes, script)
    assert answer.planner == "research"
    assert [c.name for c in answer.tool_calls] == ["literature_search", "protein_search", "admet"]
    assert set(llm.bound_tools[0]) == {"literature_search", "protein_search", "admet"}
    keys = [e.id for e in answer.evidence]
    assert keys[0] == "PMID:21645374"  # retrieved before the loop: it keeps number 1
    assert keys[1:] == ["PMID:17000001", "UniProt:P04637", "tool:admet"]
    assert [e.number for e in answer.evidence] == [1, 2, 3, 4]
    assert "Evidence from this call: [3] UniProt:P04637." in tool_messages(llm, 2)[-1]
    assert answer.text.startswith("Yes. Mitochondria play a role") and "[PMID:21645374]" in answer.text
    assert "First the literature." in answer.reasoning and "First the literature." not in answer.text
    assert "The evidence covers" in answer.reasoning and not answer.notes
    assert "research" in answer.timings and "tool.admet" in answer.timings


def test_the_step_budget_stops_the_loop_and_says_so(root: Path, indexes: tuple[Any, Any]) -> None:
    script = [calls(LITERATURE), calls(PROTEINS), FINAL]
    answer, llm = ask(root, indexes, script, research_max_steps=2)
    assert [c.name for c in answer.tool_calls] == ["literature_search", "protein_search"]
    note = "Stopped researching: 2 steps reached (agent.research_max_steps)"
    assert any(n.startswith(note) for n in answer.notes) and note in answer.text
    assert answer.text.startswith("Yes. Mitochondria") and len(llm.calls) == 3  # the answer is still written


def test_the_tool_call_budget_stops_the_loop(root: Path, indexes: tuple[Any, Any]) -> None:
    answer, _ = ask(root, indexes, [calls(LITERATURE, PROTEINS, ADMET), FINAL], research_max_tool_calls=2)
    assert [c.name for c in answer.tool_calls] == ["literature_search", "protein_search"]
    assert any("2 tool calls reached (agent.research_max_tool_calls)" in n for n in answer.notes)


def test_the_token_budget_counts_reported_usage(root: Path, indexes: tuple[Any, Any]) -> None:
    costly = calls(LITERATURE)
    costly.usage_metadata = {"input_tokens": 4000, "output_tokens": 1000, "total_tokens": 5000}
    answer, _ = ask(root, indexes, [costly, calls(PROTEINS), FINAL], research_max_tokens=4000)
    assert [c.name for c in answer.tool_calls] == ["literature_search"]
    assert any("5,000 of 4,000 model tokens used (agent.research_max_tokens)" in n for n in answer.notes)


def test_a_tool_error_is_fed_back_and_the_loop_goes_on(root: Path, indexes: tuple[Any, Any]) -> None:
    script = [calls(("admet", {"smiles": "not-a-molecule"})), calls(ADMET), "Done.", FINAL]
    answer, llm = ask(root, indexes, script)
    assert [c.result.ok for c in answer.tool_calls if c.result] == [False, True]
    assert tool_messages(llm, 1) == [
        "The tool failed: ToolInputError: 'not-a-molecule' is not a valid SMILES"
    ]
    assert "tool:admet" in [e.id for e in answer.evidence]
    assert any("The admet tool failed" in n for n in answer.notes)


def test_a_repeated_call_is_not_run_again(root: Path, indexes: tuple[Any, Any]) -> None:
    answer, llm = ask(root, indexes, [calls(ADMET), calls(ADMET), "Done.", FINAL])
    assert [c.name for c in answer.tool_calls] == ["admet"]
    assert tool_messages(llm, 2)[-1] == (
        "admet was already called with these arguments (evidence [2] tool:admet); it was not run again."
    )
    assert [e.id for e in answer.evidence].count("tool:admet") == 1


def test_arguments_outside_the_schema_are_refused(root: Path, indexes: tuple[Any, Any]) -> None:
    bad = calls(("admet", {"smiles": ASPIRIN, "dose_mg": 5}), ("protein_search", {"query": "p53", "k": 100}))
    answer, llm = ask(root, indexes, [bad, "Done.", FINAL])
    assert answer.tool_calls == []
    refusals = tool_messages(llm, 1)
    assert refusals[0].startswith("Refused: dose_mg: not an argument of admet.")
    assert refusals[1].startswith("Refused: k: Input should be less than or equal to 20.")
    assert "Refused admet(" in answer.reasoning


def test_research_off_keeps_the_one_round_planner(root: Path, indexes: tuple[Any, Any]) -> None:
    answer, llm = ask(root, indexes, [calls(ADMET), FINAL], research="off")
    assert answer.planner == "tools" and [c.name for c in answer.tool_calls] == ["admet"]
    assert llm.bound_tools[0] == ["admet"]  # the planner offers no search tools


def test_the_time_budget_is_checked_before_each_call() -> None:
    ticks = iter(range(100))  # each clock read is one second later: start 0, step 1, model 2-3, calls 4 and 5
    llm = ScriptedChatModel(responses=[calls(ADMET, ("admet", {"smiles": "CCO"}))])
    loop = ResearchLoop(llm, [admet_tool()], Budget(6, 12, 8000, 4.5), 0.3, clock=lambda: float(next(ticks)))
    done = loop.run("Is aspirin toxic?", Entities(), EvidenceSet(), lambda calls: "aspirin")
    assert [c.arguments for c in done.calls] == [{"smiles": ASPIRIN}]
    assert done.stopped_by == "agent.research_max_seconds" and done.steps == 1
    assert done.notes == [
        "Stopped researching: 4.5 seconds reached (agent.research_max_seconds); the answer rests on the "
        "evidence found so far."
    ]


def test_a_model_failure_mid_research_ends_the_loop_with_a_note(root: Path, indexes: tuple[Any, Any]) -> None:
    answer, _ = ask(root, indexes, [calls(ADMET)], writer="evidence")  # the script then runs out: LLMError
    assert [c.name for c in answer.tool_calls] == ["admet"]
    assert "tool:admet" in [e.id for e in answer.evidence] and not answer.abstained
    assert any(n.startswith("Stopped researching: the chat model failed") for n in answer.notes)


SUMMARIES = {"research_summaries": True, "research_summary_min_score": 3}


def prompt_text(llm: ScriptedChatModel, call: int) -> str:
    return "\n".join(str(m.content) for m in llm.calls[call])


def test_contextual_summaries_reach_the_writer_and_low_scores_are_set_aside(
    root: Path, indexes: tuple[Any, Any]
) -> None:
    on_topic = '{"summary": "Mitochondria change early in lace plant programmed cell death.", "relevance": 9}'
    off_topic = 'Here it is: {"summary": "It is about aspirin and colorectal cancer.", "relevance": 1}'
    script = [calls(LITERATURE), "Two passages found.", on_topic, off_topic, FINAL]
    answer, llm = ask(root, indexes, script, **SUMMARIES)
    first, second = answer.evidence[0], answer.evidence[1]
    assert (first.id, second.id) == ("PMID:21645374", "PMID:17000001")
    assert "Lace plant" in prompt_text(llm, 2) or "lace plant" in prompt_text(llm, 2).lower()
    assert first.metadata["summary_relevance"] == 9 and "set_aside" not in first.metadata
    assert second.metadata["set_aside"] == "the chat model scored its relevance 1/10"
    writer_prompt = prompt_text(llm, 4)
    assert "[1] PMID:21645374 - Summary for the question: Mitochondria change early" in writer_prompt
    assert "PMID:17000001" not in writer_prompt  # set aside: the writer never sees it
    assert [e.number for e in answer.evidence] == [1, 2]  # numbers never change
    assert any("set aside [2] (relevance below 3/10)" in line for line in answer.reasoning.splitlines())
    assert "research.summaries" in answer.timings


def test_an_unreadable_summary_leaves_the_passage_as_found(root: Path, indexes: tuple[Any, Any]) -> None:
    script = ["Nothing to search.", "I think it is relevant.", FINAL]
    answer, llm = ask(root, indexes, script, **SUMMARIES)
    assert "summary" not in answer.evidence[0].metadata and "set_aside" not in answer.evidence[0].metadata
    assert "[1] PMID:21645374 - " in prompt_text(llm, 2)
    assert "1 reply(ies) were not the JSON asked for" in answer.reasoning
    assert answer.text.startswith("Yes. Mitochondria play a role")


def test_summaries_are_off_by_default(root: Path, indexes: tuple[Any, Any]) -> None:
    answer, llm = ask(root, indexes, ["Nothing to search.", FINAL])
    assert len(llm.calls) == 2 and "Summarised" not in answer.reasoning


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ('{"summary": "Binds ATP.", "relevance": 7}', ("Binds ATP.", 7)),
        ('Sure. {"summary": " Binds ATP. ", "relevance": 6.6} Done.', ("Binds ATP.", 7)),
        ('{"summary": "Binds ATP.", "relevance": 11}', None),
        ('{"summary": "", "relevance": 5}', None),
        ('{"summary": "Binds ATP.", "relevance": true}', None),
        ('{"summary": "Binds ATP."}', None),
        ("not json", None),
        ("[1, 2]", None),
    ],
)
def test_parse_summary(reply: str, parsed: tuple[str, int] | None) -> None:
    assert parse_summary(reply) == parsed
