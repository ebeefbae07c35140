"""The evidence-first composer: facts chosen by the question, copied verbatim, cited; no chat model involved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_corpus import build_agent_indexes
from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from bioagent.agent import Agent
from bioagent.agent.compose import RankedSentence, entry_statements, pick_sentences, select_facts
from bioagent.llm import ScriptedChatModel
from bioagent.settings import Settings
from bioagent.tools.common import fact

CAFFEINE_FACTS = [
    fact(
        "logp",
        "logP",
        -1.03,
        "RDKit computes a logP (Wildman-Crippen) of -1.03 for {subject}",
        topics=["logp"],
    ),
    fact(
        "molecular_weight",
        "molecular weight",
        194.19,
        "RDKit computes a molecular weight of 194.19 g/mol for {subject}",
        topics=["mw"],
        main=True,
    ),
    fact(
        "lipinski",
        "Lipinski's rule of five",
        {"passes": True, "violations": []},
        "{subject} passes Lipinski's rule of five (no violations)",
        topics=["drug-like", "lipinski"],
        main=True,
    ),
]


def test_the_question_chooses_the_facts() -> None:
    assert [f["key"] for f in select_facts("What is the logP of caffeine?", CAFFEINE_FACTS, True)] == ["logp"]
    assert [f["key"] for f in select_facts("Is caffeine drug-like?", CAFFEINE_FACTS, True)] == ["lipinski"]
    general = select_facts("What are the properties of caffeine?", CAFFEINE_FACTS, True)
    assert [f["key"] for f in general] == ["molecular_weight", "lipinski"]
    assert select_facts("What are the properties of caffeine?", CAFFEINE_FACTS, False) == []
    # a short topic matches a whole word only: 'mw' is not in 'swimmwear'-like words
    assert select_facts("Is it in the mwave data?", CAFFEINE_FACTS, False) == []


EGFR = {
    "accession": "P00533",
    "gene": "EGFR",
    "protein_name": "Epidermal growth factor receptor",
    "length": 1210,
    "function": "Receptor tyrosine kinase binding ligands of the EGF family. Activates signaling cascades. "
    "Third sentence. Fourth sentence.",
    "subcellular_location": "Cell membrane; Single-pass type I membrane protein. Nucleus.",
    "disease": ["Lung cancer (LNCR): a common malignancy."],
}


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Where in the cell is the EGFR protein located?", ["subcellular location", "Cell membrane"]),
        ("Which diseases are associated with EGFR?", ["disease", "Lung cancer (LNCR)"]),
        ("How long is EGFR?", ["1210 amino acids long"]),
        ("Tell me about EGFR.", ["function", "Activates signaling cascades. Third sentence…"]),
    ],
)
def test_the_question_chooses_the_uniprot_field(question: str, words: list[str]) -> None:
    (statement,) = entry_statements(question, "P00533", EGFR, default=True)
    assert all(word in statement for word in words)
    assert "Fourth sentence" not in statement


def test_without_a_field_asked_for_and_no_default_nothing_is_stated() -> None:
    assert entry_statements("Tell me about EGFR.", "P00533", EGFR, default=False) == []


def test_sentences_come_from_different_items_and_close_to_the_best() -> None:
    ranked = [
        RankedSentence("PMID:1", "best", 0.9),
        RankedSentence("PMID:1", "same item", 0.85),
        RankedSentence("PMID:2", "other item", 0.8),
        RankedSentence("PMID:3", "weak", 0.3),
    ]
    assert [s.text for s in pick_sentences(ranked, 2)] == ["best", "other item"]
    assert [s.text for s in pick_sentences(ranked, 3)] == ["best", "other item", "same item"]
    assert [s.text for s in pick_sentences(ranked[:2], 2)] == ["best", "same item"]


class SmilesInput(BaseModel):
    smiles: str


def _properties(smiles: str) -> dict[str, Any]:
    return {
        "tool": "drug_properties",
        "model": "fake RDKit",
        "molecules": [{"logp": -1.03}],
        "facts": CAFFEINE_FACTS,
    }


def _lookup(name: str | None = None, smiles: str | None = None) -> dict[str, Any]:
    identity = fact("identity", "identity", "Caffeine", "{subject} has the structure of Caffeine", main=True)
    drug = {"name": "Caffeine", "smiles": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"}
    return {"tool": "drug_lookup", "drug": drug, "facts": [identity]}


class LookupInput(BaseModel):
    name: str | None = None
    smiles: str | None = None


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Agent:
    root: Path = tmp_path_factory.mktemp("compose")
    settings = Settings.load(
        embedding={"backend": "hash"},
        cache_dir=root / "cache",
        index_dir=root / "indexes",
        agent={"min_relevance": 0.25, "support_cosine": 0.3, "support_overlap": 0.5, "verdicts": "off"},
    )
    literature, proteins = build_agent_indexes(settings)
    tools = [
        StructuredTool.from_function(
            _properties, name="drug_properties", description="d", args_schema=SmilesInput
        ),
        StructuredTool.from_function(_lookup, name="drug_lookup", description="d", args_schema=LookupInput),
    ]
    silent = ScriptedChatModel(responses=["THE MODEL MUST NOT WRITE THIS"], cycle=True)
    return Agent.from_settings(
        settings, llm=silent, literature_index=literature, protein_index=proteins, tools=tools
    )


def test_the_answer_copies_the_asked_fact_and_cites_the_tool(agent: Agent) -> None:
    answer = agent.ask("What is the logP of caffeine?")
    assert answer.text.startswith(
        "RDKit computes a logP (Wildman-Crippen) of -1.03 for caffeine [tool:drug_properties]."
    )
    assert "MODEL MUST NOT" not in answer.text and answer.extractive
    assert "194.19" not in answer.text  # not asked for
    assert answer.verdicts[0].supported and "tool:drug_properties" in answer.verdicts[0].citations
    assert [c.id for c in answer.citations][0] == "tool:drug_properties"


def test_a_pasted_smiles_is_named_after_identification(agent: Agent) -> None:
    answer = agent.ask("Is this molecule drug-like? CN1C=NC2=C1C(=O)N(C(=O)N2C)C")
    assert [c.name for c in answer.tool_calls][:2] == ["drug_lookup", "drug_properties"]
    assert answer.text.startswith(
        "This molecule has the structure of Caffeine [tool:drug_lookup]. "
        "This molecule passes Lipinski's rule of five (no violations) [tool:drug_properties]."
    )


def test_a_drug_named_in_the_question_is_not_re_identified(agent: Agent) -> None:
    answer = agent.ask("Is caffeine drug-like?")
    assert "has the structure of" not in answer.text
    assert answer.text.startswith(
        "Caffeine passes Lipinski's rule of five (no violations) [tool:drug_properties]."
    )


def _writing_agent(agent: Agent, reply: str) -> Agent:
    settings = agent.settings.model_copy(
        update={"agent": agent.settings.agent.model_copy(update={"writer": "model"})}
    )
    return Agent.from_settings(
        settings,
        llm=ScriptedChatModel(responses=[reply], cycle=True),
        literature_index=agent.parts.literature,
        protein_index=agent.parts.proteins,
        tools=list(agent.parts.tools.values()),
    )


def test_a_writing_model_keeps_the_facts_it_was_given(agent: Agent) -> None:
    kept = _writing_agent(agent, "Caffeine has a logP of -1.03 [tool:drug_properties].").ask(
        "What is the logP of caffeine?"
    )
    assert kept.text.startswith("Caffeine has a logP of -1.03 [tool:drug_properties].")
    assert "Wildman-Crippen" not in kept.text  # nothing appended: the model kept the number
    dropped = _writing_agent(agent, "Caffeine is a stimulant found in coffee [1].").ask(
        "What is the logP of caffeine?"
    )
    assert (
        "RDKit computes a logP (Wildman-Crippen) of -1.03 for caffeine [tool:drug_properties]."
        in dropped.text
    )
    assert "stimulant" not in dropped.text  # unsupported by the evidence: removed
