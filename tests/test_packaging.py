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
    compressed = sorted(data.rglob("*.xz"))
    assert compressed and sum(p.stat().st_size for p in compressed) <= 15 * 1024 * 1024
    for folder in {p.parent for p in compressed}:
        assert any((folder / name).is_file() for name in ("LICENSE", "LICENSE.md")), folder
        assert (folder / "SOURCE.md").is_file(), folder
    assert "demo_data/*/*" in PYPROJECT["tool"]["setuptools"]["package-data"]["bioagent"]
