"""Planners decide what to retrieve and which tools to call. Two implementations behind one Protocol:

* :class:`RulesPlanner` — deterministic: entity recognition plus keyword rules. The tiny embedded model cannot
  call tools reliably, so it gets this planner.
* :class:`ToolCallingPlanner` — asks a capable chat model (``bind_tools``) which tools to call.

``settings.llm.planner = "auto"`` picks by a capability the chat model declares (its LangChain ``profile``
``tool_calling`` flag), never by the model's name: models that do not declare tool calling get the rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from bioagent.agent.entities import Entities
from bioagent.agent.prompts import load_prompt
from bioagent.errors import BioagentError
from bioagent.tools.names import ToolName

_KEYWORDS = {
    ToolName.DISORDER: r"disorder|unstructured|intrinsically|flexib|\bidrs?\b|plddt|alphafold",
    ToolName.PROTEIN_PROPERTIES: r"molecular weight|isoelectric|\bpi\b|hydrophob|gravy|charge|extinction|"
    r"amino acid composition|instability|how long|length|properties",
    ToolName.HOMOLOGY_SEARCH: r"homolog|similar|related protein|which protein|what protein|identify|align",
    ToolName.VARIANT_EFFECT: r"mutation|variant|substitution|pathogenic|deleterious|effect of",
    ToolName.ADMET: r"admet|toxic|absorption|solubil|permeab|blood.brain|\bbbb\b|herg|clearance|half.life|"
    r"bioavailab|cyp\d|metabolism|ld50|hepatotox|caco",
    ToolName.DRUG_PROPERTIES: r"lipinski|logp|molecular weight|drug.like|tpsa|polar surface|h.bond|hydrogen.bond|"
    r"rotatable|\bqed\b|properties|pains|alerts?\b|formula",
    ToolName.SIMILAR_DRUGS: r"similar|analog|resembl|like (?:it|this)|nearest",
}


@dataclass
class PlannedCall:
    """One tool call to make. ``fill`` maps an argument to ``"<tool>.<key>"``: the first value under ``key`` in
    that earlier tool's result (e.g. the SMILES that drug_lookup found)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    fill: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """What to retrieve and which tools to call, with the reasons (kept in the trace)."""

    literature_query: str | None
    protein_query: str | None
    protein_ids: list[str] = field(default_factory=list)
    tool_calls: list[PlannedCall] = field(default_factory=list)
    rationale: list[str] = field(default_factory=list)


class Planner(Protocol):
    name: str

    def plan(self, question: str, entities: Entities, tools: Mapping[str, BaseTool]) -> Plan:
        """Retrieval queries and tool calls for ``question``."""
        ...


def retrieval_query(question: str, entities: Entities) -> str:
    """The question without long sequences and SMILES, which only add noise to text search."""
    query = question
    for item in entities.sequences + entities.smiles:
        query = query.replace(item, " ")
    query = re.sub(r"^>.*$", " ", query, flags=re.MULTILINE)
    return re.sub(r"\s+", " ", query).strip()


def retrieval_plan(question: str, entities: Entities) -> Plan:
    """The plan every planner starts from: search both indexes for the question, fetch named proteins."""
    query = retrieval_query(question, entities)
    plan = Plan(literature_query=query or None, protein_query=query or None, protein_ids=entities.protein_ids)
    plan.rationale.append(f"Entities: {entities.describe()}".replace("\n", "; "))
    return plan


def _asks(kind: str, question: str) -> bool:
    return re.search(_KEYWORDS[kind], question, re.IGNORECASE) is not None


