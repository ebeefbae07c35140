"""The agent graph's state and the parts its steps use."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from bioagent.agent.compose import Composition
from bioagent.agent.entities import Entities, EntityRecognizer
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.generate import PromptStyle
from bioagent.agent.live import LiveSearch
from bioagent.agent.planner import Plan, Planner
from bioagent.agent.research import Budget
from bioagent.agent.verdict import VerdictModel
from bioagent.agent.verify import Verifier
from bioagent.index import Embedder, Index
from bioagent.settings import Settings
from bioagent.types import Answer, Hit, ToolCall


@dataclass
class Turn:
    """One earlier question and answer, for follow-ups."""

    question: str
    answer: str
    entities: Entities


@dataclass
class AgentParts:
    """Everything the graph's nodes use; built once per :class:`~bioagent.agent.Agent`."""

    llm: BaseChatModel
    literature: list[Index]
    proteins: Index | None
    tools: dict[str, BaseTool]
    embedder: Embedder
    planner: Planner
    recognizer: EntityRecognizer
    verifier: Verifier
    style: PromptStyle
    settings: Settings
    writer: str = "evidence"
    """'evidence' (compose from facts, no chat model) or 'model' (the chat model writes over the facts)."""
    verdicts: VerdictModel | str | None = None
    """Gives yes/no verdicts (set only when its measured accuracy beat the majority class); a string says why
    there is none; None means verdicts are off."""
    model_name: str = ""
    startup_notes: list[str] = field(default_factory=list)
    live: LiveSearch | None = None
    """Searches PubMed and UniProt when the local evidence is weak (``agent.live: auto``); None when off."""
    research: Budget | None = None
    """The chat model researches with tools within this budget after retrieval (``agent.research``); None:
    the planner's tool calls only."""


def _merge(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    return {**left, **right}


class AgentState(TypedDict, total=False):
    question: str
    options: list[str] | None
    history: list[Turn]
    entities: Entities
    plan: Plan
    hits: list[tuple[Hit, float, str]]
    evidence: EvidenceSet
    entries: dict[str, dict[str, Any]]
    composition: Composition
    draft: str
    model_reasoning: str
    answer: Answer
    tool_calls: Annotated[list[ToolCall], operator.add]
    notes: Annotated[list[str], operator.add]
    trace: Annotated[list[str], operator.add]
    timings: Annotated[dict[str, float], _merge]
