"""Hostile and broken input files: compression bombs, XML entity attacks, truncated and oversized records.

Every bomb is built here in a few milliseconds: one compressed member (gzip through zlib, or xz) of a 1 MiB block
is repeated, so a file of a few hundred kilobytes decompresses to hundreds of megabytes (past the default limit
once; past a limit lowered to 16 MiB for the format-by-format bombs). Each hostile input tried prints one line
(``pytest -s`` shows the lines that start with "faults:")."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from bioagent.errors import IngestError
from bioagent.ingest import files, read_documents
from bioagent.ingest.files import MAX_RECORD_CHARS, MIN_DECOMPRESSED_LIMIT
from bioagent.ingest.literature import pubmed_documents
from bioagent.ingest.xmlrecords import ENTITIES_REFUSED, iter_xml_records

pytestmark = pytest.mark.faults

MIB = 1 << 20
BOMB = "refusing (a compression bomb?)"
TOO_LONG = f"longer than {MAX_RECORD_CHARS:,} characters"
ARTICLE = (
    "<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}</ArticleTitle>"
    "</Article></MedlineCitation></PubmedArticle>\n"
)
PUBMED_HEAD = '<?xml version="1.0"?>\n<PubmedArticleSet>\n'
RIS = "TY  - JOUR\nTI  - {title}\nAB  - An abstract.\nER  - \n"
PUBMEDQA = '"{pmid}": {{"QUESTION": "q?", "CONTEXTS": ["{text}"], "LABELS": ["BACKGROUND"]}}'


def _gzip_member(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    return packer.compress(data) + packer.flush()


def write_bomb(path: Path, head: str, filler: str, size: int, tail: str = "") -> int:
    """``head``, then ``filler`` repeated to about ``size`` bytes, then ``tail``, compressed as the suffix (.gz or
    .xz) says in concatenated members; returns the compressed size."""
    block = (filler * (MIB // len(filler))).encode()
    pack = _gzip_member if path.suffix == ".gz" else lzma.compress
    one_block = pack(block)
    with path.open("wb") as out:
        out.write(pack(head.encode()))
        for _ in range(size // len(block)):
            out.write(one_block)
        out.write(pack(tail.encode()))
    return path.stat().st_size


def write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode(), compresslevel=1))
    return path


def expect_bomb_refused(path: Path, limit_text: str, fmt: str = "auto") -> float:
    started = time.perf_counter()
    with pytest.raises(IngestError) as caught:
        read_documents(path, fmt)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert f"decompresses to more than {limit_text}; {BOMB}" in message
    return time.perf_counter() - started


def test_gzip_bomb_is_refused_at_the_default_limit(tmp_path: Path) -> None:
    """A 300 kB gzip CSV that inflates past 256 MiB (the default limit for files under 12.8 MiB) stops there."""
    path = tmp_path / "bomb.csv.gz"
    compressed = write_bomb(path, "id,text\n1,", "a", MIN_DECOMPRESSED_LIMIT + 16 * MIB)
    assert compressed < MIB and files.decompressed_limit(compressed) == MIN_DECOMPRESSED_LIMIT == 256 * MIB
    assert files.decompressed_limit(100 * MIB) == 2000 * MIB
    seconds = expect_bomb_refused(path, "256 MiB")
    assert seconds < 15
    print(
        f"faults: 1 gzip bomb ({compressed:,} B -> 272 MiB) refused at the default limit in {seconds:.1f} s"
    )


# name, head, filler, tail: the filler is what a parser passes over without building records, so the bomb is
# only stopped by the decompressed-size limit.
BOMBS = [
    ("list.json", '[{"id": "1", "text": "ok"},', " ", "]"),
    ("lines.jsonl", '{"id": "1", "text": "ok"}\n', " ", "\n"),
    ("table.csv", "id,text\n1,ok\n2,", "b", "\n"),
    ("refs.ris", RIS.format(title="ok") + "TY  - JOUR\nAB  - ", "c", "\nER  - \n"),
    ("ori_pqal.json", "{" + PUBMEDQA.format(pmid=1, text="ok") + ",", " ", "}"),
    ("articles.xml", PUBMED_HEAD + ARTICLE.format(pmid=1, title="ok"), " ", "</PubmedArticleSet>"),
]


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
@pytest.mark.parametrize(("name", "head", "filler", "tail"), BOMBS, ids=[bomb[0] for bomb in BOMBS])
def test_compression_bombs_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, name: str, head: str, filler: str, tail: str
) -> None:
    """Every format that reads compressed input stops at the limit (lowered to 16 MiB to keep this fast)."""
    monkeypatch.setattr(files, "MIN_DECOMPRESSED_LIMIT", 16 * MIB)
    path = tmp_path / (name + suffix)
    compressed = write_bomb(path, head, filler, 48 * MIB, tail)
    assert compressed < 64 * 1024
    seconds = expect_bomb_refused(path, "16 MiB")
    assert seconds < 10
    print(f"faults: bomb {path.name} ({compressed:,} B -> 48 MiB) refused in {seconds:.2f} s")


def test_compressed_data_under_the_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MIN_DECOMPRESSED_LIMIT", 16 * MIB)
    path = tmp_path / "padded.jsonl.gz"
    write_bomb(path, '{"id": "1", "text": "ok"}\n', " ", 12 * MIB, '\n{"id": "2", "text": "ok"}\n')
    assert [doc.id for doc in read_documents(path).documents] == ["1", "2"]


def _laughs(level: int) -> str:
    """Ten references to the entity one level down ("&lol;" at the bottom)."""
    return f"&lol{level or ''};" * 10


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{_laughs(i - 1)}">\n' for i in range(1, 10))
    + "]>\n<PubmedArticleSet>\n"
    + ARTICLE.format(pmid=1, title="&lol9;")
    + "</PubmedArticleSet>\n"
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<PubmedArticleSet>\n" + ARTICLE.format(pmid=1, title="&xxe;") + "</PubmedArticleSet>\n"
)
PARAMETER = (
    '<?xml version="1.0"?>\n<!DOCTYPE uniprot [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>\n'
    '<uniprot xmlns="http://uniprot.org/uniprot"><entry><accession>P12345</accession></entry></uniprot>\n'
)
ENTITY_ATTACKS = {
    "billion-laughs.xml": BILLION_LAUGHS,
    "external-entity.xml": EXTERNAL,
    "parameter-entity-uniprot.xml": PARAMETER,
    "billion-laughs.xml.gz": BILLION_LAUGHS,
}


@pytest.mark.parametrize("name", list(ENTITY_ATTACKS))
def test_xml_entity_attacks_are_refused_without_expansion(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = ENTITY_ATTACKS[name]
    write_gz(path, text) if name.endswith(".gz") else path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(IngestError) as caught:
        read_documents(path)
    assert time.perf_counter() - started < 2
    message = str(caught.value)
    assert message.startswith(f"{path}: no ") and ENTITIES_REFUSED in message
    assert "lollol" not in message and "root:" not in message and len(message) < 400
    print(f"faults: XML entity attack {name} refused")


def test_entity_attack_in_a_live_response_is_refused() -> None:
    (record,) = pubmed_documents(io.StringIO(BILLION_LAUGHS), "PubmedArticle", "PubMed efetch")
    assert isinstance(record, IngestError) and record.reason == ENTITIES_REFUSED
    print("faults: XML entity attack in a PubMed efetch response refused")


def _ids(path: Path) -> tuple[list[str], list[tuple[int | None, str]]]:
    result = read_documents(path)
    return [doc.id for doc in result.documents], [(error.record, error.reason) for error in result.errors]


TRUNCATED: dict[str, tuple[str, list[str], int, str]] = {
    # name: (content, ids kept, bad record number, what its error says)
    "cut.jsonl": (
        '{"id": "1", "text": "a"}\n{"id": "2", "text": "b"}\n{"id": "3", "te',
        ["1", "2"],
        3,
        "valid JSON",
    ),
    "cut.csv": ('id,text\n1,a\n2,"b"\n3,"unterminated', ["1", "2"], 3, "unexpected end of data"),
    "cut.json": (
        '[{"id": "1", "text": "a"}, {"id": "2", "text": "b"}, {"id": "3", "t',
        ["1", "2"],
        3,
        "ends inside",
    ),
    "ori_pqal.json": (
        "{" + PUBMEDQA.format(pmid=1, text="a") + "," + PUBMEDQA.format(pmid=2, text="b")[:30],
        ["1"],
        2,
        "ends inside",
    ),
    "cut.ris": (
        RIS.format(title="a") + "TY  - JOUR\nTI  - b\n",
        ["cut-1"],
        2,
        "not closed by an 'ER  -' line",
    ),
}


@pytest.mark.parametrize("name", list(TRUNCATED))
def test_truncated_files_keep_the_good_records_and_name_the_bad_one(tmp_path: Path, name: str) -> None:
    content, kept, number, reason = TRUNCATED[name]
    path = tmp_path / name
    path.write_text(content)
    ids, errors = _ids(path)
    assert ids == kept
    assert [error[0] for error in errors] == [number] and reason in errors[0][1]
    print(f"faults: truncated {name}: {len(ids)} good records kept, record {number} named")


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
def test_truncated_and_corrupt_compressed_streams(tmp_path: Path, suffix: str) -> None:
    lines = "".join(
        json.dumps({"id": str(i), "text": f"record {i} " + "x" * (i % 97)}) + "\n" for i in range(20000)
    )
    packed = gzip.compress(lines.encode()) if suffix == ".gz" else lzma.compress(lines.encode())
    cut = tmp_path / f"cut.jsonl{suffix}"
    cut.write_bytes(packed[: len(packed) // 2])
    ids, errors = _ids(cut)
    assert 0 < len(ids) < 20000 and ids == [str(i) for i in range(len(ids))]
    assert "truncated or corrupt" in errors[-1][1]
    corrupt = tmp_path / f"corrupt.jsonl{suffix}"
    corrupt.write_bytes(packed[: len(packed) // 2] + bytes(64) + packed[len(packed) // 2 + 64 :])
    ids, errors = _ids(corrupt)
    assert 0 < len(ids) < 20000 and "truncated or corrupt" in errors[-1][1]
    print(f"faults: truncated and corrupt {suffix} streams kept their good records")


def _huge(char: str = "x") -> str:
    return char * (MAX_RECORD_CHARS + MIB)


OVERSIZED: dict[str, tuple[Callable[[], str], list[str], int]] = {
    # name: (content with a record over the limit in second place, ids kept, bad record number)
    "big.jsonl.gz": (
        lambda: (
            '{"id": "1", "text": "a"}\n{"id": "2", "text": "' + _huge() + '"}\n{"id": "3", "text": "c"}\n'
        ),
        ["1", "3"],
        2,
    ),
    "big.csv.gz": (lambda: "id,text\n1,a\n2," + _huge() + "\n3,c\n", ["1", "3"], 2),
    "big.ris.gz": (
        lambda: RIS.format(title="a") + RIS.format(title=_huge()) + RIS.format(title="c"),
        ["big.ris-1", "big.ris-3"],
        2,
    ),
    "big.xml.gz": (
        lambda: (
            PUBMED_HEAD
            + ARTICLE.format(pmid=1, title="a")
            + ARTICLE.format(pmid=2, title=_huge())
            + ARTICLE.format(pmid=3, title="c")
            + "</PubmedArticleSet>\n"
        ),
        ["1", "3"],
        2,
    ),
    "big.json.gz": (  # a JSON list cannot be read on past a record it cannot hold: the ones before are kept
        lambda: (
            '[{"id": "1", "text": "a"}, {"id": "2", "text": "' + _huge() + '"}, {"id": "3", "text": "c"}]'
        ),
        ["1"],
        2,
    ),
}


@pytest.mark.parametrize("name", list(OVERSIZED))
def test_oversized_record_is_skipped_and_named(tmp_path: Path, name: str) -> None:
    content, kept, number = OVERSIZED[name]
    path = write_gz(tmp_path / name, content())
    started = time.perf_counter()
    ids, errors = _ids(path)
    assert time.perf_counter() - started < 10
    assert ids == kept
    assert [error[0] for error in errors] == [number] and TOO_LONG in errors[0][1]
    print(f"faults: oversized record in {name} skipped and named")


def _best_time(read: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return min(times)


def _xml_split_time(mib: int, one_record: bool) -> float:
    if one_record:
        text = PUBMED_HEAD + ARTICLE.format(pmid=1, title="x" * (mib * MIB)) + "</PubmedArticleSet>"
    else:
        article = ARTICLE.format(pmid=1, title="word " * 200)
        text = PUBMED_HEAD + article * (mib * MIB // len(article)) + "</PubmedArticleSet>"
    return _best_time(lambda: sum(1 for _ in iter_xml_records(io.StringIO(text), "PubmedArticle")))


@pytest.mark.parametrize("one_record", [True, False], ids=["one-big-record", "many-records"])
def test_xml_splitter_time_is_linear(one_record: bool) -> None:
    small, large = _xml_split_time(4, one_record), _xml_split_time(16, one_record)
    assert large / small < 10, (
        small,
        large,
    )  # 4x the input: linear ~4-6x, the old quadratic splitter ~16-20x


def test_json_list_item_time_is_linear() -> None:
    from bioagent.ingest.jsonstream import iter_json_members

    def split_time(mib: int) -> float:
        text = '[{"id": "1", "text": "' + "x" * (mib * MIB) + '"}]'
        return _best_time(lambda: list(iter_json_members(io.StringIO(text))))

    small, large = split_time(4), split_time(16)
    assert large / small < 10, (small, large)
