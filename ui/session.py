"""What the chat shares between browser sessions (indexes, chat models, agents) and what it keeps per session
(the conversation), and one question's run as a stream of display updates."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioagent.api import Agent, AgentEvent, Conversation, tool_title
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.types import Answer

logger = logging.getLogger(__name__)

INDEX_NAMES = ("literature", "proteins")
RATE_WINDOW_S = 60.0
"""The window of the per-conversation question limit (:meth:`ChatSession.admit`)."""
AgentFactory = Callable[[Settings, dict[str, Any]], Agent]
"""Builds an agent from settings and explicit parts (``Agent.from_settings`` by default; tests pass fakes)."""


@dataclass(frozen=True)
class Choice:
    """The settings a person picked in the UI for one question."""

    backend: str
    indexes: tuple[str, ...] = INDEX_NAMES
    k: int = 5
    live: bool = False
    """Search PubMed and UniProt live when the local evidence is weak (``agent.live``)."""


@dataclass
class ChatSession:
    """One browser session's conversation: the agent's memory of earlier turns and every answer shown."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    conversation: Conversation = field(default_factory=Conversation)
    answers: list[Answer] = field(default_factory=list)
    visuals: dict[int, Any] = field(default_factory=dict)
    """Side-panel pictures per answer number (drawn once)."""
    asked: deque[float] = field(default_factory=deque)
    """When the recent questions came (monotonic seconds); kept across :meth:`reset`."""
    epoch: int = 0
    """How many times the conversation was cleared: a turn started before a reset shows and keeps nothing."""

    def admit(self, per_window: int, now: float | None = None) -> float:
        """Count a question and return 0.0; or, when ``per_window`` questions came in the last
        ``RATE_WINDOW_S`` seconds, count nothing and return the seconds until the next one is welcome."""
        now = time.monotonic() if now is None else now
        while self.asked and now - self.asked[0] >= RATE_WINDOW_S:
            self.asked.popleft()
        if len(self.asked) >= per_window:
            return RATE_WINDOW_S - (now - self.asked[0])
        self.asked.append(now)
        return 0.0

    def reset(self) -> None:
        """Forget the conversation (not the question rate) and disown any turn still running."""
        self.epoch += 1
        self.conversation.clear()
        self.answers.clear()
        self.visuals.clear()


@dataclass
class TurnUpdate:
    """The state of one question while it runs: finished steps, the draft so far, then the answer or an error."""

    steps: list[str] = field(default_factory=list)
    recognised: list[str] = field(default_factory=list)
    draft: str = ""
    answer: Answer | None = None
    error: str | None = None
    seconds: float = 0.0


class SharedResources:
    """Indexes, chat models and agents loaded once per process and used by every browser session."""

    def __init__(self, settings: Settings, agent_factory: AgentFactory | None = None) -> None:
        self.settings = settings
        self._factory = agent_factory or (lambda s, parts: Agent.from_settings(s, **parts))
        self._indexes: dict[str, Any] = {}
        self._models: dict[str, Any] = {}
        self._agents: dict[Choice, Agent] = {}
        self._lock = threading.Lock()

    # ----- what can be chosen --------------------------------------------------------------------------

    def index_paths(self) -> dict[str, Path]:
        return {
            "literature": self.settings.literature_index_path(),
            "proteins": self.settings.protein_index_path(),
        }

    def available_indexes(self) -> list[str]:
        """Index names whose folder holds a built index (a manifest)."""
        return [name for name, path in self.index_paths().items() if (path / "manifest.json").is_file()]

    def backends(self) -> list[str]:
        """The configured chat backend first, then the embedded offline model as the alternative."""
        configured: str = self.settings.llm.backend
        return [configured] + (["embedded"] if configured != "embedded" else [])

    def default_choice(self) -> Choice:
        return Choice(
            self.backends()[0],
            tuple(self.available_indexes()),
            self.settings.agent.literature_k,
            self.settings.agent.live == "auto",
        )

    # ----- loading (once) ------------------------------------------------------------------------------

    def agent(self, choice: Choice) -> Agent:
        """The agent for ``choice``: built on first use, sharing loaded indexes and chat models."""
        with self._lock:
            if choice not in self._agents:
                self._agents[choice] = self._build(choice)
            return self._agents[choice]

    def _build(self, choice: Choice) -> Agent:
        settings = self.settings_for(choice)
        parts: dict[str, Any] = {
            "literature_index": self._index("literature") if "literature" in choice.indexes else None,
            "protein_index": self._index("proteins") if "proteins" in choice.indexes else None,
        }
        if choice.backend in self._models:
            parts["llm"] = self._models[choice.backend]
        agent = self._factory(settings, parts)
        self._models.setdefault(choice.backend, agent.llm)
        return agent

    def settings_for(self, choice: Choice) -> Settings:
        """The base settings with the UI's choices: backend (another backend starts from its defaults), k and
        live search."""
        llm = self.settings.llm
        if choice.backend != llm.backend:
            llm = type(llm)(backend=choice.backend, threads=llm.threads, max_tokens=llm.max_tokens)  # type: ignore[arg-type]
        agent = self.settings.agent.model_copy(
            update={"literature_k": choice.k, "live": "auto" if choice.live else "off"}
        )
        return self.settings.model_copy(update={"llm": llm, "agent": agent})

    def _index(self, name: str) -> Any:
        if name not in self._indexes:
            from bioagent.api import load_index

            self._indexes[name] = load_index(self.index_paths()[name], self.settings)
        return self._indexes[name]

    def sequence_of(self, accession: str) -> str | None:
        """A UniProt entry's sequence from the protein index, when it is loaded."""
        index = self._indexes.get("proteins")
        document = index.get(accession) if index is not None else None
        sequence = document.metadata.get("sequence") if document is not None else None
        return str(sequence) if sequence else None


