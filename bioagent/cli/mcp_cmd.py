"""`bioagent mcp` (registered by bioagent.cli.main): serve the tools, search, the agent and the index manifests
over the Model Context Protocol.

bioagent mcp [--config FILE]                                           stdio (for a client that launches it)
bioagent mcp --transport http [--host 127.0.0.1] [--port 8765]         streamable HTTP at http://HOST:PORT/mcp
"""

from __future__ import annotations

from pathlib import Path

import typer

from bioagent.cli.common import (
    ConfigOption,
    PresetOption,
    exit_on_error,
    is_loopback,
    load_settings,
    port_option,
    setup_logging,
)
from bioagent.errors import BioagentError

TRANSPORTS = ("stdio", "http")


@exit_on_error
def mcp_command(
    transport: str = typer.Option("stdio", "--transport", help="stdio (default) | http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP address; loopback only (no authentication)."),
    port: int = port_option(8765),
    config: Path | None = ConfigOption,
    preset: str | None = PresetOption,
) -> None:
    """Run the MCP server (official `mcp` SDK): prediction tools, literature_search, protein_search, ask, and
    the index://literature and index://proteins resources."""
    if transport not in TRANSPORTS:
        raise BioagentError(f"--transport must be stdio or http, not '{transport}'")
    if transport == "http":
        _require_loopback(host)
    try:
        from bioagent.servers.mcp_server import create_server
    except ModuleNotFoundError as exc:
        raise BioagentError(
            f"the MCP server needs the 'serve' extra: pip install 'bioagent[serve]' ({exc})"
        ) from exc
    setup_logging()
    server = create_server(load_settings(config, preset))
    if transport == "stdio":
        server.run("stdio")
    else:
        typer.echo(f"bioagent MCP server on http://{host}:{port}/mcp", err=True)
        server.run("streamable-http", host=host, port=port)


def _require_loopback(host: str) -> None:
    """Refuse addresses other than loopback: the server has no authentication."""
    if not is_loopback(host):
        raise BioagentError(f"--host {host} is not a loopback address; the MCP server has no authentication")
