"""`bioagent ask` and `bioagent eval qa` through Typer's CliRunner, and the evaluation's loaders and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from agent_corpus import corpus_documents
from typer.testing import CliRunner

from bioagent.agent import evaluation
from bioagent.cli.ask_cmd import ask_command, eval_app
from bioagent.index import build_index
from bioagent.settings import Settings
from bioagent.types import Answer, Evidence, SentenceVerdict

QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
HASH_ENV = {
    "BIOAGENT_EMBEDDING__BACKEND": "hash",
    "BIOAGENT_AGENT__MIN_RELEVANCE": "0.25",
    "BIOAGENT_AGENT__SUPPORT_COSINE": "0.3",
    "BIOAGENT_AGENT__WRITER": "model",
}


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("ask")(ask_command)
    cli.add_typer(eval_app, name="eval")
    return cli


@pytest.fixture(scope="module")
def index_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("cli")
    settings = Settings.load(embedding={"backend": "hash"}, cache_dir=root / "cache")
    for name in ("literature", "proteins"):
        build_index(corpus_documents(name), root / name, settings)
    return ["--index", str(root / "literature"), "--index", str(root / "proteins")]


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for key, value in HASH_ENV.items():
        monkeypatch.setenv(key, value)
    script = tmp_path / "script.yaml"
    script.write_text(
        "- 'Yes. Mitochondria play a role in remodelling lace plant leaves during programmed cell death [1].'\n"
    )
    monkeypatch.setenv("BIOAGENT_LLM__MODEL", str(script))
    return CliRunner()


def test_ask_json_contract(app: typer.Typer, runner: CliRunner, index_dirs: list[str]) -> None:
    result = runner.invoke(app, ["ask", QUESTION, *index_dirs, "--llm", "fake", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"].startswith("Yes. Mitochondria")
    assert data["citations"] == [
        {
            "id": "PMID:21645374",
            "url": "https://pubmed.ncbi.nlm.nih.gov/21645374/",
            "snippet": data["citations"][0]["snippet"],
        }
    ]
    assert {c["id"] for c in data["citations"]} <= {e["id"] for e in data["evidence"]}
    assert data["tool_calls"] == [] and data["timings"]["total"] > 0 and data["model"].startswith("fake")


def test_ask_text_output_lists_sources(app: typer.Typer, runner: CliRunner, index_dirs: list[str]) -> None:
    result = runner.invoke(app, ["ask", QUESTION, *index_dirs, "--llm", "fake", "--stream"])
    assert result.exit_code == 0, result.output
    assert "Sources:" in result.stdout and "[PMID:21645374]" in result.stdout
    assert "[understand" in result.stderr


def test_ask_reports_a_bad_endpoint_in_one_line(
    app: typer.Typer, runner: CliRunner, index_dirs: list[str]
) -> None:
    pytest.importorskip("langchain_openai")
    args = [
        "ask",
        QUESTION,
        *index_dirs,
        "--llm",
        "openai",
        "--model",
        "m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--json",
    ]
    result = runner.invoke(app, args, env={"BIOAGENT_LLM__MAX_RETRIES": "0", "BIOAGENT_LLM__TIMEOUT_S": "2"})
    assert result.exit_code == 1
    assert "llm.base_url" in json.loads(result.stdout)["error"]
    assert "Traceback" not in result.output


def test_eval_qa_prints_the_metrics(
    app: typer.Typer, runner: CliRunner, index_dirs: list[str], shared_data: Path
) -> None:
    args = [
        "eval",
        "qa",
        "--dataset",
        "pubmedqa",
        "--limit",
        "2",
        "--llm",
        "fake",
        *index_dirs,
        "--data-dir",
        str(shared_data),
        "--json",
    ]
    result = runner.invoke(app, args, env={"BIOAGENT_LLM__MODEL": ""})
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["questions"] == 2 and metrics["retrieval"] is True
    assert {
        "accuracy",
        "citation_validity",
        "support_rate",
        "abstention_rate",
        "latency_p50_s",
        "latency_p95_s",
    } <= set(metrics)
    closed = runner.invoke(app, [*args, "--no-retrieval"], env={"BIOAGENT_LLM__MODEL": ""})
    assert closed.exit_code == 0 and json.loads(closed.stdout)["retrieval"] is False


def test_eval_rejects_an_unknown_dataset(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["eval", "qa", "--dataset", "medqa", "--llm", "fake"])
    assert result.exit_code == 1 and "unknown dataset" in result.stderr


@pytest.mark.parametrize(
    ("dataset", "count", "options"),
    [("pubmedqa", 500, 3), ("mirage-pubmedqa", 500, 3), ("bioasq", 618, 2), ("mirage-bioasq", 618, 2)],
)
def test_datasets_load(shared_data: Path, dataset: str, count: int, options: int) -> None:
    items = evaluation.load_items(dataset, shared_data)
    assert len(items) == count
    assert all(len(i.options) == options and i.gold in i.options and i.gold_pmids for i in items)


def test_bioasq_snippets_are_grouped_per_pmid(shared_data: Path) -> None:
    documents = evaluation.bioasq_snippet_documents(shared_data)
    assert len({d.id for d in documents}) == len(documents) > 1000
    assert all(d.id.isdigit() and d.text for d in documents)


def test_scoring_counts_valid_citations_and_support() -> None:
    item = evaluation.QAItem("1", "Q?", ["yes", "no", "maybe"], "yes", ["21645374"])
    answer = Answer(
        question="Q?",
        text="Yes. It does [PMID:21645374]. Also [PMID:5].\n\nNote: no sentence was removed.",
        evidence=[Evidence(id="PMID:21645374", kind="literature")],
        verdicts=[
            SentenceVerdict(sentence="Yes.", supported=True, reason="no checkable claim"),
            SentenceVerdict(sentence="It does.", supported=True),
            SentenceVerdict(sentence="Other.", supported=False),
        ],
    )
    record = evaluation.score(item, answer, 1.5)
    assert record.predicted == "yes" and record.correct and record.gold_in_evidence
    assert (record.citations, record.valid_citations, record.claims, record.supported_claims) == (2, 1, 2, 1)
    summary = evaluation.qa_metrics([record])
    assert summary["citation_validity"] == 0.5 and summary["support_rate"] == 0.5


def test_limited_runs_take_the_same_fair_sample(shared_data: Path) -> None:
    first = evaluation.load_items("pubmedqa", shared_data, limit=30)
    assert [i.id for i in first] == [i.id for i in evaluation.load_items("pubmedqa", shared_data, limit=30)]
    assert {i.gold for i in first} >= {"yes", "no"}  # the file itself starts with 276 'yes' labels
