"""The write-stores step of a build: the FAISS store from the vectors on disk, and BM25 from the chunk texts in
the document table, both written into the new data folder block by block."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from bioagent.index.bm25_writer import BM25Writer
from bioagent.index.dense import EXACT_SUFFIX, DenseStore
from bioagent.index.doctable import DocumentTable
from bioagent.index.lexical import LexicalStore
from bioagent.settings import IndexSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "bm25"


def build_dense(vectors: NDArray[np.float32], data_dir: Path, settings: IndexSettings) -> DenseStore:
    """A new FAISS store of ``vectors`` (memory-mapped), saved in ``data_dir``."""
    exact = data_dir / (DENSE_FILE + EXACT_SUFFIX)
    dense = DenseStore.build(vectors, vectors.shape[1], settings, exact_path=exact)
    dense.save(data_dir / DENSE_FILE)
    return dense


def extend_dense(dense: DenseStore, vectors: NDArray[np.float32], data_dir: Path) -> DenseStore:
    """A copy of ``dense`` with ``vectors`` appended, saved in ``data_dir`` (the loaded store is untouched)."""
    extended = dense.copy()
    extended.add(np.asarray(vectors))
    extended.save(data_dir / DENSE_FILE)
    return extended


def write_lexical(
    table: DocumentTable, data_dir: Path, settings: IndexSettings, progress: bool
) -> LexicalStore:
    """BM25 over every chunk text of ``table``, streamed in blocks, then opened memory-mapped."""
    writer = BM25Writer(data_dir / LEXICAL_DIR, settings.bm25_k1, settings.bm25_b)
    total = table.chunk_count
    with tqdm(total=total, unit="text", desc="BM25", disable=not progress) as bar:
        for first in range(0, total, settings.build_block):
            texts = table.chunk_texts(range(first, min(first + settings.build_block, total)))
            writer.add(texts)
            bar.update(len(texts))
    writer.finish()
    return LexicalStore.load(data_dir / LEXICAL_DIR)
