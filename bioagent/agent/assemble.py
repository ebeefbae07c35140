"""Building an agent's parts from Settings: indexes, chat model, tools, planner, verifier and verdict model.

:meth:`bioagent.agent.Agent.from_settings` calls :func:`assemble_parts`; everything that reads files or loads
models when an agent is made happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from bioagent.agent.entities import EntityRecognizer
from bioagent.agent.generate import COMPACT, FULL
from bioagent.agent.live import LiveSearch
from bioagent.agent.planner import Planner, choose_planner, declares_tool_calling
from bioagent.agent.research import Budget, ResearchPlanner
from bioagent.agent.state import AgentParts
from bioagent.agent.verdict import VerdictModel
from bioagent.agent.verify import Verifier
from bioagent.errors import BioagentError, IndexLoadError
from bioagent.index import Embedder, Index, load_embedder, load_index
from bioagent.index.cache import CachingEmbedder
from bioagent.settings import Settings
from bioagent.tools.names import ToolName

logger = logging.getLogger(__name__)
IndexLike = Index | str | Path


class Configured(Enum):
    """Marks a part left to the settings (e.g. the configured index folder)."""

    PART = "configured"


CONFIGURED = Configured.PART


def assemble_parts(
    settings: Settings,
    *,
    llm: BaseChatModel | None,
    literature_index: IndexLike | Sequence[IndexLike] | None,
    protein_index: IndexLike | None,
    tools: Sequence[BaseTool] | None,
    planner: Planner | None,
    embedder: Embedder | None,
) -> AgentParts:
    """Open the indexes (a missing one becomes a startup note), load the chat model and tools, and choose the
    planner, writer, verifier and verdict model the settings ask for."""
    notes: list[str] = []
    opened = [_open(item, settings, "literature", notes) for item in _as_list(literature_index)]
    literature = [index for index in opened if index is not None]
    proteins = _open(protein_index, settings, "UniProt", notes) if protein_index is not None else None
    chat_model, model_name = _chat_model(llm, settings)
    tool_list = list(tools) if tools is not None else _default_tools(settings, proteins, notes)
    cached = CachingEmbedder(embedder or _embedder(literature, proteins, settings))
    config = settings.agent
    research = config.research == "auto" and declares_tool_calling(chat_model)
    return AgentParts(
        llm=chat_model,
        literature=literature,
        proteins=proteins,
        tools={tool.name: tool for tool in tool_list},
        embedder=cached,
        planner=planner
        or (ResearchPlanner() if research else None)
        or choose_planner(
            settings.llm.planner,
            chat_model,
            max_calls=config.max_tool_calls,
            sequence_of=_sequence_lookup(proteins),
            variant_model=settings.tools.esm_model is not None,
        ),
        recognizer=EntityRecognizer(proteins.documents if proteins else (), _drug_names(tool_list, settings)),
        verifier=Verifier(cached, config.support_cosine, config.support_overlap, config.unsupported),
        style=FULL if declares_tool_calling(chat_model) else COMPACT,
        settings=settings,
        writer=_writer(config.writer, chat_model),
        verdicts=_verdict_model(config.verdicts, cached),
        model_name=model_name,
        startup_notes=notes,
        live=LiveSearch(settings) if config.live == "auto" else None,
        research=Budget.from_settings(config) if research else None,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _open(value: IndexLike, settings: Settings, what: str, notes: list[str]) -> Index | None:
    """An Index from an Index or a folder; a missing/broken folder becomes a note, not an exception."""
    if isinstance(value, Index):
        return value
    path = Path(value)
    if not path.exists():
        notes.append(
            f"No {what} index at {path}: build the demo indexes with `bioagent demo build` or point "
            f"the settings at an index folder; answering without it."
        )
        return None
    try:
        return load_index(path, settings)
    except IndexLoadError as exc:
        notes.append(f"The {what} index could not be opened ({exc}); answering without it.")
        return None


def _chat_model(llm: BaseChatModel | None, settings: Settings) -> tuple[BaseChatModel, str]:
    if llm is not None:
        name = next(
            (str(getattr(llm, a)) for a in ("model_name", "model", "model_path") if getattr(llm, a, None)),
            type(llm).__name__,
        )
        return llm, name
    from bioagent.llm import create_chat_model, describe_model

    return create_chat_model(settings.llm, cache_dir=settings.cache_dir), str(describe_model(settings.llm))


def _default_tools(settings: Settings, proteins: Index | None, notes: list[str]) -> list[BaseTool]:
    try:
        from bioagent.tools.registry import all_tools
    except ImportError as exc:
        notes.append(f"The tools could not be loaded ({exc}); answering from the indexes only.")
        return []
    try:
        return list(all_tools(settings, protein_index=proteins))
    except BioagentError as exc:
        notes.append(f"The tools could not be set up ({exc}); answering from the indexes only.")
        return []


def _embedder(literature: list[Index], proteins: Index | None, settings: Settings) -> Embedder:
    for index in [*literature, proteins]:
        if index is not None:
            return index.embedder
    return load_embedder(settings.embedding, settings.cache_dir)


def _writer(setting: str, llm: BaseChatModel) -> str:
    """'model' when the chat model should write over the facts, else 'evidence' (``agent.writer``)."""
    if setting == "auto":
        return "model" if declares_tool_calling(llm) else "evidence"
    return setting


def _verdict_model(setting: str, embedder: Embedder) -> VerdictModel | str | None:
    """The shipped yes/no verdict model when ``agent.verdicts`` is 'auto' and it beat the majority class on
    both evaluation splits; otherwise the reason it cannot be used (None when verdicts are off), and yes/no
    questions get the evidence without a verdict."""
    if setting == "off":
        return None
    model = VerdictModel.load()
    beats = model.beats_majority_with(embedder.name)
    if beats is None:
        return f"the verdict model was not measured with this agent's embedder '{embedder.name}'"
    if not beats:
        return "no verdict method beat the majority class on the evaluation data"
    return model


def _sequence_lookup(proteins: Index | None) -> Any:
    def sequence_of(accession: str) -> str | None:
        doc = proteins.get(accession) if proteins is not None else None
        return str(doc.metadata["sequence"]) if doc is not None and doc.metadata.get("sequence") else None

    return sequence_of


def _drug_names(tools: Sequence[BaseTool], settings: Settings) -> list[str]:
    """Approved-drug names from the drug tools' catalog, when those tools are loaded."""
    if not any(t.name == ToolName.DRUG_LOOKUP for t in tools):
        return []
    try:
        from bioagent.tools.drug_catalog import load_drug_catalog

        return [
            record.name
            for record in load_drug_catalog(settings.repurposing_hub_path(), settings.cache_dir).approved()
        ]
    except Exception as exc:  # the catalog is optional here: names fall back to suffix rules
        logger.info("drug names unavailable for entity recognition: %s", exc)
        return []
