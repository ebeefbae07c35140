"""variant_effect: ESM-2 masked-marginal scores for amino-acid substitutions (only with configured weights)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, field_validator

from bioagent.errors import ConfigError, ToolInputError, require
from bioagent.settings import Settings

from .common import (
    STANDARD_AMINO_ACIDS,
    ToolSpec,
    fact,
    package_version,
    parse_sequences,
    settings_or_default,
    split_items,
)
from .names import ToolName

_MUTATION = re.compile(r"^([A-Za-z])(\d+)([A-Za-z])$")
ESM_MAX_RESIDUES = 1022
BATCH = 16

DESCRIPTION = """Score amino-acid substitutions in a protein with the ESM-2 protein language model (masked
marginals: log P(mutant) - log P(wild type) at the masked position). Call it when asked whether a missense
variant such as R175H is likely tolerated or damaging. Input: the protein sequence and mutations like
'R175H,P72R' (wild-type letter, 1-based position, new letter). Returns one score per mutation: negative means
the model finds the substitution less likely than the wild type (more negative = more likely damaging); it is
an unsupervised language-model score, not a clinical classification. Works only when ESM-2 weights are
configured; otherwise it returns configured=false with how to configure, and no score."""

MEANING = {
    "score": "ESM-2 masked marginal: log P(mutant) - log P(wild type) at the masked position (natural log). "
    "Below 0: the model prefers the wild type, and the more negative, the more likely the substitution "
    "disrupts the protein. Unsupervised and uncalibrated: compare scores, do not read them as probabilities.",
    "log_prob_wild_type": "log probability of the wild-type residue at the masked position",
    "log_prob_mutant": "log probability of the mutant residue at the masked position",
}


@dataclass(frozen=True)
class Substitution:
    text: str
    wild_type: str
    position: int
    mutant: str


class VariantEffectInput(BaseModel):
    sequence: str = Field(
        description="Wild-type protein sequence in one-letter code (or single-record FASTA)."
    )
    mutations: list[str] = Field(
        description="Substitutions like R175H (wild-type letter, 1-based position, new letter); several allowed."
    )

    @field_validator("mutations", mode="before")
    @classmethod
    def _split(cls, value: Any) -> list[str]:
        return split_items(value)


def variant_effect(
    sequence: str, mutations: str | list[str], *, settings: Settings | None = None
) -> dict[str, Any]:
    """ESM-2 masked-marginal score for each substitution in ``mutations`` (validated against ``sequence``)."""
    settings = settings_or_default(settings)
    wild_type = parse_sequences(sequence, settings, many=False)[0].sequence
    substitutions = parse_mutations(mutations, wild_type, settings.tools.max_batch)
    result: dict[str, Any] = {"tool": "variant_effect", "mutations": [s.text for s in substitutions]}
    if not settings.tools.esm_model:
        return result | {
            "configured": False,
            "model": None,
            "message": "variant_effect is not configured, so no score was computed: it needs ESM-2 weights. "
            "Set settings.tools.esm_model (environment variable BIOAGENT_TOOLS__ESM_MODEL) to a local folder "
            "holding an ESM-2 checkpoint saved with transformers (for example facebook/esm2_t33_650M_UR50D), "
            "or to a Hugging Face model name together with embedding.allow_download=true.",
            "facts": [_unscored_fact(result["mutations"])],
        }
    tokenizer, model = load_esm(settings.tools.esm_model, not settings.embedding.allow_download)
    scores = _masked_marginals(tokenizer, model, wild_type, substitutions)
    return result | {
        "configured": True,
        "model": _model_label(settings.tools.esm_model, model),
        "model_version": f"transformers {package_version('transformers')}",
        "scores": scores,
        "meaning": MEANING,
        "facts": [_score_fact(score) for score in scores],
    }


VARIANT_TOPICS = (
    "variant", "mutation", "mutant", "substitution", "missense", "damaging", "deleterious", "pathogenic",
    "tolerated", "benign", "effect", "impact", "esm",
)  # fmt: skip


def _score_fact(score: dict[str, Any]) -> dict[str, Any]:
    """One mutation's score with what its sign means (ESM-2 masked marginals are uncalibrated)."""
    meaning = (
        "negative = less likely than the wild type, often damaging"
        if score["score"] < 0
        else "zero or positive = at least as likely as the wild type"
    )
    mutation = score["mutation"]
    statement = (
        f"ESM-2 scores {mutation} in {{subject}} at {score['score']} "
        f"(masked-marginal log-likelihood ratio; {meaning})"
    )
    topics = (*VARIANT_TOPICS, mutation.lower(), f"{score['wild_type']}{score['position']}".lower())
    return fact(mutation, f"{mutation} score", score["score"], statement, topics=topics, main=True)


