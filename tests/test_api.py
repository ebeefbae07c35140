"""The public facade: `import bioagent` stays light and exposes the documented entry points."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import bioagent
import bioagent.api
from bioagent.settings import Settings
from bioagent.types import Document


def test_import_is_light() -> None:
    code = "import sys, bioagent; heavy = {'torch', 'faiss', 'gradio', 'rdkit', 'transformers'} & set(sys.modules); print(sorted(heavy))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_build_and_load_index_from_files(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        '{"id": "a", "title": "Insulin", "text": "Insulin lowers glucose."}\n'
        '{"id": "b", "title": "p53", "text": "TP53 is a tumour suppressor."}\n'
    )
    settings = Settings.load(embedding={"backend": "hash"}, cache_dir=tmp_path / "cache")
    built = bioagent.build_index(corpus, tmp_path / "idx", settings)
    loaded = bioagent.load_index(tmp_path / "idx", settings)
    assert len(built) == len(loaded) == 2
    assert loaded.search("tumour suppressor", k=1)[0].id == "b"


def test_triage_is_callable_and_still_a_package(tmp_path: Path) -> None:
    records = [
        Document(
            id="1",
            title="ACE inhibitors in hypertension",
            text="Enalapril lowered blood pressure in a trial.",
        ),
        Document(id="2", title="Bird migration", text="Swallows fly south in autumn."),
    ]
    criteria = {
        "topic": "ACE inhibitors for hypertension",
        "inclusion": ["randomised trial of an ACE inhibitor"],
    }
    settings = Settings.load(embedding={"backend": "hash"}, cache_dir=tmp_path / "cache")
    decisions = bioagent.api.triage(records, criteria, settings=settings)
    assert [d.record_id for d in sorted(decisions, key=lambda d: d.rank)][0] == "1"
    assert bioagent.api.TriageSession is bioagent.TriageSession
    assert not callable(importlib.import_module("bioagent.triage"))  # a plain package, no module tricks
