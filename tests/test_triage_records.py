"""Loading records for screening: every format, duplicates, empty and unreadable records, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.errors import BioagentError
from bioagent.triage.records import RecordSet, as_record_set, load_records, parse_label, read_labels
from bioagent.types import Document

FIXTURES = Path(__file__).parent / "fixtures" / "triage"


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [("records.csv", "csv", 12), ("records.jsonl", "jsonl", 3), ("records.ris", "ris", 2),
     ("records.nbib", "medline", 3), ("records.xml", "pubmed-xml", 3)],
)  # fmt: skip
def test_every_input_record_becomes_one_record(name: str, fmt: str, count: int) -> None:
    records = load_records(FIXTURES / name)
    assert records.format == fmt
    assert len(records) == count
    assert len(set(records.ids)) == count  # ids are unique even when the input repeats one


def test_csv_keeps_id_column_other_columns_and_empty_rows() -> None:
    records = load_records(FIXTURES / "records.csv")
    assert records.ids[:3] == ["1", "2", "3"]  # record_id column, not pubmedID
    first = records.get("1")
    assert (
        first is not None and first.metadata["pubmedID"] == "1001" and first.metadata["label_included"] == "1"
    )
    assert records.problems == {"9": "no title or abstract"}


def test_duplicates_by_pmid_and_by_normalised_title() -> None:
    records = load_records(FIXTURES / "records.csv")
    # 7 repeats 1's title (case and final full stop differ); 8 repeats 1's PMID.
    assert records.duplicate_of == {"7": "1", "8": "1"}


def test_repeated_pmid_in_pubmed_xml_is_kept_as_a_flagged_duplicate() -> None:
    records = load_records(FIXTURES / "records.xml")
    assert records.ids == ["4001", "4002", "4001~2"]
    assert records.duplicate_of == {"4001~2": "4001"}


def test_records_without_title_or_abstract_are_placeholders_not_dropped() -> None:
    medline = load_records(FIXTURES / "records.nbib")
    assert "3003" in medline.ids and "neither" in medline.problems["3003"]
    jsonl = load_records(FIXTURES / "records.jsonl")
    assert "a3" in jsonl.problems


def test_non_utf8_csv_is_read_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "record_id,title,abstract\n1,Caf\xe9 study,Na\xefve patients were randomised.\n".encode("cp1252")
    )
    records = load_records(path)
    assert records.records[0].title == "Café study"
    assert "Naïve" in records.records[0].text


def test_csv_without_id_column_uses_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("title,abstract\nA trial,Text one.\nB trial,Text two.\n", encoding="utf-8")
    assert load_records(path).ids == ["1", "2"]


def test_label_column_and_labels_file() -> None:
    records = load_records(FIXTURES / "records.csv")
    labels = records.column_labels("label_included")
    assert sum(labels.values()) == 6 and len(labels) == 12
    assert read_labels(FIXTURES / "labels.csv", records) == {"1": 1, "5": 0}
    with pytest.raises(BioagentError, match=r"no record has a 0/1 label in column 'nope'"):
        records.column_labels("nope")


def test_records_missing_a_label_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    path.write_text("record_id,title,label\n1,A,1\n2,B,\n3,C,0\n4,D,maybe\n", encoding="utf-8")
    with pytest.raises(
        BioagentError, match=r"2 of 4 records have no label in column 'label' \(first: 2, 4\)"
    ):
        load_records(path).column_labels("label")


def test_unmatched_label_ids_are_counted() -> None:
    records = load_records(FIXTURES / "records.csv")
    with pytest.raises(
        BioagentError, match=r"2 of 3 label ids do not match any input record \(first: 99, 100\)"
    ):
        read_labels(FIXTURES / "bad_labels.csv", records)


def test_parse_label_values() -> None:
    assert [parse_label(v) for v in ("1", "include", "Yes", "1.0", True)] == [1, 1, 1, 1, 1]
    assert [parse_label(v) for v in ("0", "exclude", "no", 0)] == [0, 0, 0, 0]
    assert [parse_label(v) for v in ("", None, "maybe", float("nan"))] == [None, None, None, None]


def test_as_record_set_accepts_documents_dicts_and_strings() -> None:
    records = as_record_set(
        [Document(id="d", title="T"), {"id": 7, "title": "Dict", "abstract_extra": "x"}, "plain text"]
    )
    assert isinstance(records, RecordSet)
    assert records.ids == ["d", "7", "3"]
    assert records.records[1].metadata == {"abstract_extra": "x"}
