"""The public facade: build, grow, open and search indexes, run the tools, ask the agent.

The one surface of the library for the CLI, the chat, the MCP and HTTP servers and users (an import-linter
contract in ``make lint`` keeps them off the layers below). Ingestion errors are reported, not hidden.

``Agent``, ``AgentEvent``, ``Conversation``, ``QARecord``, ``ToolName`` and ``ToolSpec`` are re-exported (imported on first use, so that
``import bioagent.api`` stays light)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioagent import index as _index
from bioagent.errors import BioagentError, IngestError, ToolInputError
from bioagent.index import Index, SourceInfo
from bioagent.index.live import GrowReport
from bioagent.index.live import grow_index as _grow_index
from bioagent.index.manifest import Manifest
from bioagent.ingest import FORMATS, ColumnMap, read_documents
from bioagent.settings import Settings
from bioagent.types import Answer, Artifact, Document, Hit, SearchMode

if TYPE_CHECKING:  # re-exported lazily (see __getattr__)
    from bioagent.agent import Agent as Agent
    from bioagent.agent import AgentEvent as AgentEvent
    from bioagent.agent import Conversation as Conversation
    from bioagent.agent.evaluation import QARecord as QARecord
    from bioagent.tools.admet import ADMET_COLUMNS as ADMET_COLUMNS
    from bioagent.tools.common import ToolSpec as ToolSpec
    from bioagent.tools.names import ToolName as ToolName
    from bioagent.triage import ScreeningReport, SimulationResult
    from bioagent.triage import TriageSession as TriageSession
    from bioagent.triage.pipeline import triage as triage
    from bioagent.types import TriageDecision

logger = logging.getLogger(__name__)
_LAZY = {
    "Agent": "bioagent.agent",
    "AgentEvent": "bioagent.agent",
    "Conversation": "bioagent.agent",
    "QARecord": "bioagent.agent.evaluation",
    "ToolSpec": "bioagent.tools.common",
    "ToolName": "bioagent.tools.names",
    "ADMET_COLUMNS": "bioagent.tools.admet",
    "triage": "bioagent.triage.pipeline",
    "TriageSession": "bioagent.triage",
}
UNIPROT_FORMATS = ("uniprot",)
"""Source formats whose documents are UniProt entries (uniprot-dat, uniprot-xml, uniprot-tsv, uniprot-live)."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bioagent.api' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name]), name)


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
    return open_agent(settings or Settings.load()).ask(question)


def open_agent(settings: Settings, indexes: Sequence[str | Path] = (), **parts: Any) -> Agent:
    """An agent over ``indexes`` (folders: a UniProt index is recognised by its sources, the others are
    literature) or, without them, over the configured indexes; ``parts`` as for ``Agent.from_settings``."""
    from bioagent.agent import Agent

    if indexes:
        literature: list[Index] = []
        proteins: Index | None = None
        for path in indexes:
            index = load_index(path, settings)
            if not is_uniprot_index(index):
                literature.append(index)
            elif proteins is None:
                proteins = index
            else:
                raise BioagentError(f"more than one UniProt index given ({proteins.path}, {path}); give one")
        parts.setdefault("literature_index", literature)
        parts.setdefault("protein_index", proteins)
    return Agent.from_settings(settings, **parts)


def is_uniprot_index(index: Index) -> bool:
    """Whether most of the index's documents came from UniProt (read from its manifest, not its corpus)."""
    uniprot = sum(s.documents for s in index.manifest.sources if s.format.startswith(UNIPROT_FORMATS))
    return uniprot * 2 > sum(s.documents for s in index.manifest.sources)


