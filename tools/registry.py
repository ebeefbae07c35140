"""The tool registry: LangChain tools bound to settings (and the UniProt index), plus `tool list` metadata."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.types import Artifact, ToolResult

from . import (
    admet,
    disorder,
    drug_lookup,
    drug_properties,
    homology,
    protein_properties,
    similar_drugs,
    uniprot_lookup,
    variant_effect,
)
from .catalog import ProteinCatalog, load_catalog
from .common import ToolSpec, settings_or_default

SPECS: tuple[ToolSpec, ...] = (
    protein_properties.SPEC,
    disorder.SPEC,
    homology.SPEC,
    uniprot_lookup.SPEC,
    variant_effect.SPEC,
    drug_lookup.SPEC,
    drug_properties.SPEC,
    admet.SPEC,
    similar_drugs.SPEC,
)
_BY_NAME = {spec.name: spec for spec in SPECS}
logger = logging.getLogger(__name__)


class LazyCatalog:
    """Builds the ProteinCatalog on first use, once: from the given index/documents or the configured index."""

    def __init__(self, settings: Settings, source: Any = None) -> None:
        self._settings = settings
        self._source = source
        self._catalog: ProteinCatalog | None = None
        self._lock = threading.Lock()

    def __call__(self) -> ProteinCatalog:
        with self._lock:
            if self._catalog is None:
                self._catalog = (
                    load_catalog(self._settings)
                    if self._source is None
                    else ProteinCatalog.from_source(self._source)
                )
            return self._catalog


def tool_result(name: str, data: dict[str, Any]) -> ToolResult:
    """A tool's result as recorded by the agent: its data, model and the artifacts to show it by (a picture that
    cannot be made is left out with a warning; it never fails the call)."""
    spec = _BY_NAME.get(name)
    artifacts: list[Artifact] = []
    if spec is not None and spec.artifacts is not None:
        try:
            artifacts = spec.artifacts(data)
        except Exception as exc:  # a missing optional package or odd data: the result stands without it
            logger.warning("no artifacts for %s: %s", name, exc)
    return ToolResult(tool=name, data=data, model=data.get("model"), artifacts=artifacts)


def tool_names() -> list[str]:
    return [spec.name for spec in SPECS]


def get_spec(name: str) -> ToolSpec:
    """The spec of tool ``name``; ToolInputError lists the known names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ToolInputError(f"unknown tool '{name}'; the tools are: {', '.join(tool_names())}") from None


def bind(
    spec: ToolSpec, settings: Settings, catalog: Callable[[], ProteinCatalog] | None = None
) -> Callable[..., Any]:
    """The tool's plain function with ``settings`` (and the catalog, for UniProt tools) filled in."""
    if spec.needs_catalog:
        return partial(spec.function, settings=settings, catalog=catalog or LazyCatalog(settings))
    return partial(spec.function, settings=settings)


def _structured(spec: ToolSpec, function: Callable[..., Any]) -> Any:
    from langchain_core.tools import StructuredTool

    return StructuredTool.from_function(
        func=function, name=spec.name, description=spec.description, args_schema=spec.args_schema
    )


def all_tools(settings: Settings | None = None, protein_index: Any = None) -> list[Any]:
    """Every tool as a LangChain ``StructuredTool``.

    ``protein_index`` (an Index, a list of UniProt Documents or a ProteinCatalog) feeds homology_search and
    uniprot_lookup; without it they open ``settings.protein_index_path()`` on first use. Models load lazily,
    once per process. Bad input raises :class:`bioagent.errors.ToolInputError` with a readable message.
    """
    settings = settings_or_default(settings)
    catalog = LazyCatalog(settings, protein_index)
    return [_structured(spec, bind(spec, settings, catalog)) for spec in SPECS]


def get_tool(name: str, settings: Settings | None = None, protein_index: Any = None) -> Any:
    """One tool by name, as a LangChain ``StructuredTool``."""
    spec = get_spec(name)
    settings = settings_or_default(settings)
    return _structured(spec, bind(spec, settings, LazyCatalog(settings, protein_index)))


def tool_list() -> list[dict[str, Any]]:
    """Name, one-line description, full description and JSON schema of each tool (no model is loaded)."""
    return [
        {
            "name": spec.name,
            "summary": spec.summary,
            "description": spec.description,
            "schema": spec.args_schema.model_json_schema(),
        }
        for spec in SPECS
    ]
