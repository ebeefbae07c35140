"""Entity recognition, the two planners and the prompt loader."""

from __future__ import annotations

from typing import Any

import pytest
from agent_corpus import CORPUS, corpus_documents
from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from bioagent.agent.entities import EntityRecognizer, find_sequences, find_smiles
from bioagent.agent.planner import RulesPlanner, ToolCallingPlanner, choose_planner
from bioagent.agent.prompts import available_prompts, load_prompt, parse_prompt
from bioagent.errors import ConfigError
from bioagent.llm import ScriptedChatModel

TP53 = CORPUS["proteins"][0]["metadata"]["sequence"]
ASPIRIN = "CC(=O)OC1=CC=CC=C1C(=O)O"


@pytest.fixture(scope="module")
def recognizer() -> EntityRecognizer:
    return EntityRecognizer(corpus_documents("proteins"), drug_names=["Imatinib", "Aspirin"])


def test_genes_accessions_and_protein_names(recognizer: EntityRecognizer) -> None:
    found = recognizer.recognise("How do TP53 and RNF53 differ? IS p53 the same as P04637 or Q9XYZ1?")
    assert found.genes == ["TP53", "RNF53", "p53"]
    assert found.accessions == ["P04637", "Q9XYZ1"]  # shaped like accessions; Q9XYZ1 is not in the index
    assert found.protein_ids == ["P04637", "Q9XYZ1", "P38398"]
    by_name = recognizer.recognise("what is the breast cancer type 1 susceptibility protein for")
    assert by_name.protein_ids == ["P38398"] and by_name.genes == []


def test_sequences_raw_and_fasta() -> None:
    fasta = f">sp|P04637|P53_HUMAN\n{TP53[:60]}\n{TP53[60:120]}\n"
    assert find_sequences(f"Is this disordered?\n{fasta}") == [fasta.strip()]
    assert find_sequences(f"properties of {TP53[:40]} please") == [TP53[:40]]
    assert (
        find_sequences("AAAAAAAAAAAAAAAAAAAAAAAAA and SHORTSEQ") == []
    )  # too few distinct letters / too short


def test_a_question_after_a_fasta_record_is_not_read_as_sequence() -> None:
    fasta = f">query\n{TP53[:60]}\n{TP53[60:90]}"
    assert find_sequences(f"{fasta}\nIs this protein disordered?") == [fasta]
    assert find_sequences(f"{fasta}\nWHAT IS THIS PROTEIN") == [fasta]
    blocks = f">q\n{TP53[:10]} {TP53[10:20]} {TP53[20:25]}\n"
    assert find_sequences(blocks + "and its half-life?") == [blocks.strip()]


def test_smiles_drugs_and_variants(recognizer: EntityRecognizer) -> None:
    found = recognizer.recognise(
        f"Is {ASPIRIN} toxic, and how does imatinib compare with gefitinib? TP53 R175H"
    )
    assert found.smiles == [ASPIRIN]
    assert found.drugs == ["imatinib", "gefitinib"] or found.drugs == ["gefitinib", "Imatinib"]
    assert found.variants == ["R175H"]
    assert find_smiles("C1=CC=CN=C1 and the word (hello)") == ["C1=CC=CN=C1"]
    assert find_smiles("an IL-6 (interleukin) level") == []


def test_recognition_without_tables_uses_shapes() -> None:
    found = EntityRecognizer().recognise("Does BRCA2 interact with RAD51 in THE nucleus?")
    assert found.genes == ["BRCA2", "RAD51"] and found.protein_ids == []


class _Seq(BaseModel):
    sequence: str


class _Smiles(BaseModel):
    smiles: str


class _Name(BaseModel):
    name: str


def _tools(*names: str) -> dict[str, Any]:
    schemas = {"drug_lookup": _Name, "admet": _Smiles, "drug_properties": _Smiles}
    return {
        n: StructuredTool.from_function(
            lambda **kw: kw, name=n, description=n, args_schema=schemas.get(n, _Seq)
        )
        for n in names
    }


