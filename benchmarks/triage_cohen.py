"""Screening benchmark: simulate active-learning triage over the 14 Cohen 2006 drug-class reviews.

For every review and seed it replays the final-inclusion labels, in the same run and from the same starting
include/exclude, with: ours (`triage simulate --method active` with the review's criteria: criteria prior from
MiniLM + TF-IDF similarity, class-balanced logistic regression on TF-IDF), ours without criteria (`triage simulate
--method active` without --criteria: an elas_u4-like linear SVM on TF-IDF, chosen on the development
reviews), the reference baseline (TF-IDF 1-2 grams + logistic regression, certainty sampling) and, with
`--peer asreview`, ASReview LAB 3.0.8's default model elas_u4. It prints WSS@95, recall@10% and the records
screened to find the last include per review and method, and for every stopping rule the share of runs that
stopped at >= 95% recall and the work saved at the stop; it writes a JSON report, markdown tables and recall
curves. Every run is stored under OUT/runs/ and not repeated.

    python benchmarks/triage_cohen.py                       # 5 seeds (the quoted figures; embeddings cached)
    python benchmarks/triage_cohen.py --peer asreview --asreview-bin /tmp/asr-venv/bin/asreview --peer-seeds 2
    python benchmarks/triage_cohen.py --features tfidf      # ours with a TF-IDF-only criteria prior
    python benchmarks/triage_cohen.py --throughput          # also time `rank` (TF-IDF: 15k records; dense: 1k)
    python benchmarks/triage_cohen.py --jobs 2              # simulations in two processes
    python benchmarks/triage_cohen.py --zero-shot           # only the criteria-alone ranking (no labels)
    python benchmarks/triage_cohen.py --ablations all --reviews <dev reviews>   # also the variants in ABLATIONS

The criteria YAMLs in benchmarks/triage_criteria/ were written from the review names only. Records without
title and abstract stay in (they are 3% of the records and 2% of the includes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from triage_asreview import check_asreview, run_asreview
from triage_tables import plot, review_table, stopping_by_review, stopping_table, summary_table

from bioagent.settings import Settings
from bioagent.triage import load_criteria, load_records
from bioagent.triage.criteria import Criteria
from bioagent.triage.engine import Screener
from bioagent.triage.records import RecordSet
from bioagent.triage.simulate import simulate
from bioagent.triage.stopping import default_rules, stopping_outcomes

ROOT = Path(__file__).resolve().parents[1]
CRITERIA = ROOT / "benchmarks" / "triage_criteria"
REVIEWS = [
    "ACEInhibitors", "ADHD", "Antihistamines", "AtypicalAntipsychotics", "BetaBlockers", "CalciumChannelBlockers",
    "Estrogens", "NSAIDS", "Opiods", "OralHypoglycemics", "ProtonPumpInhibitors", "SkeletalMuscleRelaxants",
    "Triptans", "UrinaryIncontinence",
]  # fmt: skip
# Settings of our method were chosen on these nine reviews; the other five were not looked at until the end.
DEV_REVIEWS = {
    "Antihistamines", "UrinaryIncontinence", "NSAIDS", "Estrogens", "OralHypoglycemics", "Triptans", "ADHD",
    "SkeletalMuscleRelaxants", "Opiods",
}  # fmt: skip# label: (method, ranker options, uses the criteria)
VARIANTS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "ours": ("active", {}, True),
    "ours-no-criteria": ("active", {"learner": "svm"}, False),
    "baseline": ("tfidf-lr", {}, False),
}
# Ablations (--ablations): ours without the criteria prior, empty records left at the intercept, and the
# no-criteria learner that lost on the development reviews (logistic regression instead of the SVM).
ABLATIONS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "ours-no-prior": ("active", {"prior_weight": 0.0}, True),
    "ours-raw-empty": ("active", {"neutral_empty": False}, True),
    "no-criteria-logistic": ("active", {"learner": "logistic"}, False),
}
PEER = "asreview"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "screening_cohen2006")
    parser.add_argument("--reviews", default="all", help="Comma-separated review names, or 'all'.")
    parser.add_argument("--seeds", type=int, default=5, help="Seeds per review (0..n-1).")
    parser.add_argument("--retrain-every", type=int, default=1, help="Retrain after this many labels.")
    parser.add_argument(
        "--features", choices=["dense", "tfidf"], default="dense",
        help="Ours: criteria prior from MiniLM + TF-IDF similarity (as `triage rank`), or TF-IDF only.",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "triage_cohen",
        help="Results folder; runs already there with the same settings are not run again.",
    )  # fmt: skip
    parser.add_argument("--peer", choices=[PEER], help="Also run ASReview LAB (elas_u4) on the same starts.")
    parser.add_argument("--asreview-bin", default="asreview", help="The asreview executable (3.0.8).")
    parser.add_argument("--peer-seeds", type=int, help="Seeds for the peer (default: --seeds).")
    parser.add_argument(
        "--throughput", action="store_true",
        help="Also time `rank`: TF-IDF on all records, with the embedding model on the first 1,000.",
    )  # fmt: skip
    parser.add_argument(
        "--zero-shot", action="store_true",
        help="Only score the zero-shot ranking (criteria alone, no labels): AUC and WSS@95 per review.",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="Simulations run in this many processes.")
    parser.add_argument(
        "--ablations", default="", help="Also run these variants of ABLATIONS (comma-separated, or 'all')."
    )
    return parser.parse_args()


def labels_run(args: argparse.Namespace) -> list[str]:
    """Our variants, the requested ablations, then the peer."""
    wanted = list(ABLATIONS) if args.ablations == "all" else [a for a in args.ablations.split(",") if a]
    unknown = set(wanted) - set(ABLATIONS)
    if unknown:
        raise SystemExit(
            f"unknown ablation {', '.join(sorted(unknown))} (choose from {', '.join(ABLATIONS)})"
        )
    return list(VARIANTS) + wanted + ([PEER] if args.peer else [])


def run_path(args: argparse.Namespace, label: str, name: str, seed: int) -> Path:
    """Where one run is stored; the folder names the settings it depends on."""
    ours = {**VARIANTS, **ABLATIONS}
    setup = f"-{args.features}" if label in ours and ours[label][2] else ""  # only the criteria prior embeds
    return args.out / "runs" / f"{label}{setup}-r{args.retrain_every}" / f"{name}-{seed}.json"


def read_review(name: str, args: argparse.Namespace) -> tuple[RecordSet, Criteria, np.ndarray]:
    """The review's records, its criteria YAML and its final-inclusion labels (0/1 per record)."""
    records = load_records(args.data / f"{name}.csv")
    labels = records.column_labels("label_included")
    y = np.array([labels[rid] for rid in records.ids])
    return records, load_criteria(CRITERIA / f"{name}.yaml"), y


