"""The one Settings object: sources and their order, presets, paths made absolute, every field described."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bioagent.errors import ConfigError
from bioagent.settings import Settings, preset_names


def test_defaults_read_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOAGENT_LLM__BACKEND", "openai")
    assert Settings().llm.backend == "embedded"  # only load() reads the environment
    assert Settings.load().llm.backend == "openai"


def test_precedence_preset_file_environment_arguments(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "bioagent.yaml"
    config.write_text("llm:\n  model: from-file\n  max_tokens: 100\nagent:\n  live: auto\n", encoding="utf-8")
    monkeypatch.setenv("BIOAGENT_LLM__MAX_TOKENS", "200")
    settings = Settings.from_preset("ollama", config, llm={"temperature": 0.5})
    assert settings.llm.backend == "ollama" and settings.llm.tool_calling == "yes"  # the preset
    assert settings.llm.model == "from-file" and settings.agent.live == "auto"  # the file over the preset
    assert settings.llm.max_tokens == 200  # the environment over the file
    assert settings.llm.temperature == 0.5  # arguments over everything


def test_every_preset_loads_and_an_unknown_one_lists_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOAGENT_EMBEDDING__BACKEND")  # the tests' own default (conftest.py)
    assert {"offline", "openai", "ollama", "test"} <= set(preset_names())
    for name in preset_names():
        Settings.from_preset(name)
    assert Settings.from_preset("test").embedding.backend == "hash"
    with pytest.raises(ConfigError, match="no preset 'fast'; the presets are: .*offline"):
        Settings.from_preset("fast")


def test_relative_paths_resolve_against_the_config_file_and_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    config = folder / "bioagent.toml"
    config.write_text('index_dir = "my-indexes"\n[tools]\nrepurposing_hub = "hub"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(config, cache_dir="cache")
    assert settings.index_dir == folder / "my-indexes"  # the file's folder, wherever the process runs
    assert settings.tools.repurposing_hub == folder / "hub"
    assert settings.cache_dir == tmp_path / "cache" and settings.data_dir.is_absolute()
    assert settings.literature_index_path() == folder / "my-indexes" / "literature"


def test_environment_lists_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOAGENT_CHAT__LINK_DOMAINS", '["clinicaltrials.gov", "ema.europa.eu"]')
    assert Settings.load().chat.link_domains == ["clinicaltrials.gov", "ema.europa.eu"]
    monkeypatch.setenv("BIOAGENT_LLM__MAX_TOKENS", "many")
    with pytest.raises(ConfigError, match="invalid setting 'llm.max_tokens'"):
        Settings.load()


def test_an_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOAGENT_LLM__BAKEND", "openai")
    with pytest.raises(ConfigError, match="invalid setting 'llm.bakend'"):
        Settings.load()


def undescribed(model: type[BaseModel], prefix: str = "") -> list[str]:
    missing = []
    for name, field in model.model_fields.items():
        if not (field.description or "").strip():
            missing.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            missing += undescribed(annotation, f"{prefix}{name}.")
    return missing


def test_every_setting_is_described() -> None:
    assert undescribed(Settings) == []
