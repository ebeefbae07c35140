"""The chat's sessions with the scripted chat model, the hash embedder and tiny indexes: streaming updates,
separate conversations per browser session, shared agents, errors as messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bioagent.index import build_index
from bioagent.settings import Settings
from bioagent.types import Document
from bioagent.ui.session import ChatSession, Choice, SharedResources, recognised_inputs, run_turn

TP53_SEQUENCE = (
    "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGPDEAPRMPEAAPPVAPAPAAPTPAAPAPAPSWPLSSSVPSQKTYQGSYGF"
    "RLGFLHSGTAKSVTCTYSPALNKMFCQLAKTCPVQLWVDSTPPPGTRVRAMAIYKQSQHMTEVVRRCPHHERCSDSDGLAPPQHLIRVEGNLRVEYLDDRNTFRHSVVV"
)
LITERATURE = [
    Document(
        id="21645374",
        source="pubmed",
        title="Mitochondria and programmed cell death in lace plant leaves",
        text="Mitochondrial dynamics were examined during developmental programmed cell death in lace plant "
        "leaves. Mitochondria play a role in remodelling lace plant leaves during programmed cell death.",
        metadata={"pmid": "21645374"},
    ),
    Document(
        id="17000001",
        source="pubmed",
        title="Aspirin and colorectal cancer risk",
        text="Regular aspirin use lowered the risk of colorectal cancer in a large cohort of adults.",
        metadata={"pmid": "17000001"},
    ),
    Document(
        id="17000002",
        source="pubmed",
        title="Statins and cardiovascular events",
        text="Statin therapy reduced major cardiovascular events in patients with high cholesterol.",
        metadata={"pmid": "17000002"},
    ),
]
PROTEINS = [
    Document(
        id="P04637",
        source="uniprot",
        title="Cellular tumor antigen p53 (TP53) — Homo sapiens",
        text="Cellular tumor antigen p53, gene TP53, Homo sapiens. Function: acts as a tumor suppressor; induces "
        "growth arrest or apoptosis. Location: nucleus.",
        metadata={
            "accession": "P04637",
            "gene": "TP53",
            "protein_name": "Cellular tumor antigen p53",
            "entry_name": "P53_HUMAN",
            "organism": "Homo sapiens",
            "sequence": TP53_SEQUENCE,
            "length": len(TP53_SEQUENCE),
        },
    )
]
MITO_QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
MITO_REPLY = (
    "Reasoning: [1] describes mitochondrial dynamics during programmed cell death.\n"
    "Answer: Yes. Mitochondria play a role in remodelling lace plant leaves during programmed cell death [1]."
)
# Hash-embedder cosines are lower than a real model's; these thresholds suit this corpus.
HASH_AGENT = {"min_relevance": 0.25, "support_cosine": 0.3, "support_overlap": 0.5, "writer": "model"}


def ui_config(root: Path, replies: list[str]) -> dict[str, Any]:
    """Settings values for the chat on the fake model (``replies`` in order) and the hash embedder, under ``root``."""
    script = root / "script.yaml"
    script.write_text(yaml.safe_dump(replies), encoding="utf-8")
    return {
        "embedding": {"backend": "hash"},
        "llm": {"backend": "fake", "model": str(script)},
        "index_dir": str(root / "indexes"),
        "cache_dir": str(root / "cache"),
        "agent": HASH_AGENT,
    }


def ui_settings(root: Path, replies: list[str]) -> Settings:
    return Settings.load(**ui_config(root, replies))


def build_ui_indexes(settings: Settings) -> None:
    build_index(LITERATURE, settings.literature_index_path(), settings)
    build_index(PROTEINS, settings.protein_index_path(), settings)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui")
    build_ui_indexes(ui_settings(path, []))
    return path


def resources_for(root: Path, replies: list[str]) -> SharedResources:
    return SharedResources(ui_settings(root, replies))


def final(updates: list[Any]) -> Any:
    assert updates, "run_turn yielded nothing"
    return updates[-1]


def test_a_turn_streams_steps_and_tokens_then_the_answer(root: Path) -> None:
    resources = resources_for(root, [MITO_REPLY])
    session = ChatSession()
    updates = [
        (list(u.steps), u.draft, u.answer)
        for u in run_turn(resources, session, MITO_QUESTION, resources.default_choice())
    ]
    drafts = [draft for _, draft, answer in updates if answer is None and draft]
    assert len(drafts) > 3 and drafts[0] != drafts[-1]  # the answer arrived token by token
    steps, _, answer = updates[-1]
    assert [line.split("**")[1] for line in steps] == [
        "Read the question", "Searched the indexes", "Ran the tools", "Wrote the answer", "Checked the citations"
    ]  # fmt: skip
    assert answer is not None and [c.id for c in answer.citations] == ["PMID:21645374"]
    assert session.answers == [answer]


def test_sessions_keep_separate_conversations_and_share_the_agent(root: Path) -> None:
    resources = resources_for(root, [MITO_REPLY] * 2)
    first, second = ChatSession(), ChatSession()
    choice = resources.default_choice()
    final(list(run_turn(resources, first, MITO_QUESTION, choice)))
    assert len(first.conversation.turns) == 1 and second.conversation.turns == [] and second.answers == []
    final(list(run_turn(resources, second, MITO_QUESTION, choice)))
    assert len(first.conversation.turns) == 1 and len(second.conversation.turns) == 1
    assert first.conversation is not second.conversation
    agent = resources.agent(choice)
    assert agent.conversation.turns == []  # the shared agent itself holds no one's conversation
    assert (
        resources.agent(Choice(choice.backend, choice.indexes, 3)).llm is agent.llm
    )  # one model per backend
    first.reset()
    assert first.conversation.turns == [] and first.answers == [] and len(second.answers) == 1


def test_errors_end_the_turn_as_a_message(root: Path) -> None:
    resources = resources_for(root, [])  # the scripted model has no reply: the backend raises LLMError
    session = ChatSession()
    update = final(list(run_turn(resources, session, MITO_QUESTION, resources.default_choice())))
    assert update.answer is None and "no reply left" in (update.error or "")
    assert session.answers == []


def test_unexpected_failures_are_reported_not_raised(root: Path) -> None:
    def broken_factory(settings: Settings, parts: dict[str, Any]) -> Any:
        raise RuntimeError("disk on fire")

    resources = SharedResources(ui_settings(root, []), agent_factory=broken_factory)
    update = final(list(run_turn(resources, ChatSession(), "What does TP53 do?", resources.default_choice())))
    assert "RuntimeError: disk on fire" in (update.error or "") and "server log" in (update.error or "")


def test_choices_come_from_what_is_built_and_configured(root: Path, tmp_path: Path) -> None:
    resources = resources_for(root, [])
    assert resources.available_indexes() == ["literature", "proteins"]
    assert resources.backends() == ["fake", "embedded"]
    choice = resources.default_choice()
    assert choice.indexes == ("literature", "proteins") and choice.k == resources.settings.agent.literature_k
    tuned = resources.settings_for(Choice("embedded", (), 7))
    assert tuned.llm.backend == "embedded" and tuned.llm.model is None and tuned.agent.literature_k == 7
    assert choice.live is False and tuned.agent.live == "off"
    assert resources.settings_for(Choice("embedded", (), 7, live=True)).agent.live == "auto"
    empty = SharedResources(ui_settings(tmp_path, []))
    assert empty.available_indexes() == [] and empty.default_choice().indexes == ()


def test_sequence_lookup_reads_the_loaded_protein_index(root: Path) -> None:
    resources = resources_for(root, [MITO_REPLY])
    assert resources.sequence_of("P04637") is None  # not loaded yet
    resources.agent(resources.default_choice())
    assert resources.sequence_of("P04637") == TP53_SEQUENCE and resources.sequence_of("Q00000") is None


def test_a_session_admits_a_bounded_number_of_questions_a_minute() -> None:
    session = ChatSession()
    assert [session.admit(3, now=t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert session.admit(3, now=30.0) == pytest.approx(30.0)  # refused: wait until the first is a minute old
    session.reset()  # a new conversation does not reset the limit
    assert session.admit(3, now=59.0) == pytest.approx(1.0)
    assert session.admit(3, now=60.0) == 0.0 and len(session.asked) == 3


def test_recognised_inputs_name_sequences_and_smiles() -> None:
    lines = recognised_inputs("sequences: MEEPQSDPSV...(393 chars)\nsmiles: CC(=O)O\ngenes: TP53\nother: x")
    assert lines == [
        "Recognised protein sequence: MEEPQSDPSV...(393 chars)",
        "Recognised SMILES: CC(=O)O",
        "Recognised gene/protein: TP53",
    ]
