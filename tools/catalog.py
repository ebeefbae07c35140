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
HUMAN_TAXON = 9606
#: Symbol-shaped words of a free-text query (TP53, SDHAF1, p53, Abl1) tried as exact names before fuzzy.
_SYMBOL_TOKEN = re.compile(
    r"\b(?=[A-Za-z0-9-]*[0-9])[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]\b|\b[A-Z][A-Z0-9]{2,}\b"
)


class ProteinCatalog:
    """UniProt Documents (``source == 'uniprot'`` or carrying ``metadata['accession']``) with lookup tables.

    Name tables are built at construction; the k-mer index for sequence search is built on first use.
    """

    def __init__(self, documents: Iterable[Document]) -> None:
        self.entries: list[Document] = _unique_entries(documents)
        self._accession: dict[str, int] = {}
        # Exact-name tables, best kind first: a primary gene symbol beats a synonym, which beats an entry name.
        self._names: dict[str, dict[str, list[int]]] = {"gene": {}, "gene synonym": {}, "entry name": {}}
        self._protein_names: dict[str, list[int]] = {}
        for row, doc in enumerate(self.entries):
            self._add_names(row, doc.metadata)
        for table in [*self._names.values(), self._protein_names]:
            for rows in table.values():
                rows.sort(key=self._preference)

    def _preference(self, row: int) -> tuple[bool, bool, int]:
        """Reviewed (Swiss-Prot) entries first, then human ones, then index order."""
        meta = self.entries[row].metadata
        return meta.get("reviewed") is False, str(meta.get("taxonomy_id")) != str(HUMAN_TAXON), row

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

    def lookup(self, query: str, organism: str | None = None) -> tuple[str, str, list[Document]]:
        """(how it matched, what it matched, entries): accession, gene, gene synonym, entry name, protein name,
        all words of a name, a symbol inside a longer query, then fuzzy; empty if none.

        Entries come best first: reviewed before unreviewed, human before other species. With ``organism``
        (text of the organism field or a taxonomy id), a kind of match with no entry of that organism is
        passed over for the next kind, so 'P53' in mouse finds Trp53 even though human TP53 lists P53 too.
        """
        text = query.strip()
        upper = text.upper()
        if upper in self._accession:
            return "accession", upper, [self.entries[self._accession[upper]]]
        found = self._exact(upper, _norm(text), organism)
        if found is None and (words := _norm(text).split()) and len(words) > 1:
            rows = self._rows_with_all_words(words)
            if rows and self._has_organism(rows, organism):
                found = "protein name words", text, rows
        if found is None:
            found = self._symbol_in_text(text, organism)
        if found is None:
            return self._fuzzy(upper, _norm(text))
        how, matched, rows = found
        return how, matched, [self.entries[r] for r in rows]

    def _exact(self, upper: str, norm: str, organism: str | None) -> tuple[str, str, list[int]] | None:
        """The best kind of exact name match (gene, synonym, entry name, protein name) for the whole query."""
        tables = [*self._names.items(), ("protein name", self._protein_names)]
        for how, table in tables:
            key = norm if how == "protein name" else upper
            if key in table and self._has_organism(table[key], organism):
                return how, key, table[key]
        return None

    def _symbol_in_text(self, text: str, organism: str | None) -> tuple[str, str, list[int]] | None:
        """An accession or gene symbol written inside a longer query ('protein encoded by the gene SDHAF1')."""
        tokens = [t for t in _SYMBOL_TOKEN.findall(text) if t.upper() != text.upper()]
        for token in tokens:
            if token.upper() in self._accession:
                return "accession in query", token.upper(), [self._accession[token.upper()]]
        best: tuple[int, str, str, list[int]] | None = None
        for token in tokens:
            for rank, (how, table) in enumerate(self._names.items()):
                rows = table.get(token.upper())
                if rows and self._has_organism(rows, organism):
                    if best is None or rank < best[0]:
                        best = (rank, f"{how} in query", token.upper(), rows)
                    break
        return None if best is None else best[1:]

    def _has_organism(self, rows: list[int], organism: str | None) -> bool:
        """Whether any of ``rows`` is from ``organism`` (always true without one)."""
        if not organism:
            return True
        wanted = organism.strip().lower()
        return any(
            wanted in str(self.entries[r].metadata.get("organism", "")).lower()
            or wanted == str(self.entries[r].metadata.get("taxonomy_id", ""))
            for r in rows
        )

    def _rows_with_all_words(self, words: list[str]) -> list[int]:
        wanted = set(words)
        found = {r for name, rows in self._protein_names.items() if wanted <= set(name.split()) for r in rows}
        return sorted(found, key=self._preference)

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
