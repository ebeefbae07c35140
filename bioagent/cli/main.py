"""`bioagent` command: index building, search, the demo indexes, and the tool/triage sub-commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bioagent.api import INPUT_FORMATS, check_build_engine, index_manifest, load_index, migrate_index
from bioagent.cli.ask_cmd import ask_command, eval_app
from bioagent.cli.chat_cmd import chat_command
from bioagent.cli.common import (
    ConfigOption,
    exit_on_error,
    format_help,
    load_settings,
    setup_logging,
    terminal_text,
)
from bioagent.cli.mcp_cmd import mcp_command
from bioagent.cli.serve_cmd import serve_command
from bioagent.cli.tool_cmd import tool_app
from bioagent.cli.triage_cmd import triage_app
from bioagent.errors import BioagentError
from bioagent.types import SEARCH_MODES

if TYPE_CHECKING:
    from bioagent.api import Collected, ColumnMap, GrowReport, Index
    from bioagent.settings import Settings

app = typer.Typer(
    help="bioagent: retrieval-augmented biomedical question answering (PubMed + UniProt, offline).",
    no_args_is_help=True,
    add_completion=False,
)
index_app = typer.Typer(help="Build, extend and inspect index folders.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo indexes built from ../shared/data.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(demo_app, name="demo")
app.add_typer(tool_app, name="tool")
app.add_typer(triage_app, name="triage")
app.add_typer(eval_app, name="eval")
app.command("ask")(ask_command)
app.command("chat")(chat_command)
app.command("serve")(serve_command)
app.command("mcp")(mcp_command)

FORMAT_HELP = format_help(INPUT_FORMATS)


PubMedOption = typer.Option(
    None, "--pubmed", help="PubMed query: add its top --max results, fetched live (NCBI E-utilities)."
)
UniProtOption = typer.Option(
    None,
    "--uniprot",
    help="UniProt query (e.g. 'gene:TP53 AND reviewed:true'): add its top --max entries, fetched live.",
)
MaxOption = typer.Option(100, "--max", min=1, help="Most results taken from each live query.")


@index_app.command("build")
@exit_on_error
def index_build(
    input: list[Path] | None = typer.Option(
        None, "--input", "-i", help="Input file or folder (repeat for several)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Index folder to write (replaced only when complete)."),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    pubmed: str | None = PubMedOption,
    uniprot: str | None = UniProtOption,
    max_records: int = MaxOption,
    kind: str | None = typer.Option(
        None, "--kind", help="FAISS index: flat (default), hnsw, ivfflat or ivfpq."
    ),
    id_column: str | None = typer.Option(None, help="CSV/JSONL column holding the record id."),
    title_column: str | None = typer.Option(None, help="CSV/JSONL column holding the title."),
    text_column: str | None = typer.Option(None, help="CSV/JSONL column holding the text."),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="local (this process, default) or ray (Ray Data actors; the 'distributed' extra).",
    ),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster: auto | ray://host:port | host:port (default: a local instance)."
    ),
    num_workers: int | None = typer.Option(None, "--num-workers", help="Ray embedding actors (default 2)."),
    device: str | None = typer.Option(
        None, "--device", help="Embedding device: cpu, cuda (one GPU per actor)."
    ),
    config: Path | None = ConfigOption,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each skipped record."),
) -> None:
    """Read documents (files and/or live PubMed/UniProt query results), embed them and write a FAISS + BM25
    index with a manifest (locally or on Ray)."""
    setup_logging(verbose)
    _require_source(input, pubmed, uniprot)
    distributed = {"engine": engine, "address": address, "num_workers": num_workers}
    settings = load_settings(
        config,
        index={"kind": kind} if kind else None,
        embedding={"device": device} if device else None,
        distributed={key: value for key, value in distributed.items() if value is not None} or None,
    )
    check_build_engine(settings)  # a missing extra is reported before the input is read
    columns = _column_map(id_column, title_column, text_column)
    sources = _Sources(input, format, columns, pubmed, uniprot, max_records)
    index, report = _grow(out, settings, sources, rebuild=True)
    typer.echo(f"indexed {len(index):,} documents ({len(index.chunks):,} chunks) into {out}")
    _exit_if_stopped(report)


@index_app.command("add")
@exit_on_error
def index_add(
    index_dir: Path = typer.Option(..., "--index", help="Existing index folder (`index build` makes one)."),
    input: list[Path] | None = typer.Option(
        None, "--input", "-i", help="Input file or folder (repeat for several)."
    ),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    pubmed: str | None = PubMedOption,
    uniprot: str | None = UniProtOption,
    max_records: int = MaxOption,
    config: Path | None = ConfigOption,
) -> None:
    """Add documents from files and/or live PubMed/UniProt queries to an index (ids already present are skipped;
    an interrupted live run resumes where it stopped)."""
    setup_logging()
    _require_source(input, pubmed, uniprot)
    if not (index_dir / "manifest.json").is_file():
        raise BioagentError(
            f"no index at {index_dir}; make one with `bioagent index build --out {index_dir} ...`"
        )
    settings = load_settings(config)
    sources = _Sources(input, format, None, pubmed, uniprot, max_records)
    index, report = _grow(index_dir, settings, sources, rebuild=False)
    typer.echo(
        f"added {report.added:,} documents ({len(report.skipped_duplicates):,} already present); "
        f"index now holds {len(index):,}"
    )
    _exit_if_stopped(report)


@index_app.command("info")
@exit_on_error
def index_info(
    index_dir: Path = typer.Argument(..., help="Index folder."),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Also check every data file's sha256 in full (loading checks big files by size).",
    ),
) -> None:
    """Print an index's manifest."""
    typer.echo(json.dumps(index_manifest(index_dir, verify).model_dump(), indent=2))


