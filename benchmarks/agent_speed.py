"""Agent speed on the configured (default: embedded SmolLM2-135M) model and the demo indexes.

    python benchmarks/agent_speed.py              # cold start, `bioagent ask` wall time on 6 questions, 12 warm
    python benchmarks/agent_speed.py --warm 24 --cli 12 --json speed.json

Prints: process start to first answer (a fresh Python process: imports, index and model loading, one question),
the wall time of the `bioagent ask` command (what a user waits for at the terminal), then for warm questions in one process: latency p50/p95, time to the first streamed token p50/p95, and the
time of every step (understand, retrieve, tools, answer, verify) and of each tool. Build the demo indexes
first (`bioagent demo build`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bioagent.settings import Settings

P53_START = "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGPDEAPRMPEAAPPVAPAPAAPTPAAPAPAPSWPLSS"
QUESTIONS = [
    "What is the function of TP53?",
    "Does aspirin reduce the risk of colorectal cancer?",
    "Where in the cell is BRCA1 found?",
    "Do statins reduce cardiovascular events in high-risk patients?",
    f"Is this protein disordered? {P53_START}",
    "What are the molecular weight and logP of imatinib?",
    "Which kinase does imatinib inhibit, and is it likely to cross the blood-brain barrier?",
    "Where in the cell is the EGFR protein located?",
]
COLD = """
import json, sys, time
start = float(sys.argv[1])
from bioagent import Agent
imported = time.time()
agent = Agent.from_settings()
built = time.time()
answer = agent.ask(sys.argv[2])
print(json.dumps({"import_s": imported - start, "setup_s": built - imported, "ask_s": time.time() - built,
                  "answer": answer.text[:200], "model": answer.model, "timings": answer.timings}), flush=True)
"""


def pubmedqa_questions(settings: Settings, n: int) -> list[str]:
    """A few PQA-L questions outside the test split (the test labels are evaluation-only)."""
    try:
        records = json.loads((settings.data_dir / "pubmedqa/ori_pqal.json").read_text())
        test = set(json.loads((settings.data_dir / "pubmedqa/test_ground_truth.json").read_text()))
    except OSError:
        return []
    return [records[k]["QUESTION"] for k in sorted(records) if k not in test][:n]


def cold_start(question: str) -> dict[str, Any]:
    start = time.time()
    done = subprocess.run([sys.executable, "-c", COLD, repr(start), question], capture_output=True, text=True)
    wall = time.time() - start
    if done.returncode != 0:
        raise SystemExit(f"cold run failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"process_start_to_answer_s": wall, **result}


def cli_walls(questions: list[str]) -> list[float]:
    """Wall seconds of `bioagent ask "<question>"`, one fresh process per question."""
    command = Path(sys.executable).with_name("bioagent")
    walls = []
    for question in questions:
        start = time.time()
        done = subprocess.run([str(command), "ask", question], capture_output=True, text=True)
        walls.append(time.time() - start)
        if done.returncode != 0:
            raise SystemExit(f"`bioagent ask` failed:\n{done.stderr[-2000:]}")
        print(f"  {walls[-1]:5.2f}s  bioagent ask {question[:70]!r}", flush=True)
    return walls


def warm_runs(questions: list[str]) -> list[dict[str, Any]]:
    from bioagent import Agent

    agent = Agent.from_settings()
    agent.ask("What is the function of TP53?")  # warm-up: first-use loads (tool models, caches)
    runs = []
    for question in questions:
        agent.reset()
        start = time.perf_counter()
        first_token = None
        answer = None
        for event in agent.stream(question):
            if event.type == "token" and first_token is None:
                first_token = time.perf_counter() - start
            elif event.type == "answer":
                answer = event.answer
        total = time.perf_counter() - start
        assert answer is not None
        runs.append(
            {
                "question": question[:70],
                "total_s": total,
                "first_token_s": first_token,
                "timings": answer.timings,
                "abstained": answer.abstained,
                "extractive": answer.extractive,
                "tools": [c.name for c in answer.tool_calls],
            }
        )
        print(
            f"  {total:5.2f}s  first token {first_token or float('nan'):5.2f}s  {question[:70]}", flush=True
        )
    return runs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    totals = [r["total_s"] for r in runs]
    firsts = [r["first_token_s"] for r in runs if r["first_token_s"] is not None]
    steps: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for step, seconds in run["timings"].items():
            steps[step].append(seconds)
    return {
        "questions": len(runs),
        "latency_p50_s": statistics.median(totals),
        "latency_p95_s": percentile(totals, 0.95),
        "first_token_p50_s": statistics.median(firsts) if firsts else None,
        "first_token_p95_s": percentile(firsts, 0.95) if firsts else None,
        "steps_median_s": {step: statistics.median(v) for step, v in sorted(steps.items())},
        "steps_count": {step: len(v) for step, v in sorted(steps.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm", type=int, default=12, help="Warm questions to time.")
    parser.add_argument("--skip-cold", action="store_true", help="Skip the fresh-process measurement.")
    parser.add_argument("--cli", type=int, default=6, help="`bioagent ask` runs to time (0: none).")
    parser.add_argument("--json", help="Also write the figures to this file.")
    args = parser.parse_args()
    settings = Settings.load()
    results: dict[str, Any] = {}
    if not args.skip_cold:
        results["cold"] = cold_start(QUESTIONS[1])
        cold = results["cold"]
        print(
            f"process start to first answer: {cold['process_start_to_answer_s']:.2f}s (imports {cold['import_s']:.2f}s, "
            f"agent setup {cold['setup_s']:.2f}s, question {cold['ask_s']:.2f}s) [{cold['model']}]"
        )
        print("  first question's steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in cold["timings"].items()))
    if args.cli:
        walls = cli_walls([QUESTIONS[i % len(QUESTIONS)] for i in range(args.cli)])
        results["cli"] = {"questions": len(walls), "wall_p50_s": statistics.median(walls), "walls_s": walls}
        print(f"`bioagent ask` wall time p50 {statistics.median(walls):.2f}s, max {max(walls):.2f}s")
    pool = QUESTIONS + pubmedqa_questions(settings, 6)
    questions = [pool[i % len(pool)] for i in range(args.warm)]
    print(f"warm questions ({len(questions)}):")
    results["warm"] = summarise(warm_runs(questions))
    warm = results["warm"]
    print(
        f"warm latency p50 {warm['latency_p50_s']:.2f}s, p95 {warm['latency_p95_s']:.2f}s; first token p50 "
        f"{warm['first_token_p50_s'] or float('nan'):.2f}s, p95 {warm['first_token_p95_s'] or float('nan'):.2f}s"
    )
    print("median time per step (s):")
    for step, seconds in warm["steps_median_s"].items():
        print(f"  {step:<26}{seconds:8.3f}   (n={warm['steps_count'][step]})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
