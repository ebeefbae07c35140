"""Fault injection for index folders: kill -9 during builds, concurrent writers, corrupt and hostile inputs.

Every test counts what it injected, asserts on the count and prints it (``pytest -s`` shows the lines that start
with "faults:"). The CLI runs in real subprocesses through tests/fault_cli.py, which only adds a trace of the
commit's fsync/replace calls, an optional slow disk (a sleep after each fsync) and an optional gate that holds a
writer inside its commit.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import faiss
import pytest

from bioagent.errors import BioagentError, IndexLoadError
from bioagent.index import Index, add_documents, build_index, load_index, store
from bioagent.index.manifest import MANIFEST_NAME, OWNER_NAME, writer_lock
from bioagent.settings import Settings
from bioagent.types import Document

pytestmark = pytest.mark.faults

FAULT_CLI = Path(__file__).with_name("fault_cli.py")
SEED = 20240611
KILLS = 20
SYNC_DELAY = 0.03  # seconds after each fsync in killed builds: the commit window is ~14 fsyncs long
BUSY = "is being written by pid"
WORDS = [
    "kinase",
    "receptor",
    "tumour",
    "insulin",
    "glucose",
    "apoptosis",
    "mutation",
    "ligand",
    "enzyme",
    "protein",
    "pathway",
    "cell",
]

STARTUP, EMBEDDING, WRITING, SYNCING, SWITCHING, SWITCHED, FINISHED = (
    "before the writer lock (startup, reading input)",
    "holding the lock, before the data folder (chunking, embedding)",
    "writing the data folder",
    "commit: syncing, before the manifest switch",
    "commit: inside the os.replace call of the manifest switch",
    "commit: after the manifest switch (cleanup, exit)",
    "finished before the kill",
)


def documents(prefix: str, count: int = 8) -> list[Document]:
    """Small documents, each with its own made-up word ``<prefix>q<i>``."""
    rng = random.Random(prefix)
    return [
        Document(
            id=f"{prefix}-{i}",
            title=f"{rng.choice(WORDS).title()} study {i}",
            text=f"{' '.join(rng.choices(WORDS, k=12))} {prefix}q{i}.",
        )
        for i in range(count)
    ]


def corpus_file(path: Path, prefix: str) -> set[str]:
    """A JSONL corpus of :func:`documents`; returns its ids."""
    docs = documents(prefix)
    path.write_text("".join(json.dumps({"_id": d.id, "title": d.title, "text": d.text}) + "\n" for d in docs))
    return {d.id for d in docs}


def start_cli(
    tmp_path: Path, *args: str | Path, trace: Path, delay: float = 0.0, gate: Path | None = None
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BIOAGENT_EMBEDDING__BACKEND": "hash",
        "BIOAGENT_CACHE_DIR": str(tmp_path / "cache-cli"),
        "FAULTS_TRACE": str(trace),
        "FAULTS_SYNC_DELAY": str(delay),
        "FAULTS_GATE": str(gate or ""),
    }
    command = [sys.executable, str(FAULT_CLI), *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit status and stderr of a CLI run (two minutes at most: a hang fails the test)."""
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str], limit: float = 60.0) -> None:
    """Poll ``condition`` every 5 ms until it holds or ``process`` has exited."""
    deadline = time.monotonic() + limit
    while not condition() and process.poll() is None:
        assert time.monotonic() < deadline, "the writer never got there"
        time.sleep(0.005)


def holds_lock(index: Path, pid: int) -> Callable[[], bool]:
    """Whether process ``pid`` has taken the writer lock of ``index`` (its pid is in the owner file)."""

    def check() -> bool:
        owner = index / OWNER_NAME
        return owner.is_file() and owner.read_text().startswith(f"{pid} ")

    return check


def trace_lines(trace: Path) -> list[str]:
    return trace.read_text().splitlines() if trace.exists() else []


def loaded_ids(index: Path, settings: Settings) -> set[str] | None:
    """The document ids of the index at ``index``; None when no index was ever committed there."""
    if not (index / MANIFEST_NAME).exists():
        return None
    return {doc.id for doc in load_index(index, settings).documents}


def assert_searches(index: Path, settings: Settings, prefix: str) -> None:
    """Each of two documents of ``documents(prefix)`` is the top hit for its own text, in every mode."""
    loaded = load_index(index, settings)
    for doc in documents(prefix)[:2]:
        for mode in ("hybrid", "dense", "lexical"):
            assert loaded.search(doc.text, k=1, mode=mode)[0].id == doc.id  # type: ignore[arg-type]


