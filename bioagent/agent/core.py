"""The public :class:`Agent`: ask, stream (sync and async), conversation memory."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from bioagent.agent.assemble import CONFIGURED, Configured, IndexLike, assemble_parts
from bioagent.agent.generate import ABSTAIN_TEXT
from bioagent.agent.graph import build_graph
from bioagent.agent.planner import Planner
from bioagent.agent.state import AgentParts, Turn
from bioagent.index import Embedder
from bioagent.settings import Settings
from bioagent.types import Answer

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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

    One agent serves many conversations: pass each user's :class:`Conversation` to :meth:`ask`/:meth:`stream`.
    """

    def __init__(self, parts: AgentParts) -> None:
        """An agent over already-built ``parts``; :meth:`from_settings` builds them."""
        self.parts = parts
        self.settings = parts.settings
        self.llm = parts.llm
        self.graph = build_graph(parts)
        self.conversation = Conversation()
        """The conversation of callers that do not keep their own."""

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        llm: BaseChatModel | None = None,
        literature_index: IndexLike | Sequence[IndexLike] | None | Configured = CONFIGURED,
        protein_index: IndexLike | None | Configured = CONFIGURED,
        tools: Sequence[BaseTool] | None = None,
        planner: Planner | None = None,
        embedder: Embedder | None = None,
    ) -> Agent:
        """An agent over the configured indexes (``literature_index`` / ``protein_index`` settings, default
        ``<index_dir>/literature`` and ``<index_dir>/proteins``), chat model and tools; ``settings`` are loaded
        (config file, environment) when not given. A missing index is reported in each answer's notes; the
        agent runs on what exists.

        Parts may be given instead: ``llm`` (a LangChain chat model), ``literature_index`` (an Index, a folder,
        or a list of them; None for none), ``protein_index`` (UniProt; None for none), ``tools`` (LangChain
        tools; None loads the default registry, ``[]`` means none), ``planner`` (overrides ``llm.planner``),
        ``embedder`` (for the verifier; default the indexes' own).
        """
        settings = settings if settings is not None else Settings.load()
        parts = assemble_parts(
            settings,
            llm=llm,
            literature_index=settings.literature_index_path()
            if literature_index is CONFIGURED
            else literature_index,
            protein_index=settings.protein_index_path() if protein_index is CONFIGURED else protein_index,
            tools=tools,
            planner=planner,
            embedder=embedder,
        )
        return cls(parts)

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


__all__ = ["ABSTAIN_TEXT", "Agent", "AgentEvent", "Conversation"]
