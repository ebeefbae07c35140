"""What a careful reader rejects before checking support: sentences that say nothing, and claims that
contradict the cited item's own field or tool result.

Each check returns the reason (shown in the verification panel) or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bioagent.agent.terms import content_terms

_COPULA = re.compile(r"\b(?:is|are|was|were|means|refers to|is called)\b", re.IGNORECASE)
_KEY_VALUE = re.compile(r"\b\w+:\s*(?:True|False|None)\b")
_NUMBER_PAIR = re.compile(r"(?:^|;)\s*[\w -]{1,30}:\s*-?\d")
_SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")

EMPTY = "says nothing (no words beyond numbers and punctuation)"
CIRCULAR = "circular: it restates its own subject"
DUMP = "a raw tool-result dump, not a sentence"

#: Compartment words (as a reader would write them) -> the stems UniProt's location field uses for them.
LOCATIONS = {
    "cytoplasm": ("cytoplasm", "cytosol"),
    "cytosol": ("cytoplasm", "cytosol"),
    "nucleus": ("nucleus", "nucleoplasm", "nuclear"),
    "nuclear": ("nucleus", "nucleoplasm", "nuclear"),
    "nucleolus": ("nucleolus",),
    "mitochondria": ("mitochondri",),
    "mitochondrion": ("mitochondri",),
    "mitochondrial": ("mitochondri",),
    "cell membrane": ("cell membrane", "plasma membrane"),
    "plasma membrane": ("cell membrane", "plasma membrane"),
    "endoplasmic reticulum": ("endoplasmic reticulum",),
    "golgi": ("golgi",),
    "lysosome": ("lysosom",),
    "peroxisome": ("peroxisom",),
    "endosome": ("endosom",),
    "secreted": ("secreted", "extracellular"),
    "extracellular": ("secreted", "extracellular"),
    "cytoskeleton": ("cytoskeleton",),
    "chromosome": ("chromosome",),
}
_LOCATION_WORD = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in LOCATIONS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_ABOUT_LOCATION = re.compile(
    r"\b(?:locat|locali[sz]|found in|resid|present in|sits? in|(?:in|of) the cell\b|subcellular|compartment)",
    re.IGNORECASE,
)
_LOCATION_LINE = re.compile(r"Subcellular location:\s*(.+)")


def says_nothing(claim: str) -> str | None:
    """EMPTY, CIRCULAR or DUMP when a reader would reject ``claim`` (citations already stripped)."""
    if not re.search(r"[A-Za-z]{2,}", claim):
        return EMPTY
    pairs = len(_KEY_VALUE.findall(claim)) >= 2 or len(_NUMBER_PAIR.findall(claim)) >= 3
    if pairs or len(_SNAKE.findall(claim)) >= 2:
        return DUMP
    head, colon, tail = claim.rpartition(":")
    if colon and head.strip() and not re.search(r"[A-Za-z]{2,}", tail):
        return EMPTY
    parts = _COPULA.split(claim, maxsplit=1)
    if len(parts) == 2:
        subject, predicate = content_terms(parts[0]), content_terms(parts[1])
        if predicate and predicate <= subject:
            return CIRCULAR
    return None


def location_conflict(claim: str, item_text: str) -> str | None:
    """The claim places the protein in a compartment ("located in the cytoplasm") that the cited UniProt
    entry's subcellular location does not name. Compartments mentioned in passing (a function text's "DNA repair
    in the nucleus") are not location claims."""
    line = _LOCATION_LINE.search(item_text)
    named = {m.group(1).lower() for m in _LOCATION_WORD.finditer(claim)}
    if not line or not named or not _ABOUT_LOCATION.search(claim):
        return None
    field = line.group(1).lower()
    wrong = sorted(n for n in named if not any(stem in field for stem in LOCATIONS[n]))
    if not wrong:
        return None
    return (
        f"contradicts the entry's subcellular location ({line.group(1)[:120].rstrip()}): {', '.join(wrong)}"
    )


_NOT_DISORDERED = re.compile(
    r"\b(?:not|non|never|lacks?|without)\W+(?:\w+\W+){0,2}disorder|\b(?:is|are|mostly|largely|well)\s+"
    r"(?:folded|ordered|structured)\b"
)
_MOSTLY_DISORDERED = re.compile(
    r"\b(?:fully|entirely|completely|mostly|largely|predominantly)\s+(?:intrinsically\s+)?disordered"
)
_FAILS_RULE = re.compile(r"\bfails?\b|\bviolates\b|\b(?:does|do|did) not (?:pass|meet|satisfy|obey)")


def fact_conflict(claim: str, facts: Sequence[dict[str, Any]]) -> str | None:
    """The claim states the opposite of a tool's verdict: a mostly disordered protein called ordered (or a
    mostly folded one called disordered), a molecule passing a drug-likeness rule said to fail it (or the
    reverse)."""
    lowered = claim.lower()
    for fact in facts:
        value = fact.get("value")
        key = str(fact.get("key", ""))
        if key == "fraction_disordered" and isinstance(value, (int, float)):
            wrong = _NOT_DISORDERED if value >= 0.5 else _MOSTLY_DISORDERED
            if wrong.search(lowered):
                return f"contradicts the tool: fraction disordered is {value}"
        passes = value.get("passes") if isinstance(value, dict) else None
        said_to_fail = bool(_FAILS_RULE.search(lowered))
        if key in ("lipinski", "veber") and key in lowered and passes is not None and said_to_fail == passes:
            return f"contradicts the tool: {key} passes is {passes}"
    return None
