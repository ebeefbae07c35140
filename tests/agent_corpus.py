"""The small literature + UniProt corpus the agent tests share (tests/fixtures/agent/corpus.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bioagent.index import Index, build_index
from bioagent.settings import Settings
from bioagent.types import Document

CORPUS: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "fixtures/agent/corpus.json").read_text(encoding="utf-8")
)


def corpus_documents(name: str) -> list[Document]:
    """The 'literature' or 'proteins' part of the corpus as documents."""
    return [Document(**d) for d in CORPUS[name]]


def build_agent_indexes(settings: Settings) -> tuple[Index, Index]:
    """Literature and protein indexes at the settings' default index paths."""
    literature = build_index(corpus_documents("literature"), settings.literature_index_path(), settings)
    proteins = build_index(corpus_documents("proteins"), settings.protein_index_path(), settings)
    return literature, proteins