def test_rules_planner_maps_entities_and_keywords_to_tools(recognizer: EntityRecognizer) -> None:
    tools = _tools("protein_properties", "disorder", "homology_search", "drug_lookup", "admet")
    planner = RulesPlanner(sequence_of=lambda acc: TP53 if acc == "P04637" else None)
    question = f"Which protein is this? {TP53[:50]}"
    plan = planner.plan(question, recognizer.recognise(question), tools)
    assert [c.name for c in plan.tool_calls] == ["homology_search"]
    assert plan.literature_query == "Which protein is this?"
    plan = planner.plan("Is TP53 disordered?", recognizer.recognise("Is TP53 disordered?"), tools)
    assert [(c.name, c.args) for c in plan.tool_calls] == [("disorder", {"sequence": TP53})]
    question = "What is the ADMET profile of imatinib?"
    plan = planner.plan(question, recognizer.recognise(question), tools)
    assert [(c.name, c.fill) for c in plan.tool_calls] == [
        ("drug_lookup", {}),
        ("admet", {"smiles": "drug_lookup.smiles"}),
    ]


def test_rules_planner_says_when_a_tool_is_missing(recognizer: EntityRecognizer) -> None:
    question = f"Is {ASPIRIN} drug-like?"
    plan = RulesPlanner().plan(question, recognizer.recognise(question), {})
    assert plan.tool_calls == [] and any("drug_properties" in line for line in plan.rationale)


def test_tool_calling_planner_keeps_known_tools_only(recognizer: EntityRecognizer) -> None:
    reply = AIMessage(
        content="",
        tool_calls=[
            {"name": "disorder", "args": {"sequence": "MEEP"}, "id": "a"},
            {"name": "made_up", "args": {}, "id": "b"},
        ],
    )
    llm = ScriptedChatModel(responses=[reply])
    plan = ToolCallingPlanner(llm).plan("Is MEEP disordered?", recognizer.recognise("x"), _tools("disorder"))
    assert [(c.name, c.args) for c in plan.tool_calls] == [("disorder", {"sequence": "MEEP"})]
    assert any("made_up" in line for line in plan.rationale)
    assert "Is MEEP disordered?" in str(llm.calls[0][-1].content)


def test_auto_planner_follows_the_declared_capability() -> None:
    tiny = ScriptedChatModel(responses=["x"])
    capable = ScriptedChatModel(responses=["x"], profile={"tool_calling": True})
    assert choose_planner("auto", tiny).name == "rules"
    assert choose_planner("auto", capable).name == "tools"
    assert choose_planner("rules", capable).name == "rules" and choose_planner("tools", tiny).name == "tools"


def test_shipped_prompts_load_and_render() -> None:
    assert set(available_prompts()) >= {"answer", "answer_compact", "planner", "closed_book"}
    for name in available_prompts():
        prompt = load_prompt(name)
        system, user = prompt.render(**{p: f"<{p}>" for p in prompt.placeholders})
        assert all(f"<{p}>" in system + user for p in prompt.placeholders)
    with pytest.raises(ConfigError, match="missing values"):
        load_prompt("answer").render(question="q")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("name: bad\ndescription: d\nplaceholders: []\nsystem: s\n", "lacks required keys: user"),
        ("name: bad\ndescription: d\nplaceholders: [question]\nsystem: s\nuser: u", "declare"),
        ("name: bad\ndescription: d\nplaceholders: []\nsystem: s {other}\nuser: u", "declare"),
        ("name: other\ndescription: d\nplaceholders: []\nsystem: s\nuser: u", "must match the file name"),
        ("name: bad\ndescription: d\nplaceholders: []\nsystem: s {\nuser: u", "malformed placeholder"),
        ("- just a list", "must hold a mapping"),
    ],
)
def test_broken_prompts_fail_at_load_time(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_prompt("bad", raw)
