"""Fault injection for triage: kill -9 while labelling and while ranking, torn lines, files of older versions.

Every test counts what it injected, asserts on the count and prints it (``pytest -s`` shows the lines that start
with "faults:"). The killed processes are real processes: one that labels through TriageSession, and the
`bioagent triage rank` command with the hash embedder.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
import zlib
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest
from tqdm.auto import tqdm
from typer.testing import CliRunner

from bioagent.cli.triage_cmd import triage_app
from bioagent.errors import BioagentError
from bioagent.index.embedders import HashEmbedder
from bioagent.triage import TriageSession, load_records
from bioagent.triage.durable import AppendLog
from bioagent.triage.features import build_features
from bioagent.triage.output import ResumableWriter, journal_path, read_decided
from bioagent.triage.session import labels_in_log

pytestmark = pytest.mark.faults

FIXTURES = Path(__file__).parent / "fixtures" / "triage"
CRITERIA = FIXTURES / "criteria.yaml"
SEED = 20240612
WORDS = [
    "carvedilol",
    "metoprolol",
    "bisoprolol",
    "placebo",
    "mortality",
    "heart",
    "failure",
    "trial",
    "mice",
]
LABEL_KILLS = 10
RANK_KILLS = 3
TORN = "skipped a torn last line"


def _records_csv(path: Path, count: int, seed: int = SEED) -> Path:
    """``count`` short random abstracts with ids r1..rN."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "title", "abstract"])
        for n in range(1, count + 1):
            writer.writerow([f"r{n}", " ".join(rng.choices(WORDS, k=6)), " ".join(rng.choices(WORDS, k=40))])
    return path


