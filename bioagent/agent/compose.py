"""Evidence-first answers: what the tools established, the UniProt fields the question asks for, and the
literature sentences that answer it, written as cited sentences without a chat model.

Every number and name in a composed sentence is copied from a tool's ``facts`` or an entry's field; literature
sentences are quoted. What to state follows from the question: its words select facts by their ``topics``
(``logP`` -> the logP fact; "where" -> the entry's subcellular location), and literature sentences are ranked by
similarity to the question with a preference for findings over background and aims.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet, fill_subject, sanitise
from bioagent.agent.terms import content_terms
from bioagent.citations import split_sentences
from bioagent.index.embedders import Embedder
from bioagent.tools.names import ToolName
from bioagent.tools.uniprot_lookup import entry_facts
from bioagent.types import Document, Evidence, ToolCall

SECTION_LABEL = re.compile(r"^[A-Z][A-Z /&,()-]{2,40}(?::\s*|\s+(?=[A-Z][a-z]))")
"""An abstract's section label at the start of a sentence ("RESULTS: ", "BACKGROUND Experimental ...")."""
OVERLAP_WEIGHT = 0.3
"""Sentence score bonus per share of the question's content words the sentence contains."""
RANK_PENALTY = 0.02
"""Sentence score penalty per place its passage stands below the best-retrieved one."""
SUPPLEMENT_SCORE = 0.6
"""A literature sentence is added to an answer that tools or UniProt already give only when it scores this
well for the question (and mentions the subject)."""
_FINDING_SECTION = re.compile(r"^(?:RESULTS?|FINDINGS|CONCLUSIONS?|INTERPRETATION|SUMMARY)\b", re.IGNORECASE)
_SETUP_SECTION = re.compile(
    r"^(?:BACKGROUND|INTRODUCTION|OBJECTIVES?|AIMS?|PURPOSE|METHODS?|DESIGN|SETTING|PATIENTS|MATERIALS?)\b",
    re.IGNORECASE,
)
_AIM = re.compile(
    r"\bwe (?:aimed|sought|set out|investigated|explored|examined|evaluated|assessed|studied|hypothesi[sz]ed)\b"
    r"|\bthe (?:aim|purpose|objective|goal) of\b|\bto (?:determine|assess|investigate|evaluate|examine|explore)"
    r" (?:whether|if)\b|\bthis (?:study|paper|report) (?:aims|examines|investigates|evaluates)\b",
    re.IGNORECASE,
)
MAX_FACTS_PER_TOOL = 8
#: Tools whose facts identify the subject; they are stated first, and only when asked or nothing else is.
IDENTIFYING_TOOLS = (ToolName.HOMOLOGY_SEARCH, ToolName.DRUG_LOOKUP)


@dataclass(frozen=True)
class Statement:
    """One sentence of a composed answer and the evidence key it cites."""

    text: str
    key: str
    origin: str
    """'identification', 'tool fact', 'UniProt field' or 'literature sentence'."""


@dataclass
class Composition:
    """The composed answer's sentences, in the order they are stated."""

    statements: list[Statement] = field(default_factory=list)

    def text(self, verdict: str | None = None) -> str:
        body = " ".join(f"{_no_end(s.text)} [{s.key}]." for s in self.statements)
        return f"{verdict.capitalize()}. {body}" if verdict and body else body

    def rests_on_literature(self) -> bool:
        """Whether only literature sentences (and a drug's catalogue name) answer: then a yes/no verdict from
        the literature applies."""
        return all(s.origin in ("literature sentence", "identification") for s in self.statements)

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
    return [_quotable(f) for f in chosen]


def _quotable(fact: dict[str, Any]) -> str:
    """A field's statement as an answer quotes it: a function paragraph's first sentences, a location without
    its free-text note; others whole."""
    statement = str(fact["statement"])
    if fact["key"] == "subcellular_location":
        return statement.split(" Note=")[0]
    return _first_sentences(statement, FIELD_SENTENCES) if fact["key"] == "function" else statement


