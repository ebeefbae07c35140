"""`bioagent serve`: the HTTP API (registered by bioagent.cli.main as ``app.command("serve")``).

bioagent serve [--host 127.0.0.1] [--port 8000] [--token-file FILE | --token TOKEN] [--live] [--config FILE]

Endpoints: POST /v1/ask, POST /v1/chat/completions (OpenAI-compatible), GET /v1/models
(see bioagent.servers.http_server). Needs the ``serve`` extra (fastapi, uvicorn).
"""

from __future__ import annotations

from pathlib import Path

import typer

from bioagent.cli.common import (
    ConfigOption,
    HostOption,
    LiveOption,
    PresetOption,
    exit_on_error,
    load_settings,
    port_option,
    require_an_index,
    setup_logging,
    warn_if_open,
)
from bioagent.errors import BioagentError


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The bearer token: --token, else the first line of --token-file (stripped); None when neither is given."""
    if token is not None and token_file is not None:
        raise BioagentError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise BioagentError(f"cannot read --token-file {token_file}: {exc}") from exc
        token = lines[0].strip() if lines else ""
        if not token:
            raise BioagentError(f"--token-file {token_file} is empty")
    elif token is not None:
        typer.echo(
            "warning: --token is visible to every user of this machine (`ps`); prefer --token-file", err=True
        )
    return token


@exit_on_error
def serve_command(
    host: str = HostOption,
    port: int = port_option(8000),
    token_file: Path | None = typer.Option(
        None, "--token-file", help="File whose first line is the bearer token every request must send."
    ),
    token: str | None = typer.Option(
        None, "--token", help="The bearer token itself (visible in `ps`: prefer --token-file)."
    ),
    live: bool = LiveOption,
    config: Path | None = ConfigOption,
    preset: str | None = PresetOption,
) -> None:
    """Serve the agent over HTTP: /v1/ask (Answer JSON or SSE) and OpenAI-compatible /v1/chat/completions."""
    try:
        import uvicorn

        from bioagent.servers.http_server import create_app
    except ImportError as exc:
        raise BioagentError(
            f"`bioagent serve` needs the serve extra: pip install 'bioagent[serve]' ({exc})"
        ) from exc

    setup_logging()
    settings = load_settings(config, preset, agent={"live": "auto"} if live else None)
    bearer = read_token(token, token_file)
    require_an_index(settings)
    warn_if_open(host, bearer is not None, "a token (--token-file)")
    typer.echo(f"bioagent serve: http://{host}:{port}/v1  (Ctrl+C stops it)")
    uvicorn.run(create_app(settings, token=bearer), host=host, port=port, log_level="warning")
