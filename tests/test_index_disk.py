"""Disk-backed indexes: documents in SQLite, BM25 memory-mapped with bm25s's scores, constant-time loading,
streaming builds, cheap verification of big files and the migration of format-1 indexes (hash embedder)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bioagent.errors import IndexLoadError
from bioagent.index import HashEmbedder, build_index, load_index
from bioagent.index.bm25_writer import BM25Writer
from bioagent.index.dense import estimate_build_bytes
from bioagent.index.doctable import DocumentTable
from bioagent.index.lexical import LexicalStore, bm25s_module, stemmer
from bioagent.index.manifest import MANIFEST_NAME, checksum_files, read_manifest, verify_checksums
from bioagent.index.search import top_positive
from bioagent.settings import IndexSettings, Settings
from bioagent.types import Document

WORDS = " ".join(f"filler{i}" for i in range(70))
DOCS = [
    Document(
        id="1",
        title="Imatinib inhibits BCR-ABL",
        text="Imatinib is a tyrosine kinase inhibitor.",
        source="pubmed",
    ),
    Document(
        id="2", title="TP53 in cancer", text="The tumour suppressor p53 is mutated.", metadata={"year": 2001}
    ),
    Document(id="L", title="Long", text=f"{WORDS} the rare word zebrafish {WORDS}"),
    Document(id="3", title="", text="Insulin lowers blood glucose."),
]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        cache_dir=tmp_path / "cache",
        embedding={"backend": "hash", "hash_dimension": 64},
        index={"chunk_words": 30, "chunk_overlap": 5},
    )


@pytest.fixture()
def built(tmp_path: Path, settings: Settings):
    return build_index(DOCS, tmp_path / "idx", settings)


def scifact_texts(shared_data: Path, n: int) -> list[str]:
    lines = (shared_data / "scifact/beir_format/corpus.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return [Document(id="", title=r["title"], text=r["text"]).full_text() for r in map(json.loads, lines)]


def test_streamed_bm25_scores_equal_bm25s_in_memory(tmp_path: Path, shared_data: Path) -> None:
    texts = [*scifact_texts(shared_data, 400), "", "the of and"]  # an empty and an all-stop-word text too
    writer = BM25Writer(tmp_path / "bm25", k1=1.2, b=0.75)
    for start in range(0, len(texts), 64):
        writer.add(texts[start : start + 64])
    assert writer.finish() == len(texts) and not (tmp_path / "bm25" / ".spill").exists()
    streamed = LexicalStore.load(tmp_path / "bm25")
    assert isinstance(streamed.retriever.scores["data"], np.memmap)
    bm25s = bm25s_module()
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False), show_progress=False
    )
    for query in [*texts[:40:4], "p53 tumour suppressor", "nothing indexed xyzzy"]:
        np.testing.assert_array_equal(streamed.score_all(query), LexicalStore(reference).score_all(query))


def test_loading_reads_no_document_and_hits_are_fetched_by_row(
    built, settings: Settings, monkeypatch
) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the corpus was read while loading")

    monkeypatch.setattr(DocumentTable, "rows", refuse)
    monkeypatch.setattr(DocumentTable, "chunk_texts", refuse)
    loaded = load_index(built.path, settings)
    assert len(loaded) == 4 and len(loaded.chunks) > 4 and isinstance(loaded.documents, DocumentTable)
    monkeypatch.undo()
    hit = loaded.search("zebrafish", k=1, mode="lexical")[0]
    assert hit.id == "L" and hit.metadata["chunk_id"].startswith("L#") and "zebrafish" in hit.text
    assert loaded.search("tumour suppressor p53", k=1)[0].metadata == {"year": 2001}


def test_documents_are_a_read_only_sequence_with_lookups(built) -> None:
    documents = built.documents
    assert [d.id for d in documents] == ["1", "2", "L", "3"]
    assert documents[-1].text == "Insulin lowers blood glucose." and [d.id for d in documents[::2]] == [
        "1",
        "L",
    ]
    assert documents[1].metadata == {"year": 2001} and documents[0].source == "pubmed"
    with pytest.raises(IndexError):
        documents[4]
    assert built.get("L#1").id == "L" and built.get("nope") is None
    long_rows = documents.chunk_rows(2)
    assert len(long_rows) > 1
    assert built.chunk_row("L#1") == long_rows.start + 1 and built.chunk_row("3") == long_rows.stop
    assert built.chunk_row("L") is None and built.chunk_row("L#99") is None


def test_a_build_streams_its_input_in_blocks(tmp_path: Path, settings: Settings, monkeypatch) -> None:
    batches: list[int] = []
    added: list[int] = []

    class Recording(HashEmbedder):
        def encode_documents(self, texts, progress=False):
            batches.append(len(texts))
            return super().encode_documents(texts)

    original = BM25Writer.add
    monkeypatch.setattr(
        BM25Writer, "add", lambda self, texts: (added.append(len(texts)), original(self, texts))
    )
    small = settings.model_copy(update={"index": settings.index.model_copy(update={"build_block": 2})})
    index = build_index(
        (doc for doc in DOCS), tmp_path / "idx", small, Recording(64)
    )  # a generator, read once
    assert len(index) == 4 and max(batches) <= 2 and max(added) <= 2
    assert sum(added) == sum(batches) == len(index.chunks)


def test_big_files_are_checked_by_size_and_in_full_on_request(built, settings: Settings) -> None:
    table = built.path / built.manifest.data_dir / "documents.sqlite"
    data = table.read_bytes()
    table.write_bytes(data.replace(b"Insulin", b"Inzulin"))  # same size
    with pytest.raises(IndexLoadError, match="does not match its checksum"):
        load_index(built.path, settings)
    lenient = settings.model_copy(update={"index": settings.index.model_copy(update={"verify_max_mb": 0})})
    assert len(load_index(built.path, lenient)) == 4  # bigger than verify_max_mb: size only
    with pytest.raises(IndexLoadError, match="documents.sqlite does not match its checksum"):
        verify_checksums(built.path, built.manifest)
    table.write_bytes(data[:-10])
    with pytest.raises(IndexLoadError, match="has \\d+ bytes, but the manifest says"):
        load_index(built.path, lenient, verify=False)


def test_the_build_memory_estimate_no_longer_counts_the_input_vectors() -> None:
    ivfpq = IndexSettings(kind="ivfpq")
    assert estimate_build_bytes(2_000_000, 384, ivfpq) < 0.8 * 2**30  # the float32 input alone is 2.9 GiB
    assert estimate_build_bytes(2_000_000, 384, IndexSettings(kind="flat")) > 2_000_000 * 1536


def downgrade_to_format_1(index) -> None:
    """Rewrite an index folder as bioagent wrote it before documents moved to disk (format 1)."""
    data = index.path / index.manifest.data_dir
    table = DocumentTable(data)
    with (data / "documents.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(doc.model_dump_json() + "\n" for doc in table)
    with (data / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for row in index.chunks:
            chunk_id, doc, text = table.chunk(row)
            handle.write(json.dumps({"id": chunk_id, "doc": doc, **({"text": text} if text else {})}) + "\n")
    table.close()
    (data / "documents.sqlite").unlink()
    (data / "chunk_offsets.npy").unlink()
    manifest = json.loads((index.path / MANIFEST_NAME).read_text())
    manifest.update(format_version=1, checksums=checksum_files(data)[0])
    del manifest["sizes"]
    (index.path / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_an_old_index_is_refused_with_the_command_that_converts_it(
    built, settings: Settings, tmp_path
) -> None:
    queries = ["zebrafish", "kinase inhibitor imatinib", "glucose"]
    expected = [[(h.id, h.text, h.metadata) for h in built.search(q, k=3)] for q in queries]
    downgrade_to_format_1(built)
    with pytest.raises(IndexLoadError, match=f"convert it once with `bioagent index migrate {built.path}`"):
        load_index(built.path, settings)
    env = {**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", "BIOAGENT_EMBEDDING__HASH_DIMENSION": "64"}
    run = [sys.executable, "-m", "bioagent.cli", "index", "migrate", str(built.path)]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0 and "migrated" in first.stdout and "4 documents" in first.stdout
    again = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert "already in the current format" in again.stdout
    migrated = load_index(built.path, settings)
    assert read_manifest(built.path).format_version == 2 and len(list(built.path.glob("data-*"))) == 1
    assert [[(h.id, h.text, h.metadata) for h in migrated.search(q, k=3)] for q in queries] == expected


def test_adding_to_a_migrated_index_keeps_the_old_documents(built, settings: Settings) -> None:
    from bioagent.index import add_documents
    from bioagent.index.migrate import migrate_index

    downgrade_to_format_1(built)
    migrate_index(built.path)
    updated, report = add_documents(
        load_index(built.path, settings), [Document(id="9", text="metformin AMPK")], settings
    )
    assert report.added == 1 and [d.id for d in updated.documents] == ["1", "2", "L", "3", "9"]
    assert load_index(built.path, settings).search("metformin", k=1, mode="lexical")[0].id == "9"
    shutil.rmtree(built.path)


@pytest.mark.parametrize(
    ("rows", "positive"), [(10, 3), (1_000, 0), (1_000, 1_000), (300_000, 200_000), (300_000, 40)]
)
def test_the_lexical_candidates_are_the_top_positive_scores(rows: int, positive: int) -> None:
    rng = np.random.default_rng(rows + positive)
    scores = np.zeros(rows, dtype=np.float32)
    scores[rng.choice(rows, positive, replace=False)] = rng.random(positive, dtype=np.float32) + 0.01
    for take in (1, 200):
        expected = np.argsort(-scores, kind="stable")[: min(take, positive)]
        assert set(top_positive(scores, take).tolist()) == set(expected.tolist())
