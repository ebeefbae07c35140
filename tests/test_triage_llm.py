"""`--method llm`: the logic with scripted chat models, the protocol against a real OpenAI-compatible server.

The server is ``python -m llama_cpp.server`` with the packaged SmolLM2-135M on loopback (tests/llama_server.py).
The model is far too small to judge criteria; these tests check the protocol (requests go out, replies are parsed,
quotes are verified, every record gets a decision), not the quality of its judgements.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_server import ALIAS, llama_server

from bioagent.errors import BioagentError
from bioagent.llm import ScriptedChatModel
from bioagent.settings import LLMSettings, Settings
from bioagent.triage import load_criteria, load_records, triage
from bioagent.triage.text import record_sentences

FIXTURES = Path(__file__).parent / "fixtures" / "triage"


def _inputs():
    return load_records(FIXTURES / "records.csv"), load_criteria(FIXTURES / "criteria.yaml")


def test_a_chat_model_failure_is_a_one_line_error_naming_the_record() -> None:
    records, criteria = _inputs()
    chat = ScriptedChatModel(responses=["C1: yes"])  # one reply, then the script runs out and it raises
    with pytest.raises(BioagentError, match=r"llm:ScriptedChatModel failed on record \S+: ") as failure:
        triage(records, criteria, dense=False, chat_model=chat, method="llm")
    assert len(chat.calls) == 1 and "\n" not in str(failure.value)


def test_replies_in_another_layout_count_as_unclear_not_as_include() -> None:
    records, criteria = _inputs()
    chat = ScriptedChatModel(responses=["Sure! All criteria look fine to me."], cycle=True)
    decisions = triage(records, criteria, dense=False, chat_model=chat, method="llm", llm_limit=3)
    checked = [d for d in decisions if d.model.startswith("llm:")]
    assert len([d for d in checked if not d.duplicate_of]) == 3 == len(chat.calls)  # exactly --llm-limit
    assert all(d.decision == "unsure" for d in checked)
    assert all(not c.met and c.score == 0.5 for d in checked for c in d.checks)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(tmp_path_factory.mktemp("llama-server-triage")) as url:
        yield url


@pytest.mark.slow
def test_llm_checks_through_a_real_openai_compatible_server(server_url: str, tmp_path: Path) -> None:
    records, criteria = _inputs()
    llm = LLMSettings(backend="openai", base_url=server_url, model=ALIAS, max_tokens=48, timeout_s=120)
    settings = Settings(llm=llm, cache_dir=tmp_path)
    decisions = triage(records, criteria, dense=False, settings=settings, method="llm", llm_limit=2)
    assert len(decisions) == len(records)
    checked = [d for d in decisions if d.model.startswith("llm:") and not d.duplicate_of]
    assert len(checked) == 2 and all(ALIAS in d.model for d in checked)  # --llm-limit 2: the two best-ranked
    n_criteria = len(criteria.inclusion or [criteria.topic]) + len(criteria.exclusion)
    for decision in checked:
        assert len(decision.checks) == n_criteria
        doc = records.get(decision.record_id)
        sentences = record_sentences(doc)
        # whatever the tiny model says, evidence shown to the user is a sentence of the record itself
        for check in decision.checks:
            assert not check.evidence or check.evidence in sentences or check.evidence in doc.text
