"""Rankers: one interface, ``score(labeled, y) -> one score per record`` (higher = screen earlier).

- :class:`ZeroShotRanker` compares each record with the topic and inclusion criteria (dense + lexical
  similarity); needs no labels.
- :class:`ActiveLearningRanker` (ours) retrains a class-balanced logistic regression (or, with
  ``learner="svm"``, an ASReview elas_u4-like linear SVM) on TF-IDF features on the labels so far, blended with
  the zero-shot prior while few includes are known.
- :class:`TfidfLogisticRanker` is the reference baseline (TF-IDF 1-2 grams + logistic regression, certainty
  sampling), as ASReview runs it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from bioagent.errors import BioagentError
from bioagent.triage.criteria import Criteria
from bioagent.triage.features import Features, sklearn_module, tfidf_vectorizer

METHODS = ("zero-shot", "active", "tfidf-lr")
LEARNERS = ("logistic", "svm")


@runtime_checkable
class Ranker(Protocol):
    """Scores every record given the labels known so far (indices into the record list, and 0/1 labels)."""

    name: str

    def score(self, labeled: np.ndarray, y: np.ndarray) -> np.ndarray: ...


def standardise(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit spread (a constant vector becomes zeros)."""
    values = np.asarray(values, dtype=np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def _has_both_classes(y: np.ndarray) -> bool:
    return bool(len(y)) and 0 < int(np.sum(y)) < len(y)


def logistic_scores(x: Any, labeled: np.ndarray, y: np.ndarray, c: float, seed: int = 0) -> np.ndarray:
    """Decision values of a class-balanced L2 logistic regression trained on the labelled rows of ``x``.

    Only the columns that occur in labelled rows are passed to the solver: an L2-regularised model puts zero
    weight on the others anyway, so the result is the same. With more features than rows liblinear's dual
    solver finds the same optimum hundreds of times faster than the primal one.
    """
    linear_model = sklearn_module("sklearn.linear_model")
    train = x[labeled]
    if hasattr(train, "tocsc"):
        columns = np.flatnonzero(np.diff(train.tocsc().indptr))
        train, x = train[:, columns], x[:, columns]
    model = linear_model.LogisticRegression(
        C=c,
        class_weight="balanced",
        solver="liblinear",
        dual=train.shape[1] > train.shape[0],
        max_iter=1000,
        random_state=seed,
    )
    model.fit(train, y)
    return np.asarray(model.decision_function(x), dtype=np.float64)


def svm_scores(x: Any, labeled: np.ndarray, y: np.ndarray, c: float = 0.11, ratio: float = 9.8) -> np.ndarray:
    """Decision values of a linear SVM (squared hinge) as ASReview's elas_u4 trains it: includes weigh 1,
    excludes n_includes / (``ratio`` * n_excludes), the weights rescaled to sum to the number of rows."""
    svm = sklearn_module("sklearn.svm")
    positives, negatives = int(np.sum(y)), int(np.sum(y == 0))
    weights = np.where(y == 1, 1.0, positives / (ratio * negatives))
    model = svm.LinearSVC(C=c, loss="squared_hinge", max_iter=5000)
    model.fit(x[labeled], y, sample_weight=weights * (len(y) / weights.sum()))
    return np.asarray(model.decision_function(x), dtype=np.float64)


class ZeroShotRanker:
    """Similarity of each record to the topic and inclusion criteria (dense + lexical, each standardised).

    Records without title or abstract get 0, the middle of the scale: nothing in them says on- or off-topic.
    Exclusion criteria do not lower the score: they read like the topic ("healthy-volunteer pharmacokinetic
    study of these drugs"), so on the 14 Cohen 2006 reviews subtracting similarity to them ranked includes lower
    (``python benchmarks/triage_cohen.py --zero-shot``). They still decide the criterion checks shown with each
    record.
    """

    def __init__(self, features: Features, criteria: Criteria, dense_weight: float = 0.5) -> None:
        self.name = "zero-shot"
        self.prior = np.where(features.empty, 0.0, self.similarity(features, criteria, dense_weight))

    @staticmethod
    def similarity(features: Features, criteria: Criteria, dense_weight: float) -> np.ndarray:
        """Standardised similarity to the topic and inclusion criteria, empty records included as they are."""
        query = features.vectorizer.transform([criteria.query_text()])
        lexical = standardise(np.asarray((features.tfidf @ query.T).todense()).ravel())
        if features.dense is None or features.embedder is None:
            return lexical
        dense = features.dense @ features.embedder.encode_queries([criteria.query_text()])[0]
        return dense_weight * standardise(dense) + (1 - dense_weight) * lexical

    def score(self, labeled: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.prior


class TfidfLogisticRanker:
    """Reference baseline: class-balanced logistic regression on TF-IDF (1-2 grams); certainty sampling."""

    def __init__(self, features: Features, c: float = 1.0, seed: int = 0) -> None:
        self.name = "tfidf-lr"
        # Its own TF-IDF, fitted on the records alone, so that nothing from the criteria reaches the baseline.
        self.x = tfidf_vectorizer().fit_transform(features.texts).tocsr()
        self.c = c
        self.seed = seed

    def score(self, labeled: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not _has_both_classes(y):
            return np.zeros(self.x.shape[0])
        return logistic_scores(self.x, labeled, y, self.c, self.seed)


class ActiveLearningRanker:
    """Ours: class-balanced logistic regression on TF-IDF features, plus the criteria prior.

    Score = learned logit / its spread + w * prior, with w = ``prior_weight`` * trust / sqrt(1 + includes
    labelled): the criteria steer the first picks and fade as includes accumulate. ``trust`` is a smoothed AUC of
    the prior on the labelled records (4 pseudo-pairs at 0.75), so criteria that keep pointing at excludes lose
    their say. Records without title or abstract get logit 0, the labels' prior odds in a class-balanced model,
    instead of whatever the intercept happens to be. Settings were chosen on nine of the Cohen 2006 reviews;
    there, adding the MiniLM vectors to the learner's features ranked worse than using them in the prior only.
    """

    def __init__(
        self,
        features: Features,
        prior: np.ndarray | None = None,
        c: float = 10.0,
        prior_weight: float = 1.5,
        seed: int = 0,
        neutral_empty: bool = True,
        learner: str = "logistic",
    ) -> None:
        if learner not in LEARNERS:
            raise BioagentError(f"unknown learner '{learner}' (choose from {', '.join(LEARNERS)})")
        self.name = "active"
        self.learner = learner
        self.x = features.tfidf
        self.empty = features.empty
        if not neutral_empty:  # ablation: empty records keep the model's own value (the intercept)
            self.empty[:] = False
        self.prior = None if prior is None else np.where(self.empty, 0.0, standardise(prior))
        self.c = c
        self.prior_weight = prior_weight
        self.seed = seed
        self.decision_values: np.ndarray | None = None  # the last model's logits, for include/exclude calls

    def score(self, labeled: np.ndarray, y: np.ndarray) -> np.ndarray:
        prior = self.prior if self.prior is not None else np.zeros(self.x.shape[0])
        if not _has_both_classes(y):
            self.decision_values = None
            return prior
        if self.learner == "svm":
            values = svm_scores(self.x, labeled, y)
        else:
            values = logistic_scores(self.x, labeled, y, self.c, self.seed)
        self.decision_values = np.where(self.empty, 0.0, values)
        scale = values[~self.empty].std() if (~self.empty).any() else 1.0
        weight = self.prior_weight * prior_trust(prior[labeled], y) / np.sqrt(1 + int(np.sum(y)))
        return self.decision_values / (scale or 1.0) + weight * prior

    def probabilities(self) -> np.ndarray | None:
        """Include probabilities from the last fit (class-balanced, so 0.5 favours recall), if any."""
        return None if self.decision_values is None else 1.0 / (1.0 + np.exp(-self.decision_values))


def prior_trust(prior: np.ndarray, y: np.ndarray, pseudo_pairs: float = 4.0, belief: float = 0.75) -> float:
    """Twice the smoothed AUC of the prior on the labelled records: 1.5 with no evidence, up to 2 when it ranks
    every include above every exclude, toward 0 when it ranks them below."""
    pos, neg = prior[y == 1], prior[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(2 * (wins + belief * pseudo_pairs) / (pos.size * neg.size + pseudo_pairs))