def _old_labels_csv(path: Path, labels: dict[str, str]) -> Path:
    """A labels file exactly as save_labels wrote it before the decision log (csv module, CRLF rows)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "label"])
        writer.writerows(labels.items())
    return path


def _tear_last_line(path: Path) -> None:
    """Cut the file in the middle of its last line, as a write interrupted by a crash would."""
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last + (len(data) - last) // 2])


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["record_id"]: row for row in csv.DictReader(fh)}


def _complete_lines(path: Path) -> list[dict[str, object]]:
    data = path.read_bytes() if path.exists() else b""
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines() if line.strip()]


# --- kill -9 ------------------------------------------------------------------------------------------------
# The killed processes are forked from a forkserver that has imported bioagent and scikit-learn once: each is a
# process of its own (its own file handles, killed with SIGKILL) that starts in a fraction of a second.


@pytest.fixture(scope="module")
def processes() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["bioagent.cli.main", "sklearn.linear_model", __name__])
    return context


def _screen(records: str, log: str, conn: Connection) -> None:
    """Child: resume a session from ``log`` and screen as a reviewer does (next record, label it, re-rank every
    10 labels), confirming each label once :meth:`TriageSession.label` has returned."""
    session = TriageSession(records, CRITERIA, decision_log=log, retrain_every=10)
    conn.send(("ready", len(session.labels)))
    while batch := session.next(1):
        label = "include" if zlib.crc32(batch[0].id.encode()) % 3 == 0 else "exclude"
        session.label(batch[0].id, label)
        conn.send(("ack", batch[0].id, label))
    conn.send(("done",))


def _confirmations(conn: Connection, acked: dict[str, str], limit: int | None = None) -> None:
    """Read "ack" messages into ``acked`` (``limit`` of them, else all until the pipe closes)."""
    while limit is None or limit > 0:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the child is gone (a message cut by the kill is not counted)
            return
        if message[0] != "ack":
            return
        acked[message[1]] = message[2]
        limit = None if limit is None else limit - 1


def test_kill_9_while_labelling_loses_no_confirmed_label(tmp_path: Path, processes) -> None:
    records = str(_records_csv(tmp_path / "records.csv", 800))
    log = tmp_path / "decisions.jsonl"
    rng = random.Random(SEED)
    acked: dict[str, str] = {}
    kills = 0
    for _ in range(LABEL_KILLS):
        reader, writer = processes.Pipe(duplex=False)
        child = processes.Process(target=_screen, args=(records, str(log), writer))
        child.start()
        writer.close()
        ready = reader.recv()
        assert ready[0] == "ready" and ready[1] >= len(acked)  # resumed with every confirmed label
        _confirmations(reader, acked, rng.randint(0, 40))
        time.sleep(
            rng.uniform(0, 0.01)
        )  # the child keeps screening: the kill lands anywhere in next() or label()
        child.kill()
        child.join()
        _confirmations(reader, acked)
        assert child.exitcode == -signal.SIGKILL
        kills += 1
        on_disk = labels_in_log(AppendLog(log))
        lost = {rid for rid, label in acked.items() if on_disk.get(rid) != (1 if label == "include" else 0)}
        assert not lost, f"labels confirmed before kill {kills} are missing from the log: {sorted(lost)[:5]}"
    assert kills == LABEL_KILLS and len(acked) > LABEL_KILLS
    print(f"faults: {kills} kill -9 while labelling; {len(acked)} confirmed labels verified on disk")


def _run_cli(args: list[str], env: dict[str, str], output: str) -> None:
    """Child: `bioagent triage rank ...` as the console script runs it, stdout and stderr going to ``output``."""
    os.environ.update(env)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    tqdm.set_lock(threading.RLock())  # tqdm's default lock is a semaphore that a killed process would leak
    sys.argv = ["bioagent", "triage", "rank", *args, "-c", str(CRITERIA), "--no-progress"]
    from bioagent.cli.main import main

    main()


def _rank(processes, tmp_path: Path, *args: str) -> multiprocessing.process.BaseProcess:
    env = {"BIOAGENT_EMBEDDING__BACKEND": "hash", "BIOAGENT_CACHE_DIR": str(tmp_path / "cache")}
    child = processes.Process(target=_run_cli, args=(list(args), env, str(tmp_path / "output.txt")))
    child.start()
    return child


def _kill_when_journalled(
    child: multiprocessing.process.BaseProcess, journal: Path, lines: int
) -> list[dict]:
    """Kill -9 once the journal holds ``lines`` decisions; returns the decisions it holds after the kill."""
    deadline = time.monotonic() + 60
    while child.is_alive() and len(_complete_lines(journal)) < lines and time.monotonic() < deadline:
        time.sleep(0.005)
    output = journal.with_name("output.txt")
    assert child.is_alive(), f"the run ended before the kill:\n{output.read_text(encoding='utf-8')}"
    child.kill()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    return _complete_lines(journal)


def test_kill_9_during_rank_with_labels_resumes_without_restart(tmp_path: Path, processes) -> None:
    count = 1200
    records = str(_records_csv(tmp_path / "records.csv", count))
    labels = {f"r{n}": "include" if n % 4 == 0 else "exclude" for n in range(1, 41)}
    labels_file = str(_old_labels_csv(tmp_path / "labels.csv", labels))
    out, journal = tmp_path / "ranked.csv", journal_path(tmp_path / "ranked.csv")
    args = ("-i", records, "-o", str(out), "--labels", labels_file)
    rng = random.Random(SEED)
    decided: dict[str, tuple[object, object]] = {}
    kills = 0
    for _ in range(RANK_KILLS):
        start = len(_complete_lines(journal))
        snapshot = _kill_when_journalled(
            _rank(processes, tmp_path, *args), journal, start + rng.randint(1, 150)
        )
        kills += 1
        decided.update({str(d["record_id"]): (d["decision"], d["model"]) for d in snapshot})
        assert not out.exists()  # nothing half-written where the output goes
    with journal.open("ab") as fh:  # and the kill cut the last decision in half
        fh.write(b'{"record_id": "r1", "rank": 0, "score": 0.0, "decision": "incl')
    final = _rank(processes, tmp_path, *args)
    final.join()
    output = (tmp_path / "output.txt").read_text(encoding="utf-8")
    assert final.exitcode == 0, output
    resumed = len(decided.keys() - labels.keys())
    assert "WARNING: " in output and TORN in output and f"resuming: {resumed:,} of {count:,}" in output
    rows = _rows(out)
    assert len(rows) == count and not journal.exists()
    changed = [rid for rid, kept in decided.items() if kept != (rows[rid]["decision"], rows[rid]["model"])]
    assert not changed, f"decisions made before a kill were redone differently: {changed[:5]}"
    assert all(
        rows[rid]["decision"] == label and rows[rid]["model"] == "label" for rid, label in labels.items()
    )

    before = out.read_bytes()  # a restarted run killed half-way leaves the previous output untouched
    _kill_when_journalled(_rank(processes, tmp_path, *args, "--restart"), journal, rng.randint(1, 300))
    kills += 1
    assert out.read_bytes() == before
    assert kills == RANK_KILLS + 1
    print(
        f"faults: {kills} kill -9 during `triage rank --labels` (1 with --restart); {len(decided)} decisions "
        f"made before a kill and {len(labels)} labels verified after resuming; 1 torn journal line skipped"
    )


# --- torn lines ---------------------------------------------------------------------------------------------


def test_torn_last_label_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "decisions.jsonl"
    session = TriageSession(FIXTURES / "records.csv", CRITERIA, decision_log=log)
    for rid, label in (("1", "include"), ("5", "exclude"), ("3", "include")):
        session.label(rid, label)
    _tear_last_line(log)
    resumed = TriageSession(FIXTURES / "records.csv", CRITERIA, decision_log=log)
    assert TORN in caplog.text
    assert {rid: resumed.labels[rid] for rid in ("1", "5")} == {"1": 1, "5": 0} and "3" not in resumed.labels
    resumed.label("4", "exclude")  # the next label starts on a line of its own
    caplog.clear()
    again = TriageSession(FIXTURES / "records.csv", CRITERIA, decision_log=log)
    assert TORN not in caplog.text and {"1", "5", "4"} <= set(again.labels)
    assert all(line.startswith(b"{") for line in log.read_bytes().splitlines())
    _tear_last_line(log)  # the same log given to `triage rank --labels`
    _rank_with_labels(log, tmp_path / "out.csv")
    assert TORN in caplog.text and _rows(tmp_path / "out.csv")["5"]["model"] == "label"
    print(
        "faults: 2 torn decision-log lines skipped (session, `triage rank --labels`), 1 label appended after"
    )


def test_torn_last_row_of_an_older_output_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Older versions appended rows to the output itself; a crash cut the last one (once a JSONDecodeError)."""
    out = tmp_path / "ranked.csv"
    args = ["rank", "-i", str(FIXTURES / "records.csv"), "-c", str(CRITERIA), "-o", str(out), "--no-dense",
            "--no-progress"]  # fmt: skip
    assert CliRunner().invoke(triage_app, args).exit_code == 0
    data = out.read_bytes()
    out.write_bytes(data[: data.rindex(b'"[{') + 40])  # inside the last row's checks JSON
    result = CliRunner().invoke(triage_app, args)
    assert result.exit_code == 0, result.output
    assert "skipped a torn last row" in caplog.text and len(_rows(out)) == 12
    print("faults: 1 torn output row skipped")


