"""Shared fixtures: where the read-only datasets live, and fast deterministic settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bioagent.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = os.environ.pop("BIOAGENT_TEST_DATA", None)
"""Where the shared datasets are, when not beside the repo (read here, not by Settings)."""
# A developer's own BIOAGENT_* settings (a backend, a config file, a preset) must not leak into the tests.
for _name in [name for name in os.environ if name.startswith("BIOAGENT_")]:
    del os.environ[_name]
# The default embedding backend ('auto') exports the model to ONNX once per cache folder (about 10 s); most tests
# use a fresh temporary cache, so they run the same model on torch instead. tests/test_onnx_embedder.py covers
# the ONNX path and tests/test_agent_answers_real.py runs the default end to end.
os.environ["BIOAGENT_EMBEDDING__BACKEND"] = "sentence-transformers"


def _shared_data_dir() -> Path:
    return Path(TEST_DATA) if TEST_DATA else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only datasets beside the repo (``../shared/data``); tests skip cleanly if absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Settings that write only under the test's temp dir."""
    return Settings.load(index_dir=tmp_path / "indexes", cache_dir=tmp_path / "cache")
