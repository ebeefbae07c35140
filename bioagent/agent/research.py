"""The research loop: a chat model that declares tool calling searches and predicts over several steps.

Each step the model sees the conversation so far and may call literature_search, protein_search and the
prediction tools; what they find joins the run's numbered evidence (numbers never change). Budgets (steps, tool
calls, tokens, seconds; ``agent.research_*``) end the loop, and the answer's notes say which one did. Repeated
calls are not run again, calls outside a tool's schema are refused and tool errors are fed back to the model;
none of them ends the loop. The model's own text is reasoning (kept in the trace), never the answer: the answer
and verify nodes write and check it from the evidence afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool

from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet, evidence_key
from bioagent.agent.planner import Plan, argument_problems, retrieval_plan
from bioagent.agent.prompts import load_prompt
from bioagent.llm import explain_llm_error
from bioagent.settings import AgentSettings
from bioagent.tools.registry import tool_result
from bioagent.types import Hit, ToolCall, ToolResult

FEEDBACK_CHARS = 2000
"""Most characters of a tool's result shown to the model."""


@dataclass(frozen=True)
class Budget:
    """Limits of one research loop."""

    steps: int
    tool_calls: int
    tokens: int
    seconds: float

    @classmethod
    def from_settings(cls, config: AgentSettings) -> Budget:
        return cls(
            config.research_max_steps,
            config.research_max_tool_calls,
            config.research_max_tokens,
            config.research_max_seconds,
        )


@dataclass
class Research:
    """What one loop did: the calls it ran, its trace, notes for the reader and what it spent."""

    calls: list[ToolCall] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    tokens: int = 0
    stopped_by: str | None = None
    """The setting whose budget ended the loop (None when the model finished)."""


class ResearchPlanner:
    """The plan when the model researches: retrieval on the question (named proteins fetched), no tool calls."""

    name = "research"

    def plan(self, question: str, entities: Entities, tools: Mapping[str, BaseTool]) -> Plan:
        plan = retrieval_plan(question, entities)
        plan.rationale.append("The chat model researches the question with tools (agent.research).")
        return plan


SubjectOf = Callable[[list[ToolCall]], str]
"""The name a tool fact's ``{subject}`` takes, given the calls made so far."""


