"""The public :class:`Agent`: ask, stream (sync and async), conversation memory."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from bioagent.agent.entities import EntityRecognizer
from bioagent.agent.generate import ABSTAIN_TEXT, COMPACT, FULL
from bioagent.agent.graph import AgentParts, Turn, build_graph
from bioagent.agent.live import LiveSearch
from bioagent.agent.planner import Planner, choose_planner, declares_tool_calling
from bioagent.agent.research import Budget, ResearchPlanner
from bioagent.agent.verdict import VerdictModel
from bioagent.agent.verify import CachingEmbedder, Verifier
from bioagent.errors import BioagentError, IndexLoadError
from bioagent.index import Embedder, Index, load_embedder, load_index
from bioagent.settings import Settings
from bioagent.types import Answer

logger = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
IndexLike = Index | str | Path


class AgentEvent(BaseModel):
    """One item of :meth:`Agent.stream`: a finished step, a token of the answer, or the final answer."""

    type: Literal["step", "token", "answer"]
    step: str | None = None
    text: str = ""
    seconds: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    answer: Answer | None = None


@dataclass
class Conversation:
    """One user's earlier questions and answers, read for follow-up questions. An agent can serve many users:
    pass each one's own conversation to :meth:`Agent.stream` / :meth:`Agent.ask` (without one, the agent's
    own :attr:`Agent.conversation` is used)."""

    turns: list[Turn] = field(default_factory=list)

    def clear(self) -> None:
        """Forget the earlier turns (follow-up questions start fresh)."""
        self.turns.clear()


class Agent:
    """Retrieval-augmented biomedical QA with tools and verified citations.

    >>> agent = Agent.from_settings()                       # doctest: +SKIP
    >>> answer = agent.ask("What is the function of TP53?")  # doctest: +SKIP
    >>> print(answer.text, [c.id for c in answer.citations])  # doctest: +SKIP

    Parts may be given explicitly: ``llm`` (a LangChain chat model), ``literature_index`` (an Index, a folder,
    or a list of them), ``protein_index`` (UniProt), ``tools`` (LangChain tools; ``None`` loads the default
    registry, ``[]`` means none), ``planner`` (overrides ``settings.llm.planner``).
    """

    def __init__(
        self,
        llm: BaseChatModel | None = None,
        literature_index: IndexLike | Sequence[IndexLike] | None = None,
        protein_index: IndexLike | None = None,
        tools: Sequence[BaseTool] | None = None,
        settings: Settings | None = None,
        *,
        planner: Planner | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings or Settings.load()
        notes: list[str] = []
        opened = [_open(item, self.settings, "literature", notes) for item in _as_list(literature_index)]
        literature = [index for index in opened if index is not None]
        proteins = (
            _open(protein_index, self.settings, "UniProt", notes) if protein_index is not None else None
        )
        self.llm, model_name = _chat_model(llm, self.settings)
        tool_list = list(tools) if tools is not None else _default_tools(self.settings, proteins, notes)
        embedder = CachingEmbedder(embedder or _embedder(literature, proteins, self.settings))
        config = self.settings.agent
        research = config.research == "auto" and declares_tool_calling(self.llm)
        self.parts = AgentParts(
            llm=self.llm,
            literature=literature,
            proteins=proteins,
            tools={tool.name: tool for tool in tool_list},
            embedder=embedder,
            planner=planner
            or (ResearchPlanner() if research else None)
            or choose_planner(
                self.settings.llm.planner,
                self.llm,
                max_calls=config.max_tool_calls,
                sequence_of=_sequence_lookup(proteins),
                variant_model=self.settings.tools.esm_model is not None,
            ),
            recognizer=EntityRecognizer(
                proteins.documents if proteins else (), _drug_names(tool_list, self.settings)
            ),
            verifier=Verifier(embedder, config.support_cosine, config.support_overlap, config.unsupported),
            style=FULL if declares_tool_calling(self.llm) else COMPACT,
            settings=self.settings,
            writer=_writer(config.writer, self.llm),
            verdicts=_verdict_model(config.verdicts, embedder),
            model_name=model_name,
            startup_notes=notes,
            live=LiveSearch(self.settings) if config.live == "auto" else None,
            research=Budget.from_settings(config) if research else None,
        )
        self.graph = build_graph(self.parts)
        self.conversation = Conversation()
        """The conversation of callers that do not keep their own."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **parts: Any) -> Agent:
        """An agent over the configured indexes (``literature_index`` / ``protein_index`` settings, default
        ``indexes/literature`` and ``indexes/proteins``), chat model and tools. A missing index is reported in
        each answer's notes; the agent runs on what exists."""
        settings = settings or Settings.load()
        parts.setdefault("literature_index", settings.literature_index_path())
        parts.setdefault("protein_index", settings.protein_index_path())
        return cls(settings=settings, **parts)

    # ----- asking --------------------------------------------------------------------------------------

    def ask(
        self, question: str, options: Sequence[str] | None = None, conversation: Conversation | None = None
    ) -> Answer:
        """Answer ``question`` (``options``: verdicts the answer must open with, e.g. yes/no/maybe) as the next
        turn of ``conversation`` (default: the agent's own)."""
        answer = None
        for event in self.stream(question, options, conversation):
            if event.type == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def stream(
        self, question: str, options: Sequence[str] | None = None, conversation: Conversation | None = None
    ) -> Iterator[AgentEvent]:
        """Step events as each step finishes, token events as the model writes, then the answer event."""
        start = time.perf_counter()
        conversation = self.conversation if conversation is None else conversation
        cleaned, notes = self._clean(question)
        if not cleaned:
            answer = Answer(
                question="",
                text="Please ask a question: the question was empty.",
                abstained=True,
                model=self.parts.model_name,
                planner=self.parts.planner.name,
                notes=notes,
            )
            yield AgentEvent(type="answer", answer=answer)
            return
        state = {
            "question": cleaned,
            "options": list(options) if options else None,
            "history": conversation.turns[-self.settings.agent.memory_turns :]
            if self.settings.agent.memory_turns
            else [],
        }
        final: dict[str, Any] = {}
        for mode, payload in self.graph.stream(state, stream_mode=["updates", "custom"]):
            if mode == "custom":
                yield AgentEvent(type="token", text=str(payload.get("token", "")))
                continue
            for step, update in payload.items():
                final.update({k: v for k, v in update.items() if k != "timings"})
                final.setdefault("timings", {}).update(update.get("timings", {}))
                yield AgentEvent(
                    type="step",
                    step=step,
                    seconds=update.get("timings", {}).get(step),
                    data=_step_summary(step, update),
                )
        answer = self._finish(final, notes, start, conversation)
        yield AgentEvent(type="answer", answer=answer)

    async def aask(
        self, question: str, options: Sequence[str] | None = None, conversation: Conversation | None = None
    ) -> Answer:
        """:meth:`ask` without blocking the event loop (runs in a worker thread)."""
        return await asyncio.to_thread(self.ask, question, options, conversation)

    async def astream(
        self, question: str, options: Sequence[str] | None = None, conversation: Conversation | None = None
    ) -> AsyncIterator[AgentEvent]:
        """:meth:`stream` for async code: events arrive as the worker thread produces them."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        done = object()

        def produce() -> None:
            try:
                for event in self.stream(question, options, conversation):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as exc:  # re-raised in the consumer
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        worker = loop.run_in_executor(None, produce)
        while (item := await queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
        await worker

    @property
    def model_name(self) -> str:
        """Label of the chat model in use (as recorded in each Answer)."""
        return self.parts.model_name

    def reset(self) -> None:
        """Forget the agent's own conversation (follow-up questions start fresh)."""
        self.conversation.clear()

    def conversation_from(self, exchanges: Sequence[tuple[str, str]]) -> Conversation:
        """A conversation holding earlier (question, answer) exchanges, e.g. a chat client's message list."""
        recognise = self.parts.recognizer.recognise
        return Conversation([Turn(question, answer, recognise(question)) for question, answer in exchanges])

    # ----- helpers -------------------------------------------------------------------------------------

    def _clean(self, question: Any) -> tuple[str, list[str]]:
        text = _CONTROL.sub(" ", str(question or "")).strip()
        limit = self.settings.agent.max_question_chars
        if len(text) > limit:
            return text[:limit], [
                f"The question was {len(text):,} characters long; only its first {limit:,} characters were read."
            ]
        return text, []

    def _finish(
        self, final: dict[str, Any], notes: list[str], start: float, conversation: Conversation
    ) -> Answer:
        answer: Answer = final["answer"]
        if notes:
            answer.notes = notes + answer.notes
            answer.text = f"{answer.text}\n\nNote: {' '.join(notes)}"
        answer.timings = {**final.get("timings", {}), "total": round(time.perf_counter() - start, 4)}
        if not answer.abstained and "entities" in final:
            conversation.turns.append(
                Turn(answer.question, answer.text.split("\n\nNote:")[0], final["entities"])
            )
        return answer

    def __repr__(self) -> str:
        lit = ", ".join(str(i.path) for i in self.parts.literature) or "none"
        prot = self.parts.proteins.path if self.parts.proteins else "none"
        return (
            f"Agent(model={self.parts.model_name!r}, planner={self.parts.planner.name!r}, literature=[{lit}], "
            f"proteins={prot}, tools={sorted(self.parts.tools)})"
        )


