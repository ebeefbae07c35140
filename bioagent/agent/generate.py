"""Talking to the chat model: prompt assembly, token streaming, reasoning/answer split, extractive fallback."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from bioagent.agent.compose import SECTION_LABEL
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.prompts import load_prompt
from bioagent.agent.terms import content_terms
from bioagent.citations import split_sentences
from bioagent.errors import BioagentError
from bioagent.index.embedders import Embedder
from bioagent.llm import explain_llm_error

ABSTAIN_TEXT = "I cannot answer this from the indexed evidence."
_ANSWER_MARK = re.compile(r"(?:^|\n)\s*\**\s*(?:final\s+)?answer\s*\**\s*:\s*", re.IGNORECASE)
_REASONING_MARK = re.compile(r"^\s*\**\s*reasoning\s*\**\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class PromptStyle:
    """How much evidence the model sees: ``compact`` for tiny local models, ``full`` for capable ones."""

    name: str
    template: str
    evidence_items: int
    evidence_words: int
    numbered_only: bool
    max_claims: int
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    """Cap on the reply (tiny models ramble on past the 1-3 sentences asked for)."""


COMPACT = PromptStyle(
    "compact",
    "answer_compact",
    evidence_items=3,
    evidence_words=60,
    numbered_only=True,
    max_claims=3,
    stop=("\nQuestion:", "\nEvidence:"),
    max_tokens=120,
)
FULL = PromptStyle("full", "answer", evidence_items=10, evidence_words=160, numbered_only=False, max_claims=6)


def verdict_options(options: Sequence[str] | None, question: str) -> list[str]:
    """The verdicts an answer should open with: the given options, yes/no/maybe for yes/no questions, or none."""
    if options:
        return list(options)
    if re.match(r"^\s*(is|are|does|do|did|can|could|was|were|has|have|will|should)\b", question, re.I):
        return ["Yes", "No", "Maybe"]
    return []


def answer_format(options: Sequence[str] | None, question: str) -> str:
    """The instruction that asks for a leading verdict, for multiple-choice or yes/no questions."""
    verdicts = verdict_options(options, question)
    return f" Start the answer with {' or '.join(verdicts)}." if verdicts else ""


def build_messages(
    style: PromptStyle,
    question: str,
    evidence: EvidenceSet,
    options: Sequence[str] | None = None,
    history: str = "",
    facts: str = "",
) -> list[BaseMessage]:
    """The answer prompt: numbered evidence, and the facts already composed from it (to keep verbatim)."""
    block = evidence.prompt_block(style.evidence_items, style.evidence_words, style.numbered_only)
    values = {"question": question, "evidence": block, "answer_format": answer_format(options, question)}
    values["facts"] = (
        f"Facts established from this evidence (keep every number and name exactly as written):\n{facts}\n\n"
        if facts
        else ""
    )
    if style is FULL:
        values["history"] = f"Earlier in this conversation:\n{history}\n\n" if history else ""
    system, user = load_prompt(style.template).render(**values)
    return [SystemMessage(content=system), HumanMessage(content=user)]


def closed_book_messages(question: str, options: Sequence[str] | None = None) -> list[BaseMessage]:
    system, user = load_prompt("closed_book").render(
        question=question, answer_format=answer_format(options, question)
    )
    return [SystemMessage(content=system), HumanMessage(content=user)]


def stream_reply(
    llm: BaseChatModel,
    messages: list[BaseMessage],
    on_token: Callable[[str], None],
    stop: Sequence[str] = (),
    max_tokens: int | None = None,
) -> str:
    """The model's reply, streamed piece by piece to ``on_token``; failures become an :class:`LLMError`
    naming the setting to check."""
    pieces: list[str] = []
    try:
        limit: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
        for chunk in llm.stream(messages, None, stop=list(stop) or None, **limit):
            piece = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
            if piece:
                pieces.append(piece)
                on_token(piece)
    except BioagentError:
        raise
    except Exception as exc:
        raise explain_llm_error(exc, llm) from exc
    return "".join(pieces)


def split_reasoning(reply: str) -> tuple[str, str]:
    """(reasoning, answer) from a reply with 'Reasoning:' and 'Answer:' parts; no marker -> all answer."""
    marks = list(_ANSWER_MARK.finditer(reply))
    if not marks:
        return "", _trim_answer(_REASONING_MARK.sub("", reply).strip())
    last = marks[-1]
    reasoning = _REASONING_MARK.sub("", reply[: last.start()]).strip()
    answer = reply[last.end() :].strip()
    return reasoning, _trim_answer(answer)


def _trim_answer(answer: str) -> str:
    """Drop anything a small model rambles on with after the answer (a new 'Question:' or 'Evidence:')."""
    cut = re.search(r"\n\s*(?:question|evidence|reasoning)\s*:", answer, re.IGNORECASE)
    return answer[: cut.start()].strip() if cut else answer


def leading_option(text: str, options: Sequence[str], anywhere: bool = True) -> str | None:
    """The option the text opens with ('Yes, ...' -> 'yes'); with ``anywhere``, else the first one mentioned."""
    lowered = text.lower()
    opening = re.match(r"\W*([a-z]+)", lowered)
    wanted = [o.lower() for o in options]
    if opening and opening.group(1) in wanted:
        return opening.group(1)
    if not anywhere:
        return None
    positions = {o: m.start() for o in wanted if (m := re.search(rf"\b{re.escape(o)}\b", lowered))}
    return min(positions, key=positions.__getitem__) if positions else None


def _lexical_shortlist(question: str, units: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    """The ``n`` units sharing the most content words with the question (in their original order), so
    that only a few sentences need embedding; tool results always stay."""
    wanted = content_terms(question)
    overlap = [len(wanted & content_terms(text)) for _, text in units]
    keep = set(sorted(range(len(units)), key=lambda i: -overlap[i])[:n])
    return [u for i, u in enumerate(units) if i in keep or u[0].startswith("tool:")]


def extractive_sentences(
    question: str, evidence: EvidenceSet, embedder: Embedder, items: int = 3, sentences: int = 2
) -> list[tuple[str, str]]:
    """(key, sentence) pairs quoted from the first ``items`` evidence items: the sentence closest to the
    question, plus one from another item when it scores at least 3/4 as well. Section labels are dropped."""
    units: list[tuple[str, str]] = []
    for item in evidence.usable()[:items]:
        text = evidence.texts[item.id]
        if item.kind == "prediction":
            model = f" ({item.metadata['model']})" if item.metadata.get("model") else ""
            units.append((item.id, f"{item.title}{model}: {text}"))
            continue
        if item.title and text.startswith(item.title):
            text = text[len(item.title) :].lstrip(" .")
        parts = (SECTION_LABEL.sub("", s) for s in split_sentences(text)[:30])
        units += [(item.id, s[0].upper() + s[1:]) for s in parts if len(s.split()) >= 5]
    if not units:
        return []
    units = _lexical_shortlist(question, units, 8)
    vectors = embedder.encode_documents([question] + [u[1] for u in units])
    scores = vectors[1:] @ vectors[0]
    order = [int(row) for row in np.argsort(-scores, kind="stable")]
    chosen = [order[0]]
    for row in order[1:]:
        good_enough = scores[row] >= 0.75 * scores[order[0]]
        if len(chosen) < sentences and good_enough and all(units[row][0] != units[c][0] for c in chosen):
            chosen.append(row)
    return [(units[row][0], units[row][1].rstrip(" .")) for row in sorted(chosen)]
