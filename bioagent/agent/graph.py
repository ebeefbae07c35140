"""The agent as a LangGraph ``StateGraph``: understand -> retrieve -> tools -> answer -> verify (or abstain).

Each node records its wall time in ``timings``; the answer node streams tokens through LangGraph's custom
stream (``{"token": ...}``), so :meth:`bioagent.agent.Agent.stream` can show them as they come.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from bioagent.agent.compose import ComposerInput, Composition, compose, subject_name
from bioagent.agent.entities import Entities, EntityRecognizer
from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.generate import (
    ABSTAIN_TEXT,
    FULL,
    PromptStyle,
    build_messages,
    extractive_sentences,
    leading_option,
    split_reasoning,
    stream_reply,
    verdict_options,
)
from bioagent.agent.live import Kind, LiveSearch, live_search_tools, pubmed_query, uniprot_query
from bioagent.agent.planner import Plan, PlannedCall, Planner
from bioagent.agent.research import Budget, ResearchLoop
from bioagent.agent.summaries import summarise_evidence
from bioagent.agent.terms import QUESTION_WORDS
from bioagent.agent.verdict import Verdict, VerdictModel
from bioagent.agent.verify import QUOTED, Verification, Verifier, missing_anchors
from bioagent.index import Embedder, Index
from bioagent.index.retriever import IndexRetriever, Retriever
from bioagent.settings import Settings
from bioagent.tools.search import search_tools
from bioagent.tools.uniprot_lookup import entry_facts
from bioagent.types import Answer, Citation, Hit, SentenceVerdict, ToolCall, ToolResult

COMPOSER_NAME = "evidence composer (no chat model wrote this answer)"
_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|the (?:protein|gene|drug))\b", re.I
)


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
    graph = StateGraph(AgentState)
    names = ["understand", "retrieve", "tools", "answer", "verify", "abstain"]
    for name in names + (["research"] if parts.research else []):
        graph.add_node(name, _timed(name, getattr(nodes, name)))  # type: ignore[call-overload]
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
    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts
        self.config = parts.settings.agent
        self._retrievers: dict[int, IndexRetriever] = {}
        self._question_words: frozenset[str] | None = None

    # ----- understand ----------------------------------------------------------------------------------

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

    # ----- retrieve ------------------------------------------------------------------------------------

    def retrieve(self, state: AgentState) -> dict[str, Any]:
        plan = state["plan"]
        timings: dict[str, float] = {}
        proteins = self._search_proteins(plan, timings)
        literature = self._search_literature(plan, timings)
        notes: list[str] = []
        if self.parts.live is not None:
            start = time.perf_counter()
            literature, proteins, notes = self._search_live(state, literature, proteins)
            timings["retrieve.live"] = round(time.perf_counter() - start, 4)
        hits = proteins + literature
        kept = [item for item in hits if item[1] >= self.config.min_relevance]
        trace = [
            f"Retrieved {len(hits)} passages; {len(kept)} reach the relevance threshold "
            f"{self.config.min_relevance} (best {max((r for _, r, _ in hits), default=0.0):.2f})."
        ]
        return {"hits": kept, "timings": timings, "trace": trace + notes, "notes": notes}

    def _search_proteins(self, plan: Plan, timings: dict[str, float]) -> list[tuple[Hit, float, str]]:
        if self.parts.proteins is None:
            return []
        start = time.perf_counter()
        hits = self._entity_entries(plan.protein_ids)
        if plan.protein_query and self.config.protein_k:
            found = self.parts.proteins.search(plan.protein_query, k=self.config.protein_k)
            hits += [
                (h, r, "database") for h, r in self._relevance(self.parts.proteins, plan.protein_query, found)
            ]
        timings["retrieve.proteins"] = round(time.perf_counter() - start, 4)
        return hits

    def _search_literature(self, plan: Plan, timings: dict[str, float]) -> list[tuple[Hit, float, str]]:
        if not (self.parts.literature and plan.literature_query and self.config.literature_k):
            return []
        start = time.perf_counter()
        hits = []
        for index in self.parts.literature:
            found = index.search(plan.literature_query, k=self.config.literature_k)
            on_topic = self._on_topic(index, plan.literature_query, found)
            hits += [(h, r, "literature") for h, r in self._relevance(index, plan.literature_query, on_topic)]
        timings["retrieve.literature"] = round(time.perf_counter() - start, 4)
        return hits

    def _on_topic(self, index: Index, query: str, hits: list[Hit]) -> list[Hit]:
        """``hits``, or none when not one of them mentions the query's topic word: its rarest indexed word (not a
        question word, not in brackets, held by at least one text), when fewer than ``agent.topic_word_share`` of
        the indexed texts hold it. Then the passages are about something else: colorectal cancer for an aspirin
        question in a corpus whose few aspirin texts were not retrieved."""
        if not self.config.topic_word_share:
            return hits
        if self._question_words is None:  # every index stems words alike: once per agent
            self._question_words = frozenset(index.lexical.words(" ".join(QUESTION_WORDS)))
        scaffolding = self._question_words
        unbracketed = re.sub(r"\([^)]*\)", " ", query)  # "(DCM)" restates the words before it
        counts = {
            w: n for w, n in index.lexical.document_counts(unbracketed).items() if w not in scaffolding and n
        }
        if not counts:
            return hits
        topic, count = min(counts.items(), key=lambda item: item[1])
        if count >= self.config.topic_word_share * index.lexical.size:
            return hits
        mentioned = any(topic in index.lexical.words(f"{h.title}\n{h.text}") for h in hits)
        return hits if mentioned else []

    def _search_live(
        self,
        state: AgentState,
        literature: list[tuple[Hit, float, str]],
        proteins: list[tuple[Hit, float, str]],
    ) -> tuple[list[tuple[Hit, float, str]], list[tuple[Hit, float, str]], list[str]]:
        """Live searches (``agent.live``): PubMed when no local passage reaches the threshold, UniProt for gene
        symbols no local entry has. What they add is written to the local index and searched like the rest."""
        assert self.parts.live is not None
        plan, entities, notes = state["plan"], state["entities"], []
        if plan.literature_query and not self._reaches_threshold(literature):
            query = pubmed_query(plan.literature_query, entities.genes + entities.drugs)
            growth = self.parts.live.grow("literature", self.live_target("literature"), query)
            notes.append(growth.note)
            if growth.index is not None:
                self.grew("literature", growth.index)
                literature = self._search_literature(plan, {})
        if entities.unknown_symbols and not plan.protein_ids:
            query = uniprot_query(entities.unknown_symbols)
            growth = self.parts.live.grow("proteins", self.live_target("proteins"), query)
            notes.append(growth.note)
            if (grown := growth.index) is not None:
                self.grew("proteins", grown)
                wanted = {symbol.upper() for symbol in entities.unknown_symbols}
                plan.protein_ids = [
                    d.id for d in grown.documents if str(d.metadata.get("gene", "")).upper() in wanted
                ]
                proteins = self._search_proteins(plan, {})
        return literature, proteins, [note for note in notes if note]

    def live_target(self, kind: Kind) -> Path:
        """The index live records of ``kind`` are added to: the first literature index, the protein index, or
        the configured folder when there is none yet."""
        settings = self.parts.settings
        if kind == "literature":
            return (
                self.parts.literature[0].path if self.parts.literature else settings.literature_index_path()
            )
        return self.parts.proteins.path if self.parts.proteins else settings.protein_index_path()

    def grew(self, kind: Kind, index: Index) -> None:
        """Search the grown ``index`` from now on (it replaces the index it grew from)."""
        if kind == "literature":
            self.parts.literature[:1] = [index]
        else:
            self.parts.proteins = index

    def live_retrievers(self, kind: Kind) -> list[Retriever]:
        indexes = self.parts.literature if kind == "literature" else [self.parts.proteins]
        return [self.retriever(index) for index in indexes if index is not None]

    def live_hits(self, kind: Kind, ids: Sequence[str]) -> list[Hit]:
        indexes = [i for i in (self.parts.literature if kind == "literature" else [self.parts.proteins]) if i]
        found = (
            next((d for index in indexes if (d := index.get(doc_id)) is not None), None) for doc_id in ids
        )
        return [Hit.of_document(doc, rank) for rank, doc in enumerate(filter(None, found), start=1)]

    def _reaches_threshold(self, hits: list[tuple[Hit, float, str]]) -> bool:
        return any(relevance >= self.config.min_relevance for _, relevance, _ in hits)

    def _entity_entries(self, accessions: list[str]) -> list[tuple[Hit, float, str]]:
        """UniProt entries named in the question: exact matches, so relevance 1.0."""
        entries = []
        for rank, accession in enumerate(accessions[:3], start=1):
            doc = self.parts.proteins.get(accession) if self.parts.proteins else None
            if doc is not None:
                # the fields an answer may quote whole (length, every disease) beside the indexed summary
                quoted = [str(f["statement"]) for f in entry_facts(doc) if str(f["value"]) not in doc.text]
                hit = Hit.of_document(doc, rank).model_copy(
                    update={
                        "text": "\n".join([doc.text, *quoted]),
                        "metadata": {**doc.metadata, "matched_entity": True},
                    }
                )
                entries.append((hit, 1.0, "database"))
        return entries

    def _relevance(self, index: Index, query: str, hits: list[Hit]) -> list[tuple[Hit, float]]:
        """Each hit with its cosine to the query (see :meth:`IndexRetriever.relevance`)."""
        return list(zip(hits, self.retriever(index).relevance(query, hits)))

    def retriever(self, index: Index) -> IndexRetriever:
        """The index as a Retriever (one per index, so its chunk rows are read once)."""
        key = id(index)
        if key not in self._retrievers or self._retrievers[key].index is not index:
            self._retrievers[key] = IndexRetriever(index, self.parts.embedder)
        return self._retrievers[key]

    # ----- tools ---------------------------------------------------------------------------------------

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
            if call.name == "homology_search" and call.result and call.result.ok:
                top = next(iter(call.result.data.get("hits") or []), None)
                if top and top["identity"] >= 0.9 and top["query_coverage"] >= 0.8:
                    return self._entity_entries([str(top["accession"])])
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
            result = ToolResult(tool=planned.name, data=data, model=data.get("model"))
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
            [self.retriever(index) for index in self.parts.literature],
            self.retriever(proteins) if proteins is not None else None,
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

        live = live_search_tools(self.parts.live, self, self.config.research_k) if self.parts.live else []
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

    def route(self, state: AgentState) -> str:
        return "answer" if len(state.get("evidence") or []) else "abstain"

    # ----- answer and verify ---------------------------------------------------------------------------

    def answer(self, state: AgentState) -> dict[str, Any]:
        writer = get_stream_writer()
        run = ComposerInput(
            state["question"],
            state["entities"],
            state["evidence"],
            state.get("tool_calls") or [],
            state.get("entries") or {},
        )
        if self.parts.writer == "evidence":
            return self._composed(state, run, writer)
        return self._written(state, run, writer)

    def _composed(self, state: AgentState, run: ComposerInput, writer: Any) -> dict[str, Any]:
        """The answer composed from the evidence; a yes/no question that the literature answers also gets a
        verdict from the verdict model (not one that tools or UniProt answer: it was trained on literature)."""
        composition = compose(run, self.parts.embedder, self.config.literature_sentences)
        verdict: Verdict | None = None
        notes: list[str] = []
        if composition.rests_on_literature() and not (run.entities.sequences or run.entities.smiles):
            verdict, notes = self._verdict(state)
        if verdict:  # the sentence the verdict rests on is quoted first
            composition = compose(
                run, self.parts.embedder, self.config.literature_sentences, verdict.sentence
            )
        draft = composition.text(verdict.label if verdict else None)
        writer({"token": draft})
        trace = [f"Composed {len(composition.statements)} sentences from the evidence (no chat model)."]
        if verdict:
            trace.append(
                f"Verdict {verdict.label} (probability {verdict.probability:.2f}) from the verdict model; "
                f"its deciding sentence: {verdict.sentence[:200]}"
            )
        return {"draft": draft, "composition": composition, "trace": trace, "notes": notes}

    def _written(self, state: AgentState, run: ComposerInput, writer: Any) -> dict[str, Any]:
        """The chat model's answer over the evidence and the facts composed from it (streamed token by token)."""
        composition = compose(run, self.parts.embedder, self.config.literature_sentences)
        history = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in state.get("history") or [])
        messages = build_messages(
            self.parts.style,
            state["question"],
            state["evidence"],
            state.get("options"),
            history if self.parts.style is FULL else "",
            composition.facts_block(),
        )
        start = time.perf_counter()
        first: list[float] = []

        def on_token(piece: str) -> None:
            if not first:
                first.append(time.perf_counter() - start)
            writer({"token": piece})

        reply = stream_reply(
            self.parts.llm, messages, on_token, self.parts.style.stop, self.parts.style.max_tokens
        )
        reasoning, draft = split_reasoning(reply)
        timings = {"answer.first_token": round(first[0], 4)} if first else {}
        return {
            "draft": draft,
            "model_reasoning": reasoning,
            "timings": timings,
            "composition": composition,
        }

    def _verdict(self, state: AgentState) -> tuple[Verdict | None, list[str]]:
        """A yes/no verdict from the verdict model over the literature evidence, for yes/no questions only
        (with a note when the question wanted one and none can be given)."""
        options = [o.lower() for o in verdict_options(state.get("options"), state["question"])]
        if self.parts.verdicts is None or not {"yes", "no"} <= set(options):
            return None, []
        if isinstance(self.parts.verdicts, str):
            return None, [f"No yes/no verdict: {self.parts.verdicts}."]
        evidence = state["evidence"]
        passages = [evidence.texts[item.id] for item in evidence.usable() if item.kind == "literature"][:5]
        return self.parts.verdicts.predict(state["question"], passages, self.parts.embedder), []

    def verify(self, state: AgentState) -> dict[str, Any]:
        evidence = state["evidence"]
        style = self.parts.style
        composed = self.parts.writer == "evidence"
        subjects = [f"UniProt:{accession}" for accession in state.get("entries") or {}]
        checked = self.parts.verifier.verify(
            state.get("draft", ""),
            evidence,
            0
            if composed
            else style.evidence_items,  # a composed sentence is checked against its own citation
            None if composed else style.max_claims,
            subjects=subjects,
            numbered=not composed,
        )
        if not composed and state.get("composition"):
            checked = self._keep_facts(checked, state["composition"], evidence, subjects)
        notes = _verification_notes(checked, self.config.unsupported)
        text, extractive = checked.text, composed
        if not composed and not _has_supported_claim(checked) and self.config.extractive_fallback:
            quoted = extractive_sentences(
                state["question"], evidence, self.parts.embedder, items=self.parts.style.evidence_items
            )
            if quoted:
                options = verdict_options(state.get("options"), state["question"])
                verdict = leading_option(state.get("draft", ""), options, anywhere=False) if options else None
                prefix = f"{verdict.capitalize()}. " if verdict else ""
                text = prefix + " ".join(f"{sentence} [{key}]." for key, sentence in quoted)
                extractive = True
                checked.citations = list(dict.fromkeys(key for key, _ in quoted))
                checked.verdicts += [
                    SentenceVerdict(sentence=s, citations=[k], supported=True, score=1.0, reason=QUOTED)
                    for k, s in quoted
                ]
                notes.append(
                    "The model's answer did not pass citation verification, so this answer quotes the "
                    "evidence sentences closest to the question instead (extractive fallback)."
                )
        if not text.strip():
            text = ABSTAIN_TEXT
        answer = self._answer(state, text, evidence, notes, extractive)
        answer.verdicts = checked.verdicts
        answer.citations = [_citation(key, evidence) for key in checked.citations if evidence.get(key)]
        return {"answer": answer, "notes": notes}

    def _keep_facts(
        self, checked: Verification, composition: Composition, evidence: EvidenceSet, subjects: list[str]
    ) -> Verification:
        """The model's checked answer plus every composed fact or field whose numbers and names it dropped:
        a chat model writes over the facts but does not lose them."""
        dropped = [
            s
            for s in composition.statements
            if s.origin != "literature sentence" and missing_anchors(s.text, checked.text)
        ]
        if dropped:
            checked.extend(
                self.parts.verifier.verify(Composition(dropped).text(), evidence, subjects=subjects)
            )
        return checked

    def abstain(self, state: AgentState) -> dict[str, Any]:
        notes = ["No retrieved passage reached the relevance threshold and no tool produced a result."]
        answer = self._answer(state, ABSTAIN_TEXT, EvidenceSet(), notes, False)
        answer.abstained = True
        return {"answer": answer, "notes": notes}

    def _answer(
        self, state: AgentState, text: str, evidence: EvidenceSet, notes: list[str], extractive: bool
    ) -> Answer:
        all_notes = list(self.parts.startup_notes) + list(state.get("notes") or []) + notes
        if all_notes:
            text = f"{text}\n\nNote: {' '.join(all_notes)}"
        trace = list(state.get("trace") or [])
        if state.get("model_reasoning"):
            trace.append(f"Model reasoning: {state['model_reasoning']}")
        return Answer(
            question=state["question"],
            text=text,
            evidence=list(evidence.items),
            tool_calls=list(state.get("tool_calls") or []),
            reasoning="\n".join(trace),
            model=self.parts.model_name if self.parts.writer == "model" else COMPOSER_NAME,
            notes=all_notes,
            planner=self.parts.planner.name,
            extractive=extractive,
            abstained=text.startswith(ABSTAIN_TEXT),
        )


def _has_supported_claim(checked: Verification) -> bool:
    return any(v.supported and v.citations for v in checked.verdicts)


def _verification_notes(checked: Verification, mode: str) -> list[str]:
    notes = []
    if checked.invalid_citations:
        shown = ", ".join(sorted(set(checked.invalid_citations)))
        notes.append(f"Removed citations that name no evidence from this run: {shown}.")
    if checked.dropped_sentences:
        notes.append(
            f"{checked.dropped_sentences} sentence(s) of the model's answer that repeated others or went past the "
            "answer's length were left out."
        )
    if checked.removed_sentences:
        n = len(checked.removed_sentences)
        done = "removed" if mode == "remove" else "marked [unsupported]"
        notes.append(
            f"{n} sentences were {done} because the evidence did not support them."
            if n > 1
            else f"1 sentence was {done} because the evidence did not support it."
        )
    return notes


def _citation(key: str, evidence: EvidenceSet) -> Citation:
    item = evidence.get(key)
    assert item is not None
    return Citation(id=key, url=item.url, snippet=item.snippet[:300])


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
