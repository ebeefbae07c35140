"""Yes/no verdicts from evidence passages: a small logistic model over embedding and cue features.

The design rule: a yes/no question gets a verdict only from a method that beats the majority class on
evaluation data. ``benchmarks/verdict.py --train`` fits this model on PubMedQA PQA-L *non-test* questions and
BioASQ 7B-10B yes/no questions and writes ``verdict_model.json`` (shipped beside this module);
``--evaluate`` measures it once on the PubMedQA test split and BioASQ 11B and records the figures, including
``beats_majority_on_both``, in the same JSON. Callers should give a verdict only when that flag is true.

    model = VerdictModel.load()
    verdict = model.predict(question, passages, embedder)   # None: not confident, or no evidence

Inference needs numpy and the embedder the model was trained with (the JSON records its name); nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bioagent.citations import split_sentences
from bioagent.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from bioagent.index.embedders import Embedder

__all__ = [
    "CUE_PATTERNS",
    "FEATURE_GROUPS",
    "FeatureSpec",
    "Verdict",
    "VerdictModel",
    "evidence_sentences",
    "feature_vector",
    "is_yes_no_question",
]

FEATURE_VERSION = 1
MODEL_FILE = "verdict_model.json"
MIN_SENTENCE_CHARS = 20
MAX_SENTENCES = 120

# Cues counted per sentence (presence, not frequency). Negation and hedges point to "no"/"maybe"; the others
# are the vocabulary of positive findings. Changing this table changes the features: bump FEATURE_VERSION.
CUE_PATTERNS: dict[str, str] = {
    "no": r"\bno\b",
    "not": r"\bnot\b|n't\b",
    "did_not": r"\b(?:did|does|do|was|were|is|are|could|can|has|have|had)\s+not\b",
    "no_significant": r"\b(?:no|not|non)[\s-]*(?:statistically\s+)?significant(?:ly)?\b",
    "no_difference": r"\bno\s+(?:\w+\s+){0,2}(?:differen|associat|correlat|relation|effect|benefit|evidence|"
    r"change|increase|improve|impact|role)\w*",
    "failed": r"\bfail(?:ed|s)?\s+to\b|\bunable\s+to\b|\bdid\s+not\s+(?:differ|improve|reduce|affect|change)\b",
    "neither": r"\bneither\b|\bnor\b|\bnone\b",
    "without": r"\bwithout\b",
    "absence": r"\b(?:absence|absent|lack|lacking|lacked)\b",
    "unlikely": r"\bunlikely\b|\bnot\s+likely\b|\binsufficient\b",
    "similar": r"\b(?:similar|comparable|equivalent|not\s+differ|independent\s+of|regardless)\b",
    "hedge": r"\b(?:may|might|could|possibly|potential(?:ly)?|perhaps)\b",
    "unclear": r"\b(?:unclear|unknown|controvers\w*|debat\w*|uncertain\w*|inconclusive|conflicting|remains?)\b",
    "significant": r"(?<!no )(?<!not )\bsignificant(?:ly)?\b",
    "associated": r"\bassociat\w*\s+with\b|\bcorrelat\w*",
    "increase": r"\b(?:increas|higher|greater|elevat|enhanc)\w*",
    "decrease": r"\b(?:decreas|lower|reduc|diminish|inhibit)\w*",
    "improve": r"\b(?:improv|benefi|effective|efficac|success|useful|safe)\w*",
    "show": r"\b(?:show|demonstrat|confirm|reveal|indicat|suggest|support)\w*",
    "predict": r"\b(?:predict|risk\s+factor|independent\s+(?:predictor|risk))\w*",
    "odds": r"\b(?:odds\s+ratio|hazard\s+ratio|relative\s+risk|OR|HR|RR)\b|\b95\s*%\s*CI\b",
}
_CUES = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in CUE_PATTERNS.items()]
_P_VALUE = re.compile(r"\bp\s*(<|<=|≤|=|>|>=|≥)\s*(0?\.\d+|1\.0+|0)\b", re.IGNORECASE)
_NEGATED_QUESTION = re.compile(r"\bnot\b|n't\b|\bno\b|\bwithout\b|\bfail", re.IGNORECASE)
_YES_NO_START = re.compile(
    r"^\s*(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|may|might|must|shall)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[a-z]+")

# Feature groups a model may use (its JSON lists the ones it was trained with, in order).
FEATURE_GROUPS = ("cues_top", "cues_all", "similarity", "question", "q_embedding", "s_embedding", "product")


@dataclass(frozen=True)
class Verdict:
    """A yes/no verdict, the model's probability of that label (>= 0.5), and the sentence that weighed most."""

    label: Literal["yes", "no"]
    probability: float
    sentence: str


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model uses: the groups (a subset of FEATURE_GROUPS) and how many top sentences."""

    groups: tuple[str, ...]
    top_k: int = 3

    def to_json(self) -> dict[str, Any]:
        return {"version": FEATURE_VERSION, "groups": list(self.groups), "top_k": self.top_k}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        if data.get("version") != FEATURE_VERSION:
            raise ConfigError(
                f"verdict model features are version {data.get('version')}, this code computes version "
                f"{FEATURE_VERSION}: retrain with `python benchmarks/verdict.py --train`"
            )
        unknown = set(data["groups"]) - set(FEATURE_GROUPS)
        if unknown:
            raise ConfigError(f"verdict model uses unknown feature groups {sorted(unknown)}")
        return cls(groups=tuple(data["groups"]), top_k=int(data["top_k"]))


def is_yes_no_question(question: str) -> bool:
    """True for a question answerable with yes or no: it opens with an auxiliary verb ("Is", "Does", "Can"...)
    and is not a choice between named alternatives ("Is it X or Y?")."""
    text = question.strip()
    if not _YES_NO_START.match(text):
        return False
    return not re.search(r"\bor\b[^?]*\?\s*$", text, re.IGNORECASE) or bool(
        re.search(r"\bor\s+not\b", text, re.IGNORECASE)
    )


def evidence_sentences(passages: Sequence[str]) -> list[str]:
    """The sentences of ``passages`` long enough to carry a finding, in order, at most MAX_SENTENCES."""
    sentences = [
        s for passage in passages for s in split_sentences(passage) if len(s.strip()) >= MIN_SENTENCE_CHARS
    ]
    return sentences[:MAX_SENTENCES]


def cue_matrix(sentences: Sequence[str]) -> NDArray[np.float64]:
    """Per sentence: presence of each cue, then significant and non-significant p-values (0/1 each)."""
    rows = np.zeros((len(sentences), len(_CUES) + 2))
    for i, sentence in enumerate(sentences):
        for j, (_, pattern) in enumerate(_CUES):
            rows[i, j] = 1.0 if pattern.search(sentence) else 0.0
        significant, non_significant = _p_values(sentence)
        rows[i, -2] = float(significant > 0)
        rows[i, -1] = float(non_significant > 0)
    return rows


def _p_values(sentence: str) -> tuple[int, int]:
    """How many p-values in ``sentence`` are below 0.05 and how many are not."""
    significant = non_significant = 0
    for op, raw in _P_VALUE.findall(sentence):
        value = float(raw)
        if op in ("<", "<=", "≤"):
            significant += value <= 0.05
            non_significant += value > 0.05
        elif op in (">", ">=", "≥"):
            non_significant += value >= 0.05
        else:
            significant += value < 0.05
            non_significant += value >= 0.05
    return significant, non_significant


def feature_vector(
    question: str,
    sentences: Sequence[str],
    question_vector: NDArray[np.float32],
    sentence_vectors: NDArray[np.float32],
    spec: FeatureSpec,
    cues: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The model's input for one question: the groups of ``spec`` concatenated in order.

    ``sentence_vectors`` are the unit vectors of ``sentences`` (document encoding), ``question_vector`` the
    question's (query encoding); ``cues`` may pass a precomputed :func:`cue_matrix` of ``sentences``.
    """
    if not sentences:
        raise ValueError("feature_vector needs at least one evidence sentence")
    cues = cue_matrix(sentences) if cues is None else cues
    similarities = sentence_vectors @ question_vector
    top = np.argsort(-similarities, kind="stable")[: spec.top_k]
    parts: list[NDArray[np.float64]] = []
    for group in spec.groups:
        if group == "cues_top":
            parts.append(cues[top].mean(axis=0))
        elif group == "cues_all":
            parts.append(cues.mean(axis=0))
        elif group == "similarity":
            parts.append(
                np.array(
                    [similarities[top[0]], similarities[top].mean(), similarities.mean(), len(sentences)]
                )
            )
            parts[-1][-1] = np.log1p(parts[-1][-1])
        elif group == "question":
            words = len(_TOKEN.findall(question.lower()))
            parts.append(np.array([float(bool(_NEGATED_QUESTION.search(question))), np.log1p(words)]))
        elif group == "q_embedding":
            parts.append(question_vector.astype(np.float64))
        elif group == "s_embedding":
            parts.append(sentence_vectors[top].mean(axis=0).astype(np.float64))
        elif group == "product":
            parts.append((question_vector * sentence_vectors[top].mean(axis=0)).astype(np.float64))
        else:
            raise ConfigError(f"unknown verdict feature group {group!r}")
    return np.concatenate(parts)


