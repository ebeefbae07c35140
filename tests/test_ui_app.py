"""The chat's event handlers without a browser: a streamed turn fills the chat and the side panel, exports are
written per session, errors and empty questions become chat messages, `bioagent chat` options."""

from __future__ import annotations

import json
import stat
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from test_ui_session import MITO_QUESTION, MITO_REPLY, build_ui_indexes, ui_settings

from bioagent.cli.chat_cmd import parse_auth
from bioagent.cli.common import is_loopback
from bioagent.errors import BioagentError
from bioagent.ui.session import ChatSession, SharedResources

pytestmark = pytest.mark.slow  # imports Gradio (a few seconds)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ui-app")
    build_ui_indexes(ui_settings(path, []))
    return path


@pytest.fixture()
def app(root: Path) -> Any:
    """The chat over the tiny indexes with a scripted model that has one reply."""
    from bioagent.ui.app import ChatApp

    chat = ChatApp(SharedResources(ui_settings(root, [MITO_REPLY])))
    chat.build()
    return chat


def run(app: Any, question: str, session: ChatSession) -> list[dict[Any, Any]]:
    choice = app.resources.default_choice()
    return list(app.ask(question, [], session, choice.backend, list(choice.indexes), choice.k))


def by_name(app: Any, updates: list[dict[Any, Any]]) -> dict[str, Any]:
    """The last value each named component received."""
    names = {id(component): name for name, component in app.c.items()}
    merged: dict[str, Any] = {}
    for update in updates:
        merged.update({names[id(component)]: value for component, value in update.items()})
    return merged


def test_a_turn_fills_the_chat_and_the_side_panel(app: Any) -> None:
    session = ChatSession()
    updates = run(app, MITO_QUESTION, session)
    shown = by_name(app, updates)
    user, steps, reply = shown["chatbot"]
    assert user["role"] == "user" and steps["metadata"]["status"] == "done"
    assert "**Checked the citations**" in steps["content"]
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/21645374/"' in reply["content"]
    assert shown["message"] == "" and "PMID:21645374" in shown["evidence"]
    assert shown["picker"]["choices"] == ["#1 " + MITO_QUESTION[:60] + "…"]
    exported = Path(shown["export_json"]["value"])
    assert exported.parent == app.exports.path / session.id  # the server's private folder, one per session
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert json.loads(exported.read_text())["question"] == MITO_QUESTION
    assert shown["protein_box"]["visible"] is False and shown["drug_box"]["visible"] is False


def test_errors_are_chat_messages_and_an_empty_question_a_notice_under_the_box(app: Any) -> None:
    session = ChatSession()
    empty = by_name(app, run(app, "   ", session))
    assert empty == {"notice": "⚠ Please type a question first."}  # the chat history is left as it is
    run(app, MITO_QUESTION, session)
    failed = by_name(app, run(app, MITO_QUESTION, session))  # the one scripted reply is used up
    assert (
        failed["chatbot"][-1]["content"].startswith("⚠ ")
        and "no reply left" in failed["chatbot"][-1]["content"]
    )
    assert len(session.answers) == 1


def test_too_long_and_too_many_questions_are_refused_in_the_chat(app: Any) -> None:
    session = ChatSession()
    limits = app.limits
    too_long = by_name(app, run(app, "x" * (limits.question_chars + 1), session))
    assert "the limit is 20,000" in too_long["notice"] and session.asked == deque()
    for _ in range(limits.questions_per_minute):
        assert session.admit(limits.questions_per_minute) == 0.0
    refused = by_name(app, run(app, MITO_QUESTION, session))
    assert refused["notice"].startswith("⚠ Too many questions: at most 10 a minute in one conversation.")
    assert "chatbot" not in refused and session.answers == []  # the agent was not asked


def test_new_conversation_resets_everything_the_conversation_owns(app: Any) -> None:
    session = ChatSession()
    run(app, MITO_QUESTION, session)
    shown = by_name(app, [app.new_conversation(session)])
    assert shown["chatbot"] == [] and session.conversation.turns == [] and session.answers == []
    assert shown["picker"]["choices"] == [] and shown["picker"]["value"] is None
    assert shown["export_md"]["visible"] is False and shown["send"]["interactive"] is True
    assert shown["protein_box"]["visible"] is False and shown["drug_box"]["visible"] is False
    panel = ("summary", "tools", "verdicts", "reasoning", "notice", "visual_notes", "structure")
    assert all(shown[name] == "" for name in panel) and "Ask a question" in shown["evidence"]
    assert set(shown) >= set(app._output_names()) - {"message"}  # what is typed in the box stays


def test_a_turn_cleared_while_it_runs_shows_and_keeps_nothing(app: Any) -> None:
    session = ChatSession()
    choice = app.resources.default_choice()
    turn = app.ask(MITO_QUESTION, [], session, choice.backend, list(choice.indexes), choice.k)
    next(turn)  # the question is in the chat, the agent is running
    app.new_conversation(session)
    assert list(turn) == [] and session.answers == []  # nothing more is shown, nothing is kept
    import gradio as gr

    assert app.show_answer("#1 old answer", session) == gr.skip()  # a stale pick changes nothing


def test_chat_command_options() -> None:
    assert parse_auth(None) is None
    assert parse_auth("curie:polo:nium") == ("curie", "polo:nium")
    for bad in ("curie", ":pw", "curie:"):
        with pytest.raises(BioagentError, match="USER:PASSWORD"):
            parse_auth(bad)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