def evaluate_qa(
    dataset: str,
    settings: Settings,
    *,
    indexes: Sequence[str | Path] = (),
    retrieval: bool = True,
    limit: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    progress: Callable[[int, int, QARecord], None] | None = None,
) -> dict[str, Any]:
    """Accuracy, citation validity, support, abstention and latency of the agent on a QA benchmark
    ('pubmedqa', 'bioasq', 'mirage-pubmedqa', 'mirage-bioasq'): a fixed random sample of ``limit`` questions
    (None: all). ``retrieval=False`` asks the same chat model closed-book. One JSON line per question goes to
    ``out``; ``progress(done, total, record)`` is called after each."""
    from bioagent.agent import evaluation

    items = evaluation.load_items(dataset, settings.data_dir, limit, seed)
    answerer: Any
    if not retrieval:
        from bioagent.llm import create_chat_model, describe_model

        llm = create_chat_model(settings.llm, cache_dir=settings.cache_dir)
        answerer = evaluation.ClosedBook(llm, describe_model(settings.llm))
    elif dataset == "bioasq" and not indexes:
        answerer = open_agent(settings, literature_index=evaluation.bioasq_snippet_index(settings))
    else:
        answerer = open_agent(settings, indexes)
    done: list[QARecord] = []

    def on_record(record: QARecord) -> None:
        done.append(record)
        if progress is not None:
            progress(len(done), len(items), record)

    records = evaluation.evaluate(answerer, items, on_record)
    if out is not None:
        evaluation.write_records(records, out)
    metrics = {"dataset": dataset, "retrieval": retrieval, **evaluation.qa_metrics(records)}
    return {**metrics, "model": answerer.model_name}


INPUT_FORMATS: tuple[str, ...] = FORMATS
"""The input formats ``build_index`` and ``read_inputs`` read (``auto`` detects one)."""


def index_manifest(path: str | Path, verify: bool = False) -> Manifest:
    """An index folder's manifest; with ``verify``, every data file's size and full sha256 are checked first."""
    from bioagent.index.manifest import check_data_files, read_manifest, verify_checksums

    manifest = read_manifest(Path(path))
    if verify:
        check_data_files(Path(path), manifest)
        verify_checksums(Path(path), manifest)
    return manifest


def migrate_index(path: str | Path) -> Manifest | None:
    """Convert an index written by an older bioagent to the current format, without re-embedding; None when
    it is current already."""
    from bioagent.index.migrate import migrate_index as migrate

    return migrate(Path(path))


def check_build_engine(settings: Settings) -> None:
    """Raise the missing-extra error now when the build engine (``distributed.engine``) cannot run."""
    if settings.distributed.engine == "ray":
        from bioagent.index.ray_engine import ray_module

        ray_module()


@dataclass
class RankRun:
    """What `triage rank` did: the decisions, the files it wrote and the stop decision."""

    decisions: list[TriageDecision]
    written: list[str]
    status: ScreeningReport


def triage_rank(
    input: Path,
    criteria: Path,
    out: Path,
    settings: Settings,
    *,
    fmt: str = "auto",
    id_column: str | None = None,
    labels: Path | None = None,
    method: str = "auto",
    dense: bool = True,
    llm_limit: int | None = None,
    restart: bool = False,
    progress: bool = True,
    target_recall: float = 0.95,
    confidence: float = 0.95,
    ris: Path | None = None,
    report: Path | None = None,
    inform: Callable[[str], None] = logger.info,
) -> RankRun:
    """Rank the records of ``input`` against ``criteria`` and write the decisions to ``out`` (journalled as they
    are made, so a rerun resumes; labelled records are decided afresh). With ``labels`` (in labelling order) the
    stop decision says how far recall has got; ``ris`` and ``report`` also write RIS and PRISMA-style counts."""
    from bioagent.triage import load_criteria, load_records, screening_report, write_ris
    from bioagent.triage.output import ResumableWriter, journal_path, read_decided
    from bioagent.triage.pipeline import triage
    from bioagent.triage.report import write_report
    from bioagent.triage.session import read_label_file
    from bioagent.triage.stopping import HypergeometricStop

    HypergeometricStop(target_recall, confidence)  # a bad target or confidence fails before any work
    records = load_records(input, fmt, id_column)
    crit = load_criteria(criteria)
    known = read_label_file(labels, records) if labels else {}
    earlier = {} if restart else read_decided(out)
    done = {  # a record labelled now, or decided by its label then, is decided afresh
        rid: d
        for rid, d in earlier.items()
        if records.get(rid) is not None and rid not in known and d.model != "label"
    }
    if done:
        source = journal_path(out) if journal_path(out).exists() else out
        inform(f"resuming: {len(done):,} of {len(records):,} records already decided in {source}")
    writer = ResumableWriter(out, records, list(done.values()))
    decisions = triage(
        records, crit, labels=known, method=method, settings=settings, dense=dense, llm_limit=llm_limit,
        done=done, on_decision=writer.append, progress=progress,
    )  # fmt: skip
    writer.finish(decisions)
    written = []
    if ris:
        written.append(
            f"wrote {write_ris(ris, decisions, records)} (decisions as 'screening: ...' keywords and notes)"
        )
    status = screening_report(records, known, target_recall, confidence)
    if report:
        written.append(f"wrote {write_report(report, status)}")
    return RankRun(decisions, written, status)


