"""UniProt parsers (flat file, XML, TSV, REST JSON) on real entries from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.ingest import detect_format, read_documents
from bioagent.ingest.uniprot import go_term, split_protein_names, strip_evidence
from bioagent.types import Document

METADATA_KEYS = {
    "accession",
    "accessions",
    "entry_name",
    "protein_name",
    "alt_names",
    "gene",
    "gene_synonyms",
    "organism",
    "taxonomy_id",
    "function",
    "subcellular_location",
    "go_terms",
    "keywords",
    "sequence",
    "length",
    "reviewed",
}


@pytest.fixture(scope="module")
def reviewed(shared_data: Path) -> dict[str, Document]:
    result = read_documents(shared_data / "uniprot_more" / "ai_gene_review_swissprot_reviewed.dat")
    assert result.format == "uniprot-dat"
    assert result.errors == []
    return {doc.id: doc for doc in result.documents}


@pytest.fixture(scope="module")
def swissprot_tests(shared_data: Path) -> Path:
    return shared_data / "uniprot_swissprot_biopython_tests" / "SwissProt"


def assert_uniprot_shape(doc: Document) -> None:
    assert doc.source == "uniprot"
    assert set(doc.metadata) == METADATA_KEYS
    assert doc.id == doc.metadata["accession"] == doc.metadata["accessions"][0]
    assert all(term.startswith("GO:") and term[10] == " " for term in doc.metadata["go_terms"])
    assert "{ECO:" not in doc.text and "{ECO:" not in doc.metadata["function"]


def test_reviewed_dat_count_and_shape(reviewed: dict[str, Document]) -> None:
    assert len(reviewed) == 1037
    assert all(doc.metadata["reviewed"] is True for doc in reviewed.values())
    assert sum(bool(doc.metadata["function"]) for doc in reviewed.values()) == 978
    assert sum(bool(doc.metadata["subcellular_location"]) for doc in reviewed.values()) == 902
    for doc in reviewed.values():
        assert_uniprot_shape(doc)
        assert doc.metadata["length"] == len(doc.metadata["sequence"])


def test_tp53_fields(reviewed: dict[str, Document]) -> None:
    tp53 = reviewed["P04637"]
    meta = tp53.metadata
    assert tp53.title == "Cellular tumor antigen p53 (TP53) — Homo sapiens (Human)"
    assert meta["entry_name"] == "P53_HUMAN"
    assert meta["protein_name"] == "Cellular tumor antigen p53"
    assert meta["alt_names"] == ["Antigen NY-CO-13", "Phosphoprotein p53", "Tumor suppressor p53"]
    assert (meta["gene"], meta["gene_synonyms"]) == ("TP53", ["P53"])
    assert (meta["organism"], meta["taxonomy_id"]) == ("Homo sapiens (Human)", 9606)
    assert "Q15086" in meta["accessions"]
    assert meta["function"].startswith("Multifunctional transcription factor that induces cell cycle arrest")
    assert meta["subcellular_location"].startswith("Cytoplasm. Nucleus. Nucleus, PML body.")
    assert "GO:0005634 nucleus" in meta["go_terms"]
    assert "Tumor suppressor" in meta["keywords"]
    assert meta["length"] == 393 and meta["sequence"].startswith("MEEPQSDPSVEPPLSQETFS")
    assert "Multifunctional transcription factor" in tp53.text
    assert "PubMed:" not in tp53.text  # citations stay in metadata, not in the readable summary
    assert "(PubMed:11025664" in meta["function"]


@pytest.mark.parametrize(("accession", "gene"), [("P00533", "EGFR"), ("P38398", "BRCA1"), ("P00519", "ABL1")])
def test_well_known_entries(reviewed: dict[str, Document], accession: str, gene: str) -> None:
    assert reviewed[accession].metadata["gene"] == gene
    assert reviewed[accession].metadata["function"]


def test_trembl_dat(shared_data: Path) -> None:
    docs = read_documents(shared_data / "uniprot_more" / "ai_gene_review_trembl_unreviewed.dat").documents
    assert len(docs) == 153
    assert all(doc.metadata["reviewed"] is False for doc in docs)


def test_swissprot_flat_test_files(swissprot_tests: Path) -> None:
    multi = read_documents(swissprot_tests / "multi_ex.txt").documents
    assert len(multi) == 8
    htr4 = read_documents(swissprot_tests / "Q13639.txt").documents[0]
    assert htr4.metadata["function"].startswith(
        "This is one of the several different receptors for 5-hydroxy"
    )
    assert htr4.metadata["subcellular_location"].startswith("Cell membrane; Multi-pass membrane protein")
    old = read_documents(swissprot_tests / "sp012").documents[0]
    assert (old.id, old.metadata["protein_name"], old.metadata["reviewed"]) == ("Q9Y736", "UBIQUITIN", False)


def test_uniprot_xml_matches_flat_file(swissprot_tests: Path) -> None:
    assert detect_format(swissprot_tests / "Q13639.xml") == "uniprot-xml"
    xml = read_documents(swissprot_tests / "Q13639.xml").documents[0]
    flat = read_documents(swissprot_tests / "Q13639.txt").documents[0]
    assert_uniprot_shape(xml)
    for key in ("accession", "accessions", "entry_name", "protein_name", "gene", "organism", "taxonomy_id"):
        assert xml.metadata[key] == flat.metadata[key], key
    assert xml.metadata["go_terms"] == flat.metadata["go_terms"]
    assert xml.metadata["sequence"] == flat.metadata["sequence"]
    assert xml.metadata["subcellular_location"].startswith(
        "Cell membrane; Multi-pass membrane protein. Endosome."
    )
    assert xml.title == flat.title == "5-hydroxytryptamine receptor 4 (HTR4) — Homo sapiens (Human)"


def test_uniprot_xml_multi_and_trembl(swissprot_tests: Path) -> None:
    multi = read_documents(swissprot_tests / "multi_ex.xml").documents
    assert [doc.id for doc in multi] == [
        doc.id for doc in read_documents(swissprot_tests / "multi_ex.txt").documents
    ]
    trembl = read_documents(swissprot_tests / "F2CXE6.xml").documents[0]
    assert trembl.metadata["reviewed"] is False
    assert trembl.metadata["protein_name"] == "Plasma membrane intrinsic protein"
    assert trembl.metadata["gene"] == "HvPIP2;8"


def test_summary_tsv_matches_flat_file(shared_data: Path, reviewed: dict[str, Document]) -> None:
    path = shared_data / "uniprot_more" / "ai_gene_review_swissprot_summary.tsv"
    assert detect_format(path) == "uniprot-tsv"
    docs = {doc.id: doc for doc in read_documents(path).documents}
    assert len(docs) == 1037
    tsv, flat = docs["P04637"].metadata, reviewed["P04637"].metadata
    for key in ("entry_name", "protein_name", "gene", "organism", "taxonomy_id", "sequence", "go_terms"):
        assert tsv[key] == flat[key], key
    assert tsv["function"].startswith("Multifunctional transcription factor")


def test_human_500_function_tsv(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "uniprot_human_reviewed_500_function.tsv"
    ).documents
    assert len(docs) == 500
    assert sum(bool(doc.metadata["function"]) for doc in docs) == 491
    mots = docs[0]
    assert mots.id == "A0A0C5B5G6"
    assert mots.metadata["protein_name"] == "Mitochondrial-derived peptide MOTS-c"
    assert mots.metadata["gene"] == "MT-RNR1"
    assert mots.metadata["function"].startswith(
        "Regulates insulin sensitivity"
    )  # "FUNCTION: " prefix removed
    assert mots.metadata["sequence"] == "MRWQEMGYIFYPRKLR" and mots.metadata["length"] == 16


def test_human_170_location_go_tsv(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "uniprot_human_170_location_go.tsv"
    ).documents
    assert len(docs) == 170
    cd44 = docs[0].metadata
    assert (cd44["accession"], cd44["entry_name"], cd44["gene"]) == ("P16070", "CD44_HUMAN", "CD44")
    assert cd44["gene_synonyms"] == ["LHR", "MDU2", "MDU3", "MIC4"]
    assert cd44["alt_names"][:2] == ["CDw44", "Epican"]
    assert cd44["subcellular_location"].startswith("Cell membrane; Single-pass type I membrane protein")
    assert "GO:0051216 cartilage development" in cd44["go_terms"]
    assert cd44["reviewed"] is True and cd44["length"] == 742 and cd44["taxonomy_id"] == 9606


@pytest.mark.slow
def test_human_names_tsv_with_comment_line(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "human_proteome_reviewed_names_2024_07_08.tsv"
    ).documents
    assert len(docs) == 20420
    first = docs[0]
    assert (
        first.title == "Putative cytochrome P450 2D7 (CYP2D7) — Homo sapiens (Human)"
    )  # organism from _HUMAN
    assert first.metadata["length"] == 515
    assert all(doc.metadata["reviewed"] for doc in docs)


def test_rest_json_fixture(shared_data: Path) -> None:
    path = shared_data / "uniprot_more" / "uniprot_parquet_fixture_small.json.gz"
    assert detect_format(path) == "uniprot-json"
    docs = read_documents(path).documents
    assert len(docs) == 52
    assert sum(doc.metadata["reviewed"] for doc in docs) == 31
    krt6a = docs[0]
    assert_uniprot_shape(krt6a)
    assert krt6a.title == "Keratin, type II cytoskeletal 6A (KRT6A) — Homo sapiens (Human)"
    assert krt6a.metadata["gene_synonyms"] == ["K6A", "KRT6D"]
    assert "GO:0045095 keratin filament" in krt6a.metadata["go_terms"]


def test_text_helpers() -> None:
    assert strip_evidence("Nucleus {ECO:0000269|PubMed:1}. Cytoplasm.") == "Nucleus. Cytoplasm."
    assert strip_evidence("binds DNA. {ECO:0000269|PubMed:1, ECO:0000305}.") == "binds DNA."
    assert (
        strip_evidence("via its C- terminus, pre- and post-synaptic")
        == "via its C-terminus, pre- and post-synaptic"
    )
    assert go_term("GO:0005515; F:protein binding") == "GO:0005515 protein binding"
    assert go_term("cell adhesion [GO:0007155]") == "GO:0007155 cell adhesion"
    assert go_term("GO:0005788 C:endoplasmic reticulum lumen") == "GO:0005788 endoplasmic reticulum lumen"
    assert split_protein_names("Protein X (Alpha (beta) form) (EC 1.2.3.4) [Cleaved into: Y (Z)]") == (
        "Protein X",
        ["Alpha (beta) form"],
    )