@pytest.fixture()
def hash_settings(tmp_path: Path) -> Settings:
    return Settings.load(cache_dir=tmp_path / "cache", embedding={"backend": "hash"})


# --- kill -9 ---------------------------------------------------------------------------------------------------


def calibrate(tmp_path: Path) -> dict[str, float]:
    """Seconds from the start of a CLI build, and from its taking the writer lock, to its end; and 1.25 times
    its commit (first fsync to manifest switch). Kills are drawn within these spans."""
    corpus = tmp_path / "calibrate.jsonl"
    corpus_file(corpus, "c")
    index, trace = tmp_path / "calibrate", tmp_path / "calibrate.trace"
    process = start_cli(tmp_path, "index", "build", "-i", corpus, "-o", index, trace=trace, delay=SYNC_DELAY)
    moments = {"start": time.monotonic()}
    wait_until(holds_lock(index, process.pid), process)
    moments["lock"] = time.monotonic()
    wait_until(lambda: "fsync" in trace_lines(trace), process)
    moments["commit"] = time.monotonic()
    wait_until(lambda: f"replace {MANIFEST_NAME}" in trace_lines(trace), process)
    switched = time.monotonic()
    assert finish(process)[0] == 0
    spans = {name: time.monotonic() - moment for name, moment in moments.items()}
    return {**spans, "commit": 1.25 * (switched - moments["commit"])}


def kill_at_random(
    process: subprocess.Popen[str],
    index: Path,
    trace: Path,
    aim: str,
    spans: dict[str, float],
    rng: random.Random,
) -> None:
    """SIGKILL ``process`` at a random moment after it reached ``aim`` (start, lock or commit)."""
    if aim == "lock":
        wait_until(holds_lock(index, process.pid), process)
    elif aim == "commit":
        wait_until(lambda: "fsync" in trace_lines(trace), process)
    time.sleep(rng.uniform(0, spans[aim]))
    process.kill()


def phase_of_kill(index: Path, pid: int, trace: Path, status: int) -> str:
    """How far the killed build had come, from the trace, the lock owner file and its data folder."""
    lines = trace_lines(trace)
    if status == 0:
        return FINISHED
    if f"replace {MANIFEST_NAME}" in lines:
        return SWITCHED
    if f"replace {MANIFEST_NAME} started" in lines:
        return SWITCHING
    if "fsync" in lines:
        return SYNCING
    if list(index.glob(f"data-*-{pid}")):
        return WRITING
    return EMBEDDING if holds_lock(index, pid)() else STARTUP


def test_kill_9_during_index_build_leaves_the_previous_or_the_new_index(
    tmp_path: Path, hash_settings: Settings
) -> None:
    """20 builds killed with SIGKILL at a random moment: of the whole run (7), of the time it holds the writer
    lock (7), or of its commit (6, from its first fsync). After each kill the index is exactly the previous
    version (none before the first commit) unless the kill came after the manifest switch, when it is exactly the
    new one (either, for a kill inside the os.replace call itself); it searches correctly, and a rebuild succeeds
    and removes what the killed build left behind."""
    rng = random.Random(SEED)
    spans = calibrate(tmp_path)
    index = tmp_path / "idx"
    previous: set[str] | None = None
    previous_prefix = ""
    phases: Counter[str] = Counter()
    for number in range(KILLS):
        new = corpus_file(tmp_path / f"kill{number}.jsonl", f"k{number}")
        trace = tmp_path / f"kill{number}.trace"
        args = ("index", "build", "-i", tmp_path / f"kill{number}.jsonl", "-o", index)
        process = start_cli(tmp_path, *args, trace=trace, delay=SYNC_DELAY)
        kill_at_random(process, index, trace, ("start", "lock", "commit")[number % 3], spans, rng)
        phase = phase_of_kill(index, process.pid, trace, finish(process)[0])
        phases[phase] += 1
        committed = phase in (SWITCHED, FINISHED) or (
            phase == SWITCHING and loaded_ids(index, hash_settings) == new
        )
        assert loaded_ids(index, hash_settings) == (new if committed else previous), phase
        if committed or previous:
            assert_searches(index, hash_settings, f"k{number}" if committed else previous_prefix)
        previous_prefix = f"p{number}"
        rebuilt = build_index(documents(previous_prefix), index, hash_settings)
        previous = {doc.id for doc in rebuilt.documents}
        assert [path.name for path in index.glob("data-*")] == [rebuilt.manifest.data_dir]
        assert not list(index.glob(f".{MANIFEST_NAME}.*.tmp"))
    print(f"faults: {KILLS} kill -9 during `index build`: {dict(phases)}")
    assert sum(phases.values()) == KILLS
    assert phases[SYNCING] >= 3, phases  # the commit window itself was hit