def test_killed_run_keeps_previous_output_and_journal(tmp_path: Path) -> None:
    """A run that dies after some decisions leaves the old output whole and its decisions to resume from."""
    records = load_records(FIXTURES / "records.csv")
    out = tmp_path / "ranked.csv"
    out.write_text("record_id,decision,checks\r\n1,include,[]\r\n", encoding="utf-8")
    before = out.read_bytes()
    decision = read_decided(out)["1"].model_copy(update={"record_id": "2", "decision": "exclude"})
    writer = ResumableWriter(out, records)
    writer.append(decision)  # ...and the process dies here, before finish()
    assert out.read_bytes() == before
    assert read_decided(out) == {"2": decision}  # the journal of the interrupted run is what resumes


# --- files of older versions and atomic replacement ---------------------------------------------------------


def test_label_file_from_an_older_version_loads(tmp_path: Path) -> None:
    old = _old_labels_csv(tmp_path / "labels.csv", {"1": "include", "5": "exclude", "3": "include"})
    session = TriageSession(FIXTURES / "records.csv", CRITERIA, decision_log=tmp_path / "decisions.jsonl")
    assert session.load_labels(old) == 3 and {session.labels[r] for r in ("1", "3")} == {1}
    _rank_with_labels(old, tmp_path / "out.csv")
    assert _rows(tmp_path / "out.csv")["5"]["model"] == "label"
    with pytest.raises(BioagentError, match="is a labels CSV, not a decision log"):
        TriageSession(FIXTURES / "records.csv", CRITERIA, decision_log=old)


def test_files_are_replaced_atomically_with_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    session = TriageSession(FIXTURES / "records.csv", CRITERIA, labels={"1": 1})
    saved = session.save_labels(tmp_path / "labels.csv")
    assert len(synced) >= 2  # the file, then its folder
    before = saved.read_bytes()
    monkeypatch.setattr(csv, "writer", lambda fh: 1 / 0)  # a crash while writing the new copy
    with pytest.raises(ZeroDivisionError):
        session.save_labels(saved)
    assert saved.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_a_damaged_embedding_cache_is_set_aside_and_the_vectors_recomputed(tmp_path: Path) -> None:
    """Record vectors go through the index layer's SQLite cache; a damaged file never stops screening."""
    cache = tmp_path / "cache"
    texts = ["beta blockers in heart failure", "mice"]
    first = build_features(texts, HashEmbedder(32), cache)
    (database,) = (cache / "embeddings").glob("*.sqlite")
    database.write_bytes(b"not a database" * 100)  # a cache file cut short or overwritten
    features = build_features(texts, HashEmbedder(32), cache)
    assert features.dense is not None and first.dense is not None
    assert np.allclose(features.dense, first.dense)
    assert list((cache / "embeddings").glob("*.sqlite.corrupt"))  # kept aside, not silently deleted


def _rank_with_labels(labels: Path, out: Path) -> None:
    """`triage rank` over the fixture records with ``labels``, lexical only; it must succeed."""
    result = CliRunner().invoke(
        triage_app,
        ["rank", "-i", str(FIXTURES / "records.csv"), "-c", str(CRITERIA), "-o", str(out),
         "--labels", str(labels), "--no-dense", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
