"""Criteria YAML parsing and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.errors import ConfigError
from bioagent.triage.criteria import load_criteria, parse_criteria

FIXTURES = Path(__file__).parent / "fixtures" / "triage"


def test_loads_topic_inclusion_exclusion_and_seeds() -> None:
    criteria = load_criteria(FIXTURES / "criteria.yaml")
    assert criteria.topic.startswith("Beta blockers")
    assert len(criteria.inclusion) == 2 and criteria.exclusion == ["Animal or laboratory study"]
    assert criteria.seed_labels() == {}
    assert "carvedilol" in criteria.query_text()


def test_single_strings_and_numeric_ids_become_lists() -> None:
    criteria = parse_criteria(
        {"topic": "t", "inclusion": "adults", "seed_includes": 123, "seed_excludes": [4]}
    )
    assert criteria.inclusion == ["adults"]
    assert criteria.seed_labels() == {"123": 1, "4": 0}


def test_unknown_key_error_names_the_key_and_the_file() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'inclusions'.*allowed keys: topic, inclusion"):
        load_criteria(FIXTURES / "bad_criteria.yaml")
    with pytest.raises(ConfigError, match="bad_criteria.yaml"):
        load_criteria(FIXTURES / "bad_criteria.yaml")


def test_missing_topic_and_non_mapping_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid 'topic'"):
        parse_criteria({"inclusion": ["x"]})
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_criteria(path)


def test_non_utf8_or_missing_criteria_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("topic: caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_criteria(path)
    with pytest.raises(ConfigError, match="cannot read criteria file"):
        load_criteria(tmp_path / "missing.yaml")
