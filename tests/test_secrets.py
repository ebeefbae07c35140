"""Secrets stay secret: API keys, URL credentials and the chat login never reach reprs, dumps, labels or errors,
while the services still get the real values."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from live_server import Reply, serving
from pydantic import SecretStr

from bioagent.cli.chat_cmd import chat_credentials
from bioagent.errors import BioagentError, IngestError, LLMError
from bioagent.ingest import PubMedClient, UniProtClient
from bioagent.llm import check_chat_model, create_chat_model, describe_model
from bioagent.redact import redact
from bioagent.settings import LLMSettings, Settings, UniProtSettings

LLM_KEY = "sk-live-0123456789abcdef"
NCBI_KEY = "ncbi0123456789abcdef"
EMAIL = "curie@example.org"
URL_WITH_SECRETS = f"http://alice:pa55word@127.0.0.1:9/v1?api_key={LLM_KEY}&token=tok-999"


def _secret_settings() -> Settings:
    return Settings.load(
        llm={"backend": "openai", "model": "m", "api_key": LLM_KEY},
        ncbi={"api_key": NCBI_KEY, "email": EMAIL},
        chat={"auth": "alice:pa55word"},
    )


def test_settings_repr_and_dumps_hide_the_keys() -> None:
    settings = _secret_settings()
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())):
        assert LLM_KEY not in shown and NCBI_KEY not in shown and "pa55word" not in shown
    assert json.loads(settings.model_dump_json())["llm"]["api_key"] == "**********"
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == LLM_KEY


def test_keys_still_load_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOAGENT_LLM__API_KEY", LLM_KEY)
    monkeypatch.setenv("BIOAGENT_NCBI__API_KEY", NCBI_KEY)
    monkeypatch.setenv("BIOAGENT_CHAT__AUTH", "bob:secret:with:colons")
    settings = Settings.load()
    assert isinstance(settings.llm.api_key, SecretStr) and settings.llm.api_key.get_secret_value() == LLM_KEY
    assert settings.ncbi.api_key is not None and settings.ncbi.api_key.get_secret_value() == NCBI_KEY
    assert chat_credentials(None, None, settings.chat.auth) == ("bob", "secret:with:colons")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (URL_WITH_SECRETS, "http://***@127.0.0.1:9/v1?api_key=***&token=***"),
        ("https://host/x?KEY=abc&db=pubmed&email=a@b.org", "https://host/x?KEY=***&db=pubmed&email=***"),
        ('{"error":"API key invalid","api-key":"abc123"}', '{"error":"API key invalid","api-key":"***"}'),
        ("monkey=banana https://example.org/v1", "monkey=banana https://example.org/v1"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_hides_known_values_but_not_short_ones() -> None:
    assert redact(f"echo {NCBI_KEY} and x", [NCBI_KEY, "x", ""]) == "echo *** and x"


def test_model_label_and_answer_model_hide_url_credentials(tmp_path: Path) -> None:
    pytest.importorskip("langchain_openai")
    from bioagent.agent.core import Agent

    settings = Settings.load(
        index_dir=tmp_path,
        embedding={"backend": "hash"},
        llm={"backend": "openai", "model": "m", "base_url": URL_WITH_SECRETS, "api_key": LLM_KEY},
    )
    expected = "openai:m@http://***@127.0.0.1:9/v1?api_key=***&token=***"
    assert describe_model(settings.llm) == expected
    agent = Agent.from_settings(settings, literature_index=None, protein_index=None, tools=[])
    assert agent.model_name == expected
    ollama = LLMSettings(backend="ollama", model="m", base_url="http://u:p@127.0.0.1:11434")
    assert describe_model(ollama) == "ollama:m@http://***@127.0.0.1:11434"


def test_malformed_base_url_error_hides_credentials() -> None:
    pytest.importorskip("langchain_openai")
    with pytest.raises(LLMError, match="must be an http") as caught:
        create_chat_model(LLMSettings(backend="openai", model="m", base_url="ftp://alice:pa55word@host/v1"))
    assert "pa55word" not in str(caught.value) and "ftp://***@host/v1" in str(caught.value)


@contextmanager
def _echoing_endpoint() -> Iterator[tuple[str, list[str]]]:
    """A loopback 'OpenAI endpoint' that rejects every request with a 401 echoing the key it was sent."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            seen.append(key)
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def test_rejected_key_error_hides_the_echoed_key() -> None:
    pytest.importorskip("langchain_openai")
    with _echoing_endpoint() as (url, seen):
        settings = LLMSettings(backend="openai", model="m", base_url=url, api_key=LLM_KEY, max_retries=0)
        with pytest.raises(LLMError, match="rejected the API key") as caught:
            check_chat_model(create_chat_model(settings))
    assert seen == [LLM_KEY]  # the endpoint got the real key
    assert LLM_KEY not in str(caught.value) and "Incorrect API key provided: ***" in str(caught.value)


