"""Evidence-first answers: what the tools established, the UniProt fields the question asks for, and the
literature sentences that answer it, written as cited sentences without a chat model.

Every number and name in a composed sentence is copied from a tool's ``facts`` or an entry's field; literature
sentences are quoted. What to state follows from the question: its words select facts by their ``topics``
(``logP`` -> the logP fact), UniProt fields by intent ("where" -> subcellular location), and literature
sentences are ranked by similarity to the question with a preference for conclusions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet, fill_subject, sanitise, split_sentences
from bioagent.agent.terms import content_terms
from bioagent.index.embedders import Embedder
from bioagent.tools.uniprot_lookup import entry_facts
from bioagent.types import Document, Evidence, ToolCall

_SECTION_LABEL = re.compile(r"^[A-Z][A-Z /&,()-]{2,40}:\s*")
_CONCLUSION_LABEL = re.compile(r"^(?:CONCLUSIONS?|INTERPRETATION|SUMMARY)\b", re.IGNORECASE)
MAX_FACTS_PER_TOOL = 8
#: Tools whose facts identify the subject; they are stated first, and only when asked or nothing else is.
IDENTIFYING_TOOLS = ("homology_search", "drug_lookup")


@dataclass(frozen=True)
class Statement:
    """One sentence of a composed answer and the evidence key it cites."""

    text: str
    key: str
    origin: str
    """'tool fact', 'UniProt field' or 'literature sentence' (shown in the verification panel)."""


@dataclass
class Composition:
    statements: list[Statement] = field(default_factory=list)

    def text(self, verdict: str | None = None) -> str:
        body = " ".join(f"{_no_end(s.text)} [{s.key}]." for s in self.statements)
        return f"{verdict.capitalize()}. {body}" if verdict and body else body

    def facts_block(self) -> str:
        """The statements as a list for a chat model's prompt (empty when nothing was composed)."""
        return "\n".join(f"- {_no_end(s.text)} [{s.key}]" for s in self.statements)

    def add(self, text: str, key: str, origin: str) -> None:
        if text and all(s.text != text for s in self.statements):
            self.statements.append(Statement(text, key, origin))


# ----- which facts the question asks for ------------------------------------------------------------------


def _asks_for(question: str, topic: str) -> bool:
    """Whether ``topic`` (a word, a stem such as 'permeab', or a phrase) occurs in the question; a topic
    matches at the start of a word, so 'pi' does not match 'pipeline' but 'hepatotox' matches 'hepatotoxic'."""
    pattern = r"(?<![a-z0-9])" + re.escape(topic.lower()).replace(r"\ ", r"[\s-]+")
    if len(topic) <= 3:
        pattern += r"(?![a-z])"
    return re.search(pattern, question.lower()) is not None


def select_facts(question: str, facts: Sequence[dict[str, Any]], general: bool) -> list[dict[str, Any]]:
    """The facts whose topics the question names; with none named and ``general``, the main facts."""
    named = [f for f in facts if any(_asks_for(question, t) for t in f.get("topics", ()))]
    if named:
        return named[:MAX_FACTS_PER_TOOL]
    return [f for f in facts if f.get("main")][:MAX_FACTS_PER_TOOL] if general else []


# ----- UniProt fields ---------------------------------------------------------------------------------------

FIELD_SENTENCES = 3
"""Long UniProt fields (a function paragraph) are quoted up to this many sentences."""


def entry_statements(question: str, accession: str, metadata: dict[str, Any], default: bool) -> list[str]:
    """The UniProt entry's own statements the question asks for (its fields chosen by the question's words,
    e.g. "where" -> subcellular location); with none asked for and ``default``, its function."""
    facts = entry_facts(Document(id=accession, source="uniprot", metadata=metadata))
    chosen = select_facts(question, facts, general=False)
    if not chosen and default:
        chosen = [f for f in facts if f["key"] == "function"]
    return [_first_sentences(str(f["statement"]), FIELD_SENTENCES) for f in chosen]


def _first_sentences(text: str, count: int) -> str:
    parts = split_sentences(text)
    return text if len(parts) <= count else " ".join(parts[:count]) + " [...]"


def _no_end(text: str) -> str:
    return text.rstrip().rstrip(".").rstrip()


# ----- literature sentences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedSentence:
    key: str
    text: str
    score: float


def rank_sentences(
    question: str, items: Sequence[Evidence], texts: dict[str, str], embedder: Embedder
) -> list[RankedSentence]:
    """Sentences of the literature ``items`` ranked for the question: cosine similarity (question encoded as a
    query), plus a bonus for conclusions and for sharing the question's content words."""
    wanted = content_terms(question)
    units: list[tuple[str, str, float]] = []
    for rank, item in enumerate(items):
        text = texts[item.id]
        if item.title and text.startswith(item.title):
            text = text[len(item.title) :].lstrip(" .")
        sentences = split_sentences(sanitise(text)[0])[:40]
        for position, sentence in enumerate(sentences):
            bonus = 0.08 if _CONCLUSION_LABEL.match(sentence) or position == len(sentences) - 1 else 0.0
            clean = _SECTION_LABEL.sub("", sentence).strip()
            if len(clean.split()) < 5 or "instruction-like text removed" in clean:
                continue
            overlap = len(wanted & content_terms(clean)) / len(wanted) if wanted else 0.0
            units.append((item.id, clean[0].upper() + clean[1:], bonus + 0.15 * overlap - 0.02 * rank))
    if not units:
        return []
    query = embedder.encode_queries([question])[0]
    vectors = embedder.encode_documents([text for _, text, _ in units])
    scores = vectors @ query + np.array([bonus for _, _, bonus in units])
    order = np.argsort(-scores, kind="stable")
    return [RankedSentence(units[i][0], units[i][1], float(scores[i])) for i in order]