@index_app.command("migrate")
@exit_on_error
def index_migrate(
    index_dir: Path = typer.Argument(..., help="Index folder written by an older bioagent."),
) -> None:
    """Convert an index of an older format (documents read into memory) to the on-disk one, without
    re-embedding (the FAISS and BM25 files are kept)."""
    setup_logging()
    migrated = migrate_index(index_dir)
    if migrated is None:
        typer.echo(f"{index_dir} is already in the current format; nothing to do")
    else:
        typer.echo(
            f"migrated {index_dir}: {migrated.documents:,} documents, now format {migrated.format_version}"
        )


@app.command("search")
@exit_on_error
def search(
    index_dir: Path = typer.Option(..., "--index", help="Index folder."),
    query: str | None = typer.Option(None, "--query", "-q", help="One query."),
    queries: Path | None = typer.Option(None, "--queries", help='JSONL of {"_id": ..., "text": ...} (BEIR).'),
    k: int = typer.Option(10, "-k", help="Hits per query."),
    mode: str = typer.Option("hybrid", "--mode", help=" | ".join(SEARCH_MODES)),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    nprobe: int | None = typer.Option(None, help="IVF lists searched (index.nprobe)."),
    ef_search: int | None = typer.Option(None, help="HNSW search breadth (index.hnsw_ef_search)."),
    rerank: int | None = typer.Option(None, help="IVF-PQ re-scoring factor (index.rerank; 0 = off)."),
    mmap: bool | None = typer.Option(
        None, "--mmap/--no-mmap", help="Memory-map the FAISS files (index.mmap)."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Search an index with one query, or a batch of BEIR queries (JSON lines out)."""
    if (query is None) == (queries is None):
        raise BioagentError("give exactly one of --query TEXT or --queries FILE.jsonl")
    if mode not in SEARCH_MODES:
        raise BioagentError(f"--mode must be one of {', '.join(SEARCH_MODES)}, not '{mode}'")
    breadth = {"nprobe": nprobe, "hnsw_ef_search": ef_search, "rerank": rerank, "mmap": mmap}
    settings = load_settings(config, index={k: v for k, v in breadth.items() if v is not None} or None)
    index = load_index(index_dir, settings)
    if queries is not None:
        _batch_search(index, queries, k, mode)
        return
    hits = index.search(query or "", k=k, mode=mode)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps({"query": query, "hits": [h.model_dump() for h in hits]}))
    else:
        _print_hits(hits)


@demo_app.command("build")
@exit_on_error
def demo_build(
    full: bool = typer.Option(False, "--full", help="Also index the 15k Cohen 2006 abstracts (data folder)."),
    data_dir: Path | None = typer.Option(
        None, help="Data folder whose SciFact and Repurposing Hub join the demo (default ../shared/data)."
    ),
    sample: int | None = typer.Option(
        None, "--sample", min=1, help="Index only the first N records of each source (a one-minute trial)."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Build the literature and UniProt demo indexes into indexes/ from the bundled corpus (PubMedQA abstracts,
    reviewed UniProt entries) plus SciFact when the data folder has it; reused when current."""
    from bioagent.demo import build_demo_indexes

    setup_logging()
    settings = load_settings(config, data_dir=data_dir)
    built = build_demo_indexes(settings, full=full, sample=sample)
    for name, index in built.items():
        typer.echo(f"{name}: {len(index):,} documents at {index.path}")


def _batch_search(index: Index, queries_file: Path, k: int, mode: str) -> None:
    ids, texts = _read_queries(queries_file)
    batch = 256
    for start in range(0, len(texts), batch):
        results = index.search_many(texts[start : start + batch], k=k, mode=mode)  # type: ignore[arg-type]
        for query_id, hits in zip(ids[start : start + batch], results):
            line = {"query_id": query_id, "hits": [{"id": h.id, "score": round(h.score, 6)} for h in hits]}
            sys.stdout.write(json.dumps(line) + "\n")


def _read_queries(path: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BioagentError(f"cannot read queries file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            ids.append(str(record["_id"]))
            texts.append(str(record["text"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BioagentError(
                f'{path}, line {number}: expected {{"_id": ..., "text": ...}} ({exc})'
            ) from exc
    if not texts:
        raise BioagentError(f"{path} holds no queries")
    return ids, texts


def _column_map(id_column: str | None, title_column: str | None, text_column: str | None) -> ColumnMap | None:
    from bioagent.api import ColumnMap

    if not (id_column or title_column or text_column):
        return None
    return ColumnMap(id=id_column or None, title=title_column or None, text=text_column or None)


def _report_skipped(errors: list) -> None:
    if errors:
        typer.echo(f"skipped {len(errors)} bad records; first: {errors[0]}", err=True)


def _require_source(inputs: list[Path] | None, pubmed: str | None, uniprot: str | None) -> None:
    if not (inputs or pubmed or uniprot):
        raise BioagentError("give at least one source: --input FILE, --pubmed QUERY or --uniprot QUERY")


def _read_files(inputs: list[Path] | None, format: str, columns: ColumnMap | None) -> Collected:
    """The documents of the input files (none without inputs), bad records reported on stderr."""
    from bioagent.api import Collected, read_inputs

    if not inputs:
        return Collected()
    collected = read_inputs([(path, format, columns) for path in inputs], progress=True)
    _report_skipped(collected.errors)
    return collected


class _Sources(NamedTuple):
    """What an `index build` or `index add` reads: files, and live PubMed/UniProt queries."""

    inputs: list[Path] | None
    format: str
    columns: ColumnMap | None
    pubmed: str | None
    uniprot: str | None
    max_records: int


def _grow(path: Path, settings: Settings, sources: _Sources, *, rebuild: bool) -> tuple[Index, GrowReport]:
    """Read the files, fetch the live queries and write them into the index at ``path``; one line per live
    source is printed."""
    from bioagent.api import grow_index

    collected = _read_files(sources.inputs, sources.format, sources.columns)
    index, report = grow_index(
        path,
        settings,
        pubmed=sources.pubmed or None,
        uniprot=sources.uniprot or None,
        max_records=sources.max_records,
        documents=collected.documents,
        sources=collected.sources,
        rebuild=rebuild,
        progress=True,
    )
    for source in report.sources:
        typer.echo(source.summary())
    return index, report


def _exit_if_stopped(report: GrowReport) -> None:
    """Exit 1 when a live source stopped before fetching everything (its summary said why)."""
    if any(source.error for source in report.sources):
        raise typer.Exit(1)


def _print_hits(hits: list) -> None:
    """A table of hits; ids, sources and titles are shown as plain text (no Rich markup, no control codes)."""
    table = Table("rank", "id", "score", "source", "title")
    for hit in hits:
        table.add_row(
            str(hit.rank), _plain(hit.id), f"{hit.score:.3f}", _plain(hit.source), _plain(hit.title[:90])
        )
    Console().print(table)


def _plain(text: str) -> Text:
    """``text`` as a Rich Text: printed as is, without markup or control codes."""
    return Text(terminal_text(text))


def main() -> None:
    """Console-script entry point."""
    app()
