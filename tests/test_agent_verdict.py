"""The yes/no verdict model: question detection, cue features, JSON round trip, and the shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bioagent.agent.verdict import (
    CUE_PATTERNS,
    FeatureSpec,
    Verdict,
    VerdictModel,
    cue_matrix,
    evidence_sentences,
    feature_vector,
    is_yes_no_question,
)
from bioagent.errors import ConfigError
from bioagent.index import HashEmbedder

CUE_NAMES = [*CUE_PATTERNS, "p_significant", "p_not_significant"]
NEGATIVE = ("no", "not", "did_not", "no_significant", "no_difference", "failed", "neither", "unlikely")
POSITIVE = ("significant", "show", "p_significant")


def cue(sentence: str) -> dict[str, float]:
    return dict(zip(CUE_NAMES, cue_matrix([sentence])[0]))


def toy_model(lower: float = 0.4, upper: float = 0.6) -> VerdictModel:
    """A hand-set model over the top-2 sentences' cues: negation pushes to 'no', significance to 'yes'."""
    weights = np.array([-3.0 if n in NEGATIVE else 3.0 if n in POSITIVE else 0.0 for n in CUE_NAMES])
    zeros = np.zeros_like(weights)
    return VerdictModel(
        embedder=HashEmbedder().name,
        spec=FeatureSpec(groups=("cues_top",), top_k=2),
        mean=zeros,
        scale=np.ones_like(weights),
        weights=weights,
        intercept=0.0,
        lower=lower,
        upper=upper,
        record={"training": {"data": ["hand-set"]}, "beats_majority_on_both": True},
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Does metformin reduce mortality in sepsis?", True),
        ("Is TP53 a tumour suppressor?", True),
        ("  can statins cause myopathy?", True),
        ("Are there differences between the groups or not?", True),
        ("What does TP53 do?", False),
        ("Which drugs inhibit ABL1?", False),
        ("Is imatinib given orally or intravenously?", False),
        ("TP53 function", False),
    ],
)
def test_yes_no_questions_are_recognised(question: str, expected: bool) -> None:
    assert is_yes_no_question(question) is expected


def test_negation_and_p_value_cues() -> None:
    negative = cue("Treatment did not significantly reduce mortality (p = 0.32).")
    assert negative["did_not"] == negative["not"] == 1.0
    assert negative["p_not_significant"] == 1.0 and negative["p_significant"] == 0.0
    assert cue("There was no significant difference between groups.")["no_significant"] == 1.0
    assert cue("There was no association with outcome.")["no_difference"] == 1.0
    positive = cue("Mortality was significantly lower in treated patients (p < 0.001).")
    assert positive["significant"] == positive["p_significant"] == 1.0
    assert positive["not"] == positive["no"] == positive["no_significant"] == 0.0
    assert cue("Was not significant")["significant"] == 0.0


def test_evidence_sentences_split_and_drop_fragments() -> None:
    sentences = evidence_sentences(["Aspirin reduced pain in most patients. Yes. Side effects were rare."])
    assert sentences == ["Aspirin reduced pain in most patients.", "Side effects were rare."]
    assert evidence_sentences([]) == evidence_sentences([""]) == []


def test_feature_vector_uses_the_sentences_nearest_the_question() -> None:
    embedder = HashEmbedder()
    question = "Does aspirin reduce pain after surgery?"
    sentences = [
        "Aspirin did not reduce pain after surgery.",
        "The weather was sunny during the trial period.",
    ]
    q = embedder.encode_queries([question])[0]
    s = embedder.encode_documents(sentences)
    spec = FeatureSpec(groups=("cues_top", "similarity", "question", "product"), top_k=1)
    x = feature_vector(question, sentences, q, s, spec)
    n_cues = len(CUE_NAMES)
    assert x.shape == (n_cues + 4 + 2 + embedder.dimension,)
    top_cues = dict(zip(CUE_NAMES, x[:n_cues]))
    assert top_cues["did_not"] == 1.0  # the on-topic sentence, not the weather
    assert x[n_cues] == pytest.approx(float(s[0] @ q))
    with pytest.raises(ValueError):
        feature_vector(question, [], q, s[:0], spec)


