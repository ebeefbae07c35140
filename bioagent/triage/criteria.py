"""Screening criteria: a topic, inclusion and exclusion criteria, optional seed records (YAML file)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bioagent.errors import ConfigError


class Criteria(BaseModel):
    """What a review is looking for. Unknown keys are rejected so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, description="One or two sentences: the question the review answers.")
    inclusion: list[str] = Field(default_factory=list, description="Free-text inclusion criteria.")
    exclusion: list[str] = Field(default_factory=list, description="Free-text exclusion criteria.")
    seed_includes: list[str] = Field(default_factory=list, description="Record ids known to be relevant.")
    seed_excludes: list[str] = Field(default_factory=list, description="Record ids known to be irrelevant.")

    @field_validator("inclusion", "exclusion", "seed_includes", "seed_excludes", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, (str, int)):
            return [str(value)]
        if isinstance(value, list):
            return [str(item) for item in value]
        return value

    def query_text(self) -> str:
        """The text a zero-shot ranker compares records with: topic and inclusion criteria."""
        return " ".join([self.topic, *self.inclusion])

    def seed_labels(self) -> dict[str, int]:
        """Seed records as ``{record_id: 1|0}``."""
        labels = {rid: 0 for rid in self.seed_excludes}
        labels.update({rid: 1 for rid in self.seed_includes})
        return labels


def parse_criteria(data: object, where: str = "criteria") -> Criteria:
    """Validate a mapping as :class:`Criteria`, with a one-line error naming the offending key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with at least a 'topic' key")
    try:
        return Criteria.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(Criteria.model_fields)
            raise ConfigError(f"{where}: unknown key '{key}' (allowed keys: {allowed})") from exc
        raise ConfigError(f"{where}: invalid '{key}': {first['msg']}") from exc


def load_criteria(path: str | Path) -> Criteria:
    """Read a criteria YAML file."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read criteria file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_criteria(data, where=str(path))
