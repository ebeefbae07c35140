"""The screening engine shared by :func:`triage` and :class:`TriageSession`: features, prior and rankers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.criteria import Criteria
from bioagent.triage.features import build_features
from bioagent.triage.rankers import ActiveLearningRanker, Ranker, TfidfLogisticRanker, ZeroShotRanker
from bioagent.triage.records import RecordSet
from bioagent.triage.text import record_text

if TYPE_CHECKING:
    from bioagent.index.embedders import Embedder

RANK_METHODS = ("auto", "zero-shot", "active", "llm")
SIMULATE_METHODS = ("active", "zero-shot", "tfidf-lr")
# Without criteria the active learner is an elas_u4-like linear SVM: on the development reviews of
# benchmarks/triage_cohen.py (seed 0, --ablations no-criteria-logistic) it ranked better than the logistic
# regression that serves the criteria prior.
NO_CRITERIA_LEARNER = "svm"


class Screener:
    """Features and the zero-shot prior for one record set and criteria, built once; rankers on demand.

    Without criteria (simulation only) there is no prior: the active learner (:data:`NO_CRITERIA_LEARNER`)
    starts from the labels alone.
    """

    def __init__(
        self,
        records: RecordSet,
        criteria: Criteria | None,
        embedder: Embedder | None = None,
        cache_dir: str | Path | None = None,
        progress: bool = False,
    ) -> None:
        self.records = records
        self.criteria = criteria
        self.index = {doc.id: n for n, doc in enumerate(records.records)}
        vocabulary = [criteria.topic, *criteria.inclusion, *criteria.exclusion] if criteria else []
        self.features = build_features(
            [record_text(doc) for doc in records.records], embedder, cache_dir, vocabulary, progress=progress
        )
        self.zero_shot = ZeroShotRanker(self.features, criteria) if criteria else None

    def label_arrays(self, labels: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Record indices and 0/1 labels, in a stable order; ids not in the records raise a counted error."""
        unknown = [rid for rid in labels if rid not in self.index]
        if unknown:
            raise BioagentError(
                f"{len(unknown)} of {len(labels)} labelled ids do not match any record "
                f"(first: {', '.join(map(str, unknown[:5]))})"
            )
        ids = sorted(labels, key=self.index.__getitem__)
        return np.array([self.index[i] for i in ids], dtype=int), np.array(
            [int(labels[i]) for i in ids], dtype=int
        )

    def ranker(
        self,
        method: str,
        labels: Mapping[str, int] | None = None,
        seed: int = 0,
        **options: Any,
    ) -> Ranker:
        """The ranker for ``method``; ``auto`` learns from labels once both classes are present.
        ``options`` go to :class:`ActiveLearningRanker` (e.g. ``prior_weight=0`` drops the criteria prior)."""
        has_both = labels is not None and 0 < sum(labels.values()) < len(labels)
        if method in ("auto", "llm"):
            method = "active" if has_both else "zero-shot"
        if method == "zero-shot":
            if self.zero_shot is None:
                raise BioagentError("the zero-shot method needs criteria (--criteria)")
            return self.zero_shot
        if method == "active":
            prior = self.zero_shot.prior if self.zero_shot else None
            options.setdefault("learner", "logistic" if self.zero_shot else NO_CRITERIA_LEARNER)
            return ActiveLearningRanker(self.features, prior=prior, seed=seed, **options)
        if method == "tfidf-lr":
            return TfidfLogisticRanker(self.features, seed=seed)
        raise BioagentError(
            f"unknown method '{method}' (choose from {', '.join(RANK_METHODS + ('tfidf-lr',))})"
        )