class ResearchLoop:
    """Runs the model and its tool calls within ``budget``; adds what they find to an :class:`EvidenceSet`."""

    def __init__(
        self,
        llm: BaseChatModel,
        tools: Sequence[BaseTool],
        budget: Budget,
        min_relevance: float,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.llm = llm
        self.tools = {tool.name: tool for tool in tools}
        self.budget = budget
        self.min_relevance = min_relevance
        self.clock = clock

    def run(self, question: str, entities: Entities, evidence: EvidenceSet, subject: SubjectOf) -> Research:
        """Research ``question``, adding to ``evidence`` in place."""
        start = self.clock()
        system, user = load_prompt("research").render(
            question=question,
            entities=entities.describe(),
            evidence=evidence.prompt_block() or "(none yet)",
        )
        messages: list[BaseMessage] = [SystemMessage(content=system), HumanMessage(content=user)]
        model = self.llm.bind_tools(list(self.tools.values()))
        research, seen = Research(), dict[str, str]()
        while not self._stop(research, start, model_turn=True):
            began = self.clock()
            try:
                reply = model.invoke(messages)
            except Exception as exc:  # the model failed mid-research: answer from what was found, and say so
                reason = explain_llm_error(exc, self.llm)
                research.notes.append(
                    f"Stopped researching: the chat model failed ({reason}); the answer rests on the evidence "
                    "found so far."
                )
                research.stopped_by = "model error"
                break
            _add_time(research.timings, "research.model", self.clock() - began)
            research.steps += 1
            research.tokens += _tokens(messages, reply)
            messages.append(reply)
            if reply.text.strip():
                research.trace.append(f"Research step {research.steps}: {reply.text.strip()}")
            if not reply.tool_calls:
                break
            for call in reply.tool_calls:
                if self._stop(research, start, model_turn=False):
                    break
                feedback = self._call(call["name"], call.get("args") or {}, research, evidence, subject, seen)
                messages.append(ToolMessage(content=feedback, tool_call_id=call.get("id") or call["name"]))
            if research.stopped_by:
                break
        return research

    def _stop(self, research: Research, start: float, model_turn: bool) -> bool:
        """Whether a budget is spent (then the reader's note is added); steps and tokens count before a model
        turn, tool calls before a call, time before either."""
        budget, note = self.budget, None
        if self.clock() - start >= budget.seconds:
            note = f"{budget.seconds:g} seconds reached (agent.research_max_seconds)"
        elif model_turn and research.steps >= budget.steps:
            note = f"{budget.steps} steps reached (agent.research_max_steps)"
        elif model_turn and research.tokens >= budget.tokens:
            note = f"{research.tokens:,} of {budget.tokens:,} model tokens used (agent.research_max_tokens)"
        elif not model_turn and len(research.calls) >= budget.tool_calls:
            note = f"{budget.tool_calls} tool calls reached (agent.research_max_tool_calls)"
        if note:
            research.stopped_by = note.rsplit("(", 1)[1].rstrip(")")
            research.notes.append(
                f"Stopped researching: {note}; the answer rests on the evidence found so far."
            )
            research.trace.append(f"Stopped researching: {note}.")
        return note is not None

    def _call(
        self,
        name: str,
        args: dict[str, Any],
        research: Research,
        evidence: EvidenceSet,
        subject: SubjectOf,
        seen: dict[str, str],
    ) -> str:
        """Run one call the model asked for (or refuse it) and return what the model is told."""
        tool = self.tools.get(name)
        signature = f"{name} {json.dumps(args, sort_keys=True, default=str)}"
        shown = f"{name}({json.dumps(args, default=str)[:200]})"
        if tool is None:
            research.trace.append(f"Refused {shown}: no such tool.")
            return f"There is no tool named '{name}'. The tools are: {', '.join(self.tools)}."
        if signature in seen:
            research.trace.append(f"Not repeated: {shown}.")
            return (
                f"{name} was already called with these arguments ({seen[signature]}); it was not run again."
            )
        if problems := argument_problems(tool, args):
            research.trace.append(f"Refused {shown}: {problems}.")
            return (
                f"Refused: {problems}. Call {name} only with arguments its schema offers, with valid values."
            )
        call, hits = _invoke(tool, args)
        research.calls.append(call)
        _add_time(research.timings, f"tool.{name}", call.seconds)
        assert call.result is not None
        if not call.result.ok:
            seen[signature] = f"it failed: {call.result.error}"
            research.trace.append(f"Called {shown}: failed ({call.result.error}).")
            research.notes.append(f"The {name} tool failed: {call.result.error}")
            return f"The tool failed: {call.result.error}"
        if note := call.result.data.get("note"):  # e.g. a live search that found its service offline
            research.notes.append(str(note))
        if hits is not None:
            keys = self._add_hits(hits, evidence)
        else:
            data = call.result.data
            item = evidence.add_tool_result(name, data, call.result.model, subject(research.calls))
            keys = [f"[{item.number}] {item.id}"]
        seen[signature] = "evidence " + (", ".join(keys) or "none")
        research.trace.append(f"Called {shown}: evidence {', '.join(keys) or 'none added'}.")
        content = json.dumps(call.result.data, default=str)[:FEEDBACK_CHARS]
        return f"{content}\nEvidence from this call: {'; '.join(keys) or 'none (nothing relevant enough)'}."

    def _add_hits(self, hits: list[tuple[Hit, float]], evidence: EvidenceSet) -> list[str]:
        """Add the hits that reach the relevance threshold; their evidence numbers and keys."""
        keys = []
        for hit, relevance in hits:
            if relevance < self.min_relevance:
                continue
            key = evidence_key(hit)
            item = evidence.get(key) or evidence.add_hit(
                hit, relevance, "database" if key.startswith("UniProt:") else "literature"
            )
            if item is not None:
                keys.append(f"[{item.number}] {item.id}")
        return keys


def _invoke(tool: BaseTool, args: dict[str, Any]) -> tuple[ToolCall, list[tuple[Hit, float]] | None]:
    """Run ``tool``: the call as recorded, and the scored hits of a search tool (its artifact)."""
    start = time.perf_counter()
    hits = None
    try:
        if tool.response_format == "content_and_artifact":
            message = tool.invoke({"name": tool.name, "args": args, "id": tool.name, "type": "tool_call"})
            data, hits = json.loads(message.content), list(message.artifact or [])
        else:
            output = tool.invoke(args)
            data = output if isinstance(output, dict) else {"result": output}
        result = tool_result(tool.name, data)
    except Exception as exc:  # a tool error is fed back to the model; the loop goes on
        result = ToolResult(tool=tool.name, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    seconds = round(time.perf_counter() - start, 4)
    return ToolCall(name=tool.name, arguments=args, result=result, seconds=seconds), hits


def _add_time(timings: dict[str, float], key: str, seconds: float) -> None:
    timings[key] = round(timings.get(key, 0.0) + seconds, 4)


def _tokens(messages: list[BaseMessage], reply: AIMessage) -> int:
    """Tokens of one model turn: as the model reports them, else characters / 4 of what was sent and replied."""
    usage = reply.usage_metadata
    if usage and usage.get("total_tokens"):
        return int(usage["total_tokens"])
    sent = sum(len(str(m.content)) for m in messages)
    replied = len(str(reply.content)) + len(json.dumps(reply.tool_calls, default=str))
    return (sent + replied) // 4
