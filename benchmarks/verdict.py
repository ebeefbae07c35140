"""Train and evaluate the yes/no verdict model (bioagent/agent/verdict.py) with the configured embedder.

    python benchmarks/verdict.py --train      # CV on training data only; writes bioagent/agent/verdict_model.json
    python benchmarks/verdict.py --evaluate   # once, on the test splits; records the figures in the same JSON
    (with BIOAGENT_EMBEDDING__BACKEND=onnx-int8 it measures the trained model on int8 vectors: other_embedders)

Training data (never the test splits): PubMedQA PQA-L questions of ori_pqal.json whose ids are NOT in
test_ground_truth.json (500: the question with its abstract's CONTEXTS, conclusion removed), and BioASQ 7B-10B
yes/no questions with their gold snippets (532). Feature groups, top-k, the regularisation C and the abstention
band are chosen by stratified 5-fold cross-validation (repeated twice) on that data. Evaluation splits:
PubMedQA PQA-L test (500, reasoning-required setting: contexts without the conclusion) and BioASQ 11B yes/no
(86, gold snippets: oracle evidence). A gold "maybe" counts as wrong for any yes/no verdict (and for the
majority class). The majority class is the training majority ("yes"), measured on the same items.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bioagent.agent.verdict import (
    MODEL_FILE,
    FeatureSpec,
    VerdictModel,
    cue_matrix,
    evidence_sentences,
    feature_vector,
)
from bioagent.index import load_embedder
from bioagent.settings import Settings

MODEL_PATH = Path(__file__).resolve().parents[1] / "bioagent" / "agent" / MODEL_FILE
TRAIN_TASKS = (7, 8, 9, 10)
TEST_TASK = 11
BASE = ("cues_top", "cues_all", "similarity", "question")
CANDIDATE_GROUPS = {
    "cues": BASE,
    "cues+product": (*BASE, "product"),
    "cues+embeddings": (*BASE, "q_embedding", "s_embedding"),
    "cues+embeddings+product": (*BASE, "q_embedding", "s_embedding", "product"),
    "product": ("question", "product"),
}
TOP_KS = (3, 5)
CS = (0.003, 0.01, 0.03, 0.1, 0.3)
MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
MIN_COVERAGE = 0.5


@dataclass
class Item:
    """One yes/no question with its evidence; ``gold`` is yes/no/maybe."""

    id: str
    source: str
    question: str
    passages: list[str]
    gold: str


@dataclass
class Embedded:
    """An item's sentences, their cue matrix, and the embedder's vectors."""

    item: Item
    sentences: list[str]
    cues: np.ndarray
    question_vector: np.ndarray
    sentence_vectors: np.ndarray


# ---------------------------------------------------------------- data


def pubmedqa(data_dir: Path, test: bool) -> list[Item]:
    records = json.loads((data_dir / "pubmedqa/ori_pqal.json").read_text())
    test_ids = set(json.loads((data_dir / "pubmedqa/test_ground_truth.json").read_text()))
    return [
        Item(pmid, "pubmedqa", r["QUESTION"], list(r["CONTEXTS"]), r["final_decision"].lower())
        for pmid, r in sorted(records.items())
        if (pmid in test_ids) == test
    ]


def bioasq(data_dir: Path, tasks: tuple[int, ...], exclude: set[str] = frozenset()) -> list[Item]:
    """Yes/no questions of ``tasks`` (deduplicated by id; bodies in ``exclude`` left out)."""
    items: dict[str, Item] = {}
    for task in tasks:
        for path in sorted(
            (data_dir / f"bioasq_golden_enriched/Task{task}BGoldenEnriched").glob("*_golden.json")
        ):
            for q in json.loads(path.read_text())["questions"]:
                if q["type"] != "yesno" or _norm(q["body"]) in exclude:
                    continue
                snippets = [s["text"] for s in q.get("snippets", [])]
                items.setdefault(
                    q["id"], Item(q["id"], "bioasq", q["body"], snippets, q["exact_answer"].lower())
                )
    return list(items.values())


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def training_items(data_dir: Path) -> tuple[list[Item], int]:
    """Training items, and how many BioASQ training questions were dropped as verbatim 11B questions."""
    test_bodies = {_norm(i.question) for i in bioasq(data_dir, (TEST_TASK,))}
    all_train = bioasq(data_dir, TRAIN_TASKS)
    kept = bioasq(data_dir, TRAIN_TASKS, exclude=test_bodies)
    return pubmedqa(data_dir, test=False) + kept, len(all_train) - len(kept)


def test_items(data_dir: Path) -> list[Item]:
    return pubmedqa(data_dir, test=True) + bioasq(data_dir, (TEST_TASK,))


# ---------------------------------------------------------------- embeddings (cached)


def embed(items: list[Item], embedder: Any, cache_dir: Path, tag: str) -> list[Embedded]:
    sentences = [evidence_sentences(i.passages) for i in items]
    key = hashlib.sha256(
        json.dumps([embedder.name, [[i.question, s] for i, s in zip(items, sentences)]]).encode()
    ).hexdigest()[:16]
    path = cache_dir / "verdict" / f"{tag}-{key}.npz"
    if path.exists():
        stored = np.load(path)
        questions, flat = stored["questions"], stored["sentences"]
    else:
        start = time.perf_counter()
        questions = embedder.encode_queries([i.question for i in items])
        flat = embedder.encode_documents([s for group in sentences for s in group])
        print(
            f"  embedded {len(items)} questions, {len(flat)} sentences in {time.perf_counter() - start:.0f} s"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, questions=questions, sentences=flat)
    out, offset = [], 0
    for item, group, q in zip(items, sentences, questions):
        vectors = flat[offset : offset + len(group)]
        offset += len(group)
        out.append(Embedded(item, group, cue_matrix(group), q, vectors))
    return out


def design_matrix(rows: list[Embedded], spec: FeatureSpec) -> np.ndarray:
    return np.stack(
        [
            feature_vector(r.item.question, r.sentences, r.question_vector, r.sentence_vectors, spec, r.cues)
            for r in rows
        ]
    )


# ---------------------------------------------------------------- fitting


def fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Standardise, then L2 logistic regression; returns (mean, scale, weights, intercept)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def probability(params: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    mean, scale, weights, intercept = params
    return 1.0 / (1.0 + np.exp(-(((x - mean) / scale) @ weights + intercept)))


def out_of_fold(
    x: np.ndarray, gold: np.ndarray, sources: np.ndarray, c: float, repeats: int = 2
) -> np.ndarray:
    """Out-of-fold P(yes) (mean over repeats); folds stratified by source and gold; fits skip 'maybe'."""
    from sklearn.model_selection import StratifiedKFold

    strata = np.array([f"{s}-{g}" for s, g in zip(sources, gold)])
    p = np.zeros(len(gold))
    for seed in range(repeats):
        for train, held in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, strata):
            train = train[gold[train] != "maybe"]
            p[held] += probability(fit(x[train], gold[train] == "yes", c), x[held])
    return p / repeats


# ---------------------------------------------------------------- figures


def figures(p_yes: np.ndarray, gold: np.ndarray, margin: float, majority: str = "yes") -> dict[str, Any]:
    """Forced and selective accuracy vs the majority class, on the same items ('maybe' is always wrong)."""
    forced = np.where(p_yes >= 0.5, "yes", "no")
    answered = np.abs(p_yes - 0.5) >= margin if margin > 0 else np.ones(len(gold), dtype=bool)
    n, k = len(gold), int(answered.sum())
    correct, majority_correct = forced == gold, gold == majority
    return {
        "n": n,
        "gold": dict(Counter(gold.tolist())),
        "majority_class": majority,
        "majority_accuracy": round(float(majority_correct.mean()), 4),
        "forced_accuracy": round(float(correct.mean()), 4),
        "forced_p_value_vs_majority": round(_mcnemar_one_sided(correct, majority_correct), 4),
        "coverage": round(k / n, 4),
        "answered": k,
        "answered_accuracy": round(float(correct[answered].mean()), 4) if k else None,
        "answered_majority_accuracy": round(float(majority_correct[answered].mean()), 4) if k else None,
    }


def _mcnemar_one_sided(model: np.ndarray, baseline: np.ndarray) -> float:
    """Exact one-sided McNemar p-value that the model is right more often than the baseline."""
    wins, losses = int((model & ~baseline).sum()), int((~model & baseline).sum())
    n = wins + losses
    return sum(math.comb(n, i) for i in range(wins, n + 1)) / 2**n if n else 1.0


def beats(f: dict[str, Any]) -> bool:
    selective_ok = f["answered"] > 0 and f["answered_accuracy"] > f["answered_majority_accuracy"]
    return f["forced_accuracy"] > f["majority_accuracy"] and selective_ok


def cv_score(p: np.ndarray, gold: np.ndarray, sources: np.ndarray) -> float:
    """Selection criterion: the smaller, over the two sources, of forced accuracy minus majority accuracy."""
    forced = np.where(p >= 0.5, "yes", "no")
    return min(
        float((forced[sources == s] == gold[sources == s]).mean() - (gold[sources == s] == "yes").mean())
        for s in ("pubmedqa", "bioasq")
    )


def choose_margin(p: np.ndarray, gold: np.ndarray, sources: np.ndarray) -> float:
    """The band maximising the smaller (over sources) gain of answered accuracy over the majority class on the
    answered items, with at least MIN_COVERAGE of each source answered."""
    best, best_gain = 0.0, -1.0
    for margin in MARGINS:
        gains = []
        for s in ("pubmedqa", "bioasq"):
            f = figures(p[sources == s], gold[sources == s], margin)
            if f["coverage"] < MIN_COVERAGE:
                break
            gains.append(f["answered_accuracy"] - f["answered_majority_accuracy"])
        else:
            if min(gains) > best_gain + 1e-9:
                best, best_gain = margin, min(gains)
    return best


# ---------------------------------------------------------------- commands


def train(settings: Settings, embedder: Any) -> None:
    items, dropped = training_items(settings.data_dir)
    rows = embed(items, embedder, settings.cache_dir, "train")
    gold = np.array([r.item.gold for r in rows])
    sources = np.array([r.item.source for r in rows])
    print(
        f"training: {Counter(zip(sources.tolist(), gold.tolist()))}; {dropped} BioASQ questions dropped (in 11B)"
    )
    results = []
    for name, groups in CANDIDATE_GROUPS.items():
        for top_k in TOP_KS:
            spec = FeatureSpec(groups=groups, top_k=top_k)
            x = design_matrix(rows, spec)
            for c in CS:
                score = cv_score(out_of_fold(x, gold, sources, c), gold, sources)
                results.append((score, name, top_k, c))
                print(f"  {name:26s} k={top_k} C={c:<6} min gain over majority {score:+.4f}", flush=True)
    score, name, top_k, c = max(results)
    spec = FeatureSpec(groups=CANDIDATE_GROUPS[name], top_k=top_k)
    x = design_matrix(rows, spec)
    p = out_of_fold(x, gold, sources, c)
    margin = choose_margin(p, gold, sources)
    cv = {s: {"forced": figures(p[sources == s], gold[sources == s], 0.0),
              "selective": figures(p[sources == s], gold[sources == s], margin)}
          for s in ("pubmedqa", "bioasq")}  # fmt: skip
    mean, scale, weights, intercept = fit(x[gold != "maybe"], gold[gold != "maybe"] == "yes", c)
    record = {
        "description": "Yes/no verdict model: L2 logistic regression over cue and embedding features "
        "(bioagent.agent.verdict). Give verdicts only when beats_majority_on_both is true.",
        "training": {
            "data": [
                "PubMedQA PQA-L ori_pqal.json minus test_ground_truth.json ids (500; CONTEXTS without "
                "LONG_ANSWER; 'maybe' items not fitted, counted wrong in CV)",
                f"BioASQ Task 7B-10B yes/no questions with gold snippets ({int((sources == 'bioasq').sum())}; "
                f"{dropped} verbatim duplicates of 11B questions removed)",
            ],
            "counts": {f"{s}/{g}": n for (s, g), n in sorted(Counter(zip(sources, gold)).items())},
            "selection": "stratified 5-fold CV x2 on training data; criterion: min over sources of forced "
            "accuracy minus majority accuracy; band: max min gain of answered accuracy over majority on the "
            f"answered items with coverage >= {MIN_COVERAGE} per source",
            "chosen": {"groups": name, "top_k": top_k, "C": c, "margin": margin},
            "cv": cv,
            "date": dt.date.today().isoformat(),
            "command": "python benchmarks/verdict.py --train",
        },
        "evaluation": None,
        "beats_majority_on_both": False,
    }
    model = VerdictModel(
        embedder=embedder.name, spec=spec, mean=mean, scale=scale, weights=weights, intercept=intercept,
        lower=0.5 - margin, upper=0.5 + margin, record=record,
    )  # fmt: skip
    MODEL_PATH.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"\nchosen: {name} k={top_k} C={c} band ±{margin}; CV on training data:")
    for s in cv:
        _print_figures(f"{s} (train CV)", cv[s]["forced"], cv[s]["selective"])
    print(f"wrote {MODEL_PATH}")


def evaluate(settings: Settings, embedder: Any) -> None:
    model = VerdictModel.load(MODEL_PATH)
    if embedder.name != model.embedder and not embedder.name.startswith(f"{model.embedder};"):
        model.check_embedder(embedder)  # another model altogether: refused with the reason
    rows = embed(test_items(settings.data_dir), embedder, settings.cache_dir, "test")
    margin = model.upper - 0.5
    evaluation: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "command": "python benchmarks/verdict.py --evaluate",
        "notes": "PubMedQA: reasoning-required setting (question + CONTEXTS, conclusion removed); gold 'maybe' "
        "counts as wrong for a yes/no verdict and for the majority class. BioASQ 11B: gold snippets as "
        "passages (oracle evidence). Majority class = training majority 'yes'.",
    }
    for source, key in (("pubmedqa", "pubmedqa_pqal_test"), ("bioasq", "bioasq_11b_yesno")):
        part = [r for r in rows if r.item.source == source]
        p = model.probability_yes(design_matrix(part, model.spec))
        gold = np.array([r.item.gold for r in part])
        forced, selective = figures(p, gold, 0.0), figures(p, gold, margin)
        evaluation[key] = {"forced": forced, "selective": selective, "beats_majority": beats(selective)}
        _print_figures(key, forced, selective)
    both = (
        evaluation["pubmedqa_pqal_test"]["beats_majority"]
        and evaluation["bioasq_11b_yesno"]["beats_majority"]
    )
    if embedder.name == model.embedder:
        model.record["evaluation"], model.record["beats_majority_on_both"] = evaluation, both
    else:  # the trained model on another precision of its embedder (e.g. int8 ONNX): measured, not retrained
        model.record.setdefault("other_embedders", {})[embedder.name] = {
            "evaluation": evaluation,
            "beats_majority_on_both": both,
        }
    evaluation["predict_seconds"] = _time_predict(model, embedder, rows[:: max(1, len(rows) // 40)])
    data = model.to_json()
    MODEL_PATH.write_text(json.dumps(data, indent=1) + "\n")
    print(f"predict(): median {evaluation['predict_seconds']['median']:.3f} s per question (CPU)")
    print(f"beats_majority_on_both: {both}; recorded in {MODEL_PATH}")


def _time_predict(model: VerdictModel, embedder: Any, rows: list[Embedded]) -> dict[str, float]:
    model.predict(rows[0].item.question, rows[0].item.passages, embedder)  # warm-up
    times = []
    for r in rows:
        start = time.perf_counter()
        model.predict(r.item.question, r.item.passages, embedder)
        times.append(time.perf_counter() - start)
    return {"n": len(times), "median": round(float(np.median(times)), 4), "max": round(max(times), 4)}


def _print_figures(title: str, forced: dict[str, Any], selective: dict[str, Any]) -> None:
    print(
        f"{title}: n={forced['n']} gold {forced['gold']}\n"
        f"  forced:    accuracy {forced['forced_accuracy']:.3f} vs majority '{forced['majority_class']}' "
        f"{forced['majority_accuracy']:.3f} (one-sided McNemar p={forced['forced_p_value_vs_majority']:.3f})\n"
        f"  selective: coverage {selective['coverage']:.3f} ({selective['answered']}), answered accuracy "
        f"{selective['answered_accuracy']} vs majority on answered {selective['answered_majority_accuracy']}"
        f"  -> beats majority: {'yes' if beats(selective) else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--train", action="store_true", help="CV on training data, write the model JSON.")
    mode.add_argument("--evaluate", action="store_true", help="Measure the shipped model on the test splits.")
    args = parser.parse_args()
    settings = Settings.load()
    embedder = load_embedder(settings.embedding, settings.cache_dir)
    print(f"embedder {embedder.name}")
    (train if args.train else evaluate)(settings, embedder)


if __name__ == "__main__":
    sys.exit(main())
