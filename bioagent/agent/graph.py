"""The agent as a LangGraph ``StateGraph``: understand -> retrieve -> tools -> answer -> verify (or abstain).

Each node records its wall time in ``timings``; the answer node streams tokens through LangGraph's custom
stream (``{"token": ...}``), so :meth:`bioagent.agent.Agent.stream` can show them as they come.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph

from bioagent.agent.act import Acting
from bioagent.agent.respond import Responding
from bioagent.agent.retrieve import Retrieval
from bioagent.agent.state import AgentParts, AgentState

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|the (?:protein|gene|drug))\b", re.I
)


def _timed(name: str, node: Callable[[AgentState], dict[str, Any]]) -> Callable[[AgentState], dict[str, Any]]:
    def run(state: AgentState) -> dict[str, Any]:
        start = time.perf_counter()
        update = node(state)
        update["timings"] = {**update.get("timings", {}), name: round(time.perf_counter() - start, 4)}
        return update

    return run


def build_graph(parts: AgentParts) -> Any:
    """The compiled graph over ``parts``."""
    nodes = _Nodes(parts)
    retrieval = Retrieval(parts)
    acting, responding = Acting(parts, retrieval), Responding(parts)
    steps = {
        "understand": nodes.understand,
        "retrieve": retrieval.retrieve,
        "tools": acting.tools,
        "research": acting.research,
        "answer": responding.answer,
        "verify": responding.verify,
        "abstain": responding.abstain,
    }
    graph = StateGraph(AgentState)
    names = ["understand", "retrieve", "tools", "answer", "verify", "abstain"]
    for name in names + (["research"] if parts.research else []):
        graph.add_node(name, _timed(name, steps[name]))  # type: ignore[call-overload]
    graph.add_edge(START, "understand")
    graph.add_edge("understand", "retrieve")
    graph.add_edge("retrieve", "tools")
    if parts.research:
        graph.add_edge("tools", "research")
    last = "research" if parts.research else "tools"
    graph.add_conditional_edges(last, nodes.route, {"answer": "answer", "abstain": "abstain"})
    graph.add_edge("answer", "verify")
    graph.add_edge("verify", END)
    graph.add_edge("abstain", END)
    return graph.compile()


class _Nodes:
    """Reading the question, and routing to an answer or an abstention."""

    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts

    def understand(self, state: AgentState) -> dict[str, Any]:
        question = state["question"]
        entities = self.parts.recognizer.recognise(question)
        history = state.get("history") or []
        planning_question = question
        trace = []
        if history and not entities.names_a_subject() and _FOLLOW_UP.search(question):
            entities = entities.merged_with(history[-1].entities)
            planning_question = f"{history[-1].question} {question}"
            trace.append(
                f"Follow-up: read together with the earlier question '{history[-1].question[:120]}'."
            )
        plan = self.parts.planner.plan(planning_question, entities, self.parts.tools)
        return {"entities": entities, "plan": plan, "trace": trace + plan.rationale}

    def route(self, state: AgentState) -> str:
        return "answer" if len(state.get("evidence") or []) else "abstain"
