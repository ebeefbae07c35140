"""Split long texts into overlapping word windows with stable ids that map back to the source document."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bioagent.types import Document

_WORD = re.compile(r"\S+")


def chunk_documents(docs: Iterable[Document], words: int, overlap: int) -> list[Document]:
    """Documents whose text has more than ``words`` words become chunks ``<id>#0``, ``<id>#1``, …

    Consecutive chunks share ``overlap`` words. Each chunk keeps the parent's title, source and metadata, plus
    ``parent_id``, ``chunk`` (its number), ``n_chunks``, ``char_start``/``char_end`` (offsets into the
    parent text) and ``word_start``/``word_end``. Shorter documents pass through unchanged. The output depends
    only on the input, so rebuilding an index yields the same ids.
    """
    if words < 1:
        raise ValueError(f"chunk size must be at least 1 word, got {words}")
    if not 0 <= overlap < words:
        raise ValueError(f"chunk overlap must be between 0 and {words - 1} words, got {overlap}")
    chunks: list[Document] = []
    for doc in docs:
        spans = [match.span() for match in _WORD.finditer(doc.text)]
        if len(spans) <= words:
            chunks.append(doc)
            continue
        windows = _windows(len(spans), words, overlap)
        for number, (first, last) in enumerate(windows):
            char_start, char_end = spans[first][0], spans[last - 1][1]
            metadata = {
                **doc.metadata,
                "parent_id": doc.id,
                "chunk": number,
                "n_chunks": len(windows),
                "char_start": char_start,
                "char_end": char_end,
                "word_start": first,
                "word_end": last,
            }
            chunks.append(
                Document(
                    id=f"{doc.id}#{number}",
                    title=doc.title,
                    text=doc.text[char_start:char_end],
                    source=doc.source,
                    metadata=metadata,
                )
            )
    return chunks


def _windows(n_words: int, words: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges [start, end) covering ``n_words`` words; the last window ends at the last word."""
    step = words - overlap
    windows = []
    start = 0
    while True:
        end = min(start + words, n_words)
        windows.append((start, end))
        if end == n_words:
            return windows
        start += step
