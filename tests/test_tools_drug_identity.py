"""drug_lookup by structure (InChIKey, salt parent, skeleton), synonyms across DrugBank and the Drug Repurposing
Hub, Hub MOA/targets as facts, and the automatic Hub decision (Settings.repurposing_hub_path)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bioagent.demo import drug_data_note
from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.tools.drug_catalog import HUB_SOURCE, SAME_PARENT, SAME_SKELETON, SAME_STRUCTURE, SYNONYM
from bioagent.tools.drug_lookup import drug_lookup
from bioagent.tools.registry import get_tool, tool_list, tool_result

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
ASPIRIN_KEY = "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
IMATINIB_KEY = "KTUFNOKKBVMGRW-UHFFFAOYSA-N"
IMATINIB_MESYLATE = IMATINIB + ".CS(=O)(=O)O"
D_DOPA = "N[C@H](Cc1ccc(O)c(O)c1)C(=O)O"  # the enantiomer of levodopa
NOVEL = "CCCCCCCCCCCCCCCCCC(=O)NCCCl"


def _tools(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"tools": settings.tools.model_copy(update=update)})


@pytest.fixture()
def no_hub(settings: Settings) -> Settings:
    return _tools(settings, repurposing_hub_from_data_dir=False)


@pytest.fixture()
def with_hub(settings: Settings, shared_data: Path) -> Settings:
    hub = shared_data / "drugs_repurposing_hub"
    if not hub.is_dir():
        pytest.skip(f"Drug Repurposing Hub not found at {hub}")
    return _tools(settings, repurposing_hub=hub)


def _facts(result: dict) -> dict[str, dict]:
    return {f["key"]: f for f in result["facts"]}


# ----- by structure ---------------------------------------------------------------------------------------------


def test_aspirin_smiles_is_identified_by_its_inchikey(no_hub: Settings) -> None:
    result = drug_lookup(smiles=ASPIRIN, settings=no_hub)
    assert result["query_type"] == "smiles" and result["match"]["how"] == SAME_STRUCTURE
    assert (
        result["match"]["inchikey"] == ASPIRIN_KEY
        and result["match"]["matched_name"] == "Acetylsalicylic acid"
    )
    drug = result["drug"]
    assert drug["name"] == "Acetylsalicylic acid" and drug["drugbank_id"] == "DB00945"
    assert "aspirin" in drug["synonyms"]
    identity = _facts(result)["identity"]
    assert identity["statement"] == (
        "{subject} has the structure of Acetylsalicylic acid (DrugBank DB00945; identical InChIKey "
        f"{ASPIRIN_KEY})"
    )
    assert identity["main"] and {"what is", "which drug", "identify", "name"} <= set(identity["topics"])
    json.dumps(result)
    [picture] = tool_result("drug_lookup", result).artifacts  # what the chat shows beside the answer
    assert (
        picture.kind == "svg"
        and picture.data["svg"].startswith("<svg")
        and "Acetylsalicylic" in picture.title
    )


def test_a_salt_form_smiles_is_identified_by_its_parent(no_hub: Settings) -> None:
    result = drug_lookup(smiles=IMATINIB_MESYLATE, settings=no_hub)
    assert result["match"]["how"] == SAME_PARENT and result["match"]["parent_inchikey"] == IMATINIB_KEY
    assert result["match"]["inchikey"] != IMATINIB_KEY and result["drug"]["name"] == "Imatinib"
    assert _facts(result)["identity"]["statement"].startswith(
        "{subject} is a salt, mixture or charged form of Imatinib"
    )


def test_another_stereoisomer_matches_on_the_skeleton(no_hub: Settings) -> None:
    result = drug_lookup(smiles=D_DOPA, settings=no_hub)
    assert result["match"]["how"] == SAME_SKELETON == "same skeleton (first InChIKey block)"
    assert result["drug"]["name"] == "Levodopa" and result["drug"]["inchikey"] != result["match"]["inchikey"]
    statement = _facts(result)["identity"]["statement"]
    assert statement.startswith("{subject} has the skeleton of Levodopa") and "stereochemistry" in statement


def test_a_novel_molecule_matches_nothing_and_says_so(no_hub: Settings) -> None:
    result = drug_lookup(smiles=NOVEL, settings=no_hub)
    assert result["drug"] is None and result["match"]["how"] == "none" and result["sources"] == []
    key = result["match"]["inchikey"]
    assert len(key) == 27
    [only] = result["facts"]
    assert tool_result("drug_lookup", result).artifacts == []  # no drug identified: nothing to draw
    assert only["key"] == "identity" and only["value"] is None and only["main"]
    assert only["statement"].startswith("No drug in the DrugBank approved set (")
    assert only["statement"].endswith(f"has the structure of {{subject}} (InChIKey {key})")


def test_exactly_one_of_name_or_smiles_is_required(no_hub: Settings) -> None:
    with pytest.raises(ToolInputError, match="either name or smiles, not both"):
        drug_lookup("aspirin", smiles=ASPIRIN, settings=no_hub)
    with pytest.raises(ToolInputError, match="one is required"):
        drug_lookup(settings=no_hub)
    with pytest.raises(ToolInputError, match="not a valid SMILES"):
        drug_lookup(smiles="C1CC", settings=no_hub)


def test_the_langchain_tool_takes_name_or_smiles(no_hub: Settings) -> None:
    schema = next(t["schema"] for t in tool_list() if t["name"] == "drug_lookup")
    assert {"name", "smiles"} <= set(schema["properties"]) and not schema.get("required")
    tool = get_tool("drug_lookup", no_hub)
    assert tool.invoke({"smiles": ASPIRIN})["drug"]["drugbank_id"] == "DB00945"
    assert tool.invoke({"name": "imatinib"})["drug"]["inchikey"] == IMATINIB_KEY


# ----- names and synonyms -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("common", "drugbank"), [("aspirin", "Acetylsalicylic acid"), ("paracetamol", "Acetaminophen")]
)
def test_common_names_resolve_without_the_hub(no_hub: Settings, common: str, drugbank: str) -> None:
    result = drug_lookup(common, settings=no_hub)
    assert result["match"]["how"] == SYNONYM and result["drug"]["name"] == drugbank
    assert result["searched"] == result["sources"] and len(result["sources"]) == 1
    assert common in result["drug"]["synonyms"]
    assert drug_lookup(drugbank, settings=no_hub)["drug"]["synonyms"] == [common]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("common", "drugbank"), [("aspirin", "Acetylsalicylic acid"), ("paracetamol", "Acetaminophen")]
)
def test_hub_and_drugbank_names_are_one_drug(with_hub: Settings, common: str, drugbank: str) -> None:
    by_common, by_drugbank = drug_lookup(common, settings=with_hub), drug_lookup(drugbank, settings=with_hub)
    assert (
        by_common["match"]["how"] == by_drugbank["match"]["how"] == "exact"
    )  # data-derived link, not the table
    assert by_common["drug"] == by_drugbank["drug"] and len(by_common["sources"]) == 2
    assert by_common["drug"]["name"] == drugbank and common in by_common["drug"]["synonyms"]
    assert "cyclooxygenase inhibitor" in by_common["drug"]["moa"]
    synonyms = _facts(by_common)["synonyms"]
    assert synonyms["value"] == [drugbank, common] and drugbank in synonyms["statement"]


@pytest.mark.slow
def test_imatinib_moa_and_targets_come_from_the_hub_as_facts(with_hub: Settings, shared_data: Path) -> None:
    result = drug_lookup("imatinib", settings=with_hub)
    drug = result["drug"]
    assert {"ABL1", "KIT", "PDGFRA"} <= set(drug["targets"]) and "Bcr-Abl kinase inhibitor" in drug["moa"]
    facts = _facts(result)
    hub_targets = _hub_row(shared_data, "imatinib")["target"].replace("|", ", ")
    assert (
        facts["targets"]["statement"]
        == f"The Drug Repurposing Hub lists the targets of {{subject}} as {hub_targets}"
    )
    assert facts["moa"]["statement"] == (
        "The Drug Repurposing Hub lists the mechanism of action of {subject} as Bcr-Abl kinase inhibitor, "
        "KIT inhibitor and PDGFR tyrosine kinase receptor inhibitor"
    )
    for key in ("moa", "targets"):
        assert {"target", "inhibit", "kinase", "mechanism", "moa", "act", "bind"} <= set(facts[key]["topics"])
    assert all(facts[k]["main"] for k in ("identity", "atc", "moa", "targets"))
    assert (
        facts["identity"]["statement"]
        == f"{{subject}} is listed as Imatinib (DrugBank DB00619; InChIKey {IMATINIB_KEY})"
    )
    assert "L01EA" in facts["atc"]["statement"] and facts["clinical_phase"]["value"] == "Launched"
    assert "chronic myeloid leukemia (CML)" in facts["indication"]["statement"]
    from bioagent.agent.compose import select_facts

    asked = select_facts("Which kinase does imatinib inhibit?", result["facts"], general=False)
    assert {f["key"] for f in asked} == {"moa", "targets"}


@pytest.mark.slow
def test_a_salt_smiles_reaches_hub_annotations(with_hub: Settings) -> None:
    result = drug_lookup(smiles=IMATINIB_MESYLATE, settings=with_hub)
    assert result["drug"]["name"] == "Imatinib" and "ABL1" in result["drug"]["targets"]
    assert HUB_SOURCE in result["sources"]


def _hub_row(shared_data: Path, name: str) -> dict[str, str]:
    path = shared_data / "drugs_repurposing_hub" / "repurposing_drugs_20200324.txt"
    with path.open(encoding="utf-8") as stream:
        return next(r for r in csv.DictReader(stream, delimiter="\t") if r["pert_iname"] == name)


# ----- the automatic Hub decision ------------------------------------------------------------------------------------


def test_the_hub_in_the_data_folder_is_used_when_none_is_configured(tmp_path: Path) -> None:
    empty = Settings.load(data_dir=tmp_path / "nothing-here")
    assert empty.repurposing_hub_path() is None and "DrugBank approved set only" in drug_data_note(empty)
    (tmp_path / "drugs_repurposing_hub").mkdir()
    found = Settings.load(data_dir=tmp_path)
    assert found.repurposing_hub_path() == tmp_path / "drugs_repurposing_hub"
    assert "found in the data folder" in drug_data_note(found)
    assert _tools(found, repurposing_hub_from_data_dir=False).repurposing_hub_path() is None
    configured = _tools(found, repurposing_hub=tmp_path / "elsewhere")
    assert configured.repurposing_hub_path() == tmp_path / "elsewhere" and "(configured)" in drug_data_note(
        configured
    )


@pytest.mark.slow
def test_drug_lookup_uses_the_hub_of_the_data_folder(settings: Settings, shared_data: Path) -> None:
    if not (shared_data / "drugs_repurposing_hub").is_dir():
        pytest.skip("no Drug Repurposing Hub in the shared data")
    auto = settings.model_copy(update={"data_dir": shared_data})
    assert auto.tools.repurposing_hub is None
    result = drug_lookup("imatinib", settings=auto)
    assert HUB_SOURCE in result["sources"] and HUB_SOURCE in result["searched"]
    assert "Drug Repurposing Hub" in HUB_SOURCE and "ABL1" in result["drug"]["targets"]
