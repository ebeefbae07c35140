"""The public facade: build, grow, open and search indexes, run the tools, ask the agent.

Ingestion errors are reported, not hidden. The CLI, the chat and the servers use these functions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioagent import index as _index
from bioagent.errors import IngestError, ToolInputError
from bioagent.index import Index, SourceInfo
from bioagent.index.live import GrowReport
from bioagent.index.live import grow_index as _grow_index
from bioagent.ingest import ColumnMap, read_documents
from bioagent.settings import Settings
from bioagent.types import Answer, Document, Hit, SearchMode

logger = logging.getLogger(__name__)


@dataclass
class Collected:
    """Documents read from one or more inputs, with the records that had to be skipped."""

    documents: list[Document] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


InputSpec = tuple[Path, str, ColumnMap | None]
"""An input file or folder, its format ('auto' to detect) and, for CSV/JSONL, its column mapping."""


def read_inputs(inputs: Sequence[InputSpec], progress: bool = False) -> Collected:
    """Read every input; whole-file failures raise, bad records are collected in ``errors``."""
    collected = Collected()
    for path, fmt, columns in inputs:
        result = read_documents(path, fmt, columns=columns, progress=progress)
        collected.documents.extend(result.documents)
        collected.errors.extend(result.errors)
        collected.sources.append(
            SourceInfo(
                path=str(path),
                format=result.format,
                documents=len(result.documents),
                skipped_records=len(result.errors),
            )
        )
    for error in collected.errors:
        logger.warning("skipped %s", error)
    return collected


def build_index(
    inputs: str | Path | Sequence[str | Path] | Sequence[Document],
    out_dir: str | Path,
    settings: Settings | None = None,
    *,
    fmt: str = "auto",
    progress: bool = False,
) -> Index:
    """Build an index from files (any supported format) or from ``Document`` objects.

    >>> index = build_index("../shared/data/scifact/beir_format", "indexes/scifact")  # doctest: +SKIP
    """
    settings = settings or Settings.load()
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if inputs and all(isinstance(item, Document) for item in inputs):
        documents, sources = [item for item in inputs if isinstance(item, Document)], []
    else:
        collected = read_inputs([(Path(str(p)), fmt, None) for p in inputs], progress)
        documents, sources = collected.documents, collected.sources
    return _index.build_index(documents, out_dir, settings, sources=sources, progress=progress)


def load_index(path: str | Path, settings: Settings | None = None) -> Index:
    """Open an index folder built by :func:`build_index`."""
    return _index.load_index(path, settings)


def grow_index(
    index_path: str | Path,
    settings: Settings | None = None,
    *,
    pubmed: str | None = None,
    uniprot: str | None = None,
    max_records: int = 100,
    documents: Sequence[Document] = (),
    sources: Sequence[SourceInfo] = (),
    rebuild: bool = False,
    progress: bool = False,
) -> tuple[Index, GrowReport]:
    """Add the top ``max_records`` results of a PubMed and/or UniProt query to an index folder (built if
    absent; replaced with ``rebuild``), skipping ids it already holds; an interrupted run resumes.

    >>> index, report = grow_index("indexes/mine", pubmed="imatinib resistance", max_records=50)  # doctest: +SKIP
    >>> print(report.sources[0].summary())  # doctest: +SKIP
    PubMed 'imatinib resistance': found 50, already present 0, added 50
    """
    return _grow_index(
        index_path,
        settings or Settings.load(),
        pubmed=pubmed,
        uniprot=uniprot,
        max_records=max_records,
        documents=documents,
        sources=sources,
        rebuild=rebuild,
        progress=progress,
    )


def search(
    index: str | Path | Index,
    query: str,
    k: int = 10,
    settings: Settings | None = None,
    *,
    mode: SearchMode | None = None,
) -> list[Hit]:
    """The ``k`` best passages of an index folder (or a loaded :class:`Index`) for ``query``; ``mode`` is
    'hybrid' (default from the settings), 'dense' or 'lexical'."""
    opened = index if isinstance(index, Index) else load_index(index, settings)
    return opened.search(query, k=k, mode=mode)


def tools() -> list[dict[str, Any]]:
    """Every tool's name, summary, description and JSON schema (no model is loaded)."""
    from bioagent.tools.registry import tool_list

    return tool_list()


def run_tool(name: str, arguments: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Run one tool on ``arguments``, validated with its schema (unknown arguments are refused).

    Raises :class:`~bioagent.errors.ToolInputError` for arguments the schema or the tool rejects.
    """
    from pydantic import ValidationError

    from bioagent.tools.registry import bind, get_spec

    spec = get_spec(name)
    if unknown := sorted(set(arguments) - set(spec.args_schema.model_fields)):
        raise ToolInputError(f"{name} takes no argument(s) {', '.join(unknown)}")
    try:
        validated = spec.args_schema.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ToolInputError(f"invalid arguments for {name}: {problems}") from exc
    result: dict[str, Any] = bind(spec, settings or Settings.load())(**validated.model_dump())
    return result


def ask(question: str, settings: Settings | None = None) -> Answer:
    """Answer ``question`` with an agent over the configured indexes, chat model and tools (built per call;
    keep an :class:`~bioagent.agent.Agent` for several questions)."""
    from bioagent.agent import Agent

    return Agent.from_settings(settings or Settings.load()).ask(question)


def answer_json(answer: Answer) -> dict[str, Any]:
    """The Answer as the JSON contract of `bioagent ask --json` and the HTTP API: ``answer``, ``citations``,
    ``evidence``, ``tool_calls``, ``timings`` and the rest of the record."""
    data = answer.model_dump(mode="json")
    data["answer"] = data.pop("text")
    return data