def test_unreachable_endpoint_error_hides_url_credentials() -> None:
    pytest.importorskip("langchain_openai")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://alice:pa55word@127.0.0.1:{port}/v1"
    settings = LLMSettings(backend="openai", model="m", base_url=url, max_retries=0, timeout_s=5)
    with pytest.raises(LLMError, match="connection refused") as caught:
        check_chat_model(create_chat_model(settings))
    assert "pa55word" not in str(caught.value)
    assert f"cannot reach the OpenAI-compatible endpoint at http://***@127.0.0.1:{port}/v1" in str(
        caught.value
    )


def test_chat_login_from_flag_file_or_setting(tmp_path: Path) -> None:
    auth_file = tmp_path / "auth"
    auth_file.write_text("alice:pass word:x\nignored\n")
    configured = SecretStr("carol:pw")
    assert chat_credentials("bob:pw", None, configured) == ("bob", "pw")
    assert chat_credentials(None, auth_file, configured) == ("alice", "pass word:x")
    assert chat_credentials(None, None, configured) == ("carol", "pw")
    assert chat_credentials(None, None, None) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the first line of --auth-file .* must be USER:PASSWORD"),
        ("no-colon-secret\n", "the first line of --auth-file .* must be USER:PASSWORD"),
        (None, "cannot read --auth-file .*: No such file"),
    ],
)
def test_bad_auth_file_is_a_clear_error_without_its_content(
    tmp_path: Path, content: str | None, message: str
) -> None:
    auth_file = tmp_path / "auth"
    if content is not None:
        auth_file.write_text(content)
    with pytest.raises(BioagentError, match=message) as caught:
        chat_credentials(None, auth_file, None)
    assert "no-colon-secret" not in str(caught.value)


def test_auth_flag_and_file_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BioagentError, match="--auth or --auth-file, not both"):
        chat_credentials("a:b", tmp_path / "auth", None)
    with pytest.raises(BioagentError, match="settings chat.auth / BIOAGENT_CHAT__AUTH must be USER:PASSWORD"):
        chat_credentials(None, None, SecretStr("nocolon"))


def test_ncbi_gets_the_real_key_and_errors_hide_echoes(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIOAGENT_NCBI__API_KEY", NCBI_KEY)
    monkeypatch.setenv("BIOAGENT_NCBI__EMAIL", EMAIL)
    with serving(shared_data) as server:
        settings = Settings.load(ncbi={"base_url": server.ncbi_url, "timeout_s": 2, "max_retries": 0})
        client = PubMedClient(settings.ncbi, sleep=lambda s: None)
        assert client.search("pancreatic", retmax=2)
        assert server.received("esearch")[0].params["api_key"] == NCBI_KEY
        echo = f'{{"error":"API key invalid","api-key":"{NCBI_KEY}","email":"{EMAIL}"}}'.encode()
        for status in (400, 503):
            server.script("esearch", Reply(status, echo))
            with pytest.raises(IngestError, match=f"HTTP {status}") as caught:
                client.search("pancreatic")
            assert NCBI_KEY not in str(caught.value) and EMAIL not in str(caught.value)
            assert "API key invalid" in str(caught.value)
        server.script("efetch", Reply(200, f"<html>you sent api_key={NCBI_KEY}</html>".encode()))
        with pytest.raises(IngestError, match="not PubMed XML") as caught:
            client.fetch(["1"])
        assert NCBI_KEY not in str(caught.value)
        uniprot = UniProtClient(UniProtSettings(base_url=server.uniprot_url, max_retries=0))
        server.script("uniprot-entry", Reply(400, b'{"messages": ["bad request", "token=abc"]}'))
        with pytest.raises(IngestError, match=r"HTTP 400: .*token=\*\*\*"):
            uniprot.get("P02538")
