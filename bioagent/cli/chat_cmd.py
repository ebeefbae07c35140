"""`bioagent chat`: serve the Gradio chat (registered by bioagent.cli.main as ``app.command("chat")``).

bioagent chat [--host 127.0.0.1] [--port 7860] [--auth user:password | --auth-file FILE] [--live] [--config FILE]

The login can also come from settings ``chat.auth`` (``BIOAGENT_CHAT__AUTH``); --auth is visible to every user of
the machine (``ps``), the file and the variable are not.
"""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import SecretStr

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

_CONFIGURED_AUTH = "settings chat.auth / BIOAGENT_CHAT__AUTH"


def parse_auth(value: str | None, source: str = "--auth") -> tuple[str, str] | None:
    """``user:password`` -> (user, password); None when not set. The password may itself hold colons.
    ``source`` names where the value came from in the error (which never shows the value)."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise BioagentError(f"{source} must be USER:PASSWORD, both non-empty (for example alice:s3cret)")
    return user, password


def chat_credentials(
    auth: str | None, auth_file: Path | None, configured: SecretStr | None
) -> tuple[str, str] | None:
    """The chat's login: --auth, else the first line of --auth-file, else settings chat.auth; None if unset."""
    if auth is not None and auth_file is not None:
        raise BioagentError("give --auth or --auth-file, not both")
    if auth is not None:
        return parse_auth(auth)
    if auth_file is not None:
        return parse_auth(_first_line(auth_file), f"the first line of --auth-file {auth_file}")
    if configured is not None:
        return parse_auth(configured.get_secret_value(), _CONFIGURED_AUTH)
    return None


def _first_line(path: Path) -> str:
    """The first line of ``path`` without its line ending (other spaces are kept: they may be the password's)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BioagentError(f"cannot read --auth-file {path}: {reason}") from exc
    lines = text.splitlines()
    return lines[0] if lines else ""


@exit_on_error
def chat_command(
    host: str = HostOption,
    port: int = port_option(7860),
    auth: str | None = typer.Option(
        None,
        "--auth",
        help="USER:PASSWORD asked for by a login page before the chat opens (visible in `ps`: prefer "
        "--auth-file or BIOAGENT_CHAT__AUTH).",
    ),
    auth_file: Path | None = typer.Option(
        None,
        "--auth-file",
        help="File whose first line is USER:PASSWORD (like --auth, but not shown by `ps`).",
    ),
    live: bool = LiveOption,
    config: Path | None = ConfigOption,
    preset: str | None = PresetOption,
) -> None:
    """Serve the chat in the browser: streamed answers with linked citations, evidence and tool calls."""
    from bioagent.ui.app import launch

    setup_logging()
    settings = load_settings(config, preset, agent={"live": "auto"} if live else None)
    credentials = chat_credentials(auth, auth_file, settings.chat.auth)
    require_an_index(settings)
    warn_if_open(host, credentials is not None, "a login (--auth-file)")
    typer.echo(
        f"bioagent chat: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}  (Ctrl+C stops it)"
    )
    try:
        launch(settings, host=host, port=port, auth=credentials)
    except OSError as exc:
        raise BioagentError(f"cannot serve on {host}:{port} ({exc}); is the port in use? try --port") from exc
