"""The chat server under load, on loopback: many sessions asking at once through the Ask event (button and Enter)
get their own answers, one question runs at a time, and a full queue is refused with a message.

The real Gradio server (`bioagent.ui.app.launch`) is driven with `gradio_client`; the agent is a fake that
echoes the question, so the test measures the chat's wiring, not a model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import free_port

from bioagent.agent import AgentEvent, Conversation
from bioagent.agent.entities import Entities
from bioagent.agent.state import Turn
from bioagent.settings import Settings
from bioagent.types import Answer
from bioagent.ui.app import ChatLimits, launch
from bioagent.ui.session import SharedResources

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SESSIONS = 10
QUESTIONS_PER_SESSION = 5
QUEUE_SIZE = 50
RESULT_TIMEOUT_S = 60


class Overlap:
    """How many questions run at once, and the most seen (shared by every copy of the agent)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def enter(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


class EchoAgent:
    """Answers 'Answer to: <question> (turn <n>)' after a short pause, counting turns in the session's own
    conversation; a question containing 'hold' sets ``holding`` and waits for ``gate``."""

    llm = None

    def __init__(self) -> None:
        self.overlap = Overlap()
        self.holding = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def stream(self, question: str, *, conversation: Conversation) -> Iterator[AgentEvent]:
        self.overlap.enter()
        try:
            if "hold" in question:
                self.holding.set()
                self.gate.wait(RESULT_TIMEOUT_S)
            time.sleep(0.01)  # long enough for a second question to overlap, if the server let it
            yield AgentEvent(type="token", text="Answer")
            conversation.turns.append(Turn(question, "", Entities()))
            text = f"Answer to: {question} (turn {len(conversation.turns)})"
            yield AgentEvent(type="answer", answer=Answer(question=question, text=text))
        finally:
            self.overlap.leave()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, EchoAgent]]:
    """The chat on a free loopback port over the echo agent, with a queue of QUEUE_SIZE."""
    root: Path = tmp_path_factory.mktemp("chat-faults")
    agent = EchoAgent()
    settings = Settings.load(index_dir=root / "indexes", cache_dir=root / "cache")
    resources = SharedResources(settings, agent_factory=lambda settings, parts: agent)
    port = free_port()
    demo = launch(resources=resources, limits=ChatLimits(queue_size=QUEUE_SIZE), port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/", agent
    finally:
        demo.close()


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def _ask(client: Any, question: str) -> Any:
    """Submit a question as the page does, Ask or Enter (no history sent: the server keeps the conversation)."""
    return client.submit(question, [], "embedded", [], 5, False, api_name="/ask")


def _shown(job: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The chat messages and the answer picker's labels, as last sent during the job."""
    job.result(timeout=RESULT_TIMEOUT_S)
    chat: list[dict[str, Any]] = []
    labels: list[str] = []
    for outputs in job.outputs():
        chat = outputs[0] if isinstance(outputs[0], list) else chat
        picker = outputs[3]
        labels = [label for label, _ in picker["choices"]] if "choices" in picker else labels
    return chat, labels


def _text(message: dict[str, Any]) -> str:
    return " ".join(part.get("text", "") for part in message["content"])


def test_fifty_questions_from_ten_sessions_stay_in_their_sessions(served: tuple[str, EchoAgent]) -> None:
    url, agent = served
    clients = [_client(url) for _ in range(SESSIONS)]
    start = time.perf_counter()
    jobs = {
        (s, q): _ask(clients[s], f"s{s}-q{q}") for q in range(QUESTIONS_PER_SESSION) for s in range(SESSIONS)
    }
    turns: dict[int, set[str]] = {s: set() for s in range(SESSIONS)}
    for (s, q), job in jobs.items():
        chat, labels = _shown(job)
        user, _, reply = chat
        assert _text(user) == f"s{s}-q{q}" and f"Answer to: s{s}-q{q} " in _text(reply)
        assert "⚠" not in _text(reply)
        assert labels and all(label.split(" ", 1)[1].startswith(f"s{s}-") for label in labels)  # no leak
        turns[s].add(_text(reply).rsplit("(turn ", 1)[1])
    elapsed = time.perf_counter() - start
    assert all(len(seen) == QUESTIONS_PER_SESSION for seen in turns.values())  # each session's own memory
    assert agent.overlap.most == 1  # one question at a time across both triggers
    assert elapsed < 45, f"50 questions took {elapsed:.1f} s"


def test_a_full_queue_is_refused_with_a_message(served: tuple[str, EchoAgent]) -> None:
    from gradio_client.utils import QueueError, Status  # installed with gradio

    url, agent = served
    clients = [_client(url) for _ in range(SESSIONS)]
    agent.gate.clear()
    agent.holding.clear()
    holder = _ask(clients[0], "hold this one")
    assert agent.holding.wait(RESULT_TIMEOUT_S)
    waiting = [_ask(clients[i % SESSIONS], "") for i in range(QUEUE_SIZE)]  # empty: answered at once later
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while any(job.status().code != Status.IN_QUEUE for job in waiting) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(QueueError, match="Queue is full"):
        _ask(clients[1], "one too many").result(timeout=RESULT_TIMEOUT_S)
    agent.gate.set()
    assert "Answer to: hold this one" in _text(_shown(holder)[0][-1])
    assert all(
        job.result(timeout=RESULT_TIMEOUT_S)[2] == "⚠ Please type a question first." for job in waiting
    )
