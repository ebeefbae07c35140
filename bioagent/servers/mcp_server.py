"""The MCP server: bioagent's prediction tools, literature/protein search, the agent and the index manifests,
over the official ``mcp`` SDK (stdio or streamable HTTP).

Build it with :func:`create_server` and run it with ``server.run("stdio")``; ``bioagent mcp`` does both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from pydantic import ConfigDict

from bioagent import api
from bioagent.errors import BioagentError, ToolInputError
from bioagent.settings import Settings
from bioagent.types import Answer, Hit

if TYPE_CHECKING:
    from bioagent.api import Agent, Index

SNIPPET_CHARS = 500
MAX_HITS = 50
INSTRUCTIONS = (
    "Biomedical research tools: search PubMed literature and UniProt entries, run protein and drug "
    "predictions, or ask the bioagent agent for a cited answer."
)


class _RawArguments(ArgModelBase):
    """Passes a tool call's arguments through unchanged: ``api.run_tool`` validates them with the tool's own
    schema and reports problems as :class:`ToolInputError`."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


class BioagentBackend:
    """What the MCP handlers run on: the settings, each index loaded once, one agent built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_paths = {
            "literature": settings.literature_index_path(),
            "proteins": settings.protein_index_path(),
        }
        self._indexes: dict[str, Index] = {}
        self._agent: Agent | None = None
        self._lock = threading.Lock()

    def index(self, name: str) -> Index:
        """The ``literature`` or ``proteins`` index, loaded on first use; a missing one raises BioagentError."""
        with self._lock:
            if name not in self._indexes:
                self._indexes[name] = api.load_index(self.index_paths[name], self.settings)
            return self._indexes[name]

    def search(self, name: str, query: str, k: int) -> dict[str, Any]:
        """The ``k`` best hits of one index as JSON-ready records."""
        if not query.strip():
            raise ToolError("query is empty")
        try:
            hits = api.search(self.index(name), query, min(max(k, 1), MAX_HITS), self.settings)
        except BioagentError as exc:
            raise ToolError(f"{name} index unavailable: {exc}") from exc
        return {"query": query, "index": name, "hits": [hit_record(hit) for hit in hits]}

    def manifest(self, name: str) -> str:
        """The index's manifest summary as JSON text."""
        try:
            manifest = self.index(name).manifest
        except BioagentError as exc:
            raise ResourceError(f"{name} index unavailable: {exc}") from exc
        summary = {
            "path": str(self.index_paths[name]),
            "documents": manifest.documents,
            "chunks": manifest.chunks,
            "embedder": manifest.embedder.model_dump(mode="json"),
            "sources": [source.model_dump(mode="json") for source in manifest.sources],
            "created_at": manifest.created_at,
            "updated_at": manifest.updated_at,
        }
        return json.dumps(summary)

    def ask(self, question: str) -> dict[str, Any]:
        """The agent's answer (built on the first question, then reused) as JSON-ready data."""
        if not question.strip():
            raise ToolError("question is empty")
        with self._lock:
            if self._agent is None:
                self._agent = api.open_agent(self.settings)
            agent = self._agent
        try:
            return answer_record(agent.ask(question))
        except BioagentError as exc:
            raise ToolError(str(exc)) from exc


def hit_record(hit: Hit) -> dict[str, Any]:
    """One search hit for the client: id, title, a text snippet, score, source and url (when known)."""
    return {
        "id": hit.id,
        "title": hit.title,
        "snippet": hit.text[:SNIPPET_CHARS],
        "score": round(hit.score, 6),
        "source": hit.source,
        "url": hit.metadata.get("url"),
    }


def answer_record(answer: Answer) -> dict[str, Any]:
    """The parts of an answer a client needs: text, citations, tool calls, abstention and notes."""
    return answer.model_dump(
        mode="json", include={"question", "text", "citations", "tool_calls", "abstained", "notes", "model"}
    )


def prediction_tool(name: str, description: str, schema: dict[str, Any], settings: Settings) -> Tool:
    """An MCP tool that runs the bioagent tool ``name`` and publishes its own JSON schema."""

    def run(arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            return api.run_tool(name, arguments, settings)
        except ToolInputError as exc:
            raise ToolError(str(exc)) from exc

    return Tool(
        fn=run,
        name=name,
        title=None,
        description=description,
        parameters=schema,
        fn_metadata=FuncMetadata(arg_model=_RawArguments),
        is_async=False,
        context_kwarg=None,
        annotations=None,
    )


def create_server(settings: Settings) -> MCPServer:
    """The bioagent MCP server over ``settings`` (nothing is loaded until a client calls)."""
    backend = BioagentBackend(settings)
    tools = [prediction_tool(t["name"], t["description"], t["schema"], settings) for t in api.tools()]
    server = MCPServer("bioagent", instructions=INSTRUCTIONS, tools=tools, log_level="WARNING")

    @server.tool()
    def literature_search(query: str, k: int = 5) -> dict[str, Any]:
        """Search the local PubMed literature index; returns the k best passages (id, title, snippet, score,
        source, url). Cite results by their id."""
        return backend.search("literature", query, k)

    @server.tool()
    def protein_search(query: str, k: int = 5) -> dict[str, Any]:
        """Search the local UniProt index by gene, protein name, function or accession; returns the k best
        entries (id, title, snippet, score, source, url)."""
        return backend.search("proteins", query, k)

    @server.tool()
    def ask(question: str) -> dict[str, Any]:
        """Ask the bioagent research agent a biomedical question; it searches the indexes, runs tools and
        returns an evidence-first answer with verified citations and the tool calls it made."""
        return backend.ask(question)

    for name in backend.index_paths:
        server.resource(f"index://{name}", name=f"{name}-index", mime_type="application/json")(
            _manifest_reader(backend, name)
        )
    return server


def _manifest_reader(backend: BioagentBackend, name: str) -> Callable[[], str]:
    def read() -> str:
        return backend.manifest(name)

    read.__doc__ = f"The {name} index's manifest: documents, chunks, embedder, sources, updated_at."
    return read