_EMBEDDER: dict[str, Any] = {}


def shared_embedder(args: argparse.Namespace) -> tuple[Any, Path]:
    """The embedding model for ``--features dense`` (None otherwise), loaded once per process."""
    settings = Settings.load()
    if args.features == "dense" and "model" not in _EMBEDDER:
        from bioagent.index.embedders import load_embedder

        _EMBEDDER["model"] = load_embedder(settings.embedding)
    return _EMBEDDER.get("model"), settings.cache_dir / "triage"


def simulate_one(job: tuple[str, int, str, argparse.Namespace]) -> dict[str, Any]:
    """One seed of one method on one review, stored in its run file."""
    warnings.filterwarnings("ignore", category=UserWarning)
    name, seed, label, args = job
    path = run_path(args, label, name, seed)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    records, criteria, y = read_review(name, args)
    if label == PEER:
        outcome = run_asreview(args.asreview_bin, args.data / f"{name}.csv", y, seed)
    else:
        method, options, uses_criteria = {**VARIANTS, **ABLATIONS}[label]
        embedder, cache_dir = shared_embedder(args) if uses_criteria else (None, None)
        screener = Screener(records, criteria if uses_criteria else None, embedder, cache_dir)
        ranker = screener.ranker(method, seed=seed, **options)
        result = simulate(y, ranker, seed=seed, retrain_every=args.retrain_every)
        run = {"seed": seed, "seconds": result.seconds, **result.metrics, "stopping": result.stopping}
        outcome = {"found": result.found, "run": run}
    outcome.update(review=name, label=label, records=len(y), includes=int(y.sum()))
    print(f"  {name} seed {seed} {label}: WSS@95 {outcome['run']['wss@95']:.3f} ({outcome['run']['seconds']:.0f}s)",
          flush=True)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome) + "\n", encoding="utf-8")
    return outcome


