"""The retrieve step: literature and UniProt search, entries named in the question, the topic check and live
search (``agent.live``); the indexes as Retrievers for the search tools."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bioagent.agent.live import Kind, pubmed_query, uniprot_query
from bioagent.agent.planner import Plan
from bioagent.agent.state import AgentParts, AgentState
from bioagent.agent.terms import QUESTION_WORDS
from bioagent.index import Index
from bioagent.index.retriever import IndexRetriever, Retriever
from bioagent.tools.uniprot_lookup import entry_facts
from bioagent.types import Hit


class Retrieval:
    """The retrieve node and the index access the other steps share (one Retriever per index)."""

    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts
        self.config = parts.settings.agent
        self._retrievers: dict[int, IndexRetriever] = {}
        self._question_words: frozenset[str] | None = None

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
        hits = self.entity_entries(plan.protein_ids)
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

    def entity_entries(self, accessions: list[str]) -> list[tuple[Hit, float, str]]:
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
