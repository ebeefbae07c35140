"""drug_lookup, drug_properties, admet and similar_drugs on the real reference sets and models, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.tools.admet import admet
from bioagent.tools.drug_catalog import SALT_WORDS, normalise
from bioagent.tools.drug_lookup import drug_lookup
from bioagent.tools.drug_properties import drug_properties
from bioagent.tools.similar_drugs import similar_drugs

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"


@pytest.fixture()
def with_hub(settings: Settings, shared_data: Path) -> Settings:
    hub = shared_data / "drugs_repurposing_hub"
    return settings.model_copy(update={"tools": settings.tools.model_copy(update={"repurposing_hub": hub})})


# ----- SMILES checks shared by the drug tools ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("C1CC", "'C1CC' is not a valid SMILES"),
        ("aspirin", "for a drug name, call drug_lookup first"),
        ("C(C)(C)(C)(C)C", "Explicit valence for atom # 0 C, 5"),
        ("", "no SMILES given"),
        ("C" * 3000, "SMILES is 3000 characters; the limit is 2000"),
    ],
)
def test_unparsable_smiles_are_refused_by_every_drug_tool(smiles: str, message: str) -> None:
    for tool in (drug_properties, admet):
        with pytest.raises(ToolInputError, match=message):
            tool(smiles)
    if smiles:
        with pytest.raises(ToolInputError, match=message):
            similar_drugs(smiles)


def test_molecule_batch_limit_is_stated(settings: Settings) -> None:
    small = settings.model_copy(update={"tools": settings.tools.model_copy(update={"max_batch": 2})})
    with pytest.raises(ToolInputError, match=r"got 3 molecules; the limit is 2 per call"):
        drug_properties("C,CC,CCC", settings=small)


# ----- drug_properties (RDKit) -----------------------------------------------------------------------------------


def test_aspirin_descriptors_and_rules() -> None:
    result = drug_properties(ASPIRIN)
    aspirin = result["molecules"][0]
    assert aspirin["formula"] == "C9H8O4" and aspirin["molecular_weight"] == pytest.approx(180.16, abs=0.01)
    assert (aspirin["hbd"], aspirin["hba"], aspirin["rotatable_bonds"]) == (1, 3, 2)
    assert aspirin["tpsa"] == pytest.approx(63.6, abs=0.1) and 0 < aspirin["qed"] < 1
    assert aspirin["lipinski"] == {"passes": True, "violations": []} and aspirin["veber"]["passes"]
    assert "RDKit" in result["model"] and "lipinski" in result["meaning"]


def test_rule_violations_and_alerts_are_named() -> None:
    big = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC(=O)O"  # C40 fatty acid: logP far above 5
    catechol = "O=C(O)C=Cc1ccc(O)c(O)c1"  # caffeic acid: catechol PAINS alert, Michael acceptor
    molecules = drug_properties([big, catechol])["molecules"]
    assert "logp > 5" in molecules[0]["lipinski"]["violations"]
    assert (
        "rotatable_bonds > 10" in molecules[0]["veber"]["violations"] and not molecules[0]["veber"]["passes"]
    )
    assert any("catechol" in alert for alert in molecules[1]["alerts"]["PAINS"])
    assert "Michael_acceptor_1" in molecules[1]["alerts"]["Brenk"]


# ----- drug_lookup (DrugBank approved set from admet-ai, Drug Repurposing Hub) --------------------------------------


def test_lookup_exact_salt_and_fuzzy_names() -> None:
    exact = drug_lookup("Imatinib")
    assert exact["match"] == {"how": "exact", "matched_name": "Imatinib", "similarity": 1.0}
    drug = exact["drug"]
    assert drug["smiles"] == IMATINIB and drug["drugbank_id"].startswith("DB00619")
    assert drug["inchikey"] == "KTUFNOKKBVMGRW-UHFFFAOYSA-N" and drug["formula"] == "C29H31N7O"
    assert "L01EA" in drug["atc_codes"]
    assert drug_lookup("imatinib mesylate")["match"]["how"] == "salt form"
    fuzzy = drug_lookup("imatinb")
    assert fuzzy["match"]["how"] == "fuzzy" and fuzzy["match"]["matched_name"] == "Imatinib"
    assert 0.8 <= fuzzy["match"]["similarity"] < 1


def test_unknown_drug_names_are_errors_with_suggestions() -> None:
    with pytest.raises(
        ToolInputError, match=r"no drug named 'qwertyzine' in the DrugBank approved set \(\d+ drugs\)"
    ):
        drug_lookup("qwertyzine")
    with pytest.raises(ToolInputError, match="drug name is empty"):
        drug_lookup(" ")


def test_names_normalise_and_salt_words_drop() -> None:
    assert normalise("(+)-Menthol") == "menthol" and {"mesylate", "hydrochloride"} <= SALT_WORDS


@pytest.mark.slow
def test_hub_names_reach_drugbank_entries_and_add_annotations(with_hub: Settings) -> None:
    aspirin = drug_lookup("aspirin", settings=with_hub)  # DrugBank calls it "Acetylsalicylic acid"
    assert aspirin["match"]["matched_name"] == "aspirin" and aspirin["drug"]["name"] == "Acetylsalicylic acid"
    assert (
        aspirin["drug"]["drugbank_id"] == "DB00945" and aspirin["drug"]["moa"] == "cyclooxygenase inhibitor"
    )
    assert "PTGS2" in aspirin["drug"]["targets"] and len(aspirin["sources"]) == 2
    phase2 = drug_lookup("(R)-(-)-rolipram", settings=with_hub)["drug"]
    assert phase2["clinical_phase"] == "Phase 1" and "drugbank_id" not in phase2


# ----- similar_drugs (Morgan / Tanimoto) --------------------------------------------------------------------------


@pytest.mark.slow
def test_imatinib_neighbours_are_kinase_inhibitors() -> None:
    result = similar_drugs(IMATINIB, k=3)
    names = [d["name"] for d in result["drugs"]]
    assert names[0] == "Imatinib" and result["drugs"][0]["similarity"] == 1.0
    assert "Nilotinib" in names and result["drugs"][1]["similarity"] < 1.0
    assert result["reference"]["drugs"] > 2000 and "Tanimoto" in result["meaning"]["similarity"]
    json.dumps(result)


@pytest.mark.slow
def test_hub_adds_launched_drugs_to_the_reference(with_hub: Settings) -> None:
    result = similar_drugs(IMATINIB, k=5, settings=with_hub)
    assert len(result["reference"]["sources"]) == 2 and result["reference"]["drugs"] > 3000


# ----- admet (ADMET-AI) ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_admet_predicts_41_endpoints_with_units_and_percentiles() -> None:
    result = admet([ASPIRIN, IMATINIB])
    assert "ADMET-AI" in result["model"] and result["model_version"]
    aspirin, imatinib = result["molecules"]
    assert len(aspirin["endpoints"]) == 41 and aspirin["smiles"] == ASPIRIN
    bbb = aspirin["endpoints"]["BBB_Martins"]
    assert bbb["unit"] == "probability" and 0 <= bbb["value"] <= 1 and 0 <= bbb["percentile_approved"] <= 100
    assert "AUROC" in bbb["meaning"]
    solubility = imatinib["endpoints"]["Solubility_AqSolDB"]
    assert solubility["unit"] == "log(mol/L)" and "R^2" in solubility["meaning"]
    assert aspirin["physicochemical"]["molecular_weight"]["value"] == pytest.approx(180.16, abs=0.01)
    assert imatinib["endpoints"]["hERG"]["value"] > aspirin["endpoints"]["hERG"]["value"]
    json.dumps(result)
