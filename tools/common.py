"""Shared pieces of the tools: input checks with human error messages, provenance, tool specs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from pydantic import BaseModel

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.types import Artifact

STANDARD_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
# Accepted beyond the 20: X unknown, B Asx, Z Glx, U selenocysteine, O pyrrolysine.
EXTRA_RESIDUES = "XBZUO"
_ALLOWED = frozenset(STANDARD_AMINO_ACIDS + EXTRA_RESIDUES)


@dataclass(frozen=True)
class NamedSequence:
    """A protein sequence (upper case, validated) and the name it came with."""

    name: str
    sequence: str


@dataclass(frozen=True)
class ToolSpec:
    """Everything needed to expose one tool: to LangChain, the CLI and `tool list`.

    ``function`` is the plain Python function; the registry binds ``settings`` (and ``catalog`` for
    tools with ``needs_catalog``) before handing it to LangChain.
    """

    name: str
    title: str
    """What a biologist reads as the evidence's title ("ADMET predictions (ADMET-AI)")."""
    description: str
    args_schema: type[BaseModel]
    function: Callable[..., dict[str, Any]]
    needs_catalog: bool = False
    artifacts: Callable[[dict[str, Any]], list[Artifact]] | None = None
    """What the tool's result is shown as (see :class:`~bioagent.types.Artifact`); None: nothing to show."""

    @property
    def summary(self) -> str:
        """First sentence of the description, for listings."""
        text = " ".join(self.description.split())
        return text.split(". ")[0].rstrip(".") + "."


def settings_or_default(settings: Settings | None) -> Settings:
    """``settings``, or the defaults when a tool function is called without them (nothing is read from the
    environment here: the program's edge loads Settings and passes them)."""
    return settings if settings is not None else Settings()


@cache
def package_version(package: str) -> str:
    """Installed version of a distribution, or 'unknown'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def split_items(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """'a, b\\nc' or ['a', 'b'] -> ['a', 'b', 'c'] (commas, semicolons and new lines separate items)."""
    if value is None:
        return []
    parts = [value] if isinstance(value, str) else list(value)
    items: list[str] = []
    for part in parts:
        items.extend(p.strip() for p in re.split(r"[,;\n]", str(part)))
    return [item for item in items if item]


def parse_sequences(text: str, settings: Settings | None = None, *, many: bool = True) -> list[NamedSequence]:
    """Read a raw sequence or FASTA (one or several records) and check every residue and limit."""
    limits = settings_or_default(settings).tools
    text = (text or "").strip()
    if not text:
        raise ToolInputError("sequence is empty: give a protein sequence in one-letter code or FASTA")
    records = _split_fasta(text) if text.startswith(">") else [("sequence", text)]
    if not many and len(records) > 1:
        raise ToolInputError(f"this tool takes one sequence; got {len(records)} FASTA records")
    if len(records) > limits.max_batch:
        raise ToolInputError(
            f"got {len(records)} sequences; the limit is {limits.max_batch} per call (settings.tools.max_batch)"
        )
    label = len(records) > 1
    return [
        NamedSequence(name, _check_sequence(raw, name if label else None, limits.max_sequence_length))
        for name, raw in records
    ]


def _split_fasta(text: str) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            header = line[1:].strip()
            records.append((header.split()[0] if header else f"sequence_{len(records) + 1}", []))
        elif line:
            records[-1][1].append(line)
    return [(name, "".join(lines)) for name, lines in records]


def _check_sequence(raw: str, name: str | None, max_length: int) -> str:
    where = f"sequence '{name}'" if name else "sequence"
    sequence = re.sub(r"\s+", "", raw).upper().rstrip("*")
    if not sequence:
        raise ToolInputError(f"{where} is empty: give a protein sequence in one-letter code")
    if len(sequence) > max_length:
        raise ToolInputError(
            f"{where} is {len(sequence)} residues; the limit is {max_length} (settings.tools.max_sequence_length)"
        )
    bad = _invalid_letters(sequence)
    if bad:
        shown = ", ".join(f"'{letter}' at {pos}" for letter, pos in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ToolInputError(
            f"{where} contains non-amino-acid letters: {shown}{more} "
            f"(allowed: the 20 standard one-letter codes plus {', '.join(EXTRA_RESIDUES)})"
        )
    return sequence


def _invalid_letters(sequence: str) -> list[tuple[str, int]]:
    """Each distinct invalid character with its first 1-based position."""
    seen: dict[str, int] = {}
    for pos, letter in enumerate(sequence, start=1):
        if letter not in _ALLOWED and letter not in seen:
            seen[letter] = pos
    return list(seen.items())


def rounded(values: Any, digits: int = 4) -> list[float]:
    """A numeric sequence as a JSON-friendly list of rounded floats."""
    return [round(float(v), digits) for v in values]


def closest(query: str, choices: Iterable[str], cutoff: float = 0.75) -> tuple[str, float] | None:
    """The choice most like ``query`` (difflib ratio, +0.1 for the same letters in another order), if any."""
    pool = list(choices)
    near = difflib.get_close_matches(query, pool, n=10, cutoff=max(cutoff - 0.1, 0.0))
    scored = [
        (difflib.SequenceMatcher(None, query, c).ratio() + (0.1 if sorted(c) == sorted(query) else 0.0), c)
        for c in near
    ]
    scored = [(score, c) for score, c in scored if score >= cutoff]
    if not scored:
        return None
    score, best = max(scored, key=lambda pair: pair[0])
    return best, round(min(score, 1.0), 3)


def fact(
    key: str,
    label: str,
    value: Any,
    statement: str,
    *,
    unit: str | None = None,
    topics: Iterable[str] = (),
    main: bool = False,
    item: str | None = None,
) -> dict[str, Any]:
    """One fact a tool establishes, in the shape every tool returns under ``result["facts"]``.

    ``statement`` is the sentence an answer copies verbatim (numbers as in ``value``), with ``{subject}`` where
    the molecule's or protein's name goes (the agent fills it in: "imatinib", "the query sequence");
    ``topics`` are lower-case words or phrases of a question that ask for this fact ("logp", "blood-brain
    barrier"); ``main`` marks the facts stated when a question asks for the tool's result in general;
    ``item`` labels the input a fact is about when a call had several (a SMILES, a FASTA name).
    """
    entry: dict[str, Any] = {"key": key, "label": label, "value": value, "unit": unit, "statement": statement}
    entry["topics"] = sorted({t.lower() for t in (*topics, label)})
    entry["main"] = main
    if item is not None:
        entry["item"] = item
    return entry
