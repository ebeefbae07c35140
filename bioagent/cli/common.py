"""Helpers shared by the CLI commands: settings loading and one-line error reporting."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer

from bioagent.errors import BioagentError
from bioagent.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

ConfigOption = typer.Option(
    None, "--config", help="Settings file (YAML or TOML); BIOAGENT_* environment variables override it."
)
PresetOption = typer.Option(
    None,
    "--preset",
    help="Settings preset: offline | openai | ollama | test (files in bioagent/presets; BIOAGENT_PRESET); "
    "the config file and environment go on top of it.",
)
HostOption = typer.Option(
    "127.0.0.1", "--host", help="Address to bind: 127.0.0.1 serves this machine only; 0.0.0.0 the network."
)
LiveOption = typer.Option(
    False,
    "--live",
    help="When no local passage is relevant enough, search PubMed and UniProt live and add what they return to "
    "the local indexes (agent.live=auto).",
)


def port_option(default: int) -> Any:
    """The ``--port`` option of a server command."""
    return typer.Option(default, "--port", min=1, max=65535, help="Port to serve on.")


def exit_on_error(command: Callable[P, R]) -> Callable[P, R]:
    """Report a BioagentError as one line on stderr (and as {"error": ...} with --json) and exit 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BioagentError as exc:
            if kwargs.get("as_json"):
                typer.echo(json.dumps({"error": str(exc)}))
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def format_help(formats: tuple[str, ...], note: str = "") -> str:
    """The --format help: ``auto`` (detect) and the formats a command reads."""
    return f"Input format: {'|'.join(('auto', *formats))}" + (f" ({note})" if note else "") + "."


def load_settings(config: Path | None, preset: str | None = None, **overrides: Any) -> Settings:
    """Settings from the preset, the config file and the environment, with CLI flags (those not None) on top."""
    return Settings.load(config, preset=preset, **{k: v for k, v in overrides.items() if v is not None})


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def require_an_index(settings: Settings) -> None:
    """Stop with one line on how to build an index when none of the configured ones exists (unless live search
    is on: then the first question builds one from PubMed and UniProt)."""
    from bioagent.demo import first_run_hint

    if settings.agent.live == "off" and (hint := first_run_hint(settings)) is not None:
        raise BioagentError(hint)


def warn_if_open(host: str, guarded: bool, guard: str) -> None:
    """Warn on stderr when a server listens beyond this machine with nothing (``guard``) keeping others out."""
    if not is_loopback(host) and not guarded:
        typer.echo(
            f"warning: serving on {host} without {guard}: anyone who can reach this port can use it", err=True
        )


_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor movement, erasing)
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (window titles, hyperlinks)
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` (from documents and models) safe to print: ANSI escape sequences, C0/C1 control characters and
    bidirectional overrides removed; newlines and tabs kept."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