def _unscored_fact(mutations: list[str]) -> dict[str, Any]:
    """Without ESM-2 weights: a fact saying that no score exists, so that none is made up."""
    listed = ", ".join(mutations)
    statement = f"No ESM-2 score was computed for {listed} in {{subject}}: ESM-2 weights are not configured"
    topics = (*VARIANT_TOPICS, *(m.lower() for m in mutations))
    return fact(
        "not_configured",
        "no variant score",
        {"configured": False, "mutations": mutations},
        statement,
        topics=topics,
        main=True,
    )


def parse_mutations(mutations: str | list[str], sequence: str, limit: int) -> list[Substitution]:
    """Check each 'R175H'-style substitution against ``sequence``; errors name the first problem."""
    items = split_items(mutations)
    if not items:
        raise ToolInputError("no mutations given: list substitutions like R175H,P72R")
    if len(items) > limit:
        raise ToolInputError(
            f"got {len(items)} mutations; the limit is {limit} per call (settings.tools.max_batch)"
        )
    return [_substitution(item, sequence) for item in items]


def _substitution(item: str, sequence: str) -> Substitution:
    match = _MUTATION.match(item)
    if not match:
        raise ToolInputError(
            f"'{item}' is not a substitution: write wild-type letter, 1-based position, new letter (e.g. R175H)"
        )
    wild, position, mutant = match.group(1).upper(), int(match.group(2)), match.group(3).upper()
    for letter in (wild, mutant):
        if letter not in STANDARD_AMINO_ACIDS:
            raise ToolInputError(f"'{item}': '{letter}' is not one of the 20 standard amino acids")
    if not 1 <= position <= len(sequence):
        raise ToolInputError(f"'{item}': position {position} is outside the {len(sequence)}-residue sequence")
    if sequence[position - 1] != wild:
        raise ToolInputError(f"'{item}': position {position} is {sequence[position - 1]}, not {wild}")
    return Substitution(f"{wild}{position}{mutant}", wild, position, mutant)


@lru_cache(maxsize=2)
def load_esm(name_or_path: str, local_only: bool) -> tuple[Any, Any]:
    """ESM-2 tokenizer and masked-LM model, loaded once per process per (model, offline) pair."""
    transformers: Any = require("transformers", "transformers", "tools", "variant_effect")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_only)
        model = transformers.EsmForMaskedLM.from_pretrained(name_or_path, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load ESM-2 weights from settings.tools.esm_model={name_or_path!r}: {exc}".split("\n")[0]
        ) from exc
    model.eval()
    return tokenizer, model


def _masked_marginals(
    tokenizer: Any, model: Any, sequence: str, subs: list[Substitution]
) -> list[dict[str, Any]]:
    import torch

    span = min(ESM_MAX_RESIDUES, int(model.config.max_position_embeddings) - 2)
    positions = sorted({s.position for s in subs})
    log_probs: dict[int, Any] = {}
    for start in range(0, len(positions), BATCH):
        chunk = positions[start : start + BATCH]
        windows = [_window(sequence, p, span) for p in chunk]
        encoded = tokenizer([sequence[a:b] for a, b in windows], return_tensors="pt", padding=True)
        ids = encoded["input_ids"]
        for row, (position, (a, _)) in enumerate(zip(chunk, windows)):
            ids[row, position - a] = tokenizer.mask_token_id  # +1 for <cls>, -1 for 1-based
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=encoded["attention_mask"]).logits
        for row, (position, (a, _)) in enumerate(zip(chunk, windows)):
            log_probs[position] = torch.log_softmax(logits[row, position - a].float(), dim=-1)
    return [_score(tokenizer, log_probs[s.position], s) for s in subs]


def _window(sequence: str, position: int, span: int) -> tuple[int, int]:
    """0-based [start, end) of at most ``span`` residues around 1-based ``position``."""
    if len(sequence) <= span:
        return 0, len(sequence)
    start = min(max(position - 1 - span // 2, 0), len(sequence) - span)
    return start, start + span


def _score(tokenizer: Any, log_prob: Any, sub: Substitution) -> dict[str, Any]:
    wild = float(log_prob[tokenizer.convert_tokens_to_ids(sub.wild_type)])
    mutant = float(log_prob[tokenizer.convert_tokens_to_ids(sub.mutant)])
    return {
        "mutation": sub.text,
        "position": sub.position,
        "wild_type": sub.wild_type,
        "mutant": sub.mutant,
        "score": round(mutant - wild, 4),
        "log_prob_wild_type": round(wild, 4),
        "log_prob_mutant": round(mutant, 4),
    }


def _model_label(name_or_path: str, model: Any) -> str:
    config = model.config
    parameters = sum(p.numel() for p in model.parameters())
    return (
        f"ESM-2 masked LM '{name_or_path}' ({config.num_hidden_layers} layers, {parameters / 1e6:.1f}M parameters), "
        "masked-marginal scoring (Meier et al. 2021)"
    )


SPEC = ToolSpec(
    title="Variant effect (ESM-2)",
    name=ToolName.VARIANT_EFFECT,
    description=DESCRIPTION,
    args_schema=VariantEffectInput,
    function=variant_effect,
)