class RulesPlanner:
    """Entity- and keyword-driven plan; ``sequence_of`` gives a UniProt entry's sequence (for named proteins)."""

    name = "rules"

    def __init__(self, max_calls: int = 4, sequence_of: Any = None, variant_model: bool = False) -> None:
        self.max_calls = max_calls
        self.sequence_of = sequence_of or (lambda accession: None)
        self.variant_model = variant_model

    def plan(self, question: str, entities: Entities, tools: Mapping[str, BaseTool]) -> Plan:
        plan = retrieval_plan(question, entities)
        calls = self._sequence_calls(question, entities, plan) + self._drug_calls(question, entities)
        for call in calls:
            if call.name not in tools:
                plan.rationale.append(f"Would call {call.name}, but that tool is not available.")
            elif len(plan.tool_calls) < self.max_calls:
                plan.tool_calls.append(call)
        if plan.tool_calls:
            plan.rationale.append("Tools to call: " + ", ".join(c.name for c in plan.tool_calls) + ".")
        return plan

    def _sequence_calls(self, question: str, entities: Entities, plan: Plan) -> list[PlannedCall]:
        sequence = entities.sequences[0] if entities.sequences else None
        named = False
        if sequence is None and entities.protein_ids:
            sequence = self.sequence_of(entities.protein_ids[0])
            named = sequence is not None
        if sequence is None:
            return []
        wanted = [k for k in (ToolName.DISORDER, ToolName.PROTEIN_PROPERTIES) if _asks(k, question)]
        if self.variant_model and entities.variants and (entities.protein_ids or entities.sequences):
            wanted.insert(0, ToolName.VARIANT_EFFECT)
        if not named:  # a pasted sequence is identified first: the answer names what it is
            wanted.insert(0, ToolName.HOMOLOGY_SEARCH)
            if len(wanted) == 1 and not _asks(ToolName.HOMOLOGY_SEARCH, question):
                wanted.append(ToolName.PROTEIN_PROPERTIES)
        elif wanted:
            plan.rationale.append(f"Using the UniProt sequence of {entities.protein_ids[0]} for the tools.")
        calls = []
        for name in wanted:
            args: dict[str, Any] = {"sequence": sequence}
            if name == ToolName.VARIANT_EFFECT:
                args["mutations"] = entities.variants
            calls.append(PlannedCall(name, args))
        return calls

    def _drug_calls(self, question: str, entities: Entities) -> list[PlannedCall]:
        calls: list[PlannedCall] = []
        extra = [
            k
            for k in (ToolName.ADMET, ToolName.DRUG_PROPERTIES, ToolName.SIMILAR_DRUGS)
            if _asks(k, question)
        ]
        for smiles in entities.smiles[:1]:  # identified first (by InChIKey): the answer names the molecule
            calls.append(PlannedCall(ToolName.DRUG_LOOKUP, {"smiles": smiles}))
            for name in extra or [ToolName.DRUG_PROPERTIES]:
                calls.append(PlannedCall(name, {"smiles": smiles}))
        if entities.smiles:
            return calls
        for drug in entities.drugs[:1]:
            calls.append(PlannedCall(ToolName.DRUG_LOOKUP, {"name": drug}))
            for name in extra:
                calls.append(PlannedCall(name, {}, fill={"smiles": "drug_lookup.smiles"}))
        return calls


class ToolCallingPlanner:
    """Lets a tool-calling chat model choose tool calls; retrieval always runs on the question."""

    name = "tools"

    def __init__(self, llm: BaseChatModel, max_calls: int = 4) -> None:
        self.llm = llm
        self.max_calls = max_calls

    def plan(self, question: str, entities: Entities, tools: Mapping[str, BaseTool]) -> Plan:
        plan = retrieval_plan(question, entities)
        if not tools:
            return plan
        system, user = load_prompt("planner").render(question=question, entities=entities.describe())
        try:
            reply = self.llm.bind_tools(list(tools.values())).invoke(
                [SystemMessage(content=system), HumanMessage(content=user)]
            )
        except BioagentError:
            raise
        except Exception as exc:  # the model's tool-calling failed: fall back to no tools, say so
            plan.rationale.append(
                f"The model's tool planning failed ({type(exc).__name__}: {exc}); no tools."
            )
            return plan
        for call in getattr(reply, "tool_calls", [])[: self.max_calls]:
            tool = tools.get(call["name"])
            if tool is None:
                plan.rationale.append(f"The model asked for an unknown tool '{call['name']}'; skipped.")
                continue
            checked = checked_call(tool, call.get("args") or {}, plan.rationale)
            if checked is not None:
                plan.tool_calls.append(checked)
        names = ", ".join(c.name for c in plan.tool_calls) or "none"
        plan.rationale.append(f"The model chose tools: {names}.")
        return plan


def checked_call(tool: BaseTool, args: Mapping[str, Any], rationale: list[str]) -> PlannedCall | None:
    """The model's call with arguments outside the tool's schema dropped (said in ``rationale``), or None when
    the rest does not validate against the schema: a model never passes what the schema does not offer."""
    known = {name: value for name, value in args.items() if name in tool.args}
    if dropped := sorted(set(args) - set(known)):
        rationale.append(f"Ignored argument(s) {', '.join(dropped)} of {tool.name}: not in its schema.")
    if problems := argument_problems(tool, known):
        rationale.append(f"Refused the call of {tool.name}: {problems}.")
        return None
    return PlannedCall(tool.name, known)


def argument_problems(tool: BaseTool, args: Mapping[str, Any]) -> str | None:
    """What is wrong with ``args`` for ``tool`` (arguments its schema does not offer, values it rejects), or
    None when they fit."""
    problems = [f"{name}: not an argument of {tool.name}" for name in sorted(set(args) - set(tool.args))]
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate({name: value for name, value in args.items() if name in tool.args})
        except ValidationError as exc:
            problems += [f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(problems) or None


def declares_tool_calling(llm: BaseChatModel) -> bool:
    """Whether the chat model declares tool calling in its LangChain profile (unknown counts as no)."""
    profile = getattr(llm, "profile", None) or {}
    return bool(profile.get("tool_calling"))


def choose_planner(
    setting: str,
    llm: BaseChatModel,
    *,
    max_calls: int = 4,
    sequence_of: Any = None,
    variant_model: bool = False,
) -> Planner:
    """The planner for ``settings.llm.planner`` ('auto' | 'rules' | 'tools')."""
    if setting == "tools" or (setting == "auto" and declares_tool_calling(llm)):
        return ToolCallingPlanner(llm, max_calls)
    return RulesPlanner(max_calls, sequence_of, variant_model)
