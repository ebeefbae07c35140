"""The citation syntax answers use, the public page each citation key points to, and sentence splitting that
keeps a citation with its sentence (shared by the agent and screening).

Keys: literature ``PMID:<pmid>`` (PubMed sources) or ``doc:<id>`` (other corpora, e.g. SciFact/BEIR ids, which
are not PMIDs), database ``UniProt:<accession>``, prediction ``tool:<name>`` (``tool:<name>-2`` for a second
call). In text a citation is written in brackets: ``[PMID:123]``, ``[UniProt:P04637; tool:admet]``. A model's
draft may also cite evidence numbers (``[2]``). The agent (which writes and checks citations) and the chat
(which links them) both read them with these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_BRACKET = re.compile(r"\[([^\[\]]{1,300})\]")
_KEY = re.compile(r"^(PMID|UniProt|tool|doc)\s*:\s*(\S+)$", re.IGNORECASE)
_CANONICAL_PREFIX = {"pmid": "PMID", "uniprot": "UniProt", "tool": "tool", "doc": "doc"}
_ACCESSION = re.compile(r"[A-Z0-9]{6,10}")
_LEADING_CITATIONS = re.compile(r"^(?:\s*\[[^\[\]]{1,300}\])+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\[(A-Z0-9])|(?<=\]\.)\s+")
"""A sentence ends at . ! or ? before an upper-case letter, a digit or a bracket (so "e.g. the" does not split)."""
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"
UNIPROT_URL = "https://www.uniprot.org/uniprotkb/{}/entry"


@dataclass(frozen=True)
class CitationMark:
    """One bracketed citation group in a text: its span and the keys (or numbers) inside."""

    start: int
    end: int
    keys: tuple[str, ...]


def evidence_url(key: str, metadata: dict[str, Any] | None = None) -> str | None:
    """The public page of evidence ``key``: PubMed for a PMID (the key's, else one in the record's
    ``metadata``), UniProt for an accession, else doi.org for a DOI in ``metadata``; None when there is none."""
    prefix, _, value = key.partition(":")
    if prefix == "UniProt":
        return UNIPROT_URL.format(value) if _ACCESSION.fullmatch(value) else None
    metadata = metadata or {}
    pmid = value if prefix == "PMID" else str(metadata.get("pmid") or "")
    if pmid.isdigit():
        return PUBMED_URL.format(pmid)
    doi = str(metadata.get("doi") or "").strip()
    return f"https://doi.org/{doi}" if doi.startswith("10.") else None


def canonical_key(raw: str) -> str | None:
    """'pmid: 123' -> 'PMID:123'; None when ``raw`` is not a typed citation key."""
    match = _KEY.match(raw.strip())
    if not match:
        return None
    return f"{_CANONICAL_PREFIX[match.group(1).lower()]}:{match.group(2).rstrip('.,;')}"


def find_citations(text: str, numbers: bool = True) -> list[CitationMark]:
    """Every bracket group that holds typed keys, or evidence numbers when ``numbers`` (a model's draft may cite
    ``[2]``; a composed answer cites typed keys only, so its quoted "G1P[8]" stays a name). Other brackets are
    left alone."""
    marks = []
    for match in _BRACKET.finditer(text):
        parts = [p.strip() for p in re.split(r"[,;]|\band\b", match.group(1)) if p.strip()]
        keys = []
        for part in parts:
            key = canonical_key(part) or (part if numbers and part.isdigit() else None)
            if key is None:
                break
            keys.append(key)
        else:
            if keys:
                marks.append(CitationMark(match.start(), match.end(), tuple(keys)))
    return marks


def strip_citations(text: str, numbers: bool = True) -> str:
    """``text`` without its citation brackets (for support checks and for display without markers)."""
    for mark in reversed(find_citations(text, numbers)):
        text = text[: mark.start] + text[mark.end :]
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; citations written after a full stop ("... death. [PMID:1]") join the sentence
    before them."""
    protected = re.sub(
        r"\b(e\.g|i\.e|et al|vs|approx|cf|Fig|no)\.", lambda m: m.group(0).replace(".", "\0"), text
    )
    pieces = [p.replace("\0", ".").strip() for p in _SENTENCE_END.split(protected.strip()) if p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        lead = _LEADING_CITATIONS.match(piece)
        if sentences and lead and find_citations(lead.group(0)):
            sentences[-1] = f"{sentences[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences
