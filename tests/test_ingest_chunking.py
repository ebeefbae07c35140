"""Chunking: overlapping word windows with stable ids that map back to the source text."""

from __future__ import annotations

import pytest

from bioagent.ingest import chunk_documents
from bioagent.types import Document


def numbered(n: int) -> str:
    return "  ".join(f"w{i}" for i in range(n))  # double spaces: offsets must point into the original text


def test_short_documents_pass_through_unchanged() -> None:
    doc = Document(id="d1", title="T", text=numbered(10), source="pubmed", metadata={"pmid": "d1"})
    assert chunk_documents([doc], words=10, overlap=2) == [doc]


def test_long_document_chunks_ids_offsets_and_overlap() -> None:
    doc = Document(id="P04637", title="p53", text=numbered(25), source="uniprot", metadata={"gene": "TP53"})
    chunks = chunk_documents([doc], words=10, overlap=3)
    assert [c.id for c in chunks] == ["P04637#0", "P04637#1", "P04637#2", "P04637#3"]
    spans = [(c.metadata["word_start"], c.metadata["word_end"]) for c in chunks]
    assert spans == [(0, 10), (7, 17), (14, 24), (21, 25)]
    for chunk in chunks:
        meta = chunk.metadata
        assert chunk.parent_id == meta["parent_id"] == "P04637"
        assert doc.text[meta["char_start"] : meta["char_end"]] == chunk.text
        assert chunk.text.split() == doc.text.split()[meta["word_start"] : meta["word_end"]]
        assert (chunk.title, chunk.source, meta["gene"], meta["n_chunks"]) == (
            "p53",
            "uniprot",
            "TP53",
            len(chunks),
        )
    assert chunks[-1].metadata["word_end"] == 25
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]


def test_windows_cover_every_word_exactly_to_the_end() -> None:
    doc = Document(id="x", text=numbered(21))
    chunks = chunk_documents([doc], words=10, overlap=0)
    assert [(c.metadata["word_start"], c.metadata["word_end"]) for c in chunks] == [
        (0, 10),
        (10, 20),
        (20, 21),
    ]


def test_deterministic_and_input_untouched() -> None:
    docs = [Document(id=f"d{i}", text=numbered(30 + i), metadata={"k": i}) for i in range(3)]
    before = [doc.model_copy(deep=True) for doc in docs]
    first = chunk_documents(docs, words=12, overlap=4)
    second = chunk_documents(docs, words=12, overlap=4)
    assert first == second
    assert docs == before


@pytest.mark.parametrize(("words", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_invalid_sizes(words: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="chunk"):
        chunk_documents([Document(id="x", text="a b c")], words=words, overlap=overlap)