# --- concurrent writers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("holder", "second"), [("build", "build"), ("add", "build"), ("build", "add")])
def test_a_second_writer_fails_at_once_while_one_is_writing(
    tmp_path: Path, hash_settings: Settings, holder: str, second: str
) -> None:
    """The first writer is held inside its commit (data written, manifest not yet switched); the second fails
    with one line naming the holder, and the first then completes with all of its documents."""
    index = tmp_path / "idx"
    base = {doc.id for doc in build_index(documents("base"), index, hash_settings).documents}
    gate = tmp_path / "gate"
    first_ids = corpus_file(tmp_path / "first.jsonl", "first")
    corpus_file(tmp_path / "second.jsonl", "second")

    def command(kind: str, corpus: str) -> tuple[str, ...]:
        target = ("-o", str(index)) if kind == "build" else ("--index", str(index))
        return ("index", kind, "-i", str(tmp_path / corpus), *target)

    first = start_cli(tmp_path, *command(holder, "first.jsonl"), trace=tmp_path / "first.trace", gate=gate)
    wait_until(lambda: "waiting" in trace_lines(tmp_path / "first.trace"), first)
    status, stderr = finish(start_cli(tmp_path, *command(second, "second.jsonl"), trace=tmp_path / "s.trace"))
    gate.touch()
    first_status, first_stderr = finish(first)
    print(f"faults: 2 concurrent writers ({holder} holding, {second} refused)")
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert status == 1 and "Traceback" not in stderr, stderr
    assert len(errors) == 1 and f"{BUSY} {first.pid} (started at " in errors[0], stderr
    assert "try again when it finishes" in errors[0]
    assert first_status == 0, first_stderr
    assert loaded_ids(index, hash_settings) == (first_ids if holder == "build" else base | first_ids)


def test_concurrent_additions_lose_no_documents(tmp_path: Path, hash_settings: Settings) -> None:
    """Four `index add` runs started together (a slow disk widens their commits): each either succeeds or fails
    with a one-line busy/changed message, and the index holds every successful run's documents."""
    index = tmp_path / "idx"
    expected = {doc.id for doc in build_index(documents("base"), index, hash_settings).documents}
    runs = []
    for name in ("a0", "a1", "a2", "a3"):
        ids = corpus_file(tmp_path / f"{name}.jsonl", name)
        args = ("index", "add", "-i", tmp_path / f"{name}.jsonl", "--index", index)
        runs.append((start_cli(tmp_path, *args, trace=tmp_path / f"{name}.trace", delay=0.05), ids))
    outcomes: Counter[str] = Counter()
    for process, ids in runs:
        status, stderr = finish(process)
        if status == 0:
            expected |= ids
            outcomes["succeeded"] += 1
        else:
            assert BUSY in stderr or "changed since it was loaded" in stderr, stderr
            assert "Traceback" not in stderr
            outcomes["refused"] += 1
    print(f"faults: {len(runs)} concurrent `index add` runs: {dict(outcomes)}")
    assert sum(outcomes.values()) == len(runs) and outcomes["succeeded"] >= 1
    assert loaded_ids(index, hash_settings) == expected


def test_an_addition_to_an_index_loaded_before_another_commit_is_refused(
    tmp_path: Path, hash_settings: Settings
) -> None:
    index = tmp_path / "idx"
    build_index(documents("base"), index, hash_settings)
    first, second = load_index(index, hash_settings), load_index(index, hash_settings)
    add_documents(first, documents("first"), hash_settings)
    with pytest.raises(BioagentError, match="changed since it was loaded"):
        add_documents(second, documents("second"), hash_settings)
    assert loaded_ids(index, hash_settings) == {d.id for d in documents("base") + documents("first")}


