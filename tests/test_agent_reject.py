"""The verifier rejects what a careful reader would: each case is an answer the agent really gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.reject import CIRCULAR, DUMP, EMPTY, fact_conflict, location_conflict, says_nothing
from bioagent.agent.verify import Verifier
from bioagent.index.embedders import HashEmbedder
from bioagent.types import Hit

EGFR_LOCATION = (
    "Subcellular location: Cell membrane; Single-pass type I membrane protein. Endoplasmic reticulum membrane; "
    "Single-pass type I membrane protein. Golgi apparatus membrane; Single-pass type I membrane protein. "
    "Nucleus membrane; Single-pass type I membrane protein. Endosome. Endosome membrane. Nucleus."
)
DISORDER_FACTS = [
    {
        "key": "fraction_disordered",
        "label": "fraction disordered",
        "value": 1.0,
        "statement": "metapredict V3 predicts that {subject} is 100% disordered (fraction 1.0)",
        "topics": ["disorder"],
        "main": True,
    }
]


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The kinase inhibitor of imatinib is a kinase inhibitor of imatinib", CIRCULAR),
        ("The ADMET properties of imatinib are: 1", EMPTY),
        ("2.", EMPTY),
        ("4. 5", EMPTY),
        ("passes: True; passes: True; passes: True", DUMP),
        ("molecular_weight: 180.16; logp: 1.31; tpsa: 63.6", DUMP),
    ],
)
def test_empty_circular_and_dumped_sentences_are_rejected(sentence: str, reason: str) -> None:
    assert says_nothing(sentence) == reason


@pytest.mark.parametrize(
    "sentence",
    [
        "Imatinib is a BCR-ABL tyrosine kinase inhibitor",
        "Yes.",
        "The Drug Repurposing Hub lists the targets of imatinib as: ABL1, KIT, PDGFRA",
        "RDKit computes a logP (Wildman-Crippen) of -1.03 for caffeine",
    ],
)
def test_informative_sentences_pass_the_reader_checks(sentence: str) -> None:
    assert says_nothing(sentence) is None


def test_a_location_the_entry_does_not_give_is_a_contradiction() -> None:
    claim = "The EGFR protein is located in the cytoplasm of the cell"
    assert "cytoplasm" in (location_conflict(claim, EGFR_LOCATION) or "")
    assert location_conflict("EGFR sits in the cell membrane", EGFR_LOCATION) is None
    assert location_conflict("EGFR is also found in the nucleus", EGFR_LOCATION) is None
    assert location_conflict("EGFR binds EGF", EGFR_LOCATION) is None


def test_calling_a_fully_disordered_protein_ordered_contradicts_the_tool() -> None:
    assert fact_conflict("The protein is not disordered", DISORDER_FACTS)
    assert fact_conflict("The protein is intrinsically disordered", DISORDER_FACTS) is None
    folded = [{**DISORDER_FACTS[0], "value": 0.1}]
    assert fact_conflict("The protein is mostly disordered", folded)
    assert fact_conflict("Residues 1-20 are disordered", folded) is None
    assert fact_conflict("It is intrinsically disordered (no folded regions)", DISORDER_FACTS) is None
    lipinski = [{"key": "lipinski", "value": {"passes": True, "violations": []}}]
    assert fact_conflict("Aspirin fails Lipinski's rule of five", lipinski)
    assert fact_conflict("Aspirin passes Lipinski's rule of five (no violations)", lipinski) is None
    failing = [{"key": "lipinski", "value": {"passes": False, "violations": ["hbd > 5", "logp > 5"]}}]
    assert fact_conflict("It passes Lipinski's rule of five", failing)


def _uniprot_hit(accession: str, text: str) -> Hit:
    return Hit(
        id=accession, score=1.0, rank=1, text=text, source="uniprot", metadata={"accession": accession}
    )


def test_verifier_rejects_the_wrong_location_and_the_wrong_entity() -> None:
    verifier = Verifier(HashEmbedder(256), 0.2, 0.3)
    evidence = EvidenceSet()
    evidence.add_hit(
        _uniprot_hit(
            "P00533", f"UniProt P00533: Epidermal growth factor receptor, gene EGFR. {EGFR_LOCATION}"
        ),
        1.0,
        "database",
    )
    evidence.add_hit(
        _uniprot_hit(
            "Q9UBW7", "UniProt Q9UBW7: Zinc finger MYM-type protein 2, gene ZMYM2. The protein binds DNA."
        ),
        0.5,
        "database",
    )
    wrong_place = verifier.verify(
        "EGFR is located in the cytoplasm of the cell [UniProt:P00533].",
        evidence,
        subjects=["UniProt:P00533"],
    )
    assert wrong_place.text == "" and "cytoplasm" in wrong_place.verdicts[0].reason
    right_place = verifier.verify(
        "EGFR is located in the cell membrane [UniProt:P00533].", evidence, subjects=["UniProt:P00533"]
    )
    assert right_place.verdicts[0].supported
    other_entry = verifier.verify(
        "The protein binds DNA [UniProt:Q9UBW7].", evidence, subjects=["UniProt:P00533"]
    )
    assert not other_entry.verdicts[0].supported
    assert "another entry" in other_entry.verdicts[0].reason
    unchecked = verifier.verify("The protein binds DNA [UniProt:Q9UBW7].", evidence)
    assert unchecked.verdicts[0].supported  # without a resolved subject the same sentence stands


def test_verifier_rejects_a_claim_against_the_tool_verdict_and_circular_text() -> None:
    verifier = Verifier(HashEmbedder(256), 0.2, 0.3)
    evidence = EvidenceSet()
    evidence.add_tool_result(
        "disorder", {"facts": DISORDER_FACTS}, "metapredict", subject="the query sequence"
    )
    result = verifier.verify("Yes. The query sequence is not disordered [tool:disorder].", evidence)
    assert result.text == "Yes."
    assert "fraction disordered is 1.0" in result.verdicts[1].reason
    circular = verifier.verify(
        "The kinase inhibitor of imatinib is a kinase inhibitor of imatinib [tool:disorder].", evidence
    )
    assert circular.text == "" and circular.verdicts[0].reason == CIRCULAR


@pytest.fixture(scope="module")
def egfr_entry(shared_data: Path) -> str:
    from bioagent.ingest import read_documents

    path = shared_data / "uniprot_more/ai_gene_review_swissprot_reviewed.dat"
    docs = {d.id: d for d in read_documents(path).documents}
    return docs["P00533"].text


def test_the_real_egfr_entry_contradicts_a_cytoplasmic_claim(egfr_entry: str) -> None:
    assert location_conflict("EGFR is located in the cytoplasm of the cell", egfr_entry)
    assert location_conflict("EGFR is located in the cell membrane", egfr_entry) is None