def _first_sentences(text: str, count: int) -> str:
    parts = split_sentences(text)
    return text if len(parts) <= count else " ".join(parts[:count]).rstrip(".") + "…"


def _no_end(text: str) -> str:
    return text.rstrip().rstrip(".").rstrip()


# ----- literature sentences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedSentence:
    key: str
    text: str
    score: float


def rank_sentences(
    question: str,
    items: Sequence[Evidence],
    texts: dict[str, str],
    embedder: Embedder,
    mentioning: re.Pattern[str] | None = None,
) -> list[RankedSentence]:
    """Sentences of the literature ``items`` ranked for the question: cosine similarity (question encoded as a
    query), plus a bonus for findings (results and conclusions sections, the abstract's last sentence) and for
    the question's content words, minus a penalty for background, methods and statements of the study's aim,
    which restate a question rather than answer it. With ``mentioning``, only sentences that match it."""
    wanted = content_terms(question)
    units: list[tuple[str, str, float]] = []
    for rank, item in enumerate(items):
        text = texts[item.id]
        if item.title and text.startswith(item.title):
            text = text[len(item.title) :].lstrip(" .")
        sentences = split_sentences(sanitise(text)[0])[:40]
        section = ""
        for position, sentence in enumerate(sentences):
            if label := SECTION_LABEL.match(sentence):
                section = label.group(0)
            clean = SECTION_LABEL.sub("", sentence).strip()
            if len(clean.split()) < 4 or "instruction-like text removed" in clean:
                continue
            if mentioning and not mentioning.search(clean):
                continue
            prior = _section_prior(section, clean, last=position == len(sentences) - 1)
            overlap = len(wanted & content_terms(clean)) / len(wanted) if wanted else 0.0
            bonus = prior + OVERLAP_WEIGHT * overlap - RANK_PENALTY * rank
            units.append((item.id, clean[0].upper() + clean[1:], bonus))
    if not units:
        return []
    query = embedder.encode_queries([question])[0]
    vectors = embedder.encode_documents([text for _, text, _ in units])
    scores = vectors @ query + np.array([prior for _, _, prior in units])
    order = np.argsort(-scores, kind="stable")
    return [RankedSentence(units[i][0], units[i][1], float(scores[i])) for i in order]


def _section_prior(section: str, sentence: str, last: bool) -> float:
    if _FINDING_SECTION.match(section) or (last and not section):
        prior = 0.08
    elif _SETUP_SECTION.match(section):
        prior = -0.08
    else:
        prior = 0.0
    return prior - (0.1 if _AIM.search(sentence) else 0.0)


def pick_sentences(ranked: Sequence[RankedSentence], limit: int) -> list[RankedSentence]:
    """The best sentence, then up to ``limit - 1`` more scoring at least 0.8 as well: from other items first,
    then from the same ones."""
    if not ranked or limit < 1:
        return []
    close = [s for s in ranked[1:] if s.score >= 0.8 * ranked[0].score]
    chosen = [ranked[0]]
    for sentence in close:
        if len(chosen) < limit and sentence.key not in {c.key for c in chosen}:
            chosen.append(sentence)
    for sentence in close:
        if len(chosen) < limit and sentence not in chosen:
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
        if call.name == ToolName.DRUG_LOOKUP and isinstance(data.get("drug"), dict):
            if run.entities.smiles:  # named by drug_lookup's identity fact, stated first
                return "this molecule"
            for name in (call.arguments.get("name"), data["drug"].get("name")):
                spelled = re.search(rf"\b{re.escape(str(name))}\b", run.question, re.I) if name else None
                if spelled:
                    return spelled.group(0)
            return str(data["drug"].get("name") or "the drug")
    if run.entities.smiles:
        return "this molecule"
    if run.entities.sequences:
        return "the query sequence"
    if run.entities.drugs:
        return run.entities.drugs[0]
    for accession, metadata in run.entries.items():
        return str(metadata.get("gene") or metadata.get("protein_name") or accession)
    return "it"


