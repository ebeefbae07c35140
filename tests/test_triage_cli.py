"""`bioagent triage rank|simulate` through Typer's test runner: outputs, resuming, bad input, stop reports."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bioagent.cli.triage_cmd import triage_app

FIXTURES = Path(__file__).parent / "fixtures" / "triage"
runner = CliRunner()


@pytest.fixture(autouse=True)
def hash_embedder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BIOAGENT_EMBEDDING__BACKEND", "hash")
    monkeypatch.setenv("BIOAGENT_CACHE_DIR", str(tmp_path / "cache"))


def _rank(out: Path, *extra: str):
    args = [
        "rank",
        "-i",
        str(FIXTURES / "records.csv"),
        "-c",
        str(FIXTURES / "criteria.yaml"),
        "-o",
        str(out),
    ]
    return runner.invoke(triage_app, [*args, "--no-progress", *extra])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_rank_writes_one_row_per_input_record(tmp_path: Path) -> None:
    result = _rank(tmp_path / "ranked.csv", "--labels", str(FIXTURES / "labels.csv"))
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "ranked.csv")
    assert len(rows) == 12 and sorted(r["record_id"] for r in rows) == sorted(str(i) for i in range(1, 13))
    assert [int(r["rank"]) for r in rows] == list(range(1, 13))
    assert {r["decision"] for r in rows} <= {"include", "exclude", "unsure"}
    dup = next(r for r in rows if r["record_id"] == "7")
    assert dup["duplicate_of"] == "1" and "screened once" in dup["note"]
    assert next(r for r in rows if r["record_id"] == "9")["note"] == "no title or abstract"
    top = next(r for r in rows if r["record_id"] == "3")
    assert top["model"].startswith("active") and top["evidence"] and json.loads(top["checks"])
    assert "2 duplicates" in result.output and "12 rows" in result.output


def test_rank_resumes_and_keeps_decided_rows(tmp_path: Path) -> None:
    out = tmp_path / "ranked.csv"
    assert _rank(out).exit_code == 0
    rows = _rows(out)
    # Simulate an interrupted run: keep the header and 4 rows, and mark one as decided by hand.
    kept = rows[:4]
    assert not kept[0]["duplicate_of"]
    kept[0]["decision"], kept[0]["model"] = "unsure", "reviewer"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    result = _rank(out)
    assert result.exit_code == 0, result.output
    screened = [r for r in kept if not r["duplicate_of"]]  # duplicates are re-derived from their original
    assert f"resuming: {len(screened)} of 12 records already decided" in result.output
    again = {r["record_id"]: r for r in _rows(out)}
    assert len(again) == 12
    assert (
        again[kept[0]["record_id"]]["decision"] == "unsure"
        and again[kept[0]["record_id"]]["model"] == "reviewer"
    )
    restarted = {r["record_id"]: r for r in _rows(out)} if _rank(out, "--restart").exit_code == 0 else {}
    assert restarted[kept[0]["record_id"]]["model"] != "reviewer"


def test_rerun_with_new_labels_decides_the_labelled_records_again(tmp_path: Path) -> None:
    out = tmp_path / "ranked.csv"
    assert _rank(out).exit_code == 0
    assert next(r for r in _rows(out) if r["record_id"] == "5")["model"] != "label"
    result = _rank(out, "--labels", str(FIXTURES / "labels.csv"))  # resumes, but the labels are new
    assert result.exit_code == 0, result.output
    rows = {r["record_id"]: r for r in _rows(out)}
    assert (rows["1"]["decision"], rows["1"]["model"]) == ("include", "label")
    assert (rows["5"]["decision"], rows["5"]["model"]) == ("exclude", "label")
    assert not (tmp_path / "ranked.csv.partial.jsonl").exists()


def test_rank_reads_other_formats(tmp_path: Path) -> None:
    for name, count in (("records.ris", 2), ("records.nbib", 3), ("records.xml", 3), ("records.jsonl", 3)):
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(
            triage_app,
            ["rank", "-i", str(FIXTURES / name), "-c", str(FIXTURES / "criteria.yaml"), "-o", str(out), "--no-dense",
             "--no-progress"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert len(_rows(out)) == count


def test_bad_criteria_and_labels_are_one_line_errors(tmp_path: Path) -> None:
    bad = runner.invoke(
        triage_app,
        ["rank", "-i", str(FIXTURES / "records.csv"), "-c", str(FIXTURES / "bad_criteria.yaml"), "-o",
         str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert bad.exit_code == 1 and "unknown key 'inclusions'" in bad.output
    labels = _rank(tmp_path / "y.csv", "--labels", str(FIXTURES / "bad_labels.csv"))
    assert labels.exit_code == 1 and "2 of 3 label ids do not match any input record" in labels.output
    missing = _rank(tmp_path / "z.csv", "--method", "nope")
    assert missing.exit_code == 1 and "unknown method" in missing.output


def test_simulate_writes_order_report_and_curve(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = [
        "simulate",
        "-i",
        str(FIXTURES / "records.csv"),
        "--label-column",
        "label_included",
        "--out",
        str(out),
    ]
    result = runner.invoke(triage_app, [*args, "--seed", "2", "-c", str(FIXTURES / "criteria.yaml")])
    assert result.exit_code == 0, result.output
    assert (
        "WSS@95" in result.output
        and "recall@10%" in result.output
        and "screened to find all 6" in result.output
    )
    order = [r["record_id"] for r in _rows(out / "order.csv")]
    assert sorted(order) == sorted(str(i) for i in range(1, 13))
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 2 and report["method"] == "active" and report["embedder"].startswith("hash")
    assert (out / "recall.png").exists()
    lexical = runner.invoke(triage_app, [*args, "--no-dense", "-c", str(FIXTURES / "criteria.yaml")])
    assert lexical.exit_code == 0, lexical.output
    assert json.loads((out / "report.json").read_text())["embedder"] == ""
    baseline = runner.invoke(triage_app, [*args, "--method", "tfidf-lr"])
    assert baseline.exit_code == 0, baseline.output
    zero = runner.invoke(triage_app, [*args, "--method", "zero-shot"])
    assert zero.exit_code == 1 and "needs criteria" in zero.output
    unlabeled = runner.invoke(triage_app, [*args[:3], "--label-column", "year", "--out", str(out)])
    assert unlabeled.exit_code == 1 and "0/1 label in column 'year'" in unlabeled.output


def test_rank_reports_recall_and_the_stop_decision_and_writes_ris_and_prisma(tmp_path: Path) -> None:
    labels = FIXTURES / "labels.csv"
    result = _rank(tmp_path / "ranked.csv", "--labels", str(labels), "--ris", str(tmp_path / "out.ris"), "--report",
                   str(tmp_path / "prisma.json"), "--target-recall", "0.9", "--confidence", "0.8")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stop at 90% recall (80% confidence): not yet" in result.output
    assert re.search(r"recall so far: estimate \d+%, at least \d+% with 80% confidence", result.output)
    prisma = json.loads((tmp_path / "prisma.json").read_text(encoding="utf-8"))
    n_labels = len((labels).read_text(encoding="utf-8").strip().splitlines()) - 1
    assert prisma["screened"] == n_labels and prisma["identified"] == 12 and prisma["may_stop"] is False
    assert prisma["included"] + prisma["excluded"] == prisma["screened"]
    ris = (tmp_path / "out.ris").read_text(encoding="utf-8")
    assert ris.count("ER  -") == 12 and "KW  - screening: included" in ris and "N1  - bioagent triage" in ris


def test_rank_with_every_record_labelled_may_stop(tmp_path: Path) -> None:
    labels = tmp_path / "all.csv"
    rows = (FIXTURES / "records.csv").read_text(encoding="utf-8").splitlines()[1:]
    labels.write_text("record_id,label\n" + "\n".join(f"{r.split(',')[0]},{r[-1]}" for r in rows) + "\n")
    result = _rank(tmp_path / "ranked.csv", "--labels", str(labels))
    assert result.exit_code == 0, result.output
    assert "YES, you may stop" in result.output and "0 not yet screened" in result.output


@pytest.mark.parametrize("flag, value", [("--target-recall", "95"), ("--confidence", "1")])
def test_bad_target_or_confidence_is_a_one_line_error(tmp_path: Path, flag: str, value: str) -> None:
    result = _rank(tmp_path / "ranked.csv", flag, value)
    assert result.exit_code == 1 and "must lie between 0 and 1" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "ranked.csv").exists()


def test_simulate_reports_each_stopping_rule(tmp_path: Path) -> None:
    args = ["simulate", "-i", str(FIXTURES / "records.csv"), "--label-column", "label_included"]
    result = runner.invoke(triage_app, [*args, "--out", str(tmp_path / "sim"), "--target-recall", "0.8"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("stop rule ")]
    assert [line.split(":")[0] for line in lines] == [
        "stop rule hypergeometric", "stop rule consecutive-excludes", "stop rule safe"
    ]  # fmt: skip
    report = json.loads((tmp_path / "sim" / "report.json").read_text(encoding="utf-8"))
    for outcome in report["stopping"].values():
        assert 2 <= outcome["stopped_at"] <= 12 and 0 <= outcome["recall"] <= 1
        assert outcome["work_saved"] == pytest.approx(1 - outcome["stopped_at"] / 12, abs=1e-4)
