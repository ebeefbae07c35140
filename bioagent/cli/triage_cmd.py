"""`bioagent triage rank|simulate`: screen records against review criteria, or replay a labelled set.

Both report when screening may stop: the hypergeometric test of Callaghan & Müller-Hansen (2020) at
``--target-recall`` with ``--confidence``, beside the "N excludes in a row" and SAFE-style heuristics.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from bioagent.api import triage_rank, triage_simulate
from bioagent.cli.common import ConfigOption, exit_on_error, format_help, load_settings, setup_logging

triage_app = typer.Typer(
    help="Literature triage: rank records against screening criteria; simulate screening on labelled sets.",
    no_args_is_help=True,
)

FORMAT_HELP = format_help(
    ("pubmed-xml", "medline", "ris", "csv", "jsonl"),
    "auto detects it; PubMed's 'Save > Format: PubMed' file is medline, its 'Save > CSV' file is csv",
)
TARGET_HELP = "Recall the stopping test must establish before it says stop."
CONFIDENCE_HELP = "Confidence of the stopping test (1 - its false-stop rate)."
ID_HELP = "CSV/JSONL column with the record id (default: record_id, id, pmid..., else the row number)."


@triage_app.command("rank")
@exit_on_error
def rank(
    input: Path = typer.Option(
        ...,
        "--input",
        "-i",
        help="Records: a PubMed export (PubMed format or CSV), PubMed XML, RIS or JSONL.",
    ),
    criteria: Path = typer.Option(
        ..., "--criteria", "-c", help="Criteria YAML: topic, inclusion, exclusion."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Ranked CSV (one row per input record)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="CSV of record_id,label (include/exclude), or a TriageSession decision log."
    ),
    method: str = typer.Option("auto", "--method", "-m", help="auto | zero-shot | active | llm."),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    id_column: str | None = typer.Option(None, "--id-column", help=ID_HELP),
    dense: bool = typer.Option(
        True, "--dense/--no-dense", help="Use the embedding model (else TF-IDF only)."
    ),
    llm_limit: int | None = typer.Option(
        None, "--llm-limit", help="LLM-check only the N best-ranked records."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Ignore decisions already in --out (and its journal)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    target_recall: float = typer.Option(0.95, "--target-recall", help=TARGET_HELP),
    confidence: float = typer.Option(0.95, "--confidence", help=CONFIDENCE_HELP),
    ris: Path | None = typer.Option(
        None, "--ris", help="Also write the ranked set as RIS (decisions as KW keywords and N1 notes)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write the PRISMA-style counts and the stop decision as JSON."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Rank records, check each criterion (with the supporting sentence) and suggest include/exclude/unsure.

    Decisions are journalled in <out>.partial.jsonl as they are made; --out is replaced only once complete.
    Re-running with the same --out resumes an interrupted run; labelled records are always decided afresh.
    With --labels (in the order they were made) it also says how far recall has got and whether you may stop.
    """
    setup_logging()  # warnings such as a torn last line skipped on resume
    run = triage_rank(
        input, criteria, out, load_settings(config), fmt=format, id_column=id_column, labels=labels,
        method=method, dense=dense, llm_limit=llm_limit, restart=restart, progress=progress,
        target_recall=target_recall, confidence=confidence, ris=ris, report=report,
        inform=lambda line: typer.echo(line, err=True),
    )  # fmt: skip
    counts = Counter(d.decision for d in run.decisions)
    typer.echo(
        f"wrote {len(run.decisions):,} rows to {out}: {counts['include']:,} include, "
        f"{counts['exclude']:,} exclude, {counts['unsure']:,} unsure"
    )
    for line in run.written:
        typer.echo(line)
    typer.echo(run.status.text())


@triage_app.command("simulate")
@exit_on_error
def simulate(
    input: Path = typer.Option(
        ..., "--input", "-i", help="Labelled records (CSV or JSONL with a label column)."
    ),
    label_column: str = typer.Option(..., "--label-column", help="Column with 1/0 (include/exclude) labels."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for order.csv, report.json and recall.png."),
    method: str = typer.Option("active", "--method", "-m", help="active | zero-shot | tfidf-lr (baseline)."),
    criteria: Path | None = typer.Option(
        None, "--criteria", "-c", help="Criteria YAML (the zero-shot prior)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for the starting include/exclude and tie-breaking."),
    retrain_every: int = typer.Option(1, "--retrain-every", help="Retrain after this many new labels."),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    id_column: str | None = typer.Option(None, "--id-column", help=ID_HELP),
    dense: bool = typer.Option(
        True,
        "--dense/--no-dense",
        help="Use the embedding model in the criteria prior, as rank does (else TF-IDF).",
    ),
    target_recall: float = typer.Option(0.95, "--target-recall", help=TARGET_HELP),
    confidence: float = typer.Option(0.95, "--confidence", help=CONFIDENCE_HELP),
    config: Path | None = ConfigOption,
) -> None:
    """Replay a labelled set as ASReview does: one random include and exclude first, then ranked order.

    Also replays each stopping rule over that order (checked after every --retrain-every labels) and reports
    where it stopped, the recall there and the work saved there.
    """
    result = triage_simulate(
        input, label_column, out, load_settings(config), method=method, criteria=criteria, seed=seed,
        retrain_every=retrain_every, fmt=format, id_column=id_column, dense=dense,
        target_recall=target_recall, confidence=confidence,
    )  # fmt: skip
    typer.echo(json.dumps(result.metrics))
    m = result.metrics
    typer.echo(
        f"WSS@95 {m['wss@95']:.3f} | recall@10% {m['recall@10%']:.3f} | recall@25% {m['recall@25%']:.3f} | "
        f"screened to find all {m['includes']} includes: {m['screened_to_find_all']:,} of {m['records']:,}"
    )
    for rule, stop in result.stopping.items():
        typer.echo(
            f"stop rule {rule}: stopped after {stop['stopped_at']:,} records, recall {stop['recall']:.3f}, "
            f"work saved {stop['work_saved']:.3f}"
        )
