"""A streaming BM25 build that writes bm25s's on-disk format, so the index is opened with bm25s's own
memory-mapped loading (``BM25.load(mmap=True)``).

bm25s builds in memory from every text's tokens at once. This writer takes texts in blocks: pass one tokenises each
block (bm25s's tokenisation: English stop words, PyStemmer; see :class:`~bioagent.index.lexical.Tokenizer`) and spills its (document, token, term frequency) triples
to disk while counting document frequencies; pass two, once the corpus statistics are known, computes bm25s's
Lucene scores and scatters them into the memory-mapped CSC arrays. Memory holds the vocabulary and one block.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.index.lexical import Tokenizer, bm25s_module

if TYPE_CHECKING:
    from numpy.typing import NDArray

SPILL_DIR = ".spill"
_FILES = {"data": "data.csc.index.npy", "indices": "indices.csc.index.npy", "indptr": "indptr.csc.index.npy"}


@dataclass(frozen=True)
class _Block:
    documents: int
    entries: int


class BM25Writer:
    """Write a BM25 index of texts given in blocks to ``folder`` (bm25s format); call :meth:`finish` once."""

    def __init__(self, folder: Path, k1: float, b: float) -> None:
        self.folder = folder
        self.spill = folder / SPILL_DIR
        self.spill.mkdir(parents=True, exist_ok=True)
        self.model = bm25s_module().BM25(k1=k1, b=b)
        if (self.model.method, self.model.idf_method) != ("lucene", "lucene"):
            raise ValueError(f"bm25s's default method changed to {self.model.method!r}; update this writer")
        self.tokenizer = Tokenizer()
        self.document_frequency = np.zeros(1024, dtype=np.int64)
        self.blocks: list[_Block] = []
        self.total_length = 0

    @property
    def documents(self) -> int:
        return sum(block.documents for block in self.blocks)

    def add(self, texts: Sequence[str]) -> None:
        """Tokenise a block of texts (the next rows) and spill its term frequencies."""
        flat, doc_of = self.tokenizer.ids(texts)
        lengths = np.bincount(doc_of, minlength=len(texts))
        keys, frequency = np.unique((doc_of << 32) | flat, return_counts=True)
        token = keys & 0xFFFFFFFF
        vocabulary = self.tokenizer.stems
        if len(vocabulary) > len(self.document_frequency):
            grown = np.zeros(2 * len(vocabulary), dtype=np.int64)
            grown[: len(self.document_frequency)] = self.document_frequency
            self.document_frequency = grown
        self.document_frequency[: len(vocabulary)] += np.bincount(token, minlength=len(vocabulary))
        number = len(self.blocks)
        np.save(self.spill / f"{number}.lengths.npy", lengths.astype(np.int32))
        np.save(self.spill / f"{number}.docs.npy", (keys >> 32).astype(np.int32))
        np.save(self.spill / f"{number}.tokens.npy", token.astype(np.int32))
        np.save(self.spill / f"{number}.tf.npy", frequency.astype(np.int32))
        self.blocks.append(_Block(len(texts), len(keys)))
        self.total_length += int(lengths.sum())

    def finish(self) -> int:
        """Compute the scores, write the index files and remove the spill; returns the number of texts."""
        n_docs, vocab_size = self.documents, len(self.tokenizer.stems)
        df = self.document_frequency[:vocab_size]
        indptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(df)])
        out = self._open_outputs(int(indptr[-1]))
        out["indptr"][:] = indptr
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = self.total_length / n_docs if n_docs else 0.0
        cursor, first_doc = indptr[:-1].copy(), 0
        for number, block in enumerate(self.blocks):
            self._scatter(number, first_doc, idf, average, cursor, out)
            first_doc += block.documents
        for array in out.values():
            array.flush()
        del out
        self._write_json(n_docs)
        shutil.rmtree(self.spill)
        return n_docs

    def _scatter(
        self,
        number: int,
        first_doc: int,
        idf: NDArray[np.float32],
        average: float,
        cursor: NDArray[np.int64],
        out: dict[str, Any],
    ) -> None:
        """Score one spilled block and place its entries in the CSC arrays (documents ascending per token)."""
        spilled = {
            part: np.load(self.spill / f"{number}.{part}.npy") for part in ("lengths", "docs", "tokens", "tf")
        }
        docs, tokens = spilled["docs"].astype(np.int64), spilled["tokens"].astype(np.int64)
        tf = spilled["tf"].astype(np.float32)
        k1, b = self.model.k1, self.model.b
        norm = k1 * ((1 - b) + b * spilled["lengths"][docs].astype(np.float64) / average) + tf
        scores = (idf[tokens] * (tf / norm)).astype(np.float32)
        order = np.argsort(tokens, kind="stable")
        sorted_tokens = tokens[order]
        counts = np.bincount(sorted_tokens, minlength=len(cursor))
        rank = np.arange(len(order)) - (np.cumsum(counts) - counts)[sorted_tokens]
        positions = cursor[sorted_tokens] + rank
        out["data"][positions] = scores[order]
        out["indices"][positions] = docs[order] + first_doc
        cursor += counts

    def _open_outputs(self, entries: int) -> dict[str, Any]:
        open_memmap = np.lib.format.open_memmap
        shapes: dict[str, tuple[type[np.generic], int]] = {
            "data": (np.float32, entries),
            "indices": (np.int32, entries),
            "indptr": (np.int64, len(self.tokenizer.stems) + 1),
        }
        return {
            name: open_memmap(self.folder / _FILES[name], mode="w+", dtype=dtype, shape=(size,))
            for name, (dtype, size) in shapes.items()
        }

    def _write_json(self, n_docs: int) -> None:
        model = self.model
        params = {
            "k1": model.k1,
            "b": model.b,
            "delta": model.delta,
            "method": model.method,
            "idf_method": model.idf_method,
            "dtype": model.dtype,
            "int_dtype": model.int_dtype,
            "num_docs": n_docs,
            "version": bm25s_module().__version__,
            "backend": model.backend,
        }
        (self.folder / "params.index.json").write_text(json.dumps(params, indent=4), encoding="utf-8")
        (self.folder / "vocab.index.json").write_text(
            json.dumps(self.tokenizer.stems, ensure_ascii=False), encoding="utf-8"
        )
