"""ProteinCatalog: UniProt entries held for name lookups and sequence search (built once, reused)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np

from bioagent.errors import ConfigError
from bioagent.settings import Settings
from bioagent.types import Document

from .common import closest

KMER = 3
_ALPHABET = "ACDEFGHIKLMNPQRSTVWYXBZUO"
_CODE = np.full(256, len(_ALPHABET), dtype=np.int64)
for _i, _letter in enumerate(_ALPHABET):
    _CODE[ord(_letter)] = _i
_BASE = len(_ALPHABET) + 1


class ProteinCatalog:
    """UniProt Documents (``source == 'uniprot'`` or carrying ``metadata['accession']``) with lookup tables.

    Name tables are built at construction; the k-mer index for sequence search is built on first use.
    """

    def __init__(self, documents: Iterable[Document]) -> None:
        self.entries: list[Document] = _unique_entries(documents)
        self._accession: dict[str, int] = {}
        self._names: dict[str, dict[str, list[int]]] = {"entry name": {}, "gene": {}, "gene synonym": {}}
        self._protein_names: dict[str, list[int]] = {}
        for row, doc in enumerate(self.entries):
            self._add_names(row, doc.metadata)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_source(cls, source: Any) -> ProteinCatalog:
        """A catalog from a catalog, an index (anything with ``.documents``), a Document list or a factory."""
        if isinstance(source, ProteinCatalog):
            return source
        if hasattr(source, "documents"):
            return cls(source.documents)
        if callable(source):
            return cls.from_source(source())
        return cls(source)

    def _add_names(self, row: int, meta: dict[str, Any]) -> None:
        for accession in [meta.get("accession"), *meta.get("accessions", [])]:
            if accession:
                self._accession.setdefault(str(accession).upper(), row)
        for table, values in (
            ("entry name", [meta.get("entry_name")]),
            ("gene", [meta.get("gene")]),
            ("gene synonym", meta.get("gene_synonyms", [])),
        ):
            for value in values:
                if value:
                    _append_once(self._names[table].setdefault(str(value).upper(), []), row)
        for name in [meta.get("protein_name"), *meta.get("alt_names", [])]:
            if name:
                _append_once(self._protein_names.setdefault(_norm(name), []), row)

    # ----- name lookup -------------------------------------------------------------------------------

    def lookup(self, query: str) -> tuple[str, str, list[Document]]:
        """(how it matched, what it matched, entries): accession, names, words, then fuzzy; empty if none."""
        text = query.strip()
        upper = text.upper()
        if upper in self._accession:
            return "accession", upper, [self.entries[self._accession[upper]]]
        for how, table in self._names.items():
            if upper in table:
                return how, upper, [self.entries[r] for r in table[upper]]
        norm = _norm(text)
        if norm in self._protein_names:
            return "protein name", norm, [self.entries[r] for r in self._protein_names[norm]]
        words = norm.split()
        rows = self._rows_with_all_words(words) if len(words) > 1 else []
        if rows:
            return "protein name words", text, [self.entries[r] for r in rows]
        return self._fuzzy(upper, norm)

    def _rows_with_all_words(self, words: list[str]) -> list[int]:
        wanted = set(words)
        return sorted(
            {r for name, rows in self._protein_names.items() if wanted <= set(name.split()) for r in rows}
        )

    def _fuzzy(self, upper: str, norm: str) -> tuple[str, str, list[Document]]:
        genes = self._names["gene"]
        gene = closest(upper, genes)
        name = closest(norm, self._protein_names)
        if gene and (not name or gene[1] >= name[1]):
            return "fuzzy gene name", gene[0], [self.entries[r] for r in genes[gene[0]]]
        if name:
            return "fuzzy protein name", name[0], [self.entries[r] for r in self._protein_names[name[0]]]
        return "none", "", []

    def suggestions(self, query: str, n: int = 5) -> list[str]:
        """Names loosely resembling ``query``, for error messages."""
        pool = list(self._names["gene"]) + list(self._protein_names)
        found = difflib.get_close_matches(query.upper(), pool, n=n, cutoff=0.5)
        found += difflib.get_close_matches(_norm(query), pool, n=n, cutoff=0.5)
        return list(dict.fromkeys(found))[:n]

    # ----- sequence search ---------------------------------------------------------------------------

    @cached_property
    def searchable(self) -> list[int]:
        """Rows of entries that carry a sequence."""
        return [row for row, doc in enumerate(self.entries) if doc.metadata.get("sequence")]

    @cached_property
    def total_residues(self) -> int:
        return sum(len(self.entries[row].metadata["sequence"]) for row in self.searchable)

    @cached_property
    def _kmer_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct k-mer codes of every entry, position in ``searchable`` of the entry owning each)."""
        codes, owners = [], []
        for position, row in enumerate(self.searchable):
            unique = np.unique(kmer_codes(self.entries[row].metadata["sequence"]))
            codes.append(unique)
            owners.append(np.full(unique.size, position, dtype=np.int32))
        all_codes = np.concatenate(codes) if codes else np.empty(0, dtype=np.int64)
        all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int32)
        order = np.argsort(all_codes, kind="stable")
        return all_codes[order], all_owners[order]

    def prefilter(self, sequence: str, n: int) -> list[tuple[Document, int]]:
        """The ``n`` entries sharing the most distinct k-mers with ``sequence`` (entry, shared k-mers)."""
        codes, owners = self._kmer_index
        query = np.unique(kmer_codes(sequence))
        if query.size == 0 or codes.size == 0:
            return []
        starts = np.searchsorted(codes, query, side="left")
        ends = np.searchsorted(codes, query, side="right")
        hits = np.concatenate([owners[s:e] for s, e in zip(starts, ends) if e > s] or [np.empty(0, np.int32)])
        counts = np.bincount(hits, minlength=len(self.searchable))
        top = np.argsort(-counts, kind="stable")[:n]
        return [(self.entries[self.searchable[i]], int(counts[i])) for i in top if counts[i] > 0]


def kmer_codes(sequence: str, k: int = KMER) -> np.ndarray:
    """Integer code of every overlapping k-mer of ``sequence``."""
    letters = _CODE[np.frombuffer(sequence.upper().encode("ascii", "replace"), dtype=np.uint8)]
    if letters.size < k:
        return np.empty(0, dtype=np.int64)
    codes = np.zeros(letters.size - k + 1, dtype=np.int64)
    for offset in range(k):
        codes = codes * _BASE + letters[offset : offset + codes.size]
    return codes


def load_catalog(settings: Settings) -> ProteinCatalog:
    """The catalog of the configured UniProt index (``settings.protein_index_path()``)."""
    path = settings.protein_index_path()
    if not path.exists():
        raise ConfigError(
            f"no UniProt index at {path}: build it (`bioagent demo build`) or set `protein_index` "
            "(BIOAGENT_PROTEIN_INDEX) to an index folder"
        )
    from bioagent.index import load_index

    return ProteinCatalog(load_index(path, settings).documents)


def _unique_entries(documents: Iterable[Document]) -> list[Document]:
    """One Document per UniProt entry (chunks collapse onto their parent id)."""
    seen: dict[str, Document] = {}
    for doc in documents:
        if doc.source != "uniprot" and "accession" not in doc.metadata:
            continue
        seen.setdefault(doc.parent_id, doc)
    return list(seen.values())


def _append_once(rows: list[int], row: int) -> None:
    if not rows or rows[-1] != row:
        rows.append(row)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()
