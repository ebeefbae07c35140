"""Every tool states its facts: `result["facts"]` sentences whose numbers are the result's own numbers."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from test_tools_protein import P53, _tiny_esm
from test_tools_uniprot import _entry

from bioagent.settings import Settings
from bioagent.tools.admet import admet
from bioagent.tools.catalog import ProteinCatalog
from bioagent.tools.disorder import disorder
from bioagent.tools.drug_properties import drug_properties
from bioagent.tools.homology import homology_search
from bioagent.tools.protein_properties import protein_properties
from bioagent.tools.similar_drugs import similar_drugs
from bioagent.tools.uniprot_lookup import uniprot_lookup
from bioagent.tools.variant_effect import variant_effect
from bioagent.types import Document

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
FATTY_C40 = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC(=O)O"
CAFFEIC_ACID = "O=C(O)C=Cc1ccc(O)c(O)c1"
AMINO = "ACDEFGHIKLMNPQRSTVWY"
FACT_KEYS = {"key", "label", "value", "unit", "statement", "topics", "main"}


def checked_facts(result: dict[str, Any]) -> dict[tuple[str | None, str], dict[str, Any]]:
    """The result's facts by (item, key), after the checks every tool's facts must pass."""
    facts = result["facts"]
    assert facts, f"{result['tool']} stated no facts"
    by_key: dict[tuple[str | None, str], dict[str, Any]] = {}
    for entry in facts:
        assert FACT_KEYS <= set(entry) <= FACT_KEYS | {"item"}, entry
        statement, item = entry["statement"], entry.get("item")
        assert "{subject}" in statement or (item and item in statement), statement
        assert not re.search(r"\{(?!subject\})", statement), f"stray brace in {statement!r}"
        assert statement == statement.strip() and "  " not in statement and "None" not in statement
        assert entry["topics"] and all(t == t.lower() and t.strip() for t in entry["topics"]), entry["topics"]
        assert isinstance(entry["main"], bool)
        assert (item, entry["key"]) not in by_key, f"duplicate fact {(item, entry['key'])}"
        by_key[(item, entry["key"])] = entry
    json.dumps(facts)
    return by_key


def numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)


# ----- drug_properties ------------------------------------------------------------------------------------------


def test_caffeine_logp_and_weight_are_stated_as_computed() -> None:
    result = drug_properties(CAFFEINE)
    caffeine = result["molecules"][0]
    facts = checked_facts(result)
    logp = facts[(None, "logp")]
    assert caffeine["logp"] == -1.03 and logp["value"] == caffeine["logp"]
    assert logp["statement"] == "RDKit computes a logP (Wildman-Crippen) of -1.03 for {subject}"
    assert logp["main"] and {"logp", "lipophil"} <= set(logp["topics"])
    weight = facts[(None, "molecular_weight")]
    assert weight["value"] == caffeine["molecular_weight"] == 194.19 and weight["unit"] == "g/mol"
    assert weight["statement"] == "RDKit computes a molecular weight of 194.19 g/mol for {subject}"
    assert facts[(None, "hbd")]["statement"] == "RDKit counts 0 hydrogen-bond donors in {subject}"
    assert facts[(None, "formula")]["statement"] == "The molecular formula of {subject} is C8H10N4O2"
    qed = facts[(None, "qed")]
    assert numbers(qed["statement"])[0] == str(caffeine["qed"]) and "drug-like" in qed["topics"]
    assert {key for (_, key), f in facts.items() if f["main"]} == {
        "molecular_weight", "logp", "tpsa", "hbd", "hba", "lipinski", "qed",
    }  # fmt: skip


def test_aspirin_passes_lipinski_and_veber_without_alerts() -> None:
    facts = checked_facts(drug_properties(ASPIRIN))
    lipinski = facts[(None, "lipinski")]
    assert lipinski["statement"] == "{subject} passes Lipinski's rule of five (no violations)"
    assert lipinski["value"] == {"passes": True, "violations": []}
    assert {"rule of five", "drug-like", "druglike", "oral"} <= set(lipinski["topics"])
    assert facts[(None, "veber")]["statement"].startswith("{subject} passes Veber's rules")
    assert facts[(None, "hbd")]["statement"] == "RDKit counts 1 hydrogen-bond donor in {subject}"
    assert facts[(None, "alerts")]["statement"] == "{subject} matches structural alerts: Brenk phenol_ester"
    caffeine = checked_facts(drug_properties(CAFFEINE))[(None, "alerts")]
    assert caffeine["statement"] == "No PAINS or Brenk structural alerts match {subject}"
    assert caffeine["value"] == {"PAINS": [], "Brenk": []}


def test_violations_and_alerts_are_named_per_molecule_in_a_batch() -> None:
    result = drug_properties([FATTY_C40, CAFFEIC_ACID, ASPIRIN])
    facts = checked_facts(result)
    fatty = result["molecules"][0]
    lipinski = facts[(FATTY_C40, "lipinski")]
    assert lipinski["value"] == fatty["lipinski"] and lipinski["item"] == FATTY_C40
    assert lipinski["statement"] == (
        "{subject} fails Lipinski's rule of five (violations: molecular_weight > 500, logp > 5)"
    )
    assert "fails Veber's rules" in facts[(FATTY_C40, "veber")]["statement"]
    assert "rotatable_bonds > 10" in facts[(FATTY_C40, "veber")]["statement"]
    alerts = facts[(CAFFEIC_ACID, "alerts")]
    assert alerts["statement"].startswith("{subject} matches structural alerts: PAINS catechol")
    assert "Michael_acceptor_1" in alerts["statement"] and alerts["value"] == result["molecules"][1]["alerts"]
    assert len({f["item"] for f in result["facts"]}) == 3


# ----- protein_properties ---------------------------------------------------------------------------------------


def test_p53_properties_are_stated_with_the_computed_numbers() -> None:
    result = protein_properties(P53)
    p53 = result["proteins"][0]
    facts = checked_facts(result)
    assert facts[(None, "length")]["statement"] == "{subject} is 393 residues long"
    weight = facts[(None, "molecular_weight_da")]
    assert weight["value"] == p53["molecular_weight_da"] and weight["unit"] == "Da"
    assert numbers(weight["statement"]) == [str(p53["molecular_weight_da"])]
    pi = facts[(None, "isoelectric_point")]
    assert f"(pI) of {p53['isoelectric_point']} for" in pi["statement"] and "isoelectric" in pi["topics"]
    instability = facts[(None, "instability_index")]
    assert (
        f"of {p53['instability_index']} for {{subject}}, predicting that it is unstable in vitro (index above 40)"
        in (instability["statement"])
    )
    gravy = facts[(None, "gravy")]
    assert p53["gravy"] < 0 and gravy["statement"].endswith(
        f"of {p53['gravy']} for {{subject}}: hydrophilic overall"
    )
    extinction = facts[(None, "extinction_coefficient")]
    assert extinction["value"] == {
        "reduced": p53["extinction_coefficient_reduced"], "cystines": p53["extinction_coefficient_cystines"],
    }  # fmt: skip
    assert str(p53["extinction_coefficient_reduced"]) in extinction["statement"]


def test_batch_facts_carry_the_record_name_and_skip_what_was_not_computed() -> None:
    result = protein_properties(">a\nMKTAYIAKQRQISFVKSHFSRQ\n>b\nXXXX")
    facts = checked_facts(result)
    assert facts[("a", "length")]["statement"] == "{subject} is 22 residues long"
    assert [key for item, key in facts if item == "b"] == ["length"]


# ----- disorder -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_disorder_facts_state_the_fraction_regions_and_plddt() -> None:
    result = disorder(f">p53\n{P53}\n>tail\n{'SGEGSPKSEDGSKPSQ' * 6}")
    facts = checked_facts(result)
    for protein in result["proteins"]:
        name, length = protein["name"], protein["length"]
        residues = sum(score > 0.5 for score in protein["disorder"])
        fraction = facts[(name, "fraction_disordered")]
        assert fraction["value"]["fraction_disordered"] == protein["fraction_disordered"]
        assert fraction["value"]["disordered_residues"] == residues and fraction["main"]
        percent = round(100 * protein["fraction_disordered"])
        verdict = (
            "mostly intrinsically disordered"
            if protein["fraction_disordered"] >= 0.5
            else "mostly folded, with disordered regions"
            if protein["disordered_regions"]
            else "mostly folded"
        )
        assert fraction["statement"] == (
            f"metapredict V3 predicts that {percent}% of {{subject}} is intrinsically disordered (fraction "
            f"{protein['fraction_disordered']}; {residues} of {length} residues score above the 0.5 cutoff): "
            f"{{subject}} is {verdict}"
        )
        regions = facts[(name, "disordered_regions")]
        assert regions["value"] == [[r["start"], r["end"]] for r in protein["disordered_regions"]]
        plddt = facts[(name, "mean_plddt")]
        assert (
            plddt["value"] == protein["mean_plddt"]
            and f"pLDDT of {protein['mean_plddt']} for" in plddt["statement"]
        )
        assert {"disorder", "unstructured", "idr"} <= set(fraction["topics"]) and "plddt" in plddt["topics"]
    assert "mostly folded, with disordered regions" in facts[("p53", "fraction_disordered")]["statement"]
    assert "mostly intrinsically disordered" in facts[("tail", "fraction_disordered")]["statement"]
    assert facts[("p53", "disordered_regions")]["statement"].startswith(
        "metapredict V3 predicts disordered regions of {subject} at residues 1-"
    )


# ----- homology_search and uniprot_lookup ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> ProteinCatalog:
    rng = random.Random(11)
    p53 = _entry(
        "P04637", "TP53", "Cellular tumor antigen p53", "Homo sapiens (Human)", 9606, P53,
        function="Acts as a tumor suppressor (PubMed:123, PubMed:456). Induces apoptosis (PubMed:789).",
        subcellular_location="Cytoplasm. Nucleus.",
        disease=["Li-Fraumeni syndrome (LFS): autosomal dominant cancer predisposition (PubMed:1978757)."],
    )  # fmt: skip
    insulin = _entry(
        "P01308", "INS", "Insulin", "Homo sapiens (Human)", 9606,
        "".join(rng.choice(AMINO) for _ in range(110)), disease="Diabetes mellitus, permanent neonatal 4 (PNDM4).",
    )  # fmt: skip
    filler = [
        _entry(f"A0A{i:03d}", f"GENE{i}", f"Protein number {i}", "Mus musculus (Mouse)", 10090,
               "".join(rng.choice(AMINO) for _ in range(rng.randint(120, 400))))
        for i in range(30)
    ]  # fmt: skip
    return ProteinCatalog([p53, insulin, *filler])


def test_an_exact_fragment_is_identified_by_its_top_hit(catalog: ProteinCatalog) -> None:
    result = homology_search(P53[100:300], k=3, catalog=catalog)
    hit = result["hits"][0]
    top = checked_facts(result)[(None, "top_hit")]
    assert top["main"] and {"what protein", "identify", "homolog"} <= set(top["topics"])
    assert top["value"] == {
        "accession": "P04637", "gene": "TP53", "protein_name": "Cellular tumor antigen p53",
        "organism": "Homo sapiens (Human)", "identity_percent": 100, "coverage_percent": 100,
        "evalue": hit["evalue"],
    }  # fmt: skip
    assert top["statement"] == (
        "{subject} is most similar to Cellular tumor antigen p53 (TP53, P04637, Homo sapiens): "
        f"100% identity over 100% of the query (E-value {hit['evalue']})"
    )


def test_a_mutated_fragment_states_rounded_percentages(catalog: ProteinCatalog) -> None:
    rng = random.Random(3)
    letters = list(P53[:200])
    for i in rng.sample(range(200), 40):
        letters[i] = rng.choice(AMINO.replace(letters[i], ""))
    result = homology_search("".join(letters), k=5, catalog=catalog)
    hit = result["hits"][0]
    top = checked_facts(result)[(None, "top_hit")]
    identity = round(100 * hit["identity"])
    assert 60 <= identity < 100 and top["value"]["identity_percent"] == identity
    assert (
        f": {identity}% identity over {round(100 * hit['query_coverage'])}% of the query" in top["statement"]
    )
    others = checked_facts(result)[(None, "other_hits")]
    assert [o["identity_percent"] for o in others["value"]] == [
        round(100 * h["identity"]) for h in result["hits"][1:]
    ]
    second = result["hits"][1]
    assert (
        f"{second['gene']} ({second['accession']}; {round(100 * second['identity'])}% identity, E-value "
        in (others["statement"])
    )
    if second["evalue"] > 1e-3:
        assert others["statement"].endswith("(E-values above 0.001 are not confident homologs)")


def test_an_unrelated_sequence_states_that_nothing_aligns(catalog: ProteinCatalog) -> None:
    result = homology_search("W" * 60, k=3, max_evalue=1e-5, catalog=catalog)
    facts = checked_facts(result)
    assert list(facts) == [(None, "no_hit")] and facts[(None, "no_hit")]["main"]
    assert facts[(None, "no_hit")]["statement"] == (
        "No entry in the local UniProt index (32 entries) aligns with {subject} at E-value <= 1e-05"
    )


def test_uniprot_facts_name_the_entry_and_drop_pubmed_references(catalog: ProteinCatalog) -> None:
    result = uniprot_lookup("TP53", catalog=catalog)
    facts = checked_facts(result)
    assert {item for item, _ in facts} == {"P04637"}
    function = facts[("P04637", "function")]
    assert function["statement"] == (
        "UniProt function of TP53 (P04637): Acts as a tumor suppressor. Induces apoptosis."
    )
    assert function["value"] == "Acts as a tumor suppressor. Induces apoptosis." and function["main"]
    location = facts[("P04637", "subcellular_location")]
    assert location["statement"] == "UniProt subcellular location of TP53 (P04637): Cytoplasm. Nucleus."
    assert {"where", "nucleus", "locali"} <= set(location["topics"])
    disease = facts[("P04637", "disease")]
    assert disease["value"] == ["Li-Fraumeni syndrome (LFS): autosomal dominant cancer predisposition."]
    assert "disorder" not in disease["topics"] and "syndrome" in disease["topics"]
    assert (
        disease["statement"] == "UniProt lists these diseases for TP53 (P04637): Li-Fraumeni syndrome (LFS)"
    )
    assert (
        facts[("P04637", "length")]["statement"]
        == "According to UniProt, TP53 (P04637) is 393 amino acids long"
    )
    assert (
        facts[("P04637", "gene")]["statement"]
        == "According to UniProt, Cellular tumor antigen p53 (P04637) is encoded by the gene TP53"
    )
    assert facts[("P04637", "protein_name")]["statement"] == (
        "UniProt entry P04637 (TP53_HOMO) is Cellular tumor antigen p53"
    )


def test_a_disease_given_as_one_string_is_one_disease(catalog: ProteinCatalog) -> None:
    facts = checked_facts(uniprot_lookup("INS", catalog=catalog))
    disease = facts[("P01308", "disease")]
    assert disease["value"] == ["Diabetes mellitus, permanent neonatal 4 (PNDM4)."]
    assert (
        disease["statement"]
        == "UniProt lists these diseases for INS (P01308): Diabetes mellitus, permanent neonatal 4 (PNDM4)."
    )
    assert ("P01308", "subcellular_location") not in facts


def test_entries_without_optional_fields_state_only_what_they_have() -> None:
    bare = Document(
        id="Q99999", title="Bare", text="Bare", source="uniprot", metadata={"accession": "Q99999"}
    )
    facts = checked_facts(uniprot_lookup("Q99999", catalog=ProteinCatalog([bare])))
    assert [key for _, key in facts] == ["protein_name"]


@pytest.fixture(scope="module")
def swissprot(shared_data: Path) -> ProteinCatalog:
    from bioagent.ingest import read_documents

    path = shared_data / "uniprot_more" / "ai_gene_review_swissprot_reviewed.dat"
    return ProteinCatalog(read_documents(path, "uniprot-dat").documents)


@pytest.mark.slow
def test_real_tp53_entry_states_function_and_location(swissprot: ProteinCatalog) -> None:
    result = uniprot_lookup("TP53", k=1, catalog=swissprot)
    facts = checked_facts(result)
    function = facts[("P04637", "function")]
    assert function["statement"].startswith("UniProt function of TP53 (P04637): ")
    assert "apoptosis" in function["statement"] and "PubMed:" not in function["statement"]
    assert "Nucleus" in facts[("P04637", "subcellular_location")]["statement"]


# ----- similar_drugs ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_imatinib_has_its_own_fingerprint_and_named_neighbours() -> None:
    result = similar_drugs(IMATINIB, k=3)
    facts = checked_facts(result)
    listed = facts[(None, "similar_drugs")]
    assert listed["value"] == [{"name": d["name"], "similarity": d["similarity"]} for d in result["drugs"]]
    second = result["drugs"][1]
    assert listed["statement"].startswith(
        "The approved drugs most similar to {subject} by Morgan fingerprint (radius 2, 2048 bits) are "
        "Imatinib (Tanimoto 1.0), "
    )
    assert f"{second['name']} (Tanimoto {second['similarity']})" in listed["statement"]
    same = facts[(None, "same_fingerprint")]
    assert same["value"] == {"names": ["Imatinib"], "similarity": 1.0} and same["main"]
    assert same["statement"].startswith(
        "{subject} has the same Morgan fingerprint (radius 2, 2048 bits) as Imatinib"
    )
    assert (None, "closest_drug") not in facts and {"similar", "analog", "resembl"} <= set(listed["topics"])


@pytest.mark.slow
def test_a_new_molecule_gets_its_closest_drug_with_a_verdict() -> None:
    # not a catalogue compound (a long fatty-acid amide would share its Morgan fingerprint with
    # palmitoylethanolamide in the Repurposing Hub: the chains saturate the radius-2 environments)
    result = similar_drugs("FC(F)(F)c1cc(-c2nnc(SCC#N)o2)ccc1Cl", k=2)
    top = result["drugs"][0]
    closest = checked_facts(result)[(None, "closest_drug")]
    assert top["similarity"] < 1.0 and closest["value"] == {
        "name": top["name"],
        "similarity": top["similarity"],
    }
    assert closest["statement"].startswith(
        f"The closest approved drug to {{subject}} is {top['name']} (Tanimoto {top['similarity']}), "
    )


# ----- admet ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_admet_states_each_endpoint_with_its_prediction_and_percentile() -> None:
    result = admet([ASPIRIN, CAFFEINE])
    facts = checked_facts(result)
    aspirin = result["molecules"][0]
    keys = {key for item, key in facts if item == ASPIRIN}
    assert keys == set(aspirin["endpoints"]) and len(keys) == 41
    bbb_entry = aspirin["endpoints"]["BBB_Martins"]
    bbb = facts[(ASPIRIN, "BBB_Martins")]
    assert bbb["value"] == {
        "prediction": bbb_entry["value"],
        "percentile_approved": bbb_entry["percentile_approved"],
    }
    assert bbb["statement"] == (
        f"ADMET-AI predicts a blood-brain barrier penetration probability of {bbb_entry['value']} for {{subject}} "
        f"(BBB_Martins; percentile {bbb_entry['percentile_approved']} among DrugBank approved drugs)"
    )
    assert {"blood-brain barrier", "bbb", "brain", "cns"} <= set(bbb["topics"]) and bbb[
        "unit"
    ] == "probability"
    solubility = facts[(ASPIRIN, "Solubility_AqSolDB")]
    value = aspirin["endpoints"]["Solubility_AqSolDB"]["value"]
    assert f"an aqueous solubility (log S) of {value} log(mol/L) for {{subject}}" in solubility["statement"]
    assert (
        "ames" in facts[(ASPIRIN, "AMES")]["topics"]
        and "cyp3a4" in facts[(ASPIRIN, "CYP3A4_Veith")]["topics"]
    )
    assert {key for item, key in facts if item == CAFFEINE and facts[(item, key)]["main"]} == {
        "BBB_Martins", "HIA_Hou", "Bioavailability_Ma", "Solubility_AqSolDB", "hERG", "AMES", "DILI", "ClinTox",
    }  # fmt: skip
    for (_, _key), entry in facts.items():
        assert str(entry["value"]["prediction"]) in entry["statement"]


# ----- variant_effect ----------------------------------------------------------------------------------------------


def test_without_weights_the_fact_says_no_score_was_computed(settings: Settings) -> None:
    facts = checked_facts(variant_effect(P53, "R175H,P72R", settings=settings))
    missing = facts[(None, "not_configured")]
    assert missing["statement"] == (
        "No ESM-2 score was computed for R175H, P72R in {subject}: ESM-2 weights are not configured"
    )
    assert missing["main"] and "r175h" in missing["topics"]


@pytest.mark.slow
def test_each_scored_mutation_is_a_fact_with_its_score(tmp_path: Path) -> None:
    settings = Settings.load(tools={"esm_model": str(_tiny_esm(tmp_path))})
    result = variant_effect(P53[:120], "P72R,M1A", settings=settings)
    facts = checked_facts(result)
    for score in result["scores"]:
        entry = facts[(None, score["mutation"])]
        assert entry["value"] == score["score"] and score["mutation"].lower() in entry["topics"]
        assert entry["statement"].startswith(
            f"ESM-2 scores {score['mutation']} in {{subject}} at {score['score']} (masked-marginal log-likelihood ratio; "
        )
        assert ("negative = less likely" in entry["statement"]) == (score["score"] < 0)
