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
    "LARGE DOES FROM IF INTO YES END RED WE US SO ONE TWO THIS THAT WHERE WHEN OUR YOU"
)
_NOT_GENES = frozenset(_NOT_GENES_TEXT.split())
_MIN_PROTEIN_NAME = 5
HUMAN_TAXON = 9606
#: How a name matched, best first: the primary gene symbol beats a synonym, which beats entry and alt names.
MATCH_KINDS = ("gene symbol", "gene synonym", "entry name", "alternative name")
#: Organism words in questions -> text of UniProt's organism field (genus names of indexed entries count too).
_ORGANISM_WORDS = {
    "human": "homo sapiens",
    "humans": "homo sapiens",
    "mouse": "mus musculus",
    "mice": "mus musculus",
    "murine": "mus musculus",
    "rat": "rattus",
    "rats": "rattus",
    "yeast": "saccharomyces",
    "zebrafish": "danio rerio",
    "fly": "drosophila",
    "worm": "caenorhabditis",
    "nematode": "caenorhabditis",
    "elegans": "caenorhabditis elegans",
    "coli": "escherichia coli",
    "bovine": "bos taurus",
    "cow": "bos taurus",
    "chicken": "gallus",
    "frog": "xenopus",
    "pig": "sus scrofa",
    "porcine": "sus scrofa",
    "subtilis": "bacillus subtilis",
    "pombe": "schizosaccharomyces pombe",
}


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
    """UniProt accessions of the recognised genes/proteins (and the accessions themselves), best match first."""
    protein_matches: dict[str, str] = field(default_factory=dict)
    """How each of ``protein_ids`` was found: accession -> 'gene symbol SDHAF1', 'accession P04637', …"""
    unknown_symbols: list[str] = field(default_factory=list)
    """Gene-symbol-shaped words (MICU1, GAL4) that no local UniProt entry has: what a live search may find."""

    def names_a_subject(self) -> bool:
        """Whether the question names its own protein, sequence or molecule (then it is not a follow-up)."""
        return bool(
            self.genes or self.accessions or self.protein_ids or self.sequences or self.drugs or self.smiles
        )

    def merged_with(self, earlier: Entities) -> Entities:
        """These entities, with those of an earlier turn filling the kinds this one lacks (follow-ups)."""
        merged = Entities()
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(earlier, name)
            setattr(merged, name, type(mine)(mine or theirs))
        return merged

    def protein_label(self, accession: str) -> str:
        """'SDHAF1 (A6NFY7)' when the protein was named by a symbol, else the accession."""
        how = self.protein_matches.get(accession, "")
        if how.startswith(("gene symbol ", "gene synonym ")):
            return f"{how.rsplit(' ', 1)[1]} ({accession})"
        return accession

    def describe(self) -> str:
        """One line per kind found, for prompts and the trace."""
        lines = []
        for name in self.__dataclass_fields__:
            values = getattr(self, name)
            if name == "protein_matches":
                continue
            if name == "protein_ids" and values:
                shown = [
                    f"{v} ({self.protein_matches[v]})" if v in self.protein_matches else v for v in values
                ]
                lines.append(f"{name}: {', '.join(shown)}")
            elif values:
                shown = [v if len(v) <= 60 else f"{v[:30]}...({len(v)} chars)" for v in values]
                lines.append(f"{name}: {', '.join(shown)}")
        return "\n".join(lines) or "none"


@dataclass(frozen=True)
class _Candidate:
    """One entry a symbol could mean, with what decides between entries."""

    kind: int
    """Index into MATCH_KINDS."""
    accession: str
    reviewed: bool
    organism: str
    taxonomy_id: int | None
    order: int


