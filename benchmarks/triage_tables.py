"""Tables and the recall plot of the screening benchmark (benchmarks/triage_cohen.py).

A result per review: ``{"review", "records", "includes", "dev", "runs": {method: [run, ...]},
"curves": {method: 0/1 order of seed 0}}``; a run holds the seed's metrics and its ``stopping`` outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

Result = dict[str, Any]


def spread(runs: list[dict[str, Any]], key: str) -> tuple[float, float]:
    """Mean and sd over seeds."""
    values = [r[key] for r in runs]
    return float(np.mean(values)), float(np.std(values))


def review_table(results: list[Result], methods: list[str], reference: str) -> str:
    """WSS@95 per review (mean ± sd over seeds) for every method, and each method's gain over ``reference``."""
    others = [m for m in methods if m != reference]
    head = " | ".join(f"WSS@95 {m}" for m in methods) + " | " + " | ".join(f"Δ {m}" for m in others)
    lines = [
        f"| review | records | includes | {head} |",
        "|---|---:|---:" + "|---:" * (2 * len(methods) - 1) + "|",
    ]
    for r in results:
        cells = []
        for m in methods:
            mean, sd = spread(r["runs"][m], "wss@95")
            cells.append(f"{mean:.3f} ± {sd:.3f}")
        ref = spread(r["runs"][reference], "wss@95")[0]
        cells += [f"{spread(r['runs'][m], 'wss@95')[0] - ref:+.3f}" for m in others]
        mark = "" if r["dev"] else " †"
        lines.append(
            f"| {r['review']}{mark} | {r['records']:,} | {r['includes']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def summary_table(results: list[Result], methods: list[str]) -> str:
    """Per method, the mean over reviews of: WSS@95, recall@10% and records screened to find the last include
    (also as a share of the records); for all reviews and for the held-out ones. Seeds per method are listed."""
    lines = [
        "| method | reviews | seeds | WSS@95 | recall@10% | screened to find last include | share screened |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    held_out = [r for r in results if not r["dev"]]
    for label, subset in ((f"all {len(results)}", results), (f"held-out † {len(held_out)}", held_out)):
        for m in methods:
            if not subset:
                continue
            seeds = min(len(r["runs"][m]) for r in subset)
            wss = np.mean([spread(r["runs"][m], "wss@95")[0] for r in subset])
            r10 = np.mean([spread(r["runs"][m], "recall@10%")[0] for r in subset])
            last = np.mean([spread(r["runs"][m], "screened_to_find_all")[0] for r in subset])
            share = np.mean([spread(r["runs"][m], "screened_to_find_all")[0] / r["records"] for r in subset])
            lines.append(f"| {m} | {label} | {seeds} | {wss:.3f} | {r10:.3f} | {last:,.0f} | {share:.3f} |")
    return "\n".join(lines)


def stopping_table(results: list[Result], methods: list[str], target: float = 0.95) -> str:
    """Per method and stopping rule: runs, share stopping at ≥ target recall, mean recall and work saved at the
    stop, and the worst recall at a stop."""
    lines = [
        f"| method | rule | runs | stopped at ≥ {target:.0%} recall | mean recall at stop | min recall at stop "
        "| mean work saved at stop |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for m in methods:
        rules = list(results[0]["runs"][m][0]["stopping"])
        for rule in rules:
            stops = [run["stopping"][rule] for r in results for run in r["runs"][m]]
            recalls = np.array([s["recall"] for s in stops])
            saved = np.mean([s["work_saved"] for s in stops])
            reached = int(np.sum(recalls >= target - 1e-9))
            lines.append(
                f"| {m} | {rule} | {len(stops)} | {reached}/{len(stops)} ({reached / len(stops):.0%}) "
                f"| {recalls.mean():.3f} | {recalls.min():.3f} | {saved:.3f} |"
            )
    return "\n".join(lines)


def stopping_by_review(results: list[Result], method: str, rule: str) -> str:
    """One rule on one method, per review: recall and work saved at the stop (mean over seeds)."""
    lines = [f"| review | {rule}: mean recall at stop | min | mean work saved |", "|---|---:|---:|---:|"]
    for r in results:
        stops = [run["stopping"][rule] for run in r["runs"][method]]
        recalls = [s["recall"] for s in stops]
        saved = np.mean([s["work_saved"] for s in stops])
        lines.append(f"| {r['review']} | {np.mean(recalls):.3f} | {min(recalls):.3f} | {saved:.3f} |")
    return "\n".join(lines)


COLORS = {"ours": "tab:blue", "ours-no-criteria": "tab:green", "baseline": "tab:grey", "asreview": "tab:red"}


def plot(results: list[Result], methods: list[str], out: Path, stop_rule: str = "hypergeometric") -> Path:
    """Recall curves of seed 0 for every review and method, with where ``stop_rule`` stopped ours (a dot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bioagent.triage.metrics import recall_curve

    fig, axes = plt.subplots(3, 5, figsize=(16, 9.5), sharex=True, sharey=True)
    for ax, r in zip(axes.flat, results):
        for m in methods:
            x, y = recall_curve(r["curves"][m])
            ax.plot(x, y, color=COLORS.get(m), label=m, linewidth=1)
        stop = r["runs"][methods[0]][0]["stopping"].get(stop_rule)
        if stop:
            ax.plot(
                1 - stop["work_saved"],
                stop["recall"],
                "o",
                color=COLORS.get(methods[0]),
                label=f"{stop_rule} stop",
            )
        ax.plot([0, 1], [0, 1], color="lightgrey", linestyle=":")
        ax.axhline(0.95, color="lightgrey", linewidth=0.8)
        ax.set_title(f"{r['review']} ({r['includes']}/{r['records']})", fontsize=9)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    fig.supxlabel("share of records screened")
    fig.supylabel("recall")
    fig.tight_layout()
    path = out / "recall_curves.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
