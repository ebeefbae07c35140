"""The declared Python version, the tools' target versions and the interpreter that runs the tests agree."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_declared_python_is_the_one_tested_and_checked() -> None:
    declared = PYPROJECT["project"]["requires-python"]
    assert declared == ">=3.11"
    assert sys.version_info >= (3, 11)
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py311"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == "3.11"


def test_bundled_demo_corpus_ships_with_licences() -> None:
    data = Path(__file__).parents[1] / "bioagent" / "demo_data"
    compressed = sorted(data.glob("*.xz"))
    assert len(compressed) == 4 and sum(p.stat().st_size for p in compressed) <= 15 * 1024 * 1024
    for dataset in ("PubMedQA", "UniProt"):
        assert any(data.glob(f"LICENSE-{dataset}*")) and (data / f"SOURCE-{dataset}.md").is_file()
    listed = (data / "README.md").read_text(encoding="utf-8")
    assert all(f"`{p.name}`" in listed for p in compressed)
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["bioagent"] == ["demo_data/*"]
