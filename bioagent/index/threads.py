"""Thread limits for single queries: on small machines a second thread mostly waits (or spins) and slows them.

Measured on 2 busy cores: one MiniLM query 14-30 ms with one torch thread vs up to 310 ms with two; a flat FAISS
search of 30k vectors 1.5 ms with one OpenMP thread vs 24 ms with two.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SMALL_BATCH = 8
"""Batches up to this size run on one thread; bigger ones keep every thread (they parallelise well)."""


@contextmanager
def one_thread_if_small(batch_size: int, library: Any) -> Iterator[None]:
    """Run the block with one thread of ``library`` (``torch`` or ``faiss``) when the batch is small."""
    if batch_size > SMALL_BATCH:
        yield
        return
    get, set_ = _accessors(library)
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


def _accessors(library: Any) -> tuple[Any, Any]:
    if hasattr(library, "omp_set_num_threads"):
        return library.omp_get_max_threads, library.omp_set_num_threads
    return library.get_num_threads, library.set_num_threads
