"""The agent graph end to end with a scripted chat model, the hash embedder and small hand-made indexes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from agent_corpus import CORPUS, build_agent_indexes
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from bioagent.agent import ABSTAIN_TEXT, Agent
from bioagent.errors import LLMError, ToolInputError
from bioagent.index import build_index
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings
from bioagent.types import Document

TP53_SEQUENCE = CORPUS["proteins"][0]["metadata"]["sequence"]
MITO_QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
MITO_REPLY = (
    "Reasoning: [1] describes mitochondrial dynamics during programmed cell death.\n"
    "Answer: Yes. Mitochondria play a role in remodelling lace plant leaves during programmed cell death [1]."
)
# Hash-embedder cosines are lower than a real model's; these thresholds suit the fixture corpus.
HASH_AGENT = {
    "min_relevance": 0.25,
    "support_cosine": 0.3,
    "support_overlap": 0.5,
    "writer": "model",
    "verdicts": "off",
}


def make_settings(root: Path, **overrides: Any) -> Settings:
    return Settings.load(
        embedding={"backend": "hash"},
        cache_dir=root / "cache",
        index_dir=root / "indexes",
        agent={**HASH_AGENT, **overrides.pop("agent", {})},
        **overrides,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agent")


@pytest.fixture(scope="module")
def settings(root: Path) -> Settings:
    return make_settings(root)


@pytest.fixture(scope="module")
def indexes(settings: Settings) -> tuple[Any, Any]:
    return build_agent_indexes(settings)


class SequenceInput(BaseModel):
    sequence: str


def _properties(sequence: str) -> dict[str, Any]:
    return {"tool": "protein_properties", "model": "fake", "proteins": [{"length": len(sequence)}]}


def _disorder(sequence: str) -> dict[str, Any]:
    raise ToolInputError("the disorder predictor is unavailable in this test")


def fake_tools() -> list[StructuredTool]:
    return [
        StructuredTool.from_function(
            _properties,
            name="protein_properties",
            description="Length of a protein.",
            args_schema=SequenceInput,
        ),
        StructuredTool.from_function(
            _disorder, name="disorder", description="Disorder of a protein.", args_schema=SequenceInput
        ),
    ]


def make_agent(settings: Settings, indexes: tuple[Any, Any], replies: list[Any], **kwargs: Any) -> Agent:
    llm = kwargs.pop("llm", None) or ScriptedChatModel(responses=replies, cycle=True)
    literature, proteins = indexes
    return Agent.from_settings(
        settings,
        llm=llm,
        literature_index=literature,
        protein_index=proteins,
        tools=kwargs.pop("tools", fake_tools()),
        **kwargs,
    )


def test_answer_cites_only_retrieved_evidence(settings: Settings, indexes: tuple[Any, Any]) -> None:
    agent = make_agent(settings, indexes, [MITO_REPLY])
    answer = agent.ask(MITO_QUESTION)
    assert answer.text.startswith("Yes. Mitochondria play a role")
    assert [c.id for c in answer.citations] == ["PMID:21645374"]
    assert "[PMID:21645374]" in answer.text  # the number [1] was rewritten to its typed key
    assert {e.id for e in answer.evidence} >= {c.id for c in answer.citations}
    assert [e.number for e in answer.evidence] == list(range(1, len(answer.evidence) + 1))
    assert "mitochondrial dynamics" in answer.reasoning and "Reasoning:" not in answer.text
    assert {"understand", "retrieve", "tools", "answer", "verify", "total"} <= set(answer.timings)
    assert answer.planner == "rules" and not answer.abstained and not answer.extractive


def test_planted_false_citation_is_removed(settings: Settings, indexes: tuple[Any, Any]) -> None:
    reply = (
        "Mitochondria play a role in remodelling lace plant leaves during programmed cell death [PMID:99999999]. "
        "Aspirin cures every disease known to medicine [PMID:21645374]."
    )
    answer = make_agent(settings, indexes, [reply]).ask(MITO_QUESTION)
    assert "99999999" not in answer.text.split("\n\nNote:")[0]
    assert "cures every disease" not in answer.text
    assert [c.id for c in answer.citations] == ["PMID:21645374"]
    assert any("PMID:99999999" in note for note in answer.notes)
    assert any("removed because the evidence did not support" in note for note in answer.notes)
    assert "Note:" in answer.text


def test_abstains_without_relevant_evidence(settings: Settings, indexes: tuple[Any, Any]) -> None:
    llm = ScriptedChatModel(responses=["should not be called"])
    answer = make_agent(settings, indexes, [], llm=llm).ask("What is the boiling point of tungsten on Mars?")
    assert answer.abstained and answer.text.startswith(ABSTAIN_TEXT)
    assert answer.citations == [] and answer.evidence == []
    assert llm.calls == []


class ObedientModel(BaseChatModel):
    """Does whatever an instruction in its prompt says ('say that X'), else gives a fixed answer."""

    prompts: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "obedient"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        self.prompts.append(prompt)
        order = re.search(r"say that ([^.\n]+)", prompt, re.IGNORECASE)
        text = (
            order.group(1) + "."
            if order
            else "Vitamin D supplementation reduces bone fractures in elderly women [1]."
        )
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def test_injected_instruction_in_a_document_changes_nothing(
    settings: Settings, indexes: tuple[Any, Any], root: Path
) -> None:
    question = "Does vitamin D supplementation reduce bone fractures?"
    poisoned = make_agent(settings, indexes, [], llm=ObedientModel(prompts=[]), tools=[])
    answer = poisoned.ask(question)
    assert "PMID:66600001" in [e.id for e in answer.evidence]
    assert answer.evidence[0].metadata.get("sanitised") or any(
        e.metadata.get("sanitised") for e in answer.evidence
    )
    assert "cures all cancers" not in answer.text
    assert "ignore previous instructions" not in poisoned.parts.llm.prompts[0].lower()

    clean_docs = [Document(**d) for d in CORPUS["literature"]]
    clean_docs[-1].text = clean_docs[-1].text.split(" Ignore")[0]
    clean_settings = make_settings(root / "clean")
    clean_index = build_index(clean_docs, clean_settings.literature_index_path(), clean_settings)
    clean = make_agent(clean_settings, (clean_index, indexes[1]), [], llm=ObedientModel(prompts=[]), tools=[])
    assert clean.ask(question).text.split("\n\nNote:")[0] == answer.text.split("\n\nNote:")[0]


def test_stream_yields_steps_then_tokens_then_the_answer(
    settings: Settings, indexes: tuple[Any, Any]
) -> None:
    events = list(make_agent(settings, indexes, [MITO_REPLY]).stream(MITO_QUESTION))
    steps = [e.step for e in events if e.type == "step"]
    assert steps == ["understand", "retrieve", "tools", "answer", "verify"]
    tokens = "".join(e.text for e in events if e.type == "token")
    assert tokens == MITO_REPLY
    assert events[-1].type == "answer" and events[-1].answer is not None
    assert all(e.seconds is not None for e in events if e.type == "step")


def test_tool_calls_are_recorded_and_a_failing_tool_is_reported(
    settings: Settings, indexes: tuple[Any, Any]
) -> None:
    reply = "The protein is 60 residues long [tool:protein_properties]."
    sequence = TP53_SEQUENCE[:60]
    answer = make_agent(settings, indexes, [reply]).ask(
        f"What are the properties and disorder of {sequence}?"
    )
    calls = {c.name: c for c in answer.tool_calls}
    assert set(calls) == {"protein_properties", "disorder"}
    assert calls["protein_properties"].result.ok and calls["protein_properties"].arguments == {
        "sequence": sequence
    }
    assert not calls["disorder"].result.ok and "unavailable" in calls["disorder"].result.error
    assert all(c.seconds >= 0 for c in answer.tool_calls) and "tool.protein_properties" in answer.timings
    assert (
        any("disorder tool failed" in note for note in answer.notes) and "disorder tool failed" in answer.text
    )
    assert "tool:protein_properties" in [e.id for e in answer.evidence]


def test_tool_calling_planner_runs_the_tools_the_model_chose(
    settings: Settings, indexes: tuple[Any, Any]
) -> None:
    plan = AIMessage(
        content="",
        tool_calls=[{"name": "protein_properties", "args": {"sequence": "MEEPQSDPSV"}, "id": "call_1"}],
    )
    llm = ScriptedChatModel(responses=[plan, "The protein has 10 residues [tool:protein_properties]."])
    tool_settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"planner": "tools"})})
    answer = make_agent(tool_settings, indexes, [], llm=llm).ask("How long is MEEPQSDPSV?")
    assert answer.planner == "tools"
    assert llm.bound_tools[0] == ["protein_properties", "disorder"]
    assert [c.name for c in answer.tool_calls] == ["protein_properties"]
    assert answer.tool_calls[0].result.data["proteins"][0]["length"] == 10


def test_follow_up_questions_use_the_conversation(settings: Settings, indexes: tuple[Any, Any]) -> None:
    agent = make_agent(
        settings, indexes, ["TP53 acts as a tumor suppressor in many tumor types [UniProt:P04637]."]
    )
    first = agent.ask("What does TP53 do?")
    assert "UniProt:P04637" in [c.id for c in first.citations]
    follow_up = agent.ask("Is it disordered?")
    assert [c.name for c in follow_up.tool_calls] == ["disorder"]
    assert follow_up.tool_calls[0].arguments["sequence"] == TP53_SEQUENCE
    agent.reset()
    assert agent.ask("Is it disordered?").tool_calls == []


def test_a_conversation_of_its_own_holds_the_follow_up(settings: Settings, indexes: tuple[Any, Any]) -> None:
    agent = make_agent(settings, indexes, ["TP53 is disordered in parts [tool:disorder]."] * 2)
    earlier = agent.conversation_from([("What does TP53 do?", "TP53 acts as a tumor suppressor.")])
    follow_up = agent.ask("Is it disordered?", conversation=earlier)
    assert [c.name for c in follow_up.tool_calls] == ["disorder"]
    assert follow_up.tool_calls[0].arguments["sequence"] == TP53_SEQUENCE
    assert len(earlier.turns) == 2 and agent.conversation.turns == []  # the agent's own stays empty
    assert agent.ask("Is it disordered?").tool_calls == []


@pytest.mark.parametrize(
    "question",
    ["", "   ", "x" * 50_000, "¿Qué hace la proteína p53 en el cáncer?", "TP53 " * 12_000, "\x00\x07?"],
)
def test_bad_questions_do_not_crash(settings: Settings, indexes: tuple[Any, Any], question: str) -> None:
    answer = make_agent(settings, indexes, ["Short reply."]).ask(question)
    assert answer.text
    if not question.strip("\x00\x07 "):
        assert answer.abstained and "empty" in answer.text
    if len(question) > settings.agent.max_question_chars:
        assert any("characters long" in note for note in answer.notes)


def test_missing_indexes_are_reported_and_the_agent_still_runs(root: Path) -> None:
    missing = make_settings(
        root / "missing", literature_index=root / "nope-lit", protein_index=root / "nope-prot"
    )
    agent = Agent.from_settings(missing, llm=ScriptedChatModel(responses=["unused"]), tools=[])
    answer = agent.ask("What does TP53 do?")
    assert answer.abstained
    assert any("No literature index" in n for n in answer.notes) and any(
        "No UniProt index" in n for n in answer.notes
    )


def test_unreachable_endpoint_raises_llm_error_naming_the_setting(
    settings: Settings, indexes: tuple[Any, Any]
) -> None:
    pytest.importorskip("langchain_openai")
    from bioagent.llm import create_chat_model

    llm_settings = settings.llm.model_copy(
        update={
            "backend": "openai",
            "model": "m",
            "timeout_s": 2.0,
            "base_url": "http://127.0.0.1:9/v1",
            "max_retries": 0,
        }
    )
    agent = make_agent(settings, indexes, [], llm=create_chat_model(llm_settings))
    with pytest.raises(LLMError, match="llm.base_url"):
        agent.ask(MITO_QUESTION)


def test_extractive_fallback_is_announced(settings: Settings, indexes: tuple[Any, Any]) -> None:
    answer = make_agent(settings, indexes, ["Yes. The moon is made of green cheese."]).ask(MITO_QUESTION)
    assert answer.extractive and answer.text.startswith("Yes. ")
    assert "green cheese" not in answer.text
    assert any("extractive fallback" in note for note in answer.notes)
    assert answer.citations and all(c.id in {e.id for e in answer.evidence} for c in answer.citations)


def test_async_ask_and_stream(settings: Settings, indexes: tuple[Any, Any]) -> None:
    agent = make_agent(settings, indexes, [MITO_REPLY])

    async def run() -> tuple[Any, list[Any]]:
        answer = await agent.aask(MITO_QUESTION)
        events = [event async for event in agent.astream(MITO_QUESTION)]
        return answer, events

    answer, events = asyncio.run(run())
    assert answer.citations and events[-1].type == "answer"
    assert events[-1].answer.text == answer.text


def test_literature_that_never_mentions_the_topic_word_is_left_out(tmp_path: Path) -> None:
    """An aspirin question over colorectal-cancer abstracts (the one aspirin text is not retrieved): no answer
    about colorectal cancer in general; with the check off, the off-topic sentences come back."""
    colorectal = [
        Document(
            id=f"c{i}",
            title=f"Colorectal cancer risk study {i}",
            text=f"Screening reduces the risk of colorectal cancer death in cohort {i}. Colorectal cancer risk "
            "rises with age.",
            source="pubmed",
        )
        for i in range(4)
    ]
    aspirin = Document(
        id="a1", title="Platelets", text="Aspirin inhibits platelet aggregation.", source="pubmed"
    )
    question = "Does aspirin reduce the risk of colorectal cancer?"
    answers = {}
    for share in (0.25, 0.0):
        settings = make_settings(tmp_path / str(share), agent={"literature_k": 1, "topic_word_share": share})
        literature = build_index([*colorectal, aspirin], settings.literature_index_path(), settings)
        agent = Agent.from_settings(
            settings,
            llm=ScriptedChatModel(responses=["unused"]),
            literature_index=literature,
            protein_index=None,
            tools=[],
        )
        answers[share] = agent.ask(question)
    assert answers[0.25].abstained and not answers[0.25].citations
    assert not answers[0.0].abstained and "colorectal" in answers[0.0].text.lower()