class EntityRecognizer:
    """Finds entities with name tables from the UniProt index and the drug tools where available.

    A symbol that several entries share resolves to the best: primary gene symbol over synonym over entry and
    alternative names, then reviewed over unreviewed, then human (or the organism the question names), then
    the first indexed.
    """

    def __init__(self, protein_documents: Iterable[Document] = (), drug_names: Iterable[str] = ()) -> None:
        self.symbols: dict[str, list[_Candidate]] = {}
        self.protein_names: dict[str, list[_Candidate]] = {}
        self.accessions: dict[str, str] = {}
        self.genera: set[str] = set()
        self._entries: set[str] = set()
        for doc in protein_documents:
            self._add_protein(doc)
        self.drug_names = {name.lower(): name for name in drug_names if len(name) >= 4}

    def _add_protein(self, doc: Document) -> None:
        meta = doc.metadata
        accession = str(meta.get("accession") or doc.parent_id)
        if accession in self._entries:
            return  # chunks of one entry, or the same entry from a later source
        self._entries.add(accession)
        for other in [accession, *meta.get("accessions", [])]:
            self.accessions.setdefault(str(other).upper(), accession)
        organism = str(meta.get("organism") or "").lower()
        if genus := organism.split(" ", 1)[0]:
            self.genera.add(genus)
        taxonomy = meta.get("taxonomy_id")
        alt_symbols = [
            n for n in meta.get("alt_names", []) if n and " " not in n and any(c.isdigit() for c in n)
        ]
        for kind, values in enumerate(
            ([meta.get("gene")], meta.get("gene_synonyms", []), [meta.get("entry_name")], alt_symbols)
        ):
            candidate = _Candidate(
                kind,
                accession,
                meta.get("reviewed") is not False,
                organism,
                int(str(taxonomy)) if str(taxonomy).isdigit() else None,
                len(self._entries),
            )
            for symbol in values:
                if symbol and len(str(symbol)) >= 2:
                    self.symbols.setdefault(str(symbol).upper(), []).append(candidate)
        name = _normalise(str(meta.get("protein_name") or ""))
        if len(name) >= _MIN_PROTEIN_NAME:
            self.protein_names.setdefault(name, []).append(candidate)

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
        found.unknown_symbols = _unique(
            token
            for token in _TOKEN.findall(text)
            if _symbol_shape(token) and token.upper() not in self.symbols and token not in found.variants
        )
        found.drugs = self._drugs(text)
        found.protein_matches = self._protein_matches(found, text)
        found.protein_ids = list(found.protein_matches)
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

    def _protein_matches(self, found: Entities, text: str) -> dict[str, str]:
        """Accession -> how it was found, best first: accessions, then symbols by match kind, then names."""
        matches: dict[str, str] = {}
        for accession in found.accessions:
            primary = self.accessions.get(accession.upper(), accession)
            note = "" if primary == accession else f" (secondary accession of {primary})"
            if self.accessions and accession.upper() not in self.accessions:
                note = " (not in the local index)"
            matches.setdefault(primary, f"accession {accession}{note}")
        organisms = self.organisms_named(text)
        by_symbol = []
        for position, gene in enumerate(found.genes):
            if candidates := self.symbols.get(gene.upper()):
                best = min(candidates, key=lambda c: _rank(c, organisms))
                by_symbol.append((best.kind, position, best.accession, f"{MATCH_KINDS[best.kind]} {gene}"))
        for _, _, accession, how in sorted(by_symbol):
            matches.setdefault(accession, how)
        normalised = f" {_normalise(text)} "
        for name, candidates in self.protein_names.items():
            if f" {name} " in normalised:
                best = min(candidates, key=lambda c: _rank(c, organisms))
                matches.setdefault(best.accession, f"protein name '{name}'")
        return matches

    def organisms_named(self, text: str) -> list[str]:
        """Organism-field texts the question names ('mouse' -> 'mus musculus', 'Saccharomyces' -> itself)."""
        words = {word.lower() for word in re.findall(r"[A-Za-z]+", text)}
        named = [_ORGANISM_WORDS[word] for word in words if word in _ORGANISM_WORDS]
        named += [word for word in words if word in self.genera and len(word) >= 4]
        return sorted(set(named))

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


def _rank(candidate: _Candidate, organisms: list[str]) -> tuple[int, bool, bool, int]:
    """Sort key: match kind, reviewed first, the named organism (human by default) first, index order."""
    if organisms:
        other_species = not any(name in candidate.organism for name in organisms)
    else:
        other_species = candidate.taxonomy_id != HUMAN_TAXON and "homo sapiens" not in candidate.organism
    return candidate.kind, not candidate.reviewed, other_species, candidate.order


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
