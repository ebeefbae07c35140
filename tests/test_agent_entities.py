"""Entity resolution on hand-made entries and on the demo's real UniProt sources (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.agent.entities import Entities, EntityRecognizer
from bioagent.types import Document

#: The demo protein index's sources (bioagent/demo.py), richest first: a later copy of an accession is skipped.
DEMO_SOURCES = (
    "uniprot_more/ai_gene_review_swissprot_reviewed.dat",
    "uniprot_human_subsets/uniprot_human_reviewed_500_function.tsv",
    "uniprot_human_subsets/uniprot_human_170_location_go.tsv",
    "uniprot_human_subsets/human_proteome_reviewed_names_2024_07_08.tsv",
)


def _entry(accession: str, gene: str, organism: str, taxon: int, **extra: object) -> Document:
    metadata = {
        "accession": accession,
        "accessions": [accession],
        "entry_name": extra.pop("entry_name", f"{accession}_X"),
        "protein_name": extra.pop("protein_name", f"Protein {accession}"),
        "alt_names": extra.pop("alt_names", []),
        "gene": gene,
        "gene_synonyms": extra.pop("synonyms", []),
        "organism": organism,
        "taxonomy_id": taxon,
        "reviewed": extra.pop("reviewed", True),
    }
    return Document(id=accession, title=accession, text=accession, source="uniprot", metadata=metadata)


HUMAN, MOUSE, YEAST = (
    ("Homo sapiens (Human)", 9606),
    ("Mus musculus (Mouse)", 10090),
    ("Saccharomyces cerevisiae", 4932),
)


@pytest.fixture(scope="module")
def made() -> EntityRecognizer:
    return EntityRecognizer(
        [
            _entry("Q11111", "ABC1", *MOUSE),  # primary symbol, but mouse
            _entry("P22222", "XYZ9", *HUMAN, synonyms=["ABC1"]),  # a human synonym of the same text
            _entry("A0A333", "DEF2", *HUMAN, reviewed=False),  # unreviewed human
            _entry("P44444", "DEF2", *YEAST),  # reviewed yeast
            _entry("P55555", "GHI3", *YEAST),
            _entry("P66666", "GHI3", *MOUSE),
            _entry("P77777", "GHI3", *HUMAN),
        ]
    )


def test_primary_symbol_beats_synonym_whatever_the_species(made: EntityRecognizer) -> None:
    found = made.recognise("What does ABC1 do?")
    assert found.protein_ids == ["Q11111"]
    assert found.protein_matches == {"Q11111": "gene symbol ABC1"}
    assert made.recognise("And XYZ9?").protein_matches == {"P22222": "gene symbol XYZ9"}


def test_reviewed_beats_unreviewed_then_human_or_named_organism_wins(made: EntityRecognizer) -> None:
    assert made.recognise("Is DEF2 a kinase?").protein_ids == ["P44444"]
    assert made.recognise("Is GHI3 a kinase?").protein_ids == ["P77777"]
    assert made.recognise("Is GHI3 a kinase in mouse?").protein_ids == ["P66666"]
    assert made.recognise("Is yeast GHI3 a kinase?").protein_ids == ["P55555"]
    assert made.recognise("Is Saccharomyces GHI3 a kinase?").protein_ids == ["P55555"]


def test_ids_are_best_first_and_labelled(made: EntityRecognizer) -> None:
    found = made.recognise("Compare XYZ9 with P44444 and ABC1")
    assert found.protein_ids == ["P44444", "P22222", "Q11111"]  # accession, then symbols by kind and position
    assert found.protein_label("P22222") == "XYZ9 (P22222)" and found.protein_label("P44444") == "P44444"
    assert "protein_ids: P44444 (accession P44444), P22222 (gene symbol XYZ9)" in found.describe()


def test_follow_ups_keep_the_earlier_matches(made: EntityRecognizer) -> None:
    earlier = made.recognise("What does XYZ9 do?")
    merged = Entities(variants=["R12H"]).merged_with(earlier)
    assert merged.protein_ids == ["P22222"] and merged.protein_matches == {"P22222": "gene symbol XYZ9"}
    assert merged.variants == ["R12H"]


# ----- the demo's real UniProt sources ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(shared_data: Path) -> EntityRecognizer:
    from bioagent.ingest import read_documents

    documents: dict[str, Document] = {}
    for source in DEMO_SOURCES:
        for doc in read_documents(shared_data / source).documents:
            documents.setdefault(doc.id, doc)
    assert len(documents) > 20000
    return EntityRecognizer(documents.values())


@pytest.mark.parametrize(
    ("question", "accession", "how"),
    [
        ("What does the protein encoded by the gene SDHAF1 do?", "A6NFY7", "gene symbol SDHAF1"),
        ("What is the function of TP53?", "P04637", "gene symbol TP53"),
        ("Where in the cell is the EGFR protein located?", "P00533", "gene symbol EGFR"),
        ("Which cancers involve BRCA1?", "P38398", "gene symbol BRCA1"),  # mouse Brca1 P48754 is indexed too
        ("Is ABL1 a kinase?", "P00519", "gene symbol ABL1"),
        ("What does SNCA do in neurons?", "P37840", "gene symbol SNCA"),
        ("What does p53 do?", "P04637", "gene synonym p53"),
        ("What is CRYAA?", "P02489", "gene symbol CRYAA"),  # the bovine entry comes first in the file
        ("What is TEP1?", "Q99973", "gene symbol TEP1"),  # not the Anopheles TEP1, not PTEN (synonym TEP1)
        ("What does CCT2 do in yeast?", "P39076", "gene symbol CCT2"),
        ("What is BRCA1 in mouse?", "P48754", "gene symbol BRCA1"),
        ("Is Q15086 the same protein?", "P04637", "accession Q15086 (secondary accession of P04637)"),
    ],
)
def test_real_names_resolve_to_the_expected_entry(
    demo: EntityRecognizer, question: str, accession: str, how: str
) -> None:
    found = demo.recognise(question)
    assert found.protein_ids[0] == accession
    assert found.protein_matches[accession] == how


def test_sdhaf1_is_named_with_its_accession(demo: EntityRecognizer) -> None:
    found = demo.recognise("What does the protein encoded by the gene SDHAF1 do?")
    assert found.genes == ["SDHAF1"] and found.protein_ids == ["A6NFY7"]
    assert found.protein_label("A6NFY7") == "SDHAF1 (A6NFY7)"


@pytest.mark.parametrize(
    ("question", "genes"),
    [
        ("Which kinase does imatinib inhibit?", []),
        ("Where in the cell is the EGFR protein located?", ["EGFR"]),
        ("Is this protein disordered?", []),
        ("What is the logP of caffeine?", []),
        ("WHAT DOES TP53 DO? IS IT FOR REAL?", ["TP53"]),  # DO, FOR, IS are gene synonyms in the index
    ],
)
def test_common_words_are_not_genes(demo: EntityRecognizer, question: str, genes: list[str]) -> None:
    found = demo.recognise(question)
    assert found.genes == genes
    assert len(found.protein_ids) == len(genes)
