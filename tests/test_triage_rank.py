"""Ranking methods, criterion checks (similarity and a scripted LLM), decisions, duplicates, sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bioagent.errors import BioagentError
from bioagent.index.embedders import HashEmbedder
from bioagent.llm import ScriptedChatModel
from bioagent.triage import TriageSession, load_criteria, load_records, triage
from bioagent.triage.checks import LLMChecker, decide, find_sentence, parse_answers
from bioagent.triage.engine import Screener
from bioagent.triage.rankers import ActiveLearningRanker, TfidfLogisticRanker, ZeroShotRanker
from bioagent.types import Document

FIXTURES = Path(__file__).parent / "fixtures" / "triage"
RELEVANT = {"1", "2", "3", "7", "8", "11"}


@pytest.fixture()
def records():
    return load_records(FIXTURES / "records.csv")


@pytest.fixture()
def criteria():
    return load_criteria(FIXTURES / "criteria.yaml")


def _top(decisions, k):
    return [d.record_id for d in decisions[:k]]


def test_zero_shot_puts_on_topic_records_first(records, criteria) -> None:
    decisions = triage(records, criteria, embedder=HashEmbedder(64), method="zero-shot")
    assert len(decisions) == len(records)  # one row per input record
    assert [d.rank for d in decisions] == list(range(1, len(records) + 1))
    assert set(_top(decisions, 4)) <= RELEVANT
    assert all(d.model.startswith("zero-shot") for d in decisions if d.record_id != "9")


def test_zero_shot_without_embedder_is_lexical(records, criteria) -> None:
    decisions = triage(records, criteria, dense=False)
    assert set(_top(decisions, 3)) <= RELEVANT
    assert "similarity" in decisions[0].model and "hash" not in decisions[0].model


def test_zero_shot_scores_empty_records_neutral_and_ignores_exclusions(records, criteria) -> None:
    screener = Screener(records, criteria, HashEmbedder(64))
    prior = screener.zero_shot.prior
    empty = screener.index["9"]
    assert prior[empty] == 0.0  # nothing to judge: the middle of the scale, not the bottom
    assert prior.min() < 0 < prior.max()
    without_exclusions = criteria.model_copy(update={"exclusion": []})
    assert np.allclose(ZeroShotRanker(screener.features, without_exclusions).prior, prior)


def test_every_check_quotes_a_sentence_of_the_record(records, criteria) -> None:
    decisions = triage(records, criteria, embedder=HashEmbedder(64))
    by_id = {d.record_id: d for d in decisions}
    carvedilol = by_id["1"]
    assert len(carvedilol.checks) == 3  # two inclusion criteria, one exclusion
    doc = records.get("1")
    for check in carvedilol.checks:
        assert check.evidence and (check.evidence in doc.text or check.evidence == doc.title)
    assert {c.kind for c in carvedilol.checks} == {"inclusion", "exclusion"}


def test_duplicates_are_screened_once_and_follow_their_original(records, criteria) -> None:
    decisions = triage(records, criteria, embedder=HashEmbedder(64))
    ranks = {d.record_id: d.rank for d in decisions}
    by_id = {d.record_id: d for d in decisions}
    for dup in ("7", "8"):
        assert by_id[dup].duplicate_of == "1"
        assert by_id[dup].decision == by_id["1"].decision and by_id[dup].score == by_id["1"].score
        assert ranks[dup] > ranks["1"]


def test_empty_record_is_kept_as_unsure(records, criteria) -> None:
    empty = next(d for d in triage(records, criteria, dense=False) if d.record_id == "9")
    assert empty.decision == "unsure" and empty.model == "none" and empty.checks == []


def test_active_learning_uses_labels_and_decides_by_probability(records, criteria) -> None:
    labels = {"1": 1, "2": 1, "5": 0, "6": 0, "12": 0}
    decisions = triage(records, criteria, labels=labels, embedder=HashEmbedder(64), method="active")
    by_id = {d.record_id: d for d in decisions}
    assert by_id["1"].model == "label" and by_id["1"].decision == "include"
    assert by_id["5"].decision == "exclude"
    assert by_id["3"].model.startswith("active")
    unlabelled = [d.record_id for d in decisions if d.record_id not in labels and not d.duplicate_of]
    assert unlabelled[0] in RELEVANT  # best unlabelled record is relevant
    assert by_id["3"].decision == "include"


def test_seed_records_from_criteria_count_as_labels(records, criteria) -> None:
    seeded = criteria.model_copy(update={"seed_includes": ["3"], "seed_excludes": ["6"]})
    by_id = {d.record_id: d for d in triage(records, seeded, dense=False)}
    assert by_id["3"].model == "label" and by_id["6"].decision == "exclude"
    bad = criteria.model_copy(update={"seed_includes": ["nope"]})
    with pytest.raises(BioagentError, match="1 of 1 labelled ids do not match"):
        triage(records, bad, dense=False)


def test_rankers_share_one_interface(records, criteria) -> None:
    screener = Screener(records, criteria, HashEmbedder(32))
    labeled, y = screener.label_arrays({"1": 1, "12": 0, "6": 0})
    for ranker in (
        screener.zero_shot,
        ActiveLearningRanker(screener.features, prior=screener.zero_shot.prior),
        TfidfLogisticRanker(screener.features),
    ):
        scores = ranker.score(labeled, y)
        assert scores.shape == (len(records),) and np.isfinite(scores).all()
    assert isinstance(screener.zero_shot, ZeroShotRanker)


def test_unknown_method_is_an_error(records, criteria) -> None:
    with pytest.raises(BioagentError, match="unknown method 'magic'"):
        triage(records, criteria, method="magic", dense=False)


# --- LLM criterion checks with a scripted chat model -------------------------------------------------------

DOC = Document(
    id="x",
    title="Carvedilol in heart failure",
    text="We randomised 100 patients with chronic heart failure to carvedilol or placebo. Mortality fell.",
)


def test_llm_checks_verify_quotes(criteria) -> None:
    reply = (
        'C1: yes "We randomised 100 patients with chronic heart failure to carvedilol or placebo"\n'
        'C2: yes "patients with chronic heart failure"\n'
        "C3: no\n"
    )
    checker = LLMChecker(criteria, ScriptedChatModel(responses=[reply]), "llm:test")
    screening = checker.check([DOC])[0]
    assert screening.decision == "include"
    assert [c.met for c in screening.checks] == [True, True, False]
    assert screening.checks[0].evidence.startswith("We randomised 100 patients")
    assert "C1: [inclusion]" in checker.prompt(DOC)


def test_llm_invented_quote_is_unclear_not_include(criteria) -> None:
    reply = 'C1: yes "a double-blind trial of 5000 adults"\nC2: yes "chronic heart failure"\nC3: no'
    screening = LLMChecker(criteria, ScriptedChatModel(responses=[reply])).check([DOC])[0]
    assert screening.checks[0].score == 0.5 and not screening.checks[0].met
    assert screening.decision == "unsure"


def test_llm_exclusion_met_excludes(criteria) -> None:
    reply = 'C1: unclear\nC2: yes "chronic heart failure"\nC3: yes "Mortality fell"'
    assert LLMChecker(criteria, ScriptedChatModel(responses=[reply])).check([DOC])[0].decision == "exclude"


def test_triage_with_llm_reranks_and_names_the_model(records, criteria) -> None:
    yes = 'C1: yes "patients with chronic heart failure"\nC2: yes "chronic heart failure"\nC3: no'
    chat = ScriptedChatModel(responses=[yes], cycle=True)
    decisions = triage(records, criteria, embedder=HashEmbedder(64), chat_model=chat, method="llm")
    assert len(decisions) == len(records)
    llm_rows = [d for d in decisions if d.model.startswith("llm:")]
    # 7 and 8 are duplicates (they copy 1's verdict) and 9 is empty: 9 calls for 12 rows
    assert len(chat.calls) == 9 and len(llm_rows) == 11
    base = {
        d.record_id: d.score for d in triage(records, criteria, embedder=HashEmbedder(64), method="zero-shot")
    }
    # verified "yes" on both inclusion criteria moves a record up by LLM_WEIGHT; unverifiable quotes do not
    moved = {d.record_id for d in llm_rows if d.score == pytest.approx(base[d.record_id] + 2.0, abs=1e-3)}
    assert moved == {"1", "2", "3", "7", "8"}  # records containing the quoted phrase (7 and 8 copy 1)
    assert {d.record_id: d.decision for d in llm_rows}["1"] == "include"


def test_llm_limit_checks_only_the_best_ranked(records, criteria) -> None:
    chat = ScriptedChatModel(responses=["C1: no\nC2: no\nC3: no"], cycle=True)
    decisions = triage(records, criteria, dense=False, chat_model=chat, method="llm", llm_limit=0)
    assert chat.calls == [] and not any(d.model.startswith("llm:") for d in decisions)


def test_answer_parsing_and_decision_rules(criteria) -> None:
    answers = parse_answers('C1: Yes “quoted text here”\nnoise\nC2 - no\nC3) unclear "x"')
    assert answers == {1: ("yes", "quoted text here"), 2: ("no", ""), 3: ("unclear", "x")}
    assert find_sentence("chronic heart failure to carvedilol", [DOC.title, DOC.text]) == DOC.text
    assert find_sentence("not there at all", [DOC.text]) == ""
    assert decide([]) == "unsure"


# --- human in the loop -------------------------------------------------------------------------------------


def test_session_learns_from_labels(records, criteria, tmp_path: Path) -> None:
    session = TriageSession(records, criteria, embedder=HashEmbedder(64))
    first = session.next(3)
    assert len(first) == 3 and not {d.id for d in first} & {"7", "8", "9"}  # no duplicates or empty records
    session.label("1", "include")
    session.label("12", 0)
    session.label("6", "exclude")
    batch = [d.id for d in session.next(2)]
    assert "1" not in batch and set(batch) <= RELEVANT
    assert session.progress == {"labelled": 3, "includes": 1, "remaining": 9}
    decisions = session.decisions()
    assert len(decisions) == len(records) and {d.record_id for d in decisions if d.model == "label"} >= {
        "1",
        "6",
    }
    saved = session.save_labels(tmp_path / "labels.csv")
    again = TriageSession(records, criteria)
    assert again.load_labels(saved) == 3
    with pytest.raises(BioagentError, match="must be include or exclude"):
        session.label("2", "perhaps")
    with pytest.raises(BioagentError, match="no record with id"):
        session.label("nope", "include")


def test_session_decision_log_resumes_and_outranks_loaded_files(records, criteria, tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    session = TriageSession(records, criteria, decision_log=log, labels={"6": 1})
    session.label("1", "include")
    assert log.read_text(encoding="utf-8") == '{"record_id": "1", "label": "include"}\n'  # on disk at once
    session.label("1", "exclude")  # changed her mind: the later line wins
    session.label("12", True)
    resumed = TriageSession(records, criteria, decision_log=log)
    assert {rid: resumed.labels[rid] for rid in ("1", "12")} == {
        "1": 0,
        "12": 1,
    } and "6" not in resumed.labels
    pilot = tmp_path / "pilot.csv"
    pilot.write_text("record_id,label\n1,include\n2,include\n", encoding="utf-8")
    assert resumed.load_labels(pilot) == 2
    assert (resumed.labels["1"], resumed.labels["2"]) == (0, 1)  # the log's later decision is kept
    assert resumed.load_labels(log) == 2  # a decision log reads like a labels file
    with pytest.raises(BioagentError, match="do not match any record"):
        resumed.load_labels(_write(tmp_path / "other.jsonl", '{"record_id": "nope", "label": "include"}\n'))
    with pytest.raises(BioagentError, match="line 1: damaged entry"):
        TriageSession(records, criteria, decision_log=_write(log, '{"record_id": "1"}\n{"record_id": "2"'))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_records_without_text_sit_at_the_prior_odds(records, criteria) -> None:
    screener = Screener(records, criteria)
    labeled, y = screener.label_arrays({"1": 1, "2": 1, "5": 0, "6": 0})
    ranker = ActiveLearningRanker(screener.features, prior=screener.zero_shot.prior)
    ranker.score(labeled, y)
    empty = screener.index["9"]
    assert ranker.decision_values is not None and ranker.decision_values[empty] == 0.0
    raw = ActiveLearningRanker(screener.features, neutral_empty=False)
    raw.score(labeled, y)
    assert raw.decision_values is not None and raw.decision_values[empty] != 0.0  # the intercept