class VerdictModel:
    """Logistic regression over :func:`feature_vector`; verdicts only outside the abstention band."""

    def __init__(
        self,
        *,
        embedder: str,
        spec: FeatureSpec,
        mean: NDArray[np.float64],
        scale: NDArray[np.float64],
        weights: NDArray[np.float64],
        intercept: float,
        lower: float,
        upper: float,
        record: dict[str, Any] | None = None,
    ) -> None:
        if not mean.shape == scale.shape == weights.shape:
            raise ConfigError("verdict model: mean, scale and weights must have the same length")
        if not 0.0 <= lower <= 0.5 <= upper <= 1.0:
            raise ConfigError(
                f"verdict model thresholds must satisfy 0 <= lower <= 0.5 <= upper <= 1: {lower}, {upper}"
            )
        self.embedder = embedder
        self.spec = spec
        self.mean, self.scale, self.weights, self.intercept = mean, scale, weights, intercept
        self.lower, self.upper = lower, upper
        self.record = record or {}

    @property
    def beats_majority_on_both(self) -> bool:
        """Whether the recorded evaluation beat the majority class on both test splits (False if unmeasured)."""
        return bool(self.record.get("beats_majority_on_both", False))

    def beats_majority_with(self, embedder: str) -> bool | None:
        """Whether the model beat the majority class on both test splits with ``embedder``'s vectors: the one it
        was trained with, or another precision of it measured later (``other_embedders``); None if unmeasured."""
        if embedder == self.embedder:
            return self.beats_majority_on_both
        measured = self.record.get("other_embedders", {}).get(embedder)
        return None if measured is None else bool(measured.get("beats_majority_on_both", False))

    @classmethod
    def load(cls, path: Path | None = None) -> VerdictModel:
        """The model in ``path``, or the one shipped with the package."""
        if path is None:
            text = resources.files("bioagent.agent").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls.from_json(json.loads(text))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerdictModel:
        try:
            params = data["model"]
            return cls(
                embedder=str(data["embedder"]),
                spec=FeatureSpec.from_json(data["features"]),
                mean=np.asarray(params["mean"], dtype=np.float64),
                scale=np.asarray(params["scale"], dtype=np.float64),
                weights=np.asarray(params["weights"], dtype=np.float64),
                intercept=float(params["intercept"]),
                lower=float(data["thresholds"]["lower"]),
                upper=float(data["thresholds"]["upper"]),
                record=data,
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"verdict model JSON is missing or has a malformed field: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        """The JSON document :meth:`from_json` reads; extra keys of ``record`` (training, figures) are kept."""
        data = dict(self.record)
        data.update(
            embedder=self.embedder,
            features=self.spec.to_json(),
            thresholds={"lower": self.lower, "upper": self.upper},
            model={
                "mean": self.mean.tolist(),
                "scale": self.scale.tolist(),
                "weights": self.weights.tolist(),
                "intercept": self.intercept,
            },
        )
        return data

    def probability_yes(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(yes) for one feature vector or a matrix of them (rows)."""
        logits = ((features - self.mean) / self.scale) @ self.weights + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))

    def decide(self, probability_yes: float) -> Literal["yes", "no"] | None:
        """The label for P(yes), or None inside the abstention band (lower, upper)."""
        if probability_yes >= self.upper:
            return "yes"
        if probability_yes <= self.lower:
            return "no"
        return None

    def predict(self, question: str, passages: Sequence[str], embedder: Embedder) -> Verdict | None:
        """A verdict on ``question`` from ``passages``; None without evidence sentences or when not confident.

        Raises ConfigError when ``embedder`` is not the one the model was trained with.
        """
        self.check_embedder(embedder)
        sentences = evidence_sentences(passages)
        if not sentences:
            return None
        question_vector = embedder.encode_queries([question])[0]
        sentence_vectors = embedder.encode_documents(list(sentences))
        cues = cue_matrix(sentences)
        features = feature_vector(question, sentences, question_vector, sentence_vectors, self.spec, cues)
        p_yes = float(self.probability_yes(features))
        label = self.decide(p_yes)
        if label is None:
            return None
        sentence = self._weightiest(question, sentences, question_vector, sentence_vectors, cues, label)
        return Verdict(label=label, probability=p_yes if label == "yes" else 1.0 - p_yes, sentence=sentence)

    def check_embedder(self, embedder: Embedder) -> None:
        if self.beats_majority_with(embedder.name) is None:
            raise ConfigError(
                f"the verdict model was trained with embedder '{self.embedder}' and not measured with "
                f"'{embedder.name}': use that embedder or retrain with `python benchmarks/verdict.py --train`"
            )

    def _weightiest(
        self,
        question: str,
        sentences: Sequence[str],
        question_vector: NDArray[np.float32],
        sentence_vectors: NDArray[np.float32],
        cues: NDArray[np.float64],
        label: str,
    ) -> str:
        """Among the top sentences, the one that alone pushes the model furthest towards ``label``."""
        top = np.argsort(-(sentence_vectors @ question_vector), kind="stable")[: self.spec.top_k]
        scores = [
            float(
                self.probability_yes(
                    feature_vector(
                        question,
                        [sentences[i]],
                        question_vector,
                        sentence_vectors[i : i + 1],
                        self.spec,
                        cues[i : i + 1],
                    )
                )
            )
            for i in top
        ]
        best = int(np.argmax(scores)) if label == "yes" else int(np.argmin(scores))
        return sentences[int(top[best])]
