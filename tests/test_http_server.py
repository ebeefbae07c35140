"""`bioagent serve`'s HTTP API on loopback: /v1/ask (JSON and SSE) on the real agent over tiny hash-embedder
indexes and the fake chat model, /v1/chat/completions through the `openai` client, bearer-token auth, the
question and body limits, and the bounded queue (429) with a fake agent that blocks."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_corpus import build_agent_indexes

from bioagent.agent import AgentEvent
from bioagent.cli.serve_cmd import read_token
from bioagent.errors import BioagentError
from bioagent.servers.http_server import ServeLimits, create_app
from bioagent.settings import Settings
from bioagent.types import Answer, Citation

uvicorn = pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")

QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
TOKEN = "s3cret-token"
TIMEOUT_S = 30


class Served:
    """A uvicorn server on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT_S
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(TIMEOUT_S)


@pytest.fixture(scope="module")
def real_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API over the real agent (tiny indexes, fake chat model), with a bearer token."""
    root = tmp_path_factory.mktemp("serve")
    settings = Settings.load(
        embedding={"backend": "hash"},
        llm={"backend": "fake"},
        agent={"min_relevance": 0.25, "support_cosine": 0.3, "writer": "model"},
        index_dir=root / "indexes",
        cache_dir=root / "cache",
    )
    build_agent_indexes(settings)
    with Served(create_app(settings, token=TOKEN, limits=ServeLimits(question_chars=500))) as url:
        yield url


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event name, data) of each server-sent event."""
    events, name = [], "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            payload = line[len("data: ") :]
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
            name = "message"
    return events


def test_ask_returns_the_answer_json(real_url: str) -> None:
    response = httpx.post(
        f"{real_url}/v1/ask", json={"question": QUESTION}, headers=_auth(), timeout=TIMEOUT_S
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert "Mitochondria play a role" in data["answer"] and data["question"] == QUESTION
    assert data["citations"][0]["id"] == "PMID:21645374"
    assert {"evidence", "tool_calls", "timings", "notes", "model"} <= set(data)


def test_ask_streams_steps_then_the_answer(real_url: str) -> None:
    with httpx.stream(
        "POST",
        f"{real_url}/v1/ask",
        json={"question": QUESTION, "stream": True},
        headers=_auth(),
        timeout=TIMEOUT_S,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response)
    names = [name for name, _ in events]
    assert "step" in names and names[-1] == "answer" and names.count("answer") == 1
    assert all(data["step"] for name, data in events if name == "step")
    assert "Mitochondria play a role" in events[-1][1]["answer"]


def answer_text(url: str) -> str:
    """The /v1/ask answer text to QUESTION (the agent is deterministic)."""
    response = httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, headers=_auth(), timeout=TIMEOUT_S)
    return str(response.json()["answer"])


def test_chat_completions_through_the_openai_client(real_url: str) -> None:
    client = openai.OpenAI(base_url=f"{real_url}/v1", api_key=TOKEN, timeout=TIMEOUT_S)
    assert [model.id for model in client.models.list()] == ["bioagent"]
    messages: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    reply = client.chat.completions.create(model="bioagent", messages=messages)
    content = reply.choices[0].message.content or ""
    assert content.startswith(answer_text(real_url)) and "[PMID:21645374]" in content
    assert (
        "\n\nSources:\n- [PMID:21645374]" in content
        and "https://pubmed.ncbi.nlm.nih.gov/21645374/" in content
    )
    assert reply.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model="bioagent", messages=messages, stream=True))
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed == content and chunks[-1].choices[0].finish_reason == "stop"


