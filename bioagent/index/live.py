"""Growing an index from live sources: the results of PubMed (E-utilities) and UniProt (REST) queries.

Found ids already in the index are skipped before anything is fetched. Fetched records are staged as JSON lines
under ``<index>/.live/`` as they arrive, so a run that is interrupted (Ctrl-C, a crash) resumes without fetching
them again; a staging file is removed once the index holding its records is written. Re-embedding after an
interruption is cheap too: the embedding cache (``settings.cache_dir``) keeps every embedded block.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from tqdm.auto import tqdm

from bioagent.errors import BioagentError, IngestError, ServiceUnreachableError
from bioagent.index import AddReport, Index, SourceInfo, add_documents, build_index, load_index
from bioagent.index.manifest import MANIFEST_NAME
from bioagent.ingest import PubMedClient, UniProtClient
from bioagent.settings import Settings
from bioagent.types import Document

STAGING_DIR = ".live"
STAGE_BATCH = 50


@dataclass(frozen=True)
class _LiveSource:
    """One live query: how to check the service, find ids (best first) and fetch documents for ids."""

    name: str
    label: str
    query: str
    reachable: Callable[[], str | None]
    search: Callable[[int], list[str]]
    fetch: Callable[[list[str]], list[Document]]


@dataclass
class SourceReport:
    """What one live query found and contributed.

    ``found``: how many ids the query returned (at most ``max_records``), ``ids`` those ids in the service's
    order; ``already_present``: of those, ids the index
    (or the local documents added with them) already held; ``fetched``: records fetched by this run;
    ``resumed``: records taken from an interrupted run's staging file; ``added``: documents added;
    ``not_returned``: ids the service gave no usable record for; ``error``: why fetching stopped early.
    """

    label: str
    query: str
    found: int = 0
    ids: list[str] = field(default_factory=list)
    already_present: int = 0
    fetched: int = 0
    resumed: int = 0
    added: int = 0
    not_returned: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """One line: found / already present / added, and what went wrong."""
        line = (
            f"{self.label} '{self.query}': found {self.found}, already present {self.already_present}, "
            f"added {self.added}"
        )
        if self.resumed:
            line += f" ({self.resumed} fetched by an interrupted run)"
        if self.not_returned:
            line += f"; {len(self.not_returned)} not returned (first: {self.not_returned[0]})"
        if self.error:
            line += f"; stopped: {self.error}"
        return line


@dataclass
class GrowReport:
    """The live sources' reports and the outcome of writing the index (local documents included)."""

    sources: list[SourceReport]
    added: int
    skipped_duplicates: list[str]


def grow_index(
    index_path: str | Path,
    settings: Settings,
    *,
    pubmed: str | None = None,
    uniprot: str | None = None,
    max_records: int = 100,
    documents: Sequence[Document] = (),
    sources: Sequence[SourceInfo] = (),
    rebuild: bool = False,
    progress: bool = False,
    pubmed_client: PubMedClient | None = None,
    uniprot_client: UniProtClient | None = None,
) -> tuple[Index, GrowReport]:
    """Add the top ``max_records`` results of a PubMed and/or UniProt query (and ``documents``) to an index.

    The index at ``index_path`` is extended, or built when there is none (or when ``rebuild``: a new index of
    ``documents`` and the query results replaces it). An unreachable service raises a one-line
    :class:`ServiceUnreachableError` before anything is done; a fetch that fails midway stops that source, and what it
    fetched is still added (``SourceReport.error`` says why it stopped).
    """
    index_path = Path(index_path)
    live = _live_sources(settings, pubmed, uniprot, pubmed_client, uniprot_client)
    for source in live:
        if (reason := source.reachable()) is not None:
            raise ServiceUnreachableError(f"{source.label} is not reachable ({reason}); nothing added")
    index = (
        None if rebuild or not (index_path / MANIFEST_NAME).is_file() else load_index(index_path, settings)
    )
    present = {doc.id for doc in documents}  # the index itself is asked id by id (it is on disk)

    def known(doc_id: str) -> bool:
        return doc_id in present or (index is not None and index.documents.row_of(doc_id) is not None)

    new_documents, infos, reports = list(documents), list(sources), []
    for source in live:
        staging = staging_file(index_path, source.name, source.query)
        found, report = _collect(source, staging, known, max_records, progress)
        present.update(doc.id for doc in found)
        new_documents += found
        reports.append(report)
        if found:
            infos.append(
                SourceInfo(
                    path=f"{source.name}:{source.query}", format=f"{source.name}-live", documents=len(found)
                )
            )
    index, outcome = _commit(index, index_path, new_documents, settings, infos, progress, reports)
    for source in live:
        staging_file(index_path, source.name, source.query).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: other queries' interrupted runs staged records there
        (index_path / STAGING_DIR).rmdir()
    return index, GrowReport(reports, outcome.added, outcome.skipped_duplicates)


