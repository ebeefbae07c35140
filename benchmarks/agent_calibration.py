"""Calibrate the agent's thresholds (settings.agent) for the configured embedder on PubMedQA PQA-L *non-test* data.

    python benchmarks/agent_calibration.py [--n 200]

* relevance (``min_relevance``): cosine of a question with its own abstract (positive) vs with another
  abstract (negative), the way the retrieve step scores hits; also SciFact *train* claims vs their cited
  abstracts (``qrels_beir_official/train.tsv``), whose claims are shorter than PubMedQA questions;
* support (``support_cosine`` + ``support_overlap``): each sentence of an abstract's conclusion (LONG_ANSWER)
  against its own abstract (positive) vs another abstract (negative), scored exactly as the verifier does.

The 500 test questions of test_ground_truth.json are excluded (evaluation only).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from bioagent.agent.evidence import EvidenceSet
from bioagent.agent.verify import _SupportTable
from bioagent.citations import split_sentences
from bioagent.index import load_embedder
from bioagent.settings import Settings
from bioagent.types import Hit


def load_pairs(data_dir: Path, n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(question, abstract, conclusion) for ``n`` PQA-L questions outside the test split."""
    records = json.loads((data_dir / "pubmedqa/ori_pqal.json").read_text())
    test = set(json.loads((data_dir / "pubmedqa/test_ground_truth.json").read_text()))
    keys = sorted(k for k in records if k not in test)
    random.Random(seed).shuffle(keys)
    return [
        (records[k]["QUESTION"], " ".join(records[k]["CONTEXTS"]), records[k]["LONG_ANSWER"])
        for k in keys[:n]
    ]


def relevance(embedder, pairs: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    questions = embedder.encode_queries([q for q, _, _ in pairs])
    abstracts = embedder.encode_documents([a for _, a, _ in pairs])
    scores = questions @ abstracts.T
    negatives = np.roll(np.arange(len(pairs)), 1)
    return np.diag(scores), scores[np.arange(len(pairs)), negatives]


def scifact_pairs(data_dir: Path, n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(claim, cited abstract, '') for ``n`` SciFact train claims (train qrels only)."""
    folder = data_dir / "scifact/beir_format"
    claims = {
        q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").read_text().splitlines())
    }
    corpus = {
        d["_id"]: f"{d['title']}. {d['text']}" for d in map(json.loads, (folder / "corpus.jsonl").open())
    }
    rows = [
        line.split("\t") for line in (folder / "qrels_beir_official/train.tsv").read_text().splitlines()[1:]
    ]
    pairs = list({query: (claims[query], corpus[doc], "") for query, doc, _ in rows}.values())
    random.Random(seed).shuffle(pairs)
    return pairs[:n]


def support(
    embedder, pairs: list[tuple[str, str, str]]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    positives, negatives = [], []
    for i, (_, abstract, conclusion) in enumerate(pairs):
        other = pairs[(i + 1) % len(pairs)][1]
        evidence = EvidenceSet()
        evidence.add_hit(Hit(id="1", score=1, rank=1, text=abstract, source="pubmed"), 1.0, "literature")
        evidence.add_hit(Hit(id="2", score=1, rank=2, text=other, source="pubmed"), 1.0, "literature")
        claims = [s for s in split_sentences(conclusion) if len(s.split()) >= 4]
        table = _SupportTable(embedder, evidence, claims)
        positives += [table.score(c, "PMID:1") for c in claims]
        negatives += [table.score(c, "PMID:2") for c in claims]
    return positives, negatives


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200, help="Questions to use.")
    args = parser.parse_args()
    settings = Settings.load()
    embedder = load_embedder(settings.embedding)
    pairs = load_pairs(settings.data_dir, args.n)
    print(f"embedder {embedder.name}; {len(pairs)} PQA-L non-test questions")

    pos, neg = relevance(embedder, pairs)
    print(
        f"\nrelevance  own abstract: p5 {np.percentile(pos, 5):.3f} median {np.median(pos):.3f}; "
        f"other abstract: median {np.median(neg):.3f} p95 {np.percentile(neg, 95):.3f}"
    )
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        print(
            f"  min_relevance {threshold:.2f}: keeps {np.mean(pos >= threshold):.1%} of own abstracts, "
            f"{np.mean(neg >= threshold):.1%} of others"
        )

    claims = scifact_pairs(settings.data_dir, args.n)
    pos, neg = relevance(embedder, claims)
    print(
        f"\nSciFact train claims vs cited abstract: p5 {np.percentile(pos, 5):.3f} median {np.median(pos):.3f}; "
        f"other abstract: median {np.median(neg):.3f} p95 {np.percentile(neg, 95):.3f}"
    )
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4):
        print(
            f"  min_relevance {threshold:.2f}: keeps {np.mean(pos >= threshold):.1%} of cited abstracts, "
            f"{np.mean(neg >= threshold):.1%} of others"
        )

    sup_pos, sup_neg = support(embedder, pairs)
    print(f"\nsupport: {len(sup_pos)} conclusion sentences")
    for cosine in (0.4, 0.5, 0.6):
        for overlap in (0.3, 0.4, 0.5):
            tpr = np.mean([c >= cosine and o >= overlap for c, o in sup_pos])
            fpr = np.mean([c >= cosine and o >= overlap for c, o in sup_neg])
            print(
                f"  support_cosine {cosine:.1f} support_overlap {overlap:.1f}: accepts {tpr:.1%} against own "
                f"abstract, {fpr:.1%} against another"
            )
    current = settings.agent
    print(
        f"\ncurrent settings: min_relevance {current.min_relevance}, support_cosine {current.support_cosine}, "
        f"support_overlap {current.support_overlap}"
    )


if __name__ == "__main__":
    main()