def compose(
    run: ComposerInput, embedder: Embedder, literature_sentences: int = 2, deciding: str | None = None
) -> Composition:
    """Cited sentences answering ``run.question`` from facts, fields and literature, in that order.
    ``deciding``: the evidence sentence a yes/no verdict rests on, quoted first among the literature."""
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
        if not _restates_subject(fact, subject)
    ]
    identifying = [
        (key, fact)
        for call, key, facts in calls
        if call.name in IDENTIFYING_TOOLS
        for fact in _identifying_facts(run, call, facts, subject, bool(measured))
    ]
    for key, fact in identifying:
        composition.add(fill_subject(str(fact["statement"]), subject), key, "identification")
    for key, fact in measured:
        composition.add(fill_subject(str(fact["statement"]), subject), key, "tool fact")
    for accession, metadata in list(run.entries.items())[:1]:
        key = f"UniProt:{accession}"
        if run.evidence.get(key) is not None:
            for statement in entry_statements(run.question, accession, metadata, default=not measured):
                composition.add(statement, key, "UniProt field")
    literature = [item for item in run.evidence.usable() if item.kind == "literature"]
    subject_pattern = _subject_pattern(run)
    supplement = bool(composition.statements)
    if supplement and subject_pattern is None:
        return composition  # a pasted sequence or molecule: no sentence of the literature is about it
    ranked = rank_sentences(run.question, literature[:5], run.evidence.texts, embedder, subject_pattern)
    if supplement:
        ranked = [s for s in ranked[:1] if s.score >= SUPPLEMENT_SCORE]
    if deciding and (quoted := _quoted(deciding, ranked)):
        ranked = [quoted] + [s for s in ranked if s.key != quoted.key]
    for sentence in pick_sentences(ranked, literature_sentences):
        composition.add(sentence.text, sentence.key, "literature sentence")
    return composition


def _quoted(sentence: str, ranked: list[RankedSentence]) -> RankedSentence | None:
    """The ranked sentence that is ``sentence`` (section label aside), carrying the best score."""
    clean = SECTION_LABEL.sub("", sentence).strip().lower()
    top = ranked[0].score if ranked else 0.0
    found = next((s for s in ranked if s.text.lower() == clean), None)
    return RankedSentence(found.key, found.text, top) if found else None


def _restates_subject(fact: dict[str, Any], subject: str) -> bool:
    """A similarity fact whose match is the subject itself ("imatinib has the same fingerprint as Imatinib")."""
    value = fact.get("value")
    names = value.get("names", []) if isinstance(value, dict) else []
    return fact.get("key") == "same_fingerprint" and subject.lower() in (str(n).lower() for n in names)


def _identifying_facts(
    run: ComposerInput, call: ToolCall, facts: list[dict[str, Any]], subject: str, measured: bool
) -> list[dict[str, Any]]:
    """What homology_search or drug_lookup contribute: a pasted sequence or SMILES is always named (what it is,
    or that nothing close is known); a drug named in the question is restated only when the catalogue knows it
    by another name (aspirin -> Acetylsalicylic acid) and other facts about it are stated; its other facts
    (targets, ATC class) when asked for."""
    if call.name == ToolName.HOMOLOGY_SEARCH:
        return select_facts(run.question, facts, general=True)
    asked = select_facts(run.question, facts, general=False)
    identity = [f for f in facts if f["key"] == "identity"]
    drug = call.result.data.get("drug") if call.result else None
    renamed = isinstance(drug, dict) and str(drug.get("name", "")).lower() != subject.lower()
    others = [f for f in asked if f["key"] != "identity"]
    if "smiles" in call.arguments or (renamed and (others or measured)):
        return identity + others
    return others


def _subject_pattern(run: ComposerInput) -> re.Pattern[str] | None:
    """When the question names a drug or gene, literature sentences must mention it (or its entry's gene)."""
    names = [*run.entities.drugs, *run.entities.genes]
    names += [str(m.get("gene")) for m in run.entries.values() if m.get("gene")]
    if not names:
        return None
    return re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names), re.IGNORECASE)


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
