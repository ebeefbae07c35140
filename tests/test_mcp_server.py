"""The MCP server (`bioagent mcp`) through the official SDK client: in process, over stdio and over streamable
HTTP on loopback (both as subprocesses)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from agent_corpus import build_agent_indexes
from loopback import free_port
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent, TextResourceContents

from bioagent.servers.mcp_server import create_server
from bioagent.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?"
REPLY = "Yes. Mitochondria play a role in remodelling lace plant leaves during programmed cell death [1]."
AGENT = {"min_relevance": 0.25, "support_cosine": 0.3, "writer": "model"}
T = TypeVar("T")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Hash-embedder indexes of the agent test corpus and the scripted chat model."""
    root = tmp_path_factory.mktemp("mcp")
    script = root / "script.yaml"
    script.write_text(f"- '{REPLY}'\n", encoding="utf-8")
    settings = Settings.load(
        embedding={"backend": "hash"},
        index_dir=root / "indexes",
        cache_dir=root / "cache",
        llm={"backend": "fake", "model": str(script)},
        agent=AGENT,
    )
    build_agent_indexes(settings)
    return settings


def with_client(settings: Settings, use: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``use`` with an SDK client connected in process to a fresh server over ``settings``."""

    async def main() -> T:
        async with Client(create_server(settings)) as client:
            return await use(client)

    return asyncio.run(main())


def result_json(result: CallToolResult) -> Any:
    """The JSON a successful tool call returned as text."""
    assert not result.is_error, result.content
    content = result.content[0]
    assert isinstance(content, TextContent)
    return json.loads(content.text)


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    content = result.content[0]
    assert isinstance(content, TextContent)
    return content.text


def test_lists_every_tool_with_its_schema(settings: Settings) -> None:
    listed = with_client(settings, lambda client: client.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    assert {"drug_properties", "protein_properties", "literature_search", "protein_search", "ask"} <= set(
        tools
    )
    assert tools["drug_properties"].input_schema["required"] == ["smiles"]
    assert tools["drug_properties"].description
    assert set(tools["literature_search"].input_schema["properties"]) == {"query", "k"}
    assert tools["ask"].input_schema["required"] == ["question"]


def test_prediction_tool_returns_its_numbers(settings: Settings) -> None:
    result = with_client(settings, lambda client: client.call_tool("drug_properties", {"smiles": ["CCO"]}))
    molecule = result_json(result)["molecules"][0]
    assert molecule["formula"] == "C2H6O"
    assert molecule["molecular_weight"] == pytest.approx(46.07, abs=0.01)


def test_bad_input_is_a_tool_error_with_the_message(settings: Settings) -> None:
    async def calls(client: Client) -> tuple[CallToolResult, CallToolResult]:
        bad_smiles = await client.call_tool("drug_properties", {"smiles": ["C1CC"]})
        unknown_argument = await client.call_tool("protein_properties", {"sequence": "MKT", "x": 1})
        return bad_smiles, unknown_argument

    bad_smiles, unknown_argument = with_client(settings, calls)
    assert "'C1CC' is not a valid SMILES" in error_text(bad_smiles)
    assert "takes no argument(s) x" in error_text(unknown_argument)


def test_literature_search_and_index_resource(settings: Settings) -> None:
    async def calls(client: Client) -> tuple[CallToolResult, str]:
        found = await client.call_tool(
            "literature_search", {"query": "lace plant programmed cell death", "k": 2}
        )
        read = await client.read_resource("index://literature")
        content = read.contents[0]
        assert isinstance(content, TextResourceContents)
        return found, content.text

    found, manifest_text = with_client(settings, calls)
    hits = result_json(found)["hits"]
    assert len(hits) == 2 and hits[0]["id"].startswith("21645374")
    assert {"id", "title", "snippet", "score", "source", "url"} <= set(hits[0])
    manifest = json.loads(manifest_text)
    assert manifest["documents"] > 0 and manifest["chunks"] >= manifest["documents"]
    assert manifest["embedder"] and manifest["updated_at"]


def test_missing_index_is_reported_and_the_server_still_serves(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"index_dir": tmp_path / "none"})

    async def calls(client: Client) -> tuple[CallToolResult, CallToolResult]:
        with pytest.raises(MCPError, match="proteins index unavailable"):
            await client.read_resource("index://proteins")
        missing = await client.call_tool("protein_search", {"query": "TP53"})
        still_serving = await client.call_tool("protein_properties", {"sequence": "MKTAYIAK"})
        return missing, still_serving

    missing, still_serving = with_client(empty, calls)
    assert "proteins index unavailable" in error_text(missing) and "does not exist" in error_text(missing)
    assert result_json(still_serving)


def test_ask_returns_a_cited_answer(settings: Settings) -> None:
    result = with_client(settings, lambda client: client.call_tool("ask", {"question": QUESTION}))
    answer = result_json(result)
    assert answer["text"].startswith("Yes. Mitochondria")
    assert [c["id"] for c in answer["citations"]] == ["PMID:21645374"]
    assert answer["tool_calls"] == []


def test_stdio_subprocess_lists_and_calls_tools(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "bioagent.yaml"
    config.write_text(f"index_dir: {json.dumps(str(settings.index_dir))}\n", encoding="utf-8")
    env = {**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", "BIOAGENT_CACHE_DIR": str(tmp_path / "cache")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "bioagent.cli", "mcp", "--config", str(config)],
        env=env,
        cwd=REPO_ROOT,
    )

    async def main() -> tuple[list[str], CallToolResult, CallToolResult]:
        async with Client(params, read_timeout_seconds=60) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            properties = await client.call_tool("drug_properties", {"smiles": ["CCO"]})
            search = await client.call_tool("literature_search", {"query": "lace plant", "k": 1})
            return names, properties, search

    names, properties, search = asyncio.run(main())
    assert {"drug_properties", "literature_search", "ask"} <= set(names)
    assert result_json(properties)["molecules"][0]["formula"] == "C2H6O"
    assert len(result_json(search)["hits"]) == 1


def test_streamable_http_subprocess_on_loopback(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "bioagent.yaml"
    config.write_text(f"index_dir: {json.dumps(str(settings.index_dir))}\n", encoding="utf-8")
    env = {**os.environ, "BIOAGENT_EMBEDDING__BACKEND": "hash", "BIOAGENT_CACHE_DIR": str(tmp_path / "cache")}
    port = free_port()
    command = [sys.executable, "-m", "bioagent.cli", "mcp", "--transport", "http", "--port", str(port)]
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*command, "--config", str(config)], env=env, cwd=REPO_ROOT, stdout=log, stderr=log
    )

    async def main() -> tuple[list[str], CallToolResult]:
        async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            return names, await client.call_tool("literature_search", {"query": "lace plant", "k": 1})

    try:
        wait_for_port(port, server, tmp_path / "server.log")
        names, search = asyncio.run(main())
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert {"drug_properties", "literature_search", "ask"} <= set(names)
    assert result_json(search)["hits"][0]["id"] == "21645374"


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path, deadline_s: float = 60) -> None:
    """Return once the server accepts connections on ``port``; fail with its log if it exits or stalls."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"bioagent mcp exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"bioagent mcp did not listen on {port} in {deadline_s} s:\n{log.read_text()[-2000:]}")
