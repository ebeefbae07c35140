"""Error types shared by every layer. Each carries a one-line message a person can act on."""

from __future__ import annotations

from pathlib import Path


class BioagentError(Exception):
    """Base class for errors that the CLI and UI show as a one-line message (never a traceback)."""


class ConfigError(BioagentError):
    """A setting or config file is invalid; the message names the setting."""


class MissingExtraError(BioagentError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package: install it with `pip install -e .[{extra}]`"
        )
        self.package = package
        self.extra = extra


class IngestError(BioagentError):
    """A file (or one record in it) could not be read."""

    def __init__(self, path: str | Path, message: str, record: int | None = None) -> None:
        where = f"{path}" if record is None else f"{path}, record {record}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.record = record
        self.reason = message


class IndexLoadError(BioagentError):
    """An index folder is missing, corrupt or incompatible with the configured embedder."""


class ServiceUnreachableError(BioagentError):
    """A live service (PubMed, UniProt) did not answer; nothing was changed."""


class ToolInputError(BioagentError):
    """A tool was called with input it cannot use (invalid sequence, SMILES, name, mutation)."""


class LLMError(BioagentError):
    """A chat model backend cannot be created or reached; the message names the setting to fix."""


def require(module: str, package: str, extra: str, purpose: str) -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(package, extra, purpose) from exc
