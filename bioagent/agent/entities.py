"""Recognising what a question is about: genes/proteins, UniProt accessions, sequences, drugs, SMILES, variants.

Gene and protein names come from the UniProt index's metadata (gene, synonyms, entry and protein names) when
one is loaded, drug names from the drug tools' name list when given; regexes cover the rest. SMILES candidates
are checked with RDKit when it is installed (imported on first use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from bioagent.types import Document

ACCESSION = re.compile(r"\b(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})\b")
VARIANT = re.compile(r"\b(?:p\.)?([ACDEFGHIKLMNPQRSTVWY])([1-9][0-9]{0,4})([ACDEFGHIKLMNPQRSTVWY*])\b")
_RAW_SEQUENCE = re.compile(r"(?<![A-Za-z0-9])[ACDEFGHIKLMNPQRSTVWYXBZUO]{20,}(?![A-Za-z0-9])")
# A FASTA header, then sequence lines: one case of residue letters, optionally in space-separated blocks of 10+
# (GenBank style); a line with short words ("WHAT IS THIS") or mixed case ends the record.
_FASTA = re.compile(
    r"^>[^\n]*\n(?:[ \t]*(?:(?:[ACDEFGHIKLMNPQRSTVWYXBZUO*]{10,} )*[ACDEFGHIKLMNPQRSTVWYXBZUO*]+"
    r"|(?:[acdefghiklmnpqrstvwyxbzuo*]{10,} )*[acdefghiklmnpqrstvwyxbzuo*]+)[ \t]*(?:\n|$))+",
    re.MULTILINE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]|[A-Za-z0-9]")
_SMILES_TOKEN = re.compile(r"(?<!\S)[A-Za-z0-9@+\-\[\]()=#$/\\%.:]{3,}[?!,;]*(?!\S)")
_SMILES_STRUCTURE = re.compile(r"[=#()\[\]@]|[A-Za-z][0-9]|[cnos][cnos1-9]")
_DRUG_SUFFIXES = (
    "mab",
    "tinib",
    "nib",
    "ciclib",
    "vir",
    "pril",
    "sartan",
    "olol",
    "statin",
    "azole",
    "cillin",
    "mycin",
    "cycline",
    "oxacin",
    "parin",
    "dipine",
    "prazole",
    "triptan",
    "setron",
    "gliptin",
    "gliflozin",
    "lukast",
    "platin",
    "rubicin",
    "taxel",
    "profen",
    "semide",
    "thiazide",
    "zepam",
    "zolam",
    "barbital",
    "caine",
)
_DRUG_WORD = re.compile(r"\b[a-z]{4,}(?:" + "|".join(_DRUG_SUFFIXES) + r")\b", re.IGNORECASE)
# Upper-case English words that are also gene symbols; never read as genes.
_NOT_GENES_TEXT = (
    "A AN AND ARE AS AT BE BY CAN DO FOR HAS HAVE HOW IN IS IT ITS MAY NO NOT OF ON OR SET THE TO WAS "
    "WHAT WHICH WHO WHY WITH DNA RNA MRNA PCR HIV ATP GTP NAD CELL CELLS ALL MET CAT PAH REST IMPACT "
    "LARGE"
)
_NOT_GENES = frozenset(_NOT_GENES_TEXT.split())
_MIN_PROTEIN_NAME = 5


@dataclass
class Entities:
    """Everything recognised in one question (each list de-duplicated, in order of appearance)."""

    genes: list[str] = field(default_factory=list)
    accessions: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    smiles: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    protein_ids: list[str] = field(default_factory=list)
    """UniProt accessions of the recognised genes/proteins (and the accessions themselves) found in the index."""

    def names_a_subject(self) -> bool:
        """Whether the question names its own protein, sequence or molecule (then it is not a follow-up)."""
        return bool(
            self.genes or self.accessions or self.protein_ids or self.sequences or self.drugs or self.smiles
        )

    def merged_with(self, earlier: Entities) -> Entities:
        """These entities, with those of an earlier turn filling the kinds this one lacks (follow-ups)."""
        merged = Entities()
        for name in self.__dataclass_fields__:
            setattr(merged, name, list(getattr(self, name)) or list(getattr(earlier, name)))
        return merged

    def describe(self) -> str:
        """One line per kind found, for prompts and the trace."""
        lines = []
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            if values:
                shown = [v if len(v) <= 60 else f"{v[:30]}...({len(v)} chars)" for v in values]
                lines.append(f"{name}: {', '.join(shown)}")
        return "\n".join(lines) or "none"


class EntityRecognizer:
    """Finds entities with name tables from the UniProt index and the drug tools where available."""

    def __init__(self, protein_documents: Iterable[Document] = (), drug_names: Iterable[str] = ()) -> None:
        self.symbols: dict[str, list[str]] = {}
        self.protein_names: dict[str, list[str]] = {}
        for doc in protein_documents:
            self._add_protein(doc)
        self.drug_names = {name.lower(): name for name in drug_names if len(name) >= 4}

    def _add_protein(self, doc: Document) -> None:
        meta = doc.metadata
        accession = str(meta.get("accession") or doc.parent_id)
        symbols = [meta.get("gene"), *meta.get("gene_synonyms", []), meta.get("entry_name")]
        symbols += [
            n for n in meta.get("alt_names", []) if n and " " not in n and any(c.isdigit() for c in n)
        ]
        for symbol in symbols:
            if symbol and len(str(symbol)) >= 2:
                self.symbols.setdefault(str(symbol).upper(), []).append(accession)
        name = _normalise(str(meta.get("protein_name") or ""))
        if len(name) >= _MIN_PROTEIN_NAME:
            self.protein_names.setdefault(name, []).append(accession)

    def recognise(self, question: str) -> Entities:
        found = Entities()
        text = question
        found.sequences = find_sequences(text)
        for sequence in found.sequences:
            text = text.replace(sequence, " ")
        text = re.sub(r"^>.*$", " ", text, flags=re.MULTILINE)
        found.accessions = _unique(ACCESSION.findall(text))
        found.smiles = find_smiles(text)
        for smiles in found.smiles:
            text = text.replace(smiles, " ")
        found.variants = _unique("".join(m.groups()) for m in VARIANT.finditer(text))
        found.genes = self._genes(text, set(found.accessions) | set(found.variants))
        found.drugs = self._drugs(text)
        found.protein_ids = self._protein_ids(found, text)
        return found

    def _genes(self, text: str, exclude: set[str]) -> list[str]:
        genes = []
        for token in _TOKEN.findall(text):
            upper = token.upper()
            if upper in exclude or upper in _NOT_GENES or len(token) < 2:
                continue
            looks_like_symbol = token == upper or any(c.isdigit() for c in token) or token[1:].isupper()
            if looks_like_symbol and (upper in self.symbols or not self.symbols and _symbol_shape(token)):
                genes.append(token)
        return _unique(genes)

    def _protein_ids(self, found: Entities, text: str) -> list[str]:
        ids = list(found.accessions)
        for gene in found.genes:
            ids += self.symbols.get(gene.upper(), [])[:1]
        normalised = f" {_normalise(text)} "
        for name, accessions in self.protein_names.items():
            if f" {name} " in normalised:
                ids += accessions[:1]
        return _unique(ids)

    def _drugs(self, text: str) -> list[str]:
        drugs = [m.group(0) for m in _DRUG_WORD.finditer(text)]
        if self.drug_names:
            for token in _TOKEN.findall(text):
                if token.lower() in self.drug_names:
                    drugs.append(self.drug_names[token.lower()])
        return _unique(drugs, key=str.lower)


def find_sequences(text: str) -> list[str]:
    """Protein sequences written as FASTA records or as raw one-letter strings (20+ residues, 5+ letters)."""
    found = []
    for match in _FASTA.finditer(text):
        found.append(match.group(0).strip())
    rest = _FASTA.sub(" ", text)
    for match in _RAW_SEQUENCE.finditer(rest):
        if len(set(match.group(0))) >= 5:
            found.append(match.group(0))
    return _unique(found)


def find_smiles(text: str) -> list[str]:
    """Tokens shaped like SMILES (ring digits, bonds, branches, brackets) that RDKit parses when installed."""
    found = []
    for match in _SMILES_TOKEN.finditer(text):
        token = match.group(0).rstrip(".,;:?!")
        if len(token) < 3 or not _SMILES_STRUCTURE.search(token) or token.count("(") != token.count(")"):
            continue
        if not re.search(r"[CNOScnos]", token) or re.fullmatch(r"[A-Za-z]+-?[0-9]+", token):
            continue
        if is_valid_smiles(token):
            found.append(token)
    return _unique(found)


@lru_cache(maxsize=1024)
def is_valid_smiles(candidate: str) -> bool:
    """RDKit's verdict when RDKit is installed; otherwise the regex shape check alone decides."""
    try:
        from rdkit import Chem, RDLogger
    except ImportError:
        return True
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]
    return Chem.MolFromSmiles(candidate) is not None


def _symbol_shape(token: str) -> bool:
    """Without a name table: upper-case letters and digits, 3-10 characters, with a digit (TP53, BRCA1)."""
    return bool(re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", token)) and any(c.isdigit() for c in token)


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _unique(values: Iterable[str], key=lambda v: v) -> list[str]:  # noqa: ANN001
    seen: set[str] = set()
    out = []
    for value in values:
        marker = key(value)
        if marker not in seen:
            seen.add(marker)
            out.append(value)
    return out
