"""`bioagent chat`: serve the Gradio chat (registered by bioagent.cli.main as ``app.command("chat")``).

bioagent chat [--host 127.0.0.1] [--port 7860] [--auth user:password] [--live] [--config FILE]
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from bioagent.cli.common import ConfigOption, exit_on_error, load_settings, require_an_index, setup_logging
from bioagent.errors import BioagentError


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password); None when not set. The password may itself hold colons."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise BioagentError("--auth must be USER:PASSWORD, both non-empty (for example --auth alice:s3cret)")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@exit_on_error
def chat_command(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to bind: 127.0.0.1 serves this machine only; 0.0.0.0 the network.",
    ),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to serve on."),
    auth: str | None = typer.Option(
        None, "--auth", help="USER:PASSWORD asked for by a login page before the chat opens."
    ),
    live: bool = typer.Option(
        False,
        "--live",
        help="Search PubMed and UniProt live when the local evidence is weak (agent.live=auto).",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the chat in the browser: streamed answers with linked citations, evidence and tool calls."""
    from bioagent.ui.app import launch

    setup_logging()
    credentials = parse_auth(auth)
    settings = load_settings(config, agent={"live": "auto"} if live else None)
    if settings.agent.live == "off":
        require_an_index(settings)
    if not is_loopback(host) and credentials is None:
        typer.echo(
            f"warning: serving on {host} without --auth: anyone who can reach this port can use it", err=True
        )
    typer.echo(
        f"bioagent chat: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}  (Ctrl+C stops it)"
    )
    try:
        launch(settings, host=host, port=port, auth=credentials)
    except OSError as exc:
        raise BioagentError(f"cannot serve on {host}:{port} ({exc}); is the port in use? try --port") from exc
