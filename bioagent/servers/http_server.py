"""`bioagent serve`: the agent over HTTP (FastAPI), for programs and for any OpenAI-compatible chat client.

- ``POST /v1/ask`` ``{"question": "...", "stream": false}``: the Answer JSON of ``bioagent ask --json``; with
  ``"stream": true``, server-sent events: ``step`` and ``token`` as the agent works, then ``answer``.
- ``POST /v1/chat/completions``: OpenAI's chat format; the last user message is the question, the reply is the
  verified answer with its citations inline and a "Sources:" list.
- ``GET /v1/models``: the one model, ``bioagent``.

Each ``/v1/ask`` request is a fresh conversation; ``/v1/chat/completions`` reads the earlier user and assistant
messages as the conversation, so a follow-up ("and its half-life?") is read with the question before it. One
agent is built on the first question and shared; runs are bounded
(:class:`ServeLimits`): one at a time by default, a short wait queue, then 429.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from bioagent.api import answer_json
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.types import Answer

if TYPE_CHECKING:
    from bioagent.api import AgentEvent

MODEL_ID = "bioagent"
SOURCES_HEADING = "\n\nSources:\n"
Exchanges = Sequence[tuple[str, str]]
"""Earlier (question, answer) exchanges of a conversation."""


@dataclass(frozen=True)
class ServeLimits:
    """What one server takes on at once."""

    concurrency: int = 1
    """Agent runs at the same time (they share one model and its indexes)."""
    queue_size: int = 8
    """Requests waiting for a run; one more is refused with 429."""
    question_chars: int = 20_000
    """Longest question (a 5,000-residue protein as FASTA fits), else 413."""
    body_bytes: int = 1_000_000
    """Largest request body, else 413."""


class QuestionAgent(Protocol):
    """What the server needs of an agent (``bioagent.agent.Agent``; tests pass fakes)."""

    def conversation_from(self, exchanges: Sequence[tuple[str, str]]) -> Any: ...

    def stream(self, question: str, *, conversation: Any) -> Iterator[AgentEvent]: ...


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    stream: bool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (the text parts of a multi-part message)."""
        if isinstance(self.content, list):
            return "\n".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False


class AgentRunner:
    """Runs questions on one shared agent (built on first use): ``concurrency`` at a time, at most
    ``queue_size`` waiting. A run goes on in a worker thread; a client that leaves stops it at the next event."""

    def __init__(self, build_agent: Callable[[], QuestionAgent], limits: ServeLimits) -> None:
        self._build_agent = build_agent
        self._agent: QuestionAgent | None = None
        self._agent_lock = threading.Lock()
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._capacity = limits.concurrency + limits.queue_size
        self._admitted = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, question: str, earlier: Exchanges = ()) -> AsyncIterator[AgentEvent]:
        """Admit ``question`` (429 when the queue is full) and start its run after the ``earlier`` exchanges of
        its conversation; the run's events."""
        if self._admitted >= self._capacity:
            raise HTTPException(429, "the server is busy: too many questions waiting", {"Retry-After": "10"})
        self._admitted += 1
        queue: asyncio.Queue[AgentEvent | Exception | None] = asyncio.Queue()
        stop = threading.Event()
        task = asyncio.create_task(self._run(question, earlier, queue, stop))
        self._tasks.add(task)  # a reference until done; the run ends even if its client leaves
        task.add_done_callback(self._tasks.discard)
        return _drain(queue, stop)

    async def answer(self, question: str, earlier: Exchanges = ()) -> Answer:
        """The final answer to ``question``."""
        async for event in self.start(question, earlier):
            if event.type == "answer" and event.answer is not None:
                return event.answer
        raise BioagentError("the agent gave no answer")

    async def _run(
        self,
        question: str,
        earlier: Exchanges,
        queue: asyncio.Queue[AgentEvent | Exception | None],
        stop: threading.Event,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with self._slots:
                await anyio.to_thread.run_sync(
                    self._work,
                    question,
                    earlier,
                    lambda event: loop.call_soon_threadsafe(queue.put_nowait, event),
                    stop,
                )
        except Exception as exc:  # reported to the client (an error event or status)
            queue.put_nowait(exc)
        finally:
            self._admitted -= 1
            queue.put_nowait(None)

    def _work(
        self,
        question: str,
        earlier: Exchanges,
        put: Callable[[AgentEvent], object],
        stop: threading.Event,
    ) -> None:
        """Run ``question`` on the shared agent in a conversation of its own (in a worker thread)."""
        agent = self._shared_agent()
        events = agent.stream(question, conversation=agent.conversation_from(earlier))
        try:
            for event in events:
                put(event)
                if stop.is_set():
                    break
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def _shared_agent(self) -> QuestionAgent:
        with self._agent_lock:
            if self._agent is None:
                self._agent = self._build_agent()
            return self._agent


async def _drain(
    queue: asyncio.Queue[AgentEvent | Exception | None], stop: threading.Event
) -> AsyncIterator[AgentEvent]:
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()


def create_app(
    settings: Settings | None = None,
    *,
    agent_factory: Callable[[], QuestionAgent] | None = None,
    token: str | None = None,
    limits: ServeLimits | None = None,
) -> FastAPI:
    """The HTTP API over one agent (``Agent.from_settings(settings)`` unless ``agent_factory`` is given), with
    bearer-token auth when ``token`` is set."""
    limits = limits or ServeLimits()
    runner = AgentRunner(agent_factory or _default_factory(settings or Settings.load()), limits)
    app = FastAPI(
        title="bioagent",
        summary="Cited answers to biomedical questions.",
        dependencies=[Depends(_bearer_check(token))],
    )
    app.middleware("http")(_body_limit(limits.body_bytes))

    @app.exception_handler(BioagentError)
    async def agent_error(request: Request, exc: BioagentError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.post("/v1/ask")
    async def ask(request: AskRequest) -> Response:
        """The agent's Answer for ``question`` (the JSON of ``bioagent ask --json``), or its events as SSE."""
        question = _checked_question(request.question, limits)
        if request.stream:
            return _sse(_ask_events(runner.start(question)))
        return JSONResponse(answer_json(await runner.answer(question)))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: ChatRequest) -> Response:
        """OpenAI chat completions: the answer to the last user message (read after the earlier exchanges),
        citations inline plus "Sources:"."""
        last, earlier = chat_turns(request.messages)
        question = _checked_question(last, limits)
        reply = _Completion()
        if request.stream:
            return _sse(reply.chunks(runner.start(question, earlier)))
        return JSONResponse(reply.message(cited_text(await runner.answer(question, earlier))))

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The one model this server offers."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "bioagent"}],
        }

    return app


