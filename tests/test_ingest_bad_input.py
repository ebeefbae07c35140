"""Bad input: one-line errors naming the file (and record); good records of a partly bad file survive."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from bioagent.errors import IngestError
from bioagent.ingest import FORMATS, detect_format, read_documents

ARTICLE = (
    "<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>Title {pmid}</ArticleTitle>"
    "<Abstract><AbstractText>Abstract {pmid}.</AbstractText></Abstract></Article></MedlineCitation>"
    "</PubmedArticle>\n"
)
UNIPROT_ENTRY = """ID   TEST{n}_HUMAN             Reviewed;          10 AA.
AC   P1234{n};
DE   RecName: Full=Test protein {n};
GN   Name=TST{n};
OS   Homo sapiens (Human).
OX   NCBI_TaxID=9606;
CC   -!- FUNCTION: Does test {n} things. {{ECO:0000269|PubMed:1}}.
DR   GO; GO:0005634; C:nucleus; IDA:UniProtKB.
SQ   SEQUENCE   10 AA;  1111 MW;  0000000000000000 CRC64;
     MEEPQSDPSV
//
"""


def pubmed_set(*records: str) -> str:
    return '<?xml version="1.0"?>\n<PubmedArticleSet>\n' + "".join(records) + "</PubmedArticleSet>\n"


def one_line(error: IngestError) -> str:
    text = str(error)
    assert "\n" not in text
    return text


def test_malformed_xml_record_among_good_ones(tmp_path: Path) -> None:
    broken = "<PubmedArticle><MedlineCitation><PMID>2</PMID><Article><ArticleTitle>Bad & worse</Article>\n"
    text = pubmed_set(ARTICLE.format(pmid=1), broken + "</PubmedArticle>\n", ARTICLE.format(pmid=3))
    path = tmp_path / "mixed.xml"
    path.write_text(text)
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["1", "3"]
    (error,) = result.errors
    assert error.record == 2
    assert one_line(error).startswith(f"{path}, record 2: malformed XML")


def test_unclosed_xml_record_does_not_swallow_the_next(tmp_path: Path) -> None:
    unclosed = "<PubmedArticle><MedlineCitation><PMID>2</PMID>\n"
    path = tmp_path / "unclosed.xml.gz"
    path.write_bytes(
        gzip.compress(pubmed_set(ARTICLE.format(pmid=1), unclosed, ARTICLE.format(pmid=3)).encode())
    )
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["1", "3"]
    assert [(e.record, e.reason) for e in result.errors] == [(2, "<PubmedArticle> record has no closing tag")]


def test_truncated_xml_file_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<PubmedArticleSet>\n' + ARTICLE.format(pmid=1) + "<PubmedArticle><Medli"
    )
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["1"]
    assert [(e.record, e.reason) for e in result.errors] == [
        (2, "unterminated <PubmedArticle> record (the file ends inside it)")
    ]


def test_record_without_pmid_or_text(tmp_path: Path) -> None:
    no_pmid = "<PubmedArticle><MedlineCitation><Article><ArticleTitle>x</ArticleTitle></Article>"
    no_text = "<PubmedArticle><MedlineCitation><PMID>5</PMID><Article></Article>"
    tail = "</MedlineCitation></PubmedArticle>"
    path = tmp_path / "odd.xml"
    path.write_text(pubmed_set(no_pmid + tail, no_text + tail, ARTICLE.format(pmid=6)))
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["6"]
    assert [(e.record, e.reason) for e in result.errors] == [
        (1, "record has no PMID"),
        (2, "PMID 5 has neither title nor abstract"),
    ]


def test_csv_with_broken_rows(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('id,title,text\n1,A,good\n2,B,"bad"quote,x\n3,C\n4,D,fine\n,E,no id\n')
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["1", "4"]
    assert [e.record for e in result.errors] == [2, 3, 5]
    assert "line 4: expected 3 fields, found 2" in one_line(result.errors[1])
    assert "empty id" in result.errors[2].reason


def test_bad_jsonl_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "1", "text": "ok"}\n{"id": "2", "text": \n[1, 2]\n{"id": "4", "text": "ok"}\n')
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["1", "4"]
    assert [e.record for e in result.errors] == [2, 3]
    assert "not valid JSON" in result.errors[0].reason and "expected a JSON object" in result.errors[1].reason


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,text\n1,first\n1,second\n")
    result = read_documents(path)
    assert [doc.text for doc in result.documents] == ["first"]
    assert "duplicate id '1' (first in record 1)" in result.errors[0].reason


def test_bad_uniprot_flat_record(tmp_path: Path) -> None:
    bad = "ID   BROKEN_HUMAN   Reviewed;   10 AA.\nAC   P99999;\nSQ   SEQUENCE   10 AA;\n     MEEP\n//\n"
    path = tmp_path / "mixed.dat"
    path.write_text(UNIPROT_ENTRY.format(n=1) + bad + UNIPROT_ENTRY.format(n=2))
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["P12341", "P12342"]
    assert [e.record for e in result.errors] == [2]
    doc = result.documents[0]
    assert doc.metadata["function"] == "Does test 1 things."
    assert doc.metadata["go_terms"] == ["GO:0005634 nucleus"]


def test_bad_uniprot_tsv_accession(tmp_path: Path) -> None:
    path = tmp_path / "u.tsv"
    path.write_text(
        "Entry\tProtein names\tGene Names\nP04637\tCellular tumor antigen p53\tTP53 P53\nnot-an-id\tX\tY\n"
    )
    result = read_documents(path)
    assert [doc.id for doc in result.documents] == ["P04637"]
    assert "'not-an-id' is not a UniProt accession" in result.errors[0].reason


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match="file is empty") as caught:
        read_documents(path)
    assert one_line(caught.value).startswith(str(path))


def test_empty_gzip(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(IngestError, match="file is empty"):
        read_documents(path)


def test_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("id,text\n")
    with pytest.raises(IngestError, match=r"no csv records could be read"):
        read_documents(path)


def test_nothing_parsable_names_first_reason(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("not json\nstill not\n")
    with pytest.raises(
        IngestError, match=r"no jsonl records could be read \(2 bad records; first: not valid JSON"
    ):
        read_documents(path)


def test_wrong_format_flag(shared_data: Path, tmp_path: Path) -> None:
    pubmed = shared_data / "medline_pubmed_biopython_tests" / "Entrez" / "pubmed1.xml"
    with pytest.raises(
        IngestError, match="--format uniprot-dat does not fit this file: it looks like pubmed-xml"
    ):
        read_documents(pubmed, "uniprot-dat")
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("id,text\n1,a\n")
    with pytest.raises(IngestError, match="--format pubmed-xml does not fit this file"):
        read_documents(csv_file, "pubmed-xml")
    with pytest.raises(IngestError, match="--format medline does not fit"):
        read_documents(csv_file, "medline")
    with pytest.raises(IngestError, match=r"no beir records could be read"):
        read_documents(csv_file, "beir")


def test_unknown_format_flag_lists_choices(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,text\n1,a\n")
    with pytest.raises(IngestError, match="unknown format 'xlsx'; choose one of: auto, beir, jsonl, csv"):
        read_documents(path, "xlsx")


def test_unknown_content_lists_choices(tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_text("just some words\n")
    with pytest.raises(
        IngestError, match=r"cannot tell the file's format; pass --format \(one of: auto, beir"
    ):
        detect_format(path)
    article = tmp_path / "paper.nxml"
    article.write_text("<?xml version='1.0'?><article><front/></article>")
    with pytest.raises(IngestError, match=r"XML root <article> is not a supported format"):
        detect_format(article)
    assert {"pubmedqa", "uniprot-json"} <= set(FORMATS)


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(IngestError, match="no such file or folder") as caught:
        read_documents(missing)
    assert one_line(caught.value) == f"{missing}: no such file or folder"


def test_folder_without_corpus(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="folder without corpus.jsonl"):
        read_documents(tmp_path)
    with pytest.raises(IngestError, match="is a folder; --format csv needs a file"):
        read_documents(tmp_path, "csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_path(tmp_path: Path) -> None:
    path = tmp_path / "secret.csv"
    path.write_text("id,text\n1,a\n")
    path.chmod(0)
    with pytest.raises(IngestError, match="cannot read file"):
        read_documents(path)


def test_unreadable_path_reported_on_open_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,text\n1,a\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(IngestError, match=r"x.csv: cannot read file: Permission denied"):
        read_documents(path)


def test_non_utf8_bytes_never_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "id,title,text\n1,Caf\u00e9,na\u00efve \u2013 r\u00e9sum\u00e9\n".encode("cp1252") + b"2,ok,\x81bad\n"
    )
    docs = read_documents(path).documents
    assert docs[0].title == "Caf\u00e9"
    assert docs[0].text == "na\u00efve \u2013 r\u00e9sum\u00e9"
    assert docs[1].text == "\ufffdbad"


def test_mixed_utf8_and_latin1(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        '{"id": "1", "text": "\u00b5g \u2264 5"}\n'.encode() + b'{"id": "2", "text": "5 \xb5g"}\n'
    )
    docs = read_documents(path).documents
    assert [doc.text for doc in docs] == ["\u00b5g \u2264 5", "5 \u00b5g"]


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml.gz"
    path.write_bytes(gzip.compress(pubmed_set(ARTICLE.format(pmid=1)).encode())[:30])
    with pytest.raises(IngestError, match=r"bad.xml.gz"):
        read_documents(path)
