"""The public facade: build and open indexes from files, with ingestion errors reported, not hidden."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bioagent import index as _index
from bioagent.errors import IngestError
from bioagent.index import Index, SourceInfo
from bioagent.index.live import GrowReport
from bioagent.index.live import grow_index as _grow_index
from bioagent.ingest import ColumnMap, read_documents
from bioagent.settings import Settings
from bioagent.types import Document

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
