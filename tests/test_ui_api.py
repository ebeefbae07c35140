"""The chat's API for programs, on a live app on loopback driven with `gradio_client`: the documented `answer`
endpoint returns the answer as JSON, bad calls are refused, and the page's own events are not on the API page."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_session import MITO_QUESTION, MITO_REPLY, build_ui_indexes, ui_settings

from bioagent.ui.session import SharedResources

pytestmark = pytest.mark.slow  # imports Gradio and serves it (a few seconds)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A client of the chat over the tiny indexes, with a scripted model (one reply per question)."""
    from gradio_client import Client

    from bioagent.ui.app import launch

    root: Path = tmp_path_factory.mktemp("ui-api")
    settings = ui_settings(root, [MITO_REPLY] * 3)
    build_ui_indexes(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    demo = launch(resources=SharedResources(settings), port=port, block=False)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    finally:
        demo.close()


def test_answer_returns_the_answer_as_json(client: Any) -> None:
    data = client.predict(MITO_QUESTION, k=3, api_name="/answer")
    assert set(data) == {"question", "answer", "citations", "tool_calls", "notes", "model", "abstained"}
    assert data["question"] == MITO_QUESTION and "[PMID:21645374]" in data["answer"]
    assert data["citations"][0]["id"] == "PMID:21645374"
    assert data["citations"][0]["url"] == "https://pubmed.ncbi.nlm.nih.gov/21645374/"
    assert data["citations"][0]["snippet"] and data["model"] == "ScriptedChatModel"
    assert all(set(call) == {"name", "arguments", "ok", "error", "seconds"} for call in data["tool_calls"])


def test_bad_calls_are_refused_with_a_message(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="the question is empty"):
        client.predict("   ", api_name="/answer")
    with pytest.raises(AppError, match="the limit is 20,000"):
        client.predict("x" * 20_001, api_name="/answer")
    with pytest.raises(AppError, match="backend must be one of"):
        client.predict(MITO_QUESTION, backend="nonesuch", api_name="/answer")
    with pytest.raises(AppError, match="k must be between 1 and 20"):
        client.predict(MITO_QUESTION, k=99, api_name="/answer")


def test_only_the_answer_endpoint_is_on_the_api_page(client: Any) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/answer"] and api["unnamed_endpoints"] == {}
    parameters = {p["parameter_name"]: p for p in api["named_endpoints"]["/answer"]["parameters"]}
    assert list(parameters) == ["question", "backend", "k", "live"]
    assert not parameters["question"]["parameter_has_default"] and parameters["k"]["parameter_has_default"]