def test_predict_gives_no_yes_and_abstains() -> None:
    model, embedder = toy_model(), HashEmbedder()
    question = "Does drug X reduce blood pressure in adults?"
    no = model.predict(
        question,
        ["Drug X did not reduce blood pressure in adults. The cohort was recruited in three hospitals."],
        embedder,
    )
    assert isinstance(no, Verdict) and no.label == "no" and no.probability > 0.9
    assert no.sentence == "Drug X did not reduce blood pressure in adults."
    yes = model.predict(
        question, ["Drug X significantly reduced blood pressure in adults (p < 0.01)."], embedder
    )
    assert yes is not None and yes.label == "yes" and yes.probability > 0.9
    assert model.predict(question, ["Drug X was given to adults with blood pressure."], embedder) is None
    assert model.predict(question, [], embedder) is None


def test_predict_refuses_another_embedder() -> None:
    with pytest.raises(ConfigError, match="trained with embedder"):
        toy_model().predict("Is it?", ["Some evidence sentence here."], HashEmbedder(dimension=64))


def test_json_round_trip_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(toy_model().to_json()))
    loaded = VerdictModel.load(path)
    assert loaded.embedder == "hash-256" and loaded.spec == FeatureSpec(("cues_top",), 2)
    assert np.array_equal(loaded.weights, toy_model().weights)
    assert loaded.beats_majority_on_both and loaded.record["training"]["data"] == ["hand-set"]

    stale = toy_model().to_json()
    stale["features"]["version"] = 0
    with pytest.raises(ConfigError, match="retrain"):
        VerdictModel.from_json(stale)
    broken = toy_model().to_json()
    del broken["model"]["weights"]
    with pytest.raises(ConfigError, match="malformed"):
        VerdictModel.from_json(broken)
    with pytest.raises(ConfigError, match="thresholds"):
        toy_model(lower=0.7, upper=0.8)


def test_shipped_model_is_complete() -> None:
    model = VerdictModel.load()
    assert model.embedder == "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384
    rng = np.random.default_rng(0)
    q = rng.normal(size=dimension).astype(np.float32)
    s = rng.normal(size=(3, dimension)).astype(np.float32)
    x = feature_vector("Is it?", ["a", "b", "c"], q, s, model.spec, cue_matrix(["a", "b", "c"]))
    assert x.shape == model.weights.shape
    assert 0.0 < model.lower <= 0.5 <= model.upper < 1.0
    record = model.record
    assert isinstance(record["beats_majority_on_both"], bool)
    evaluation = record["evaluation"]
    assert evaluation["pubmedqa_pqal_test"]["forced"]["n"] == 500
    assert evaluation["bioasq_11b_yesno"]["forced"]["n"] > 80
    both = all(evaluation[k]["beats_majority"] for k in ("pubmedqa_pqal_test", "bioasq_11b_yesno"))
    assert record["beats_majority_on_both"] is both
    assert record["training"]["cv"]["pubmedqa"]["forced"]["n"] == 500


# Non-test PQA-L questions (not in test_ground_truth.json) with unambiguous gold answers.
CLEAR_NO = "19683101"  # D-dimer is not a diagnostic parameter for acute appendicitis
CLEAR_YES = "17276801"  # elevated troponin I predicts in-hospital mortality in pulmonary embolism


@pytest.mark.slow
def test_real_minilm_verdicts_on_clear_pubmedqa_examples(shared_data: Path) -> None:
    from bioagent.index import load_embedder
    from bioagent.settings import Settings

    records = json.loads((shared_data / "pubmedqa/ori_pqal.json").read_text())
    test_ids = set(json.loads((shared_data / "pubmedqa/test_ground_truth.json").read_text()))
    settings = Settings.load()
    embedder = load_embedder(settings.embedding, settings.cache_dir)
    model = VerdictModel.load()
    for pmid, expected in ((CLEAR_NO, "no"), (CLEAR_YES, "yes")):
        assert pmid not in test_ids and records[pmid]["final_decision"] == expected
        verdict = model.predict(records[pmid]["QUESTION"], records[pmid]["CONTEXTS"], embedder)
        assert verdict is not None and verdict.label == expected, (pmid, verdict)
        assert verdict.sentence in " ".join(records[pmid]["CONTEXTS"])
