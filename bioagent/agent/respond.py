"""The answer steps: compose (or have the chat model write) the answer over the evidence, verify its citations,
or abstain."""

from __future__ import annotations

import time
from typing import Any

from langgraph.config import get_stream_writer

from bioagent.agent.compose import ComposerInput, Composition, compose
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.generate import (
    ABSTAIN_TEXT,
    FULL,
    build_messages,
    extractive_sentences,
    leading_option,
    split_reasoning,
    stream_reply,
    verdict_options,
)
from bioagent.agent.state import AgentParts, AgentState
from bioagent.agent.verdict import Verdict
from bioagent.agent.verify import QUOTED, Verification, missing_anchors
from bioagent.types import Answer, Citation, SentenceVerdict

COMPOSER_NAME = "evidence composer (no chat model wrote this answer)"


class Responding:
    """The answer, verify and abstain nodes."""

    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts
        self.config = parts.settings.agent

    def answer(self, state: AgentState) -> dict[str, Any]:
        writer = get_stream_writer()
        run = ComposerInput(
            state["question"],
            state["entities"],
            state["evidence"],
            state.get("tool_calls") or [],
            state.get("entries") or {},
        )
        if self.parts.writer == "evidence":
            return self._composed(state, run, writer)
        return self._written(state, run, writer)

    def _composed(self, state: AgentState, run: ComposerInput, writer: Any) -> dict[str, Any]:
        """The answer composed from the evidence; a yes/no question that the literature answers also gets a
        verdict from the verdict model (not one that tools or UniProt answer: it was trained on literature)."""
        composition = compose(run, self.parts.embedder, self.config.literature_sentences)
        verdict: Verdict | None = None
        notes: list[str] = []
        if composition.rests_on_literature() and not (run.entities.sequences or run.entities.smiles):
            verdict, notes = self._verdict(state)
        if verdict:  # the sentence the verdict rests on is quoted first
            composition = compose(
                run, self.parts.embedder, self.config.literature_sentences, verdict.sentence
            )
        draft = composition.text(verdict.label if verdict else None)
        writer({"token": draft})
        trace = [f"Composed {len(composition.statements)} sentences from the evidence (no chat model)."]
        if verdict:
            trace.append(
                f"Verdict {verdict.label} (probability {verdict.probability:.2f}) from the verdict model; "
                f"its deciding sentence: {verdict.sentence[:200]}"
            )
        return {"draft": draft, "composition": composition, "trace": trace, "notes": notes}

    def _written(self, state: AgentState, run: ComposerInput, writer: Any) -> dict[str, Any]:
        """The chat model's answer over the evidence and the facts composed from it (streamed token by token)."""
        composition = compose(run, self.parts.embedder, self.config.literature_sentences)
        history = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in state.get("history") or [])
        messages = build_messages(
            self.parts.style,
            state["question"],
            state["evidence"],
            state.get("options"),
            history if self.parts.style is FULL else "",
            composition.facts_block(),
        )
        start = time.perf_counter()
        first: list[float] = []

        def on_token(piece: str) -> None:
            if not first:
                first.append(time.perf_counter() - start)
            writer({"token": piece})

        reply = stream_reply(
            self.parts.llm, messages, on_token, self.parts.style.stop, self.parts.style.max_tokens
        )
        reasoning, draft = split_reasoning(reply)
        timings = {"answer.first_token": round(first[0], 4)} if first else {}
        return {
            "draft": draft,
            "model_reasoning": reasoning,
            "timings": timings,
            "composition": composition,
        }

    def _verdict(self, state: AgentState) -> tuple[Verdict | None, list[str]]:
        """A yes/no verdict from the verdict model over the literature evidence, for yes/no questions only
        (with a note when the question wanted one and none can be given)."""
        options = [o.lower() for o in verdict_options(state.get("options"), state["question"])]
        if self.parts.verdicts is None or not {"yes", "no"} <= set(options):
            return None, []
        if isinstance(self.parts.verdicts, str):
            return None, [f"No yes/no verdict: {self.parts.verdicts}."]
        evidence = state["evidence"]
        passages = [evidence.texts[item.id] for item in evidence.usable() if item.kind == "literature"][:5]
        return self.parts.verdicts.predict(state["question"], passages, self.parts.embedder), []

    def verify(self, state: AgentState) -> dict[str, Any]:
        evidence = state["evidence"]
        style = self.parts.style
        composed = self.parts.writer == "evidence"
        subjects = [f"UniProt:{accession}" for accession in state.get("entries") or {}]
        checked = self.parts.verifier.verify(
            state.get("draft", ""),
            evidence,
            0
            if composed
            else style.evidence_items,  # a composed sentence is checked against its own citation
            None if composed else style.max_claims,
            subjects=subjects,
            numbered=not composed,
        )
        if not composed and state.get("composition"):
            checked = self._keep_facts(checked, state["composition"], evidence, subjects)
        notes = _verification_notes(checked, self.config.unsupported)
        text, extractive = checked.text, composed
        if not composed and not _has_supported_claim(checked) and self.config.extractive_fallback:
            quoted = extractive_sentences(
                state["question"], evidence, self.parts.embedder, items=self.parts.style.evidence_items
            )
            if quoted:
                options = verdict_options(state.get("options"), state["question"])
                verdict = leading_option(state.get("draft", ""), options, anywhere=False) if options else None
                prefix = f"{verdict.capitalize()}. " if verdict else ""
                text = prefix + " ".join(f"{sentence} [{key}]." for key, sentence in quoted)
                extractive = True
                checked.citations = list(dict.fromkeys(key for key, _ in quoted))
                checked.verdicts += [
                    SentenceVerdict(sentence=s, citations=[k], supported=True, score=1.0, reason=QUOTED)
                    for k, s in quoted
                ]
                notes.append(
                    "The model's answer did not pass citation verification, so this answer quotes the "
                    "evidence sentences closest to the question instead (extractive fallback)."
                )
        if not text.strip():
            text = ABSTAIN_TEXT
        answer = self._answer(state, text, evidence, notes, extractive)
        answer.verdicts = checked.verdicts
        answer.citations = [_citation(key, evidence) for key in checked.citations if evidence.get(key)]
        return {"answer": answer, "notes": notes}

    def _keep_facts(
        self, checked: Verification, composition: Composition, evidence: EvidenceSet, subjects: list[str]
    ) -> Verification:
        """The model's checked answer plus every composed fact or field whose numbers and names it dropped:
        a chat model writes over the facts but does not lose them."""
        dropped = [
            s
            for s in composition.statements
            if s.origin != "literature sentence" and missing_anchors(s.text, checked.text)
        ]
        if dropped:
            checked.extend(
                self.parts.verifier.verify(Composition(dropped).text(), evidence, subjects=subjects)
            )
        return checked

    def abstain(self, state: AgentState) -> dict[str, Any]:
        notes = ["No retrieved passage reached the relevance threshold and no tool produced a result."]
        answer = self._answer(state, ABSTAIN_TEXT, EvidenceSet(), notes, False)
        answer.abstained = True
        return {"answer": answer, "notes": notes}

    def _answer(
        self, state: AgentState, text: str, evidence: EvidenceSet, notes: list[str], extractive: bool
    ) -> Answer:
        all_notes = list(self.parts.startup_notes) + list(state.get("notes") or []) + notes
        if all_notes:
            text = f"{text}\n\nNote: {' '.join(all_notes)}"
        trace = list(state.get("trace") or [])
        if state.get("model_reasoning"):
            trace.append(f"Model reasoning: {state['model_reasoning']}")
        return Answer(
            question=state["question"],
            text=text,
            evidence=list(evidence.items),
            tool_calls=list(state.get("tool_calls") or []),
            reasoning="\n".join(trace),
            model=self.parts.model_name if self.parts.writer == "model" else COMPOSER_NAME,
            notes=all_notes,
            planner=self.parts.planner.name,
            extractive=extractive,
            abstained=text.startswith(ABSTAIN_TEXT),
        )


def _has_supported_claim(checked: Verification) -> bool:
    return any(v.supported and v.citations for v in checked.verdicts)


def _verification_notes(checked: Verification, mode: str) -> list[str]:
    notes = []
    if checked.invalid_citations:
        shown = ", ".join(sorted(set(checked.invalid_citations)))
        notes.append(f"Removed citations that name no evidence from this run: {shown}.")
    if checked.dropped_sentences:
        notes.append(
            f"{checked.dropped_sentences} sentence(s) of the model's answer that repeated others or went past the "
            "answer's length were left out."
        )
    if checked.removed_sentences:
        n = len(checked.removed_sentences)
        done = "removed" if mode == "remove" else "marked [unsupported]"
        notes.append(
            f"{n} sentences were {done} because the evidence did not support them."
            if n > 1
            else f"1 sentence was {done} because the evidence did not support it."
        )
    return notes


def _citation(key: str, evidence: EvidenceSet) -> Citation:
    item = evidence.get(key)
    assert item is not None
    return Citation(id=key, url=item.url, snippet=item.snippet[:300])
