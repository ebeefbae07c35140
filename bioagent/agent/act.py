"""The tool steps: the planner's tool calls, the numbered evidence they and the hits make, and the research loop
of a tool-calling model (with live search tools when ``agent.live`` is on and contextual summaries when asked)."""

from __future__ import annotations

import time
from typing import Any

from bioagent.agent.compose import ComposerInput, subject_name
from bioagent.agent.entities import Entities
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.live import live_search_tools
from bioagent.agent.planner import PlannedCall
from bioagent.agent.research import ResearchLoop
from bioagent.agent.retrieve import Retrieval
from bioagent.agent.state import AgentParts, AgentState
from bioagent.agent.summaries import summarise_evidence
from bioagent.tools.names import ToolName
from bioagent.tools.registry import tool_result
from bioagent.tools.search import search_tools
from bioagent.types import Hit, ToolCall, ToolResult


class Acting:
    """The tools and research nodes."""

    def __init__(self, parts: AgentParts, retrieval: Retrieval) -> None:
        self.parts = parts
        self.config = parts.settings.agent
        self.retrieval = retrieval

    def tools(self, state: AgentState) -> dict[str, Any]:
        calls: list[ToolCall] = []
        notes: list[str] = []
        timings: dict[str, float] = {}
        results: dict[str, dict[str, Any]] = {}
        for planned in state["plan"].tool_calls:
            call = self._run_tool(planned, results)
            calls.append(call)
            timings[f"tool.{call.name}"] = round(timings.get(f"tool.{call.name}", 0.0) + call.seconds, 4)
            if call.result and not call.result.ok:
                notes.append(f"The {call.name} tool failed: {call.result.error}")
        hits = (state.get("hits") or []) + self._identified_entries(calls, state["entities"])
        entries = {
            str(hit.metadata.get("accession") or hit.parent_id): hit.metadata
            for hit, _, _ in hits
            if hit.metadata.get("matched_entity")
        }
        run = ComposerInput(state["question"], state["entities"], EvidenceSet(), calls, entries)
        evidence = self._assemble(hits, calls, subject_name(run))
        return {
            "tool_calls": calls,
            "notes": notes,
            "timings": timings,
            "evidence": evidence,
            "entries": entries,
        }

    def _identified_entries(self, calls: list[ToolCall], entities: Entities) -> list[tuple[Hit, float, str]]:
        """The UniProt entry a pasted sequence is (homology_search's top hit at >= 90% identity over >= 80%
        of the query), fetched like a named protein; nothing when the question named its protein."""
        if entities.protein_ids or self.parts.proteins is None:
            return []
        for call in calls:
            if call.name == ToolName.HOMOLOGY_SEARCH and call.result and call.result.ok:
                top = next(iter(call.result.data.get("hits") or []), None)
                if top and top["identity"] >= 0.9 and top["query_coverage"] >= 0.8:
                    return self.retrieval.entity_entries([str(top["accession"])])
        return []

    def _run_tool(self, planned: PlannedCall, results: dict[str, dict[str, Any]]) -> ToolCall:
        args = dict(planned.args)
        for arg, source in planned.fill.items():
            tool_name, _, key = source.partition(".")
            value = _find_key(results.get(tool_name), key)
            if value is None:
                error = f"needed '{key}' from {tool_name}, which did not provide it"
                return ToolCall(
                    name=planned.name,
                    arguments=args,
                    result=ToolResult(tool=planned.name, ok=False, error=error),
                )
            args[arg] = value
        start = time.perf_counter()
        try:
            output = self.parts.tools[planned.name].invoke(args)
            data = output if isinstance(output, dict) else {"result": output}
            results[planned.name] = data
            result = tool_result(planned.name, data)
        except Exception as exc:  # a tool error must not stop the run: record it and go on
            result = ToolResult(tool=planned.name, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return ToolCall(
            name=planned.name, arguments=args, result=result, seconds=round(time.perf_counter() - start, 4)
        )

    def _assemble(
        self, hits: list[tuple[Hit, float, str]], calls: list[ToolCall], subject: str
    ) -> EvidenceSet:
        """Numbered evidence: named UniProt entries, then tool results, then the rest by relevance."""
        evidence = EvidenceSet()
        exact = [h for h in hits if h[0].metadata.get("matched_entity")]
        for hit, relevance, kind in exact:
            evidence.add_hit(hit, relevance, kind)
        for call in calls:
            if call.result and call.result.ok:
                evidence.add_tool_result(call.name, call.result.data, call.result.model, subject)
        rest = sorted((h for h in hits if not h[0].metadata.get("matched_entity")), key=lambda h: -h[1])
        for hit, relevance, kind in rest:
            evidence.add_hit(hit, relevance, kind)
        return evidence

    def research(self, state: AgentState) -> dict[str, Any]:
        """The model's research loop over the search and prediction tools; evidence grows in place."""
        assert self.parts.research is not None
        proteins = self.parts.proteins
        searches = search_tools(
            [self.retrieval.retriever(index) for index in self.parts.literature],
            self.retrieval.retriever(proteins) if proteins is not None else None,
            self.config.research_k,
        )
        earlier = state.get("tool_calls") or []

        def subject(calls: list[ToolCall]) -> str:
            run = ComposerInput(
                state["question"],
                state["entities"],
                EvidenceSet(),
                earlier + calls,
                state.get("entries") or {},
            )
            return subject_name(run)

        live = (
            live_search_tools(self.parts.live, self.retrieval, self.config.research_k)
            if self.parts.live
            else []
        )
        loop = ResearchLoop(
            self.parts.llm,
            [*searches, *live, *self.parts.tools.values()],
            self.parts.research,
            self.config.min_relevance,
        )
        done = loop.run(state["question"], state["entities"], state["evidence"], subject)
        trace = [
            f"Researched in {done.steps} model step(s), {len(done.calls)} tool call(s), ~{done.tokens} tokens."
        ]
        if self.config.research_summaries:
            summaries = summarise_evidence(
                self.parts.llm,
                state["question"],
                state["evidence"],
                self.config.research_summary_min_score,
                self.config.research_summary_items,
            )
            trace.append(summaries.trace(self.config.research_summary_min_score))
            done.notes += summaries.notes
            done.timings["research.summaries"] = summaries.seconds
        return {
            "evidence": state["evidence"],
            "tool_calls": done.calls,
            "notes": done.notes,
            "trace": done.trace + trace,
            "timings": done.timings,
        }


def _find_key(data: Any, key: str) -> Any:
    """The first value stored under ``key`` anywhere in a nested result."""
    if isinstance(data, dict):
        if key in data and data[key]:
            return data[key]
        values = list(data.values())
    elif isinstance(data, list):
        values = data
    else:
        return None
    for value in values:
        found = _find_key(value, key)
        if found is not None:
            return found
    return None
