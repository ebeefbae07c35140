"""`bioagent ask` and `bioagent eval qa` (registered by bioagent.cli.main).

bioagent ask "What does TP53 do?" [--index DIR ...] [--llm embedded|openai|ollama|transformers|fake] [--json]
bioagent eval qa --dataset pubmedqa|bioasq|mirage-pubmedqa|mirage-bioasq [--limit N] [--no-retrieval]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from bioagent.api import answer_json, evaluate_qa, open_agent
from bioagent.cli.common import (
    ConfigOption,
    LiveOption,
    PresetOption,
    exit_on_error,
    load_settings,
    require_an_index,
    setup_logging,
    terminal_text,
)
from bioagent.settings import Settings
from bioagent.types import Answer

INDEX_HELP = (
    "Index folder (repeat for several). UniProt indexes are recognised by their entries; the others are "
    "searched as literature. Default: the configured/demo indexes (indexes/literature, indexes/proteins)."
)
LLM_HELP = "Chat backend: embedded (default, offline SmolLM2-135M) | openai | ollama | transformers | fake."

IndexOption = typer.Option(None, "--index", help=INDEX_HELP)
LLMOption = typer.Option(None, "--llm", help=LLM_HELP)
ModelOption = typer.Option(None, "--model", help="Model name (openai/ollama) or local path.")
BaseUrlOption = typer.Option(None, "--base-url", help="Endpoint URL for openai/ollama.")

eval_app = typer.Typer(help="Evaluate the agent on question-answering benchmarks.", no_args_is_help=True)


def _settings(
    config: Path | None,
    preset: str | None,
    llm: str | None,
    model: str | None,
    base_url: str | None,
    planner: str | None,
    live: bool = False,
) -> Settings:
    overrides = {"backend": llm, "model": model, "base_url": base_url, "planner": planner}
    return load_settings(
        config,
        preset,
        llm={k: v for k, v in overrides.items() if v is not None} or None,
        agent={"live": "auto"} if live else None,
    )


@exit_on_error
def ask_command(
    question: str = typer.Argument(..., help="The question (quote it)."),
    index: list[Path] | None = IndexOption,
    llm: str | None = LLMOption,
    model: str | None = ModelOption,
    base_url: str | None = BaseUrlOption,
    planner: str | None = typer.Option(None, "--planner", help="auto | rules | tools"),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer as one JSON object."),
    stream: bool = typer.Option(False, "--stream", help="Show steps and the model's draft tokens on stderr."),
    live: bool = LiveOption,
    config: Path | None = ConfigOption,
    preset: str | None = PresetOption,
) -> None:
    """Answer a question from the indexes and tools, with verified citations."""
    setup_logging()
    settings = _settings(config, preset, llm, model, base_url, planner, live)
    if not index:
        require_an_index(settings)
    agent = open_agent(settings, index or ())
    answer = None
    for event in agent.stream(question):
        if event.type == "answer":
            answer = event.answer
        elif stream and event.type == "token":
            sys.stderr.write(terminal_text(event.text))
            sys.stderr.flush()
        elif stream and event.type == "step":
            sys.stderr.write(
                f"\n[{event.step} {event.seconds or 0:.2f}s] {json.dumps(event.data, default=str)}\n"
            )
    assert answer is not None
    if as_json:
        typer.echo(json.dumps(answer_json(answer), default=str))
    else:
        _print_answer(answer)


def _print_answer(answer: Answer) -> None:
    typer.echo(terminal_text(answer.text))
    if answer.citations:
        typer.echo("\nSources:")
        for citation in answer.citations:
            item = next((e for e in answer.evidence if e.id == citation.id), None)
            title = f" {item.title[:90]}" if item and item.title else ""
            url = f"  {citation.url}" if citation.url else ""
            typer.echo(terminal_text(f"  [{citation.id}]{title}{url}"))
    for call in answer.tool_calls:
        status = (
            "ok" if call.result and call.result.ok else f"failed: {call.result.error if call.result else '?'}"
        )
        typer.echo(terminal_text(f"  tool {call.name} ({call.seconds:.2f}s): {status}"))
    steps = ", ".join(f"{k} {v:.2f}s" for k, v in answer.timings.items())
    typer.echo(terminal_text(f"\n[{answer.model}; planner {answer.planner}; {steps}]"), err=True)


@eval_app.command("qa")
@exit_on_error
def eval_qa(
    dataset: str = typer.Option(..., "--dataset", help="pubmedqa | bioasq | mirage-pubmedqa | mirage-bioasq"),
    limit: int | None = typer.Option(50, "--limit", help="A fixed random sample of N questions (0 = all)."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of that sample (the same seed gives the same questions)."
    ),
    no_retrieval: bool = typer.Option(False, "--no-retrieval", help="The same model closed-book (no RAG)."),
    index: list[Path] | None = IndexOption,
    llm: str | None = LLMOption,
    model: str | None = ModelOption,
    base_url: str | None = BaseUrlOption,
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Shared data folder (default ../shared/data)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write one JSON line per question here."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    config: Path | None = ConfigOption,
    preset: str | None = PresetOption,
) -> None:
    """Accuracy, citation validity, support, abstention and latency on a QA benchmark."""
    setup_logging()
    settings = _settings(config, preset, llm, model, base_url, None)
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir.resolve()})

    def progress(done: int, total: int, record: Any) -> None:
        mark = "ok " if record.correct else ("abs" if record.abstained else "x  ")
        typer.echo(
            f"[{done}/{total}] {mark} gold={record.gold} got={record.predicted} {record.seconds:.1f}s",
            err=True,
        )

    metrics = evaluate_qa(
        dataset,
        settings,
        indexes=index or (),
        retrieval=not no_retrieval,
        limit=limit or None,
        seed=seed,
        out=out,
        progress=progress,
    )
    typer.echo(json.dumps(metrics, indent=2) if as_json else _metrics_table(metrics))


def _metrics_table(metrics: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        if value is None:
            return "n/a"
        return (
            f"{value:.1%}"
            if isinstance(value, float) and value <= 1 and not isinstance(value, bool)
            else str(value)
        )

    rows = [
        ("dataset", metrics["dataset"]),
        ("model", metrics["model"]),
        ("retrieval", metrics["retrieval"]),
        ("questions", metrics["questions"]),
        ("accuracy", show(metrics.get("accuracy"))),
        ("citation validity", show(metrics.get("citation_validity"))),
        ("support rate", show(metrics.get("support_rate"))),
        ("abstention rate", show(metrics.get("abstention_rate"))),
        ("extractive fallback", show(metrics.get("extractive_rate"))),
        ("gold evidence recall", show(metrics.get("gold_evidence_recall"))),
        ("latency p50", f"{metrics.get('latency_p50_s', 0):.2f} s"),
        ("latency p95", f"{metrics.get('latency_p95_s', 0):.2f} s"),
    ]
    return "\n".join(f"{name:<22}{value}" for name, value in rows)