class RecordingAgent:
    """Answers with the conversation it was given, so a test can see what the server read from the messages."""

    def conversation_from(self, exchanges: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return list(exchanges)

    def stream(self, question: str, *, conversation: Any) -> Iterator[AgentEvent]:
        yield AgentEvent(type="answer", answer=Answer(question=question, text=json.dumps(conversation)))


def test_chat_completions_read_the_earlier_turns_as_the_conversation() -> None:
    app = create_app(agent_factory=RecordingAgent)
    first = "What does TP53 do?"
    reply = "TP53 is a tumour suppressor [UniProt:P04637].\n\nSources:\n- [UniProt:P04637] Cellular tumor antigen p53"
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": first},
        {"role": "assistant", "content": reply},
        {"role": "user", "content": "A question that got no reply"},
        {"role": "user", "content": [{"type": "text", "text": "Is it disordered?"}]},
    ]
    with Served(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", timeout=TIMEOUT_S)
        content = (
            client.chat.completions.create(model="bioagent", messages=messages).choices[0].message.content
        )
        single = client.chat.completions.create(model="bioagent", messages=messages[-1:])
    assert json.loads(content or "") == [[first, "TP53 is a tumour suppressor [UniProt:P04637]."]]
    assert json.loads(single.choices[0].message.content or "") == []


def test_a_missing_or_wrong_token_is_refused(real_url: str) -> None:
    body = {"question": QUESTION}
    assert httpx.post(f"{real_url}/v1/ask", json=body, timeout=TIMEOUT_S).status_code == 401
    wrong = httpx.post(f"{real_url}/v1/ask", json=body, headers=_auth("nope"), timeout=TIMEOUT_S)
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    client = openai.OpenAI(base_url=f"{real_url}/v1", api_key="nope", timeout=TIMEOUT_S)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_too_long_empty_and_oversized_requests_are_refused(real_url: str) -> None:
    def ask(body: Any) -> httpx.Response:
        return httpx.post(f"{real_url}/v1/ask", json=body, headers=_auth(), timeout=TIMEOUT_S)

    too_long = ask({"question": "x" * 501})
    assert too_long.status_code == 413 and "the limit is 500" in too_long.json()["detail"]
    assert ask({"question": "   "}).status_code == 400
    assert ask({"question": QUESTION, "extra": 1}).status_code == 422
    assert ask({"question": "x" * 1_100_000}).status_code == 413  # the body limit, before parsing


class BlockingAgent:
    """Answers at once, except a question containing 'hold', which waits for ``gate``."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.gate = threading.Event()

    def conversation_from(self, exchanges: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return list(exchanges)

    def stream(self, question: str, *, conversation: Any) -> Iterator[AgentEvent]:
        if "hold" in question:
            self.holding.set()
            self.gate.wait(TIMEOUT_S)
        citation = Citation(id="PMID:1", url="https://pubmed.ncbi.nlm.nih.gov/1/")
        yield AgentEvent(
            type="answer", answer=Answer(question=question, text="Done [PMID:1].", citations=[citation])
        )


def test_a_full_queue_is_refused_with_429() -> None:
    agent = BlockingAgent()
    app = create_app(agent_factory=lambda: agent, limits=ServeLimits(concurrency=1, queue_size=2))
    with Served(app) as url:
        results: list[int] = []

        def ask(question: str) -> None:
            response = httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=TIMEOUT_S)
            results.append(response.status_code)

        threads = [threading.Thread(target=ask, args=("hold",))]
        threads[0].start()
        assert agent.holding.wait(TIMEOUT_S)
        threads += [threading.Thread(target=ask, args=(f"wait {n}",)) for n in range(2)]
        for thread in threads[1:]:
            thread.start()
        time.sleep(0.5)  # both are waiting now
        refused = httpx.post(f"{url}/v1/ask", json={"question": "one too many"}, timeout=TIMEOUT_S)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "10"
        agent.gate.set()
        for thread in threads:
            thread.join(TIMEOUT_S)
        assert results == [200, 200, 200]
        again = httpx.post(f"{url}/v1/ask", json={"question": "after"}, timeout=TIMEOUT_S)
        assert again.status_code == 200 and again.json()["answer"] == "Done [PMID:1]."


def test_serve_token_options(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    assert read_token(None, token_file) == TOKEN and read_token(None, None) is None
    assert read_token(TOKEN, None) == TOKEN
    token_file.write_text("\n", encoding="utf-8")
    with pytest.raises(BioagentError, match="is empty"):
        read_token(None, token_file)
    with pytest.raises(BioagentError, match="not both"):
        read_token(TOKEN, token_file)