def _step_summary(step: str, update: dict[str, Any]) -> dict[str, Any]:
    if step == "understand":
        plan = update["plan"]
        return {
            "entities": update["entities"].describe(),
            "tools": [c.name for c in plan.tool_calls],
            "query": plan.literature_query,
        }
    if step == "retrieve":
        return {"passages": len(update.get("hits") or []), "timings": update.get("timings", {})}
    if step in ("tools", "research"):
        calls = update.get("tool_calls") or []
        return {
            "calls": [
                {
                    "name": c.name,
                    "ok": bool(c.result and c.result.ok),
                    "seconds": c.seconds,
                    "error": c.result.error if c.result else None,
                }
                for c in calls
            ],
            "evidence": [e.id for e in update["evidence"].items],
        }
    if step == "answer":
        return {"draft": update.get("draft", "")}
    answer = update.get("answer")
    return {"abstained": bool(answer and answer.abstained), "notes": update.get("notes", [])}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _open(value: IndexLike, settings: Settings, what: str, notes: list[str]) -> Index | None:
    """An Index from an Index or a folder; a missing/broken folder becomes a note, not an exception."""
    if isinstance(value, Index):
        return value
    path = Path(value)
    if not path.exists():
        notes.append(
            f"No {what} index at {path}: build the demo indexes with `bioagent demo build` or point "
            f"the settings at an index folder; answering without it."
        )
        return None
    try:
        return load_index(path, settings)
    except IndexLoadError as exc:
        notes.append(f"The {what} index could not be opened ({exc}); answering without it.")
        return None


