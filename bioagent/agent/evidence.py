"""Numbered, typed evidence gathered in one run: each item has a citation key (see :mod:`bioagent.citations`),
and a bare evidence number ``[2]`` in a draft is rewritten to its key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bioagent.citations import evidence_url, split_sentences
from bioagent.types import Evidence, Hit

_INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,60}\b(?:instruction|prompt|rule|above|previous|prior)"
    r"|\byou are now\b|\b(?:system|developer) (?:prompt|message)\b|^\s*(?:system|assistant|user)\s*:"
    r"|\b(?:instead|now),? (?:say|answer|reply|respond|output)\b|\b(?:say|reply|respond|output) (?:only|exactly)\b",
    re.IGNORECASE | re.MULTILINE,
)
TOOL_SNIPPET_CHARS = 700


def evidence_key(hit: Hit) -> str:
    """The citation key of a search hit."""
    doc_id = hit.parent_id
    if hit.source == "uniprot" or "accession" in hit.metadata and hit.source != "pubmed":
        return f"UniProt:{doc_id}"
    if hit.source == "pubmed" or (hit.metadata.get("pmid") and str(hit.metadata["pmid"]) == doc_id):
        return f"PMID:{doc_id}"
    return f"doc:{doc_id}"


def sanitise(text: str) -> tuple[str, bool]:
    """Retrieved text with instruction-like sentences replaced by a marker; True when something was removed."""
    if not _INSTRUCTION_LIKE.search(text):
        return text, False
    kept = [
        s if not _INSTRUCTION_LIKE.search(s) else "[instruction-like text removed]"
        for s in split_sentences(text)
    ]
    return " ".join(kept), True


def summarise_tool_result(data: Any, limit: int = TOOL_SNIPPET_CHARS) -> str:
    """A short readable digest of a tool's JSON result: the numbers and verdicts, not per-residue arrays,
    provenance or explanations (those stay in the ToolCall)."""
    parts: list[str] = []
    _flatten(data, "", parts)
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


_SKIP_KEYS = frozenset(
    {"meaning", "plot", "tool", "model", "model_version", "sequence", "input", "inchikey", "query", "facts"}
)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 80)


def _show(value: Any) -> str:
    return str(round(value, 4)) if isinstance(value, float) else str(value)


def _flatten(value: Any, label: str, parts: list[str]) -> None:
    if isinstance(value, dict):
        items = {k: v for k, v in value.items() if k not in _SKIP_KEYS}
        if label and items and all(_is_scalar(v) for v in items.values()):
            parts.append(f"{label}: " + ", ".join(f"{k} {_show(v)}" for k, v in items.items()))
            return
        for key, item in items.items():
            _flatten(item, str(key), parts)
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            for number, item in enumerate(value[:6], start=1):
                _flatten(item, label if len(value) == 1 else f"{label} {number}", parts)
        elif value and len(value) <= 12 and all(_is_scalar(v) for v in value):
            parts.append(f"{label}: {', '.join(_show(v) for v in value)}")
    elif value is not None and _is_scalar(value):
        parts.append(f"{label}: {_show(value)}")


@dataclass
class EvidenceSet:
    """The run's evidence in citation order; item ``n`` (1-based) is ``items[n - 1]``."""

    items: list[Evidence] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    """Full text used for support checks, by key (the snippet may be shorter)."""

    def __len__(self) -> int:
        return len(self.items)

    def keys(self) -> list[str]:
        return [item.id for item in self.items]

    def get(self, key: str) -> Evidence | None:
        return next((item for item in self.items if item.id == key), None)

    def add_hit(self, hit: Hit, relevance: float, kind: str) -> Evidence | None:
        """Add a search hit (once per key); instruction-like sentences are removed from its text."""
        key = evidence_key(hit)
        if self.get(key):
            return None
        text, sanitised = sanitise(f"{hit.title}. {hit.text}" if hit.title else hit.text)
        metadata = {"source": hit.source, "retrieval_score": round(hit.score, 4), "rank": hit.rank}
        if sanitised:
            metadata["sanitised"] = True
        item = self._add(key, kind, hit.title, text, round(relevance, 4), metadata)
        item.url = evidence_url(key, hit.metadata)
        return item

    def add_tool_result(
        self, name: str, data: Any, model: str | None = None, subject: str = "it"
    ) -> Evidence:
        """Add a tool's result as prediction evidence ``tool:<name>`` (``-2``, ``-3`` for repeated calls): the
        facts it states (``{subject}`` filled in), then a digest of the rest. The facts stay in the metadata
        for the verifier's contradiction checks."""
        key = f"tool:{name}"
        count = 1
        while self.get(key):
            count += 1
            key = f"tool:{name}-{count}"
        facts = list(data.get("facts") or []) if isinstance(data, dict) else []
        statements = [fill_subject(str(f["statement"]), subject) for f in facts]
        text = " ".join(f"{s.rstrip('.')}." for s in statements)
        digest = summarise_tool_result(data)
        text = f"{text} Data: {digest}" if text and digest else text or digest
        metadata: dict[str, Any] = {"model": model} if model else {}
        if facts:
            metadata["facts"] = facts
        return self._add(key, "prediction", tool_title(name), text, None, metadata)

    def _add(
        self, key: str, kind: str, title: str, text: str, score: float | None, metadata: dict[str, Any]
    ) -> Evidence:
        item = Evidence(
            id=key,
            kind=kind,  # type: ignore[arg-type]
            title=title,
            snippet=text[:1500],
            score=score,
            url=evidence_url(key),
            metadata=metadata,
            number=len(self.items) + 1,
        )
        self.items.append(item)
        self.texts[key] = text
        return item

    def resolve(self, key: str) -> str | None:
        """A typed key or evidence number -> the key of evidence in this set; None when it names nothing here."""
        if key.isdigit():
            number = int(key)
            return self.items[number - 1].id if 1 <= number <= len(self.items) else None
        if self.get(key):
            return key
        lowered = key.lower()
        return next((item.id for item in self.items if item.id.lower() == lowered), None)

    def usable(self) -> list[Evidence]:
        """The items an answer may use: all but those set aside (see :mod:`bioagent.agent.summaries`)."""
        return [item for item in self.items if not item.metadata.get("set_aside")]

    def prompt_block(self, limit: int | None = None, words: int = 120, numbered_only: bool = False) -> str:
        """The usable evidence as numbered lines for a prompt: ``[n] KEY - title. text`` (texts cut to
        ``words``), with the model's summary for the question first where there is one."""
        lines = []
        for item in self.usable()[:limit]:
            text = _cut_words(self.texts[item.id], words)
            if summary := item.metadata.get("summary"):
                text = f"Summary for the question: {summary} Passage: {text}"
            label = f"[{item.number}]" if numbered_only else f"[{item.number}] {item.id} -"
            lines.append(f"{label} {text}")
        return "\n".join(lines)


def fill_subject(statement: str, subject: str) -> str:
    """A fact's statement with ``{subject}`` replaced (capitalised when the sentence starts with it; model names
    such as 'metapredict' keep their spelling)."""
    text = statement.replace("{subject}", subject)
    return text[0].upper() + text[1:] if statement.startswith("{subject}") else text


def _cut_words(text: str, words: int) -> str:
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words]) + " ..."


def tool_title(name: str) -> str:
    """The readable title of tool ``name`` ("ADMET predictions (ADMET-AI)"); for a tool outside the registry,
    its name in words ("protein properties")."""
    from bioagent.tools.registry import SPECS

    return next((spec.title for spec in SPECS if spec.name == name), name.replace("_", " "))