def _default_factory(settings: Settings) -> Callable[[], QuestionAgent]:
    def build() -> QuestionAgent:
        from bioagent.api import open_agent

        return open_agent(settings)

    return build


def _bearer_check(token: str | None) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """A dependency refusing requests (401) whose bearer token is not ``token`` (none needed without one)."""

    def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(HTTPBearer(auto_error=False)),
    ) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})

    return check


def _body_limit(
    max_bytes: int,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Middleware refusing POST bodies without a length (411) or longer than ``max_bytes`` (413)."""

    async def limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse({"detail": "a Content-Length header is required"}, status_code=411)
            if int(length) > max_bytes:
                return JSONResponse(
                    {"detail": f"the request body exceeds {max_bytes:,} bytes"}, status_code=413
                )
        return await call_next(request)

    return limit


def _checked_question(question: str, limits: ServeLimits) -> str:
    question = question.strip()
    if not question:
        raise HTTPException(400, "the question is empty")
    if len(question) > limits.question_chars:
        raise HTTPException(
            413, f"the question is {len(question):,} characters long; the limit is {limits.question_chars:,}"
        )
    return question


def chat_turns(messages: list[ChatMessage]) -> tuple[str, Exchanges]:
    """The last user message and the (question, answer) exchanges before it: each user message followed by an
    assistant reply (whose "Sources:" list is left out). System messages and unanswered questions are skipped."""
    users = [i for i, message in enumerate(messages) if message.role == "user"]
    if not users:
        raise HTTPException(400, "the messages hold no user message")
    earlier = []
    for position, message in enumerate(messages[: users[-1]]):
        following = messages[position + 1] if position + 1 < users[-1] else None
        if message.role == "user" and following is not None and following.role == "assistant":
            earlier.append((message.text(), following.text().split(SOURCES_HEADING)[0].strip()))
    return messages[users[-1]].text(), earlier


def cited_text(answer: Answer) -> str:
    """The answer text (citations inline) followed by a "Sources:" list of the cited items."""
    if not answer.citations:
        return answer.text
    titles = {item.id: item.title for item in answer.evidence}
    lines = [
        " ".join(part for part in (f"- [{c.id}]", titles.get(c.id) or "", c.url or "") if part)
        for c in answer.citations
    ]
    return answer.text + SOURCES_HEADING + "\n".join(lines)


def _sse(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse_event(data: Any, event: str | None = None) -> str:
    name = f"event: {event}\n" if event else ""
    return f"{name}data: {json.dumps(data, default=str)}\n\n"


async def _ask_events(events: AsyncIterator[AgentEvent]) -> AsyncIterator[str]:
    """``step`` and ``token`` events as the agent works, then ``answer`` (or ``error``)."""
    try:
        async for event in events:
            if event.type == "answer" and event.answer is not None:
                yield _sse_event(answer_json(event.answer), "answer")
            else:
                yield _sse_event(event.model_dump(mode="json", exclude={"answer"}), event.type)
    except BioagentError as exc:
        yield _sse_event({"detail": str(exc)}, "error")


class _Completion:
    """One chat completion in OpenAI's format (whole, or as ``chat.completion.chunk`` events)."""

    def __init__(self) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _base(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": MODEL_ID}

    def message(self, content: str) -> dict[str, Any]:
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return {**self._base("chat.completion"), "choices": [choice], "usage": usage}

    def _chunk(self, delta: dict[str, str], finish: Literal["stop"] | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse_event({**self._base("chat.completion.chunk"), "choices": [choice]})

    async def chunks(self, events: AsyncIterator[AgentEvent]) -> AsyncIterator[str]:
        """The role at once, the verified answer when it is ready (draft tokens are not sent: verification may
        remove sentences), then the end; an agent error ends the stream with an ``error`` object."""
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            async for event in events:
                if event.type == "answer" and event.answer is not None:
                    yield self._chunk({"content": cited_text(event.answer)})
        except BioagentError as exc:
            yield _sse_event({"error": {"message": str(exc), "type": "agent_error"}})
            return
        yield self._chunk({}, "stop")
        yield "data: [DONE]\n\n"