def run_reviews(names: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every seed of every method on the reviews (stored runs are read back), in ``--jobs`` processes, seed by
    seed and smallest reviews first (on a busy machine the most reviews finish soonest); one result per review
    (see triage_tables)."""
    labels = labels_run(args)
    seeds = {label: args.peer_seeds or args.seeds if label == PEER else args.seeds for label in labels}
    jobs = [(name, seed, label, args) for name in names for label in labels for seed in range(seeds[label])]
    jobs.sort(key=lambda job: (job[1], (args.data / f"{job[0]}.csv").stat().st_size))  # seed 0 first
    with multiprocessing.get_context("spawn").Pool(max(1, args.jobs)) as pool:
        outcomes = list(pool.imap_unordered(simulate_one, jobs))
    for outcome in outcomes:  # replayed from the stored order, so stored runs follow the current rules
        outcome["run"]["stopping"] = stopping_outcomes(outcome["found"], default_rules(), args.retrain_every)
    results = []
    for name in names:
        mine = sorted((o for o in outcomes if o["review"] == name), key=lambda o: o["run"]["seed"])
        results.append({
            "review": name, "records": mine[0]["records"], "includes": mine[0]["includes"],
            "dev": name in DEV_REVIEWS,
            "runs": {label: [o["run"] for o in mine if o["label"] == label] for label in labels},
            "curves": {o["label"]: o["found"] for o in mine if o["run"]["seed"] == 0},
        })  # fmt: skip
    return results


DENSE_THROUGHPUT_RECORDS = 1000  # dense evidence embeds every sentence: timed on the first 1,000 records only


def throughput(args: argparse.Namespace, settings: Settings, embedder: Any) -> dict[str, Any]:
    """Records per second for `rank` (zero-shot, similarity evidence): TF-IDF over all reviews' records at once,
    and with the embedding model (record vectors cached, sentence vectors not) over the first 1,000."""
    from bioagent.triage import triage

    docs = []
    for name in REVIEWS:
        docs.extend(
            d.model_copy(update={"id": f"{name}:{d.id}"})
            for d in load_records(args.data / f"{name}.csv").records
        )
    criteria = load_criteria(CRITERIA / "ACEInhibitors.yaml")
    figures: dict[str, Any] = {"records": len(docs), "embedding_backend": settings.embedding.backend}
    for label, dense in (("tfidf", False), ("dense", True)):
        if dense and embedder is None:
            continue
        records = RecordSet(docs[:DENSE_THROUGHPUT_RECORDS] if dense else docs)
        start = time.perf_counter()
        triage(records, criteria, dense=dense, embedder=embedder if dense else None, settings=settings)
        figures[f"rank_{label}_records"] = len(records)
        figures[f"rank_{label}_records_per_s"] = round(len(records) / (time.perf_counter() - start), 1)
    return figures


ZERO_SHOT_VARIANTS = (
    "TF-IDF only",
    "TF-IDF + MiniLM (default)",
    "… minus similarity to the exclusion criteria",
    "… with empty records scored as similar as their (empty) text",
)


def zero_shot(names: list[str], args: argparse.Namespace) -> tuple[str, str]:
    """AUC and WSS@95 of the criteria-only ranking (what `rank` gives before any label): per review and the
    mean of each variant in ZERO_SHOT_VARIANTS (the last two are ablations of the default)."""
    from sklearn.metrics import roc_auc_score

    from bioagent.index.embedders import load_embedder
    from bioagent.triage.metrics import summarise
    from bioagent.triage.rankers import ZeroShotRanker, standardise

    settings = Settings.load()
    embedder = load_embedder(settings.embedding)
    header = "| review | " + " | ".join(
        f"AUC {n + 1} | WSS@95 {n + 1}" for n in range(len(ZERO_SHOT_VARIANTS))
    )
    lines = [header + " |", "|---" + "|---:" * 2 * len(ZERO_SHOT_VARIANTS) + "|"]
    figures: list[list[float]] = []
    for name in names:
        records, criteria, y = read_review(name, args)
        screener = Screener(records, criteria, embedder, settings.cache_dir / "triage")
        dense = screener.zero_shot.prior
        lexical = ZeroShotRanker(
            dataclasses.replace(screener.features, dense=None, embedder=None), criteria
        ).prior
        exclusion = screener.features.dense @ embedder.encode_queries(criteria.exclusion).T
        scores = (
            lexical,
            dense,
            dense - 0.25 * standardise(exclusion.max(axis=1)),
            ZeroShotRanker.similarity(screener.features, criteria, dense_weight=0.5),
        )
        row = []
        for score in scores:
            order = np.lexsort((np.arange(y.size), -score))
            row += [float(roc_auc_score(y, score)), summarise([int(y[i]) for i in order])["wss@95"]]
        figures.append(row)
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    means = np.mean(figures, axis=0)
    lines.append("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in means) + " |")
    legend = "\n".join(f"{n + 1}. {label}" for n, label in enumerate(ZERO_SHOT_VARIANTS))
    summary = ["| zero-shot ranking (no labels) | mean AUC | mean WSS@95 |", "|---|---:|---:|"] + [
        f"| {label} | {means[2 * n]:.3f} | {means[2 * n + 1]:.3f} |"
        for n, label in enumerate(ZERO_SHOT_VARIANTS)
    ]
    return "\n".join(summary), legend + "\n\n" + "\n".join(lines)


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    names = REVIEWS if args.reviews == "all" else args.reviews.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.zero_shot:
        summary, per_review = zero_shot(names, args)
        print(per_review + "\n\n" + summary)
        (args.out / "zero_shot.md").write_text(summary + "\n\n" + per_review + "\n", encoding="utf-8")
        return
    if args.peer:
        args.asreview_bin = check_asreview(args.asreview_bin)
    started = time.perf_counter()
    results = run_reviews(names, args)
    print(f"simulations finished in {time.perf_counter() - started:.0f}s")
    labels = labels_run(args)
    reference = PEER if args.peer else "baseline"
    markdown = "\n\n".join([
        summary_table(results, labels), review_table(results, labels, reference), stopping_table(results, labels),
        stopping_by_review(results, "ours", "hypergeometric"),
    ])  # fmt: skip
    print()
    print(markdown)
    report = {"features": args.features, "seeds": args.seeds, "peer_seeds": args.peer_seeds or args.seeds,
              "retrain_every": args.retrain_every,
              "results": [{k: v for k, v in r.items() if k != "curves"} for r in results]}  # fmt: skip
    if args.throughput:
        report["throughput"] = throughput(args, Settings.load(), shared_embedder(args)[0])
        print("\nrank throughput:", json.dumps(report["throughput"]))
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (args.out / "table.md").write_text(markdown + "\n", encoding="utf-8")
    shown = [m for m in ("ours", "ours-no-criteria", "baseline", PEER) if m in labels]
    print(f"\nwrote {args.out / 'report.json'}, {args.out / 'table.md'}, {plot(results, shown, args.out)}")


if __name__ == "__main__":
    main()