def test_every_writer_is_refused_while_another_thread_holds_the_lock(
    tmp_path: Path, hash_settings: Settings
) -> None:
    """build_index, add_documents and the distributed build (refused before Ray is touched) all take the lock."""
    pytest.importorskip("ray")
    index = tmp_path / "idx"
    loaded = build_index(documents("base"), index, hash_settings)
    ray_engine = hash_settings.distributed.model_copy(update={"engine": "ray"})
    writers: list[Callable[[], object]] = [
        lambda: build_index(documents("other"), index, hash_settings),
        lambda: add_documents(loaded, documents("other"), hash_settings),
        lambda: build_index(
            documents("other"), index, hash_settings.model_copy(update={"distributed": ray_engine})
        ),
    ]
    refused: list[str] = []

    def run_all() -> None:
        for writer in writers:
            try:
                writer()
            except BioagentError as exc:
                refused.append(str(exc))

    with writer_lock(index):
        thread = threading.Thread(target=run_all)
        thread.start()
        thread.join()
    assert len(refused) == len(writers) and all(f"{BUSY} {os.getpid()}" in line for line in refused), refused
    assert loaded_ids(index, hash_settings) == {doc.id for doc in documents("base")}


def test_a_reader_loads_the_new_version_when_a_writer_removed_the_one_it_was_reading(
    tmp_path: Path, hash_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_index takes no lock: a commit between its reading the manifest and the data makes it read again."""
    index = tmp_path / "idx"
    old = build_index(documents("old"), index, hash_settings).manifest
    build_index(documents("new"), index, hash_settings)  # removes old's data folder
    stale = iter([old])
    real = store.read_manifest
    monkeypatch.setattr(store, "read_manifest", lambda path: next(stale, None) or real(path))
    assert {doc.id for doc in load_index(index, hash_settings).documents} == {d.id for d in documents("new")}


# --- durability --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="maps file descriptors to paths via /proc")
def test_the_commit_syncs_the_data_before_the_switch_and_removes_the_old_version_after(
    tmp_path: Path, hash_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "idx"
    old = build_index(documents("old"), index, hash_settings)
    events: list[tuple[str, Path]] = []
    fsync, replace = os.fsync, os.replace

    def traced_fsync(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}"))))
        fsync(fd)

    def traced_replace(src: Path, dst: Path) -> None:
        assert (index / old.manifest.data_dir).is_dir(), "the previous version was removed before the switch"
        events.append(("replace", Path(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", traced_fsync)
    monkeypatch.setattr(os, "replace", traced_replace)
    new, _ = add_documents(old, documents("new"), hash_settings)
    monkeypatch.undo()
    switch = events.index(("replace", index / MANIFEST_NAME))
    synced_before = {path for kind, path in events[:switch] if kind == "fsync"}
    data = (index / new.manifest.data_dir).resolve()
    assert {path.resolve() for path in data.rglob("*")} | {data, index.resolve()} <= synced_before
    assert ("fsync", index.resolve()) in [(kind, path.resolve()) for kind, path in events[switch:]]
    assert not (index / old.manifest.data_dir).exists()


# --- corrupt and hostile inputs ---------------------------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(SEED).randbytes(4096))


def _malformed(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:100] + random.Random(SEED).randbytes(len(data) - 100))


@pytest.mark.parametrize("damage", [_garbage, _malformed], ids=["garbage-bytes", "malformed-pages"])
def test_a_corrupt_embedding_cache_is_set_aside_and_the_build_succeeds(
    tmp_path: Path, hash_settings: Settings, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    build_index(documents("a", 40), tmp_path / "one", hash_settings)
    (cache_file,) = (hash_settings.cache_dir / "embeddings").glob("*.sqlite")
    damage(cache_file)
    built = build_index(documents("a", 40), tmp_path / "two", hash_settings)
    print("faults: 1 corrupt embedding cache file")
    assert len(built) == 40 and "is unreadable" in caplog.text and "started a fresh cache" in caplog.text
    assert cache_file.with_name(cache_file.name + ".corrupt").is_file()


def test_a_reader_holding_the_embedding_cache_does_not_stop_a_build(
    tmp_path: Path, hash_settings: Settings
) -> None:
    build_index(documents("a"), tmp_path / "one", hash_settings)
    (cache_file,) = (hash_settings.cache_dir / "embeddings").glob("*.sqlite")
    reader = sqlite3.connect(cache_file)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM vectors").fetchone()  # holds a read transaction open
    started = time.monotonic()
    built = build_index(documents("b"), tmp_path / "two", hash_settings)  # new texts: the cache is written
    reader.close()
    assert len(built) == 8 and time.monotonic() - started < 4


def _index_case(tmp_path: Path, settings: Settings) -> Index:
    return build_index(documents("h"), tmp_path / "idx", settings)


def _edit_manifest(index: Index, **changes: object) -> None:
    path = index.path / MANIFEST_NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _outside_copy(index: Index, name: str) -> str:
    """A copy of the data folder outside the index (matching checksums); returns data_dir pointing at it."""
    target = index.path.parent / name
    (index.path / index.manifest.data_dir).rename(target)
    return os.path.relpath(target, index.path)


def _empty_shard(index: Index) -> None:
    faiss.write_index(
        faiss.IndexFlatIP(index.embedder.dimension),
        str(index.path / index.manifest.data_dir / "dense.faiss.1"),
    )


def _truncate(index: Index, name: str) -> None:
    path = index.path / index.manifest.data_dir / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    """Overwrite the middle of a file with other bytes (its size unchanged)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(255 - b for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def _link(index: Index) -> None:
    path = index.path / index.manifest.data_dir / "documents.sqlite"
    copy = index.path.parent / "documents.sqlite"
    path.rename(copy)
    path.symlink_to(copy)


HOSTILE: dict[str, tuple[Callable[[Index], object], str]] = {
    "manifest truncated": (
        lambda i: (i.path / MANIFEST_NAME).write_text((i.path / MANIFEST_NAME).read_text()[:200]),
        "is corrupt",
    ),
    "manifest garbage bytes": (lambda i: _garbage(i.path / MANIFEST_NAME), "is corrupt"),
    "manifest from a newer format": (lambda i: _edit_manifest(i, format_version=99), "reads up to"),
    "faiss file truncated": (lambda i: _truncate(i, "dense.faiss"), "has \\d+ bytes, but the manifest says"),
    "documents file truncated": (
        lambda i: _truncate(i, "documents.sqlite"),
        "has \\d+ bytes, but the manifest",
    ),
    "documents file altered, same size": (
        lambda i: _garble(i.path / i.manifest.data_dir / "documents.sqlite"),
        "does not match its checksum",
    ),
    "unlisted empty shard dense.faiss.1": (_empty_shard, "dense.faiss.1 is not listed in the manifest"),
    "data_dir ../x (a matching copy outside)": (
        lambda i: _edit_manifest(i, data_dir=_outside_copy(i, "x")),
        "not a data-\\* folder inside the index",
    ),
    "data_dir absolute": (
        lambda i: _edit_manifest(i, data_dir=str(i.path / i.manifest.data_dir)),
        "not a data-\\* folder inside the index",
    ),
    "data_dir ../data-x": (
        lambda i: _edit_manifest(i, data_dir=_outside_copy(i, "data-x")),
        "not a data-\\* folder inside the index",
    ),
    "checksums empty": (lambda i: _edit_manifest(i, checksums={}), "lists no checksums"),
    "checksum naming a file outside": (
        lambda i: _edit_manifest(i, checksums={**i.manifest.checksums, "../../outside": "0" * 64}),
        "is missing",
    ),
    "data file replaced by a link": (_link, "holds a link"),
    "data folder removed": (
        lambda i: (i.path / i.manifest.data_dir).rename(i.path.parent / "gone"),
        "data folder .* is missing",
    ),
    "bm25 file removed": (
        lambda i: next((i.path / i.manifest.data_dir / "bm25").glob("*.json")).unlink(),
        "is missing",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("verify", [True, False], ids=["verify", "no-verify"])
def test_a_damaged_or_hostile_index_folder_is_refused_with_one_line(
    tmp_path: Path, hash_settings: Settings, case: str, verify: bool
) -> None:
    tamper, message = HOSTILE[case]
    index = _index_case(tmp_path, hash_settings)
    tamper(index)
    if not verify and message.startswith("does not match"):
        pytest.skip("unverified, a change that keeps a file's size is not looked for (index.verify_max_mb)")
    with pytest.raises(IndexLoadError, match=message) as caught:
        load_index(index.path, hash_settings, verify=verify)
    assert len(str(caught.value).splitlines()) == 1


def test_the_cli_reports_a_hostile_index_in_one_line(tmp_path: Path, hash_settings: Settings) -> None:
    index = _index_case(tmp_path, hash_settings)
    _edit_manifest(index, data_dir=_outside_copy(index, "x"))
    process = start_cli(tmp_path, "search", "--index", index.path, "-q", "kinase", trace=tmp_path / "t")
    status, stderr = finish(process)
    assert status == 1 and "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        f"error: {index.path / MANIFEST_NAME} names the data folder '../x', which is not a data-* folder inside "
        "the index; refusing it (rebuild the index)"
    ]
