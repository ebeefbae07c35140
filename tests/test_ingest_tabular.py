"""CSV/TSV and JSONL ingestion with column mapping (hand-written files in tmp_path, plus one real CSV)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bioagent.errors import IngestError
from bioagent.ingest import ColumnMap, detect_format, read_documents


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_default_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "papers.csv",
        'PMID,Title,Abstract,journal\n1,First,"Text, with comma",J1\n2,Second,More,\n',
    )
    result = read_documents(path)
    assert result.format == "csv"
    assert [(d.id, d.title, d.text) for d in result.documents] == [
        ("1", "First", "Text, with comma"),
        ("2", "Second", "More"),
    ]
    assert result.documents[0].metadata == {"journal": "J1"}
    assert result.documents[1].metadata == {}  # empty cells are left out
    assert all(doc.source == "csv" for doc in result.documents)


def test_csv_explicit_columns_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "key,heading,body,year,label\na,T,B,2001,1\n")
    columns = ColumnMap(id="key", title="heading", text="body", metadata=("year",))
    doc = read_documents(path, columns=columns).documents[0]
    assert (doc.id, doc.title, doc.text, doc.metadata) == ("a", "T", "B", {"year": "2001"})


def test_tsv_and_semicolon_sniffing(tmp_path: Path) -> None:
    tsv = write(tmp_path / "x.tsv", "id\ttext\n7\thello\n")
    assert detect_format(tsv) == "csv"
    assert read_documents(tsv).documents[0].text == "hello"
    semi = write(tmp_path / "x.txt", "id;text\n7;hello\n8;again\n")
    assert read_documents(semi, "csv").documents[1].id == "8"


def test_missing_columns_list_what_is_available(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "name,words\na,b\n")
    with pytest.raises(IngestError, match=r"no id column found .*available columns: name, words"):
        read_documents(path)
    with pytest.raises(IngestError, match=r"no text column found .*available columns: name, words"):
        read_documents(path, columns=ColumnMap(id="name"))
    with pytest.raises(IngestError, match=r"no metadata column found \(looked for 'year'\)"):
        read_documents(path, columns=ColumnMap(id="name", text="words", metadata=("year",)))


def test_cohen_screening_csv(shared_data: Path) -> None:
    result = read_documents(shared_data / "screening_cohen2006" / "ADHD.csv")
    assert len(result.documents) + len(result.errors) == 851
    assert len(result.documents) > 800
    doc = result.documents[0]
    assert doc.id.isdigit() and doc.metadata["record_id"] == "1"  # pubmedID preferred over record_id
    assert all("no title or text" in error.reason for error in result.errors)


def test_jsonl_columns_nested_metadata_and_list_text(tmp_path: Path) -> None:
    lines = [
        {"doc_id": 5, "title": "A", "abstract": ["part one", "part two"], "metadata": {"year": 2020}},
        {"doc_id": 6, "title": "B", "abstract": "plain", "extra": "x"},
    ]
    path = write(tmp_path / "docs.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    result = read_documents(path)
    assert result.format == "jsonl"
    first, second = result.documents
    assert (first.id, first.text, first.metadata) == ("5", "part one part two", {"year": 2020})
    assert second.metadata == {"extra": "x"}


def test_json_list_and_gzip(tmp_path: Path) -> None:
    records = [{"id": "a", "text": "alpha"}, {"id": "b", "text": "beta"}]
    listed = write(tmp_path / "docs.json", json.dumps(records, indent=2))
    assert [d.id for d in read_documents(listed).documents] == ["a", "b"]
    packed = tmp_path / "docs.jsonl.gz"
    packed.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in records).encode()))
    result = read_documents(packed)
    assert (result.format, [d.text for d in result.documents]) == ("jsonl", ["alpha", "beta"])


def test_utf8_bom_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,text\n1,caf\u00e9\n".encode())
    assert read_documents(path).documents[0].text == "caf\u00e9"


@pytest.mark.parametrize("name", ["docs.csv", "docs.csv.gz"])
def test_progress_bar_reads_plain_and_gzip(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "id,text\n" + "".join(f"{i},text {i}\n" for i in range(500))
    path = tmp_path / name
    path.write_bytes(gzip.compress(data.encode()) if name.endswith(".gz") else data.encode())
    result = read_documents(path, progress=True)
    assert len(result.documents) == 500
    assert name in capsys.readouterr().err