def triage_simulate(
    input: Path,
    label_column: str,
    out: Path,
    settings: Settings,
    *,
    method: str = "active",
    criteria: Path | None = None,
    seed: int = 0,
    retrain_every: int = 1,
    fmt: str = "auto",
    id_column: str | None = None,
    dense: bool = True,
    target_recall: float = 0.95,
    confidence: float = 0.95,
) -> SimulationResult:
    """Replay a labelled set as ASReview does (one random include and exclude first, then ranked order), with
    every stopping rule replayed over that order; order.csv, report.json and recall.png go to ``out``."""
    from bioagent.triage import load_criteria, load_records, simulate
    from bioagent.triage.engine import SIMULATE_METHODS, Screener
    from bioagent.triage.simulate import write_outputs
    from bioagent.triage.stopping import default_rules

    rules = default_rules(target_recall, confidence)  # a bad target or confidence fails before any work
    if method not in SIMULATE_METHODS:
        raise BioagentError(f"unknown method '{method}' (choose from {', '.join(SIMULATE_METHODS)})")
    records = load_records(input, fmt, id_column)
    y = records.column_labels(label_column)
    crit = load_criteria(criteria) if criteria else None
    dense_prior = dense and crit is not None and method != "tfidf-lr"  # only the criteria prior embeds
    embedder = _index.load_embedder(settings.embedding) if dense_prior else None
    ranker = Screener(records, crit, embedder, settings.cache_dir / "triage").ranker(method, seed=seed)
    labels = [y[rid] for rid in records.ids]
    result = simulate(labels, ranker, seed=seed, retrain_every=retrain_every, rules=rules)
    prior = embedder.name if embedder is not None else ""
    write_outputs(result, records.ids, out, input=str(input), criteria=str(criteria or ""), embedder=prior)
    return result


def run_tool_shown(name: str, arguments: dict[str, Any], settings: Settings) -> list[Artifact]:
    """Run one tool (as :func:`run_tool`) for what it is shown by: its artifacts (plot data, SVG, tables)."""
    from bioagent.tools.registry import tool_result

    return tool_result(name, run_tool(name, arguments, settings)).artifacts


def tool_specs() -> list[ToolSpec]:
    """The prediction tools' specifications: name, title, description and pydantic argument schema."""
    from bioagent.tools.registry import SPECS

    return list(SPECS)


def tool_title(name: str) -> str:
    """The readable title of tool ``name`` ("ADMET predictions (ADMET-AI)")."""
    from bioagent.agent.evidence import tool_title as title

    return title(name)


def disorder_png(protein: dict[str, Any], **drawing: Any) -> bytes:
    """The disorder / predicted-pLDDT plot (PNG) of one protein of the disorder tool's result."""
    from bioagent.tools.disorder import disorder_png as draw

    return draw(protein, **drawing)


def structure_svg(smiles: str, width: int = 360, height: int = 260) -> str:
    """A 2D depiction of ``smiles`` as SVG (RDKit); ToolInputError when it is not a molecule."""
    from bioagent.tools.chem import depiction_svg

    return depiction_svg(smiles, width, height)


def answer_json(answer: Answer) -> dict[str, Any]:
    """The Answer as the JSON contract of `bioagent ask --json` and the HTTP API: ``answer``, ``citations``,
    ``evidence``, ``tool_calls``, ``timings`` and the rest of the record."""
    data = answer.model_dump(mode="json")
    data["answer"] = data.pop("text")
    return data