def pick_sentences(ranked: Sequence[RankedSentence], limit: int) -> list[RankedSentence]:
    """The best sentence, then up to ``limit - 1`` more from other items scoring at least 0.8 as well."""
    chosen: list[RankedSentence] = []
    for sentence in ranked:
        if len(chosen) >= limit:
            break
        if chosen and (sentence.score < 0.8 * chosen[0].score or sentence.key in {c.key for c in chosen}):
            continue
        chosen.append(sentence)
    return chosen


# ----- the composer -----------------------------------------------------------------------------------------


@dataclass
class ComposerInput:
    """What one run found: the question, its entities, the evidence and the tool calls."""

    question: str
    entities: Entities
    evidence: EvidenceSet
    calls: list[ToolCall]
    entries: dict[str, dict[str, Any]]
    """UniProt entries the question is about (accession -> metadata), best first."""


def subject_name(run: ComposerInput) -> str:
    """What the question is about, as the answer names it."""
    for call in run.calls:
        data = call.result.data if call.result and call.result.ok else {}
        if call.name == "drug_lookup" and isinstance(data.get("drug"), dict):
            name = str(data["drug"].get("name") or "")
            spelled = re.search(rf"\b{re.escape(name)}\b", run.question, re.IGNORECASE) if name else None
            asked = spelled.group(0) if spelled else None
            if run.entities.smiles:
                return f"this molecule ({name})" if name else "this molecule"
            return asked or name or "the drug"
    if run.entities.smiles:
        return "this molecule"
    if run.entities.sequences:
        return "the query sequence"
    if run.entities.drugs:
        return run.entities.drugs[0]
    for accession, metadata in run.entries.items():
        return str(metadata.get("gene") or metadata.get("protein_name") or accession)
    return "it"


def compose(run: ComposerInput, embedder: Embedder, literature_sentences: int = 2) -> Composition:
    """Cited sentences answering ``run.question`` from facts, fields and literature, in that order."""
    composition = Composition()
    subject = subject_name(run)
    calls = [
        (call, key, (call.result.data.get("facts") if call.result else None) or [])
        for call, key in _tool_keys(run)
    ]
    measured = [
        (key, fact)
        for call, key, facts in calls
        if call.name not in IDENTIFYING_TOOLS
        for fact in select_facts(run.question, facts, general=True)
    ]
    identifying = []
    for call, key, facts in calls:
        if call.name in IDENTIFYING_TOOLS:
            # a pasted sequence or SMILES is always named; a drug named in the question only when asked about
            pasted = call.name == "homology_search" or "smiles" in call.arguments
            chosen = select_facts(run.question, facts, general=pasted)
            identifying += [(key, f) for f in chosen if pasted or not measured or f["key"] != "identity"]
    for key, fact in identifying + measured:
        composition.add(fill_subject(str(fact["statement"]), subject), key, "tool fact")
    for accession, metadata in list(run.entries.items())[:1]:
        key = f"UniProt:{accession}"
        if run.evidence.get(key) is not None:
            for statement in entry_statements(run.question, accession, metadata, default=not measured):
                composition.add(statement, key, "UniProt field")
    literature = [item for item in run.evidence.items if item.kind == "literature"]
    limit = literature_sentences if not composition.statements else min(1, literature_sentences)
    ranked = rank_sentences(run.question, literature[:5], run.evidence.texts, embedder)
    for sentence in pick_sentences(_about_subject(ranked, run), limit):
        composition.add(sentence.text, sentence.key, "literature sentence")
    return composition


def _about_subject(ranked: list[RankedSentence], run: ComposerInput) -> list[RankedSentence]:
    """When the question names a drug or gene, only sentences that mention it (or its entry's gene)."""
    names = [*run.entities.drugs, *run.entities.genes]
    names += [str(m.get("gene")) for m in run.entries.values() if m.get("gene")]
    if not names:
        return ranked
    pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names), re.IGNORECASE)
    return [s for s in ranked if pattern.search(s.text)]


def _tool_keys(run: ComposerInput) -> list[tuple[ToolCall, str]]:
    """Each successful call with its evidence key (tool:<name>, tool:<name>-2, ... in call order)."""
    seen: dict[str, int] = {}
    pairs = []
    for call in run.calls:
        if not (call.result and call.result.ok):
            continue
        seen[call.name] = seen.get(call.name, 0) + 1
        count = seen[call.name]
        pairs.append((call, f"tool:{call.name}" if count == 1 else f"tool:{call.name}-{count}"))
    return pairs
