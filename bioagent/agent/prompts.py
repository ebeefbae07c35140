"""Prompt templates from ``bioagent.prompts`` (the top-level ``prompts/`` folder), validated when loaded.

Each YAML file holds ``name``, ``description``, ``placeholders`` (list), ``system`` and ``user``. Loading checks
that the required keys are there, that ``name`` matches the file, and that the templates use exactly the
declared placeholders (``{question}`` style; no others), so a broken template fails at load time, not mid-run.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bioagent.errors import ConfigError

PROMPT_PACKAGE = "bioagent.prompts"
REQUIRED_KEYS = ("name", "description", "placeholders", "system", "user")


@dataclass(frozen=True)
class PromptTemplate:
    """A validated system + user message pair with named placeholders."""

    name: str
    description: str
    placeholders: tuple[str, ...]
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every placeholder filled; a missing or unknown value is an error."""
        missing = set(self.placeholders) - set(values)
        unknown = set(values) - set(self.placeholders)
        if missing or unknown:
            raise ConfigError(
                f"prompt '{self.name}': missing values {sorted(missing)}, unknown values {sorted(unknown)}"
            )
        return self.system.format(**values), self.user.format(**values)


def parse_prompt(name: str, raw: str) -> PromptTemplate:
    """Validate one template's YAML text (``name`` is the file stem)."""
    where = f"prompt file {name}.yaml"
    try:
        data: Any = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ConfigError(f"{where} lacks required keys: {', '.join(missing)}")
    if data["name"] != name:
        raise ConfigError(f"{where} declares name '{data['name']}'; it must match the file name")
    declared = data["placeholders"]
    if not isinstance(declared, list) or not all(isinstance(p, str) for p in declared):
        raise ConfigError(f"{where}: 'placeholders' must be a list of names")
    used = _placeholders(str(data["system"]), where) | _placeholders(str(data["user"]), where)
    if used != set(declared):
        raise ConfigError(
            f"{where}: templates use {sorted(used)} but declare {sorted(declared)}; they must be the same"
        )
    return PromptTemplate(
        name=name,
        description=str(data["description"]),
        placeholders=tuple(declared),
        system=str(data["system"]),
        user=str(data["user"]),
    )


def _placeholders(template: str, where: str) -> set[str]:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ConfigError(
            f"{where}: malformed placeholder ({exc}); write literal braces as {{{{ }}}}"
        ) from exc
    bad = [f for f in fields if not f.isidentifier()]
    if bad:
        raise ConfigError(f"{where}: placeholders must be plain names, not {bad}")
    return set(fields)


@cache
def load_prompt(name: str) -> PromptTemplate:
    """The validated template ``prompts/<name>.yaml``."""
    path = resources.files(PROMPT_PACKAGE) / f"{name}.yaml"
    try:
        raw = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ConfigError(f"prompt file {name}.yaml not found in {PROMPT_PACKAGE}") from exc
    return parse_prompt(name, raw)


def available_prompts() -> list[str]:
    """Names of every template shipped in ``bioagent.prompts``."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files(PROMPT_PACKAGE).iterdir()
        if entry.name.endswith(".yaml")
    )