def run_turn(
    resources: SharedResources, session: ChatSession, question: str, choice: Choice
) -> Iterator[TurnUpdate]:
    """Ask ``question`` in ``session`` and yield the display state after each event. Errors end the stream
    as ``TurnUpdate.error`` (a message for the chat), never as an exception."""
    update, epoch = TurnUpdate(), session.epoch
    start = time.perf_counter()
    try:
        agent = resources.agent(choice)  # shared by every session: the session's conversation is its own
        for event in agent.stream(question, conversation=session.conversation):
            _apply(update, event)
            update.seconds = time.perf_counter() - start
            yield update
    except BioagentError as exc:
        update.error = str(exc)
    except Exception as exc:  # the page must stay alive: report, log the traceback on the server
        logger.exception("the agent failed on %r", question[:200])
        update.error = (
            f"the agent failed unexpectedly ({type(exc).__name__}: {exc}); details are in the server log"
        )
    update.seconds = time.perf_counter() - start
    if update.answer is not None and session.epoch == epoch:
        session.answers.append(update.answer)
    yield update


def _apply(update: TurnUpdate, event: AgentEvent) -> None:
    if event.type == "token":
        update.draft += event.text
    elif event.type == "answer":
        update.answer = event.answer
    elif event.type == "step" and event.step:
        update.steps.append(step_line(event))
        if event.step == "understand":
            update.recognised = recognised_inputs(str(event.data.get("entities", "")))


STEP_TITLES = {
    "understand": "Read the question",
    "retrieve": "Searched the indexes",
    "tools": "Ran the tools",
    "answer": "Wrote the answer",
    "verify": "Checked the citations",
    "abstain": "Checked the citations",
}
"""Readable names of the agent's steps (others are shown by their own name)."""


def step_line(event: AgentEvent) -> str:
    """One readable line per finished agent step, e.g. ``**Searched the indexes** — 7 relevant passages
    (0.12 s)``; tools are named by their titles."""
    data, step = event.data, str(event.step)
    detail = ""
    if step == "understand":
        detail = "will use: " + (
            "; ".join(tool_title(name) for name in data.get("tools") or []) or "no tools"
        )
    elif step == "retrieve":
        detail = f"{data.get('passages', 0)} relevant passages"
    elif step == "tools":
        calls = data.get("calls") or []
        done = [f"{tool_title(c['name'])} {'✓' if c['ok'] else '✗ failed'}" for c in calls]
        detail = "; ".join(done) or "no tools needed"
    elif step == "answer":
        detail = "draft written"
    elif step in ("verify", "abstain"):
        detail = "no answer given (not enough evidence)" if data.get("abstained") else "each sentence checked"
    seconds = f" ({event.seconds:.2f} s)" if event.seconds is not None else ""
    return f"**{STEP_TITLES.get(step, step)}** — {detail}{seconds}"


def recognised_inputs(entities: str) -> list[str]:
    """Readable lines for the sequences, SMILES, genes and drugs the agent recognised in the question."""
    labels = {
        "sequences": "protein sequence",
        "smiles": "SMILES",
        "genes": "gene/protein",
        "accessions": "UniProt accession",
        "drugs": "drug",
        "variants": "variant",
    }
    lines = []
    for line in entities.splitlines():
        kind, _, values = line.partition(": ")
        if kind in labels and values:
            lines.append(f"Recognised {labels[kind]}: {values}")
    return lines