def _chat_model(llm: BaseChatModel | None, settings: Settings) -> tuple[BaseChatModel, str]:
    if llm is not None:
        name = next(
            (str(getattr(llm, a)) for a in ("model_name", "model", "model_path") if getattr(llm, a, None)),
            type(llm).__name__,
        )
        return llm, name
    from bioagent.llm import create_chat_model, describe_model

    return create_chat_model(settings.llm, cache_dir=settings.cache_dir), str(describe_model(settings.llm))


def _default_tools(settings: Settings, proteins: Index | None, notes: list[str]) -> list[BaseTool]:
    try:
        from bioagent.tools.registry import all_tools
    except ImportError as exc:
        notes.append(f"The tools could not be loaded ({exc}); answering from the indexes only.")
        return []
    try:
        return list(all_tools(settings, protein_index=proteins))
    except BioagentError as exc:
        notes.append(f"The tools could not be set up ({exc}); answering from the indexes only.")
        return []


def _embedder(literature: list[Index], proteins: Index | None, settings: Settings) -> Embedder:
    for index in [*literature, proteins]:
        if index is not None:
            return index.embedder
    return load_embedder(settings.embedding, settings.cache_dir)


def _writer(setting: str, llm: BaseChatModel) -> str:
    """'model' when the chat model should write over the facts, else 'evidence' (``agent.writer``)."""
    if setting == "auto":
        return "model" if declares_tool_calling(llm) else "evidence"
    return setting


def _verdict_model(setting: str, embedder: Embedder) -> VerdictModel | str | None:
    """The shipped yes/no verdict model when ``agent.verdicts`` is 'auto' and it beat the majority class on
    both evaluation splits; otherwise the reason it cannot be used (None when verdicts are off), and yes/no
    questions get the evidence without a verdict."""
    if setting == "off":
        return None
    model = VerdictModel.load()
    beats = model.beats_majority_with(embedder.name)
    if beats is None:
        return f"the verdict model was not measured with this agent's embedder '{embedder.name}'"
    if not beats:
        return "no verdict method beat the majority class on the evaluation data"
    return model


def _sequence_lookup(proteins: Index | None) -> Any:
    def sequence_of(accession: str) -> str | None:
        doc = proteins.get(accession) if proteins is not None else None
        return str(doc.metadata["sequence"]) if doc is not None and doc.metadata.get("sequence") else None

    return sequence_of


def _drug_names(tools: Sequence[BaseTool], settings: Settings) -> list[str]:
    """Approved-drug names from the drug tools' catalog, when those tools are loaded."""
    if not any(t.name == "drug_lookup" for t in tools):
        return []
    try:
        from bioagent.tools.drug_catalog import load_drug_catalog

        return [
            record.name
            for record in load_drug_catalog(settings.repurposing_hub_path(), settings.cache_dir).approved()
        ]
    except Exception as exc:  # the catalog is optional here: names fall back to suffix rules
        logger.info("drug names unavailable for entity recognition: %s", exc)
        return []


__all__ = ["ABSTAIN_TEXT", "Agent", "AgentEvent"]
