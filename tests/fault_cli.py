"""Run the `bioagent` command (``python tests/fault_cli.py index build ...``) with the index commit observable.

Used by tests/test_faults_index.py to aim kills and to hold a writer inside its commit. Environment:

- ``FAULTS_TRACE``: a file that gets a line before ("fsync started", "replace <name> started") and after
  ("fsync", "replace <name>") every ``os.fsync`` and ``os.replace`` call, written unbuffered, so that a test can
  tell after a kill -9 how far the commit had come;
- ``FAULTS_SYNC_DELAY``: seconds slept after every ``os.fsync`` (a slow disk: widens the commit window);
- ``FAULTS_GATE``: before its first ``os.fsync`` the process writes "waiting" to the trace and waits until this
  file exists (a writer held inside the writer lock, between writing its data and committing it).

Everything else is the real command: ``runpy`` runs ``bioagent.cli`` as ``python -m bioagent.cli`` would.
"""

from __future__ import annotations

import os
import runpy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _traced(
    original: Callable[..., Any], trace: int, describe: Callable[..., str], delay: float, gate: Path | None
) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if gate is not None and not gate.exists():
            os.write(trace, b"waiting\n")
            while not gate.exists():
                time.sleep(0.01)
        os.write(trace, f"{describe(*args)} started\n".encode())
        result = original(*args)
        os.write(trace, f"{describe(*args)}\n".encode())
        time.sleep(delay)
        return result

    return call


def main() -> None:
    trace = os.open(os.environ["FAULTS_TRACE"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    delay = float(os.environ.get("FAULTS_SYNC_DELAY", "0"))
    gate = Path(os.environ["FAULTS_GATE"]) if os.environ.get("FAULTS_GATE") else None
    os.fsync = _traced(os.fsync, trace, lambda fd: "fsync", delay, gate)
    os.replace = _traced(os.replace, trace, lambda src, dst: f"replace {Path(dst).name}", 0.0, None)
    runpy.run_module("bioagent.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