def _live_sources(
    settings: Settings,
    pubmed: str | None,
    uniprot: str | None,
    pubmed_client: PubMedClient | None = None,
    uniprot_client: UniProtClient | None = None,
) -> list[_LiveSource]:
    """The live queries asked for, bound to their clients (made from ``settings`` unless given)."""
    found: list[_LiveSource] = []
    if pubmed is not None:
        ncbi = pubmed_client or PubMedClient(settings.ncbi)
        found.append(
            _LiveSource(
                "pubmed", "PubMed", pubmed, ncbi.reachable, lambda n: ncbi.search(pubmed, n), ncbi.fetch
            )
        )
    if uniprot is not None:
        rest = uniprot_client or UniProtClient(settings.uniprot)
        found.append(
            _LiveSource(
                "uniprot",
                "UniProt",
                uniprot,
                rest.reachable,
                lambda n: rest.search_accessions(uniprot, n),
                rest.fetch,
            )
        )
    return found


def _collect(
    source: _LiveSource, staging: Path, known: Callable[[str], bool], max_records: int, progress: bool = False
) -> tuple[list[Document], SourceReport]:
    """The documents of ``source``'s results that are not ``known``, best first: taken from the staging
    file where an earlier run fetched them, else fetched in batches and staged as they arrive."""
    report = SourceReport(source.label, source.query)
    ids = list(dict.fromkeys(source.search(max_records)))
    staged = _read_staged(staging)
    wanted = [doc_id for doc_id in ids if not known(doc_id)]
    missing = [doc_id for doc_id in wanted if doc_id not in staged]
    report.found, report.ids, report.already_present = len(ids), ids, len(ids) - len(wanted)
    report.resumed = len(wanted) - len(missing)
    with tqdm(
        total=len(missing), unit="record", desc=f"Fetching {source.label}", disable=not progress
    ) as bar:
        for start in range(0, len(missing), STAGE_BATCH):
            batch = missing[start : start + STAGE_BATCH]
            try:
                fetched = source.fetch(batch)
            except IngestError as exc:
                report.error = f"{exc} ({len(missing) - start} records not fetched; run again to fetch them)"
                break
            _stage(staging, fetched)
            staged.update((doc.id, doc) for doc in fetched)
            report.fetched += len(fetched)
            report.not_returned += [doc_id for doc_id in batch if doc_id not in staged]
            bar.update(len(batch))
    found = [staged[doc_id] for doc_id in wanted if doc_id in staged]
    report.added = len(found)
    return found, report


def staging_file(index_path: Path, source: str, query: str) -> Path:
    """Where the records fetched for ``query`` from ``source`` ("pubmed", "uniprot") are staged."""
    key = hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]
    return index_path / STAGING_DIR / f"{source}-{key}.jsonl"


def _stage(path: Path, documents: Sequence[Document]) -> None:
    """Append ``documents`` to a staging file (closed at once, so what was fetched survives an interruption)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(doc.model_dump_json() + "\n" for doc in documents)


def _read_staged(path: Path) -> dict[str, Document]:
    """The documents of a staging file by id (a line cut short by an interruption is ignored)."""
    if not path.is_file():
        return {}
    staged: dict[str, Document] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = Document.model_validate_json(line)
        except ValidationError:
            continue
        staged[doc.id] = doc
    return staged


def _commit(
    index: Index | None,
    index_path: Path,
    documents: list[Document],
    settings: Settings,
    sources: list[SourceInfo],
    progress: bool,
    reports: list[SourceReport],
) -> tuple[Index, AddReport]:
    """Write ``documents`` into the index (a new one when ``index`` is None); nothing is written when there
    is nothing new."""
    if index is None:
        if not documents:
            found = "; ".join(report.summary() for report in reports)
            raise BioagentError(f"nothing to index in {index_path}: {found}")
        built = build_index(documents, index_path, settings, sources=sources, progress=progress)
        return built, AddReport(added=len(built), skipped_duplicates=[])
    if not documents:
        return index, AddReport(added=0, skipped_duplicates=[])
    return add_documents(index, documents, settings, sources=sources, progress=progress)
