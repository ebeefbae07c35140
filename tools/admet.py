"""admet: ADMET-AI predictions (41 ADMET endpoints) with percentiles among DrugBank approved drugs."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, field_validator

from bioagent.errors import require
from bioagent.settings import Settings

from .chem import canonical_smiles, parse_smiles_list, quiet_rdkit
from .common import ToolSpec, package_version, split_items
from .drug_catalog import admet_ai_data

PERCENTILE_SUFFIX = "_drugbank_approved_percentile"

DESCRIPTION = """Predict absorption, distribution, metabolism, excretion and toxicity (ADMET) of molecules with
ADMET-AI (Chemprop-RDKit graph neural network ensembles trained on 41 Therapeutics Data Commons datasets).
Call it for questions about oral absorption, blood-brain barrier penetration, CYP450 inhibition, hERG
blocking, hepatotoxicity (DILI), mutagenicity (AMES), clinical toxicity, solubility, half-life, clearance and
similar. Input: SMILES, several separated by commas (use drug_lookup to get SMILES from a name). Returns per
molecule each endpoint's prediction with its unit and meaning (classification endpoints are probabilities
0-1; regression endpoints are in the stated unit) and its percentile among ~2,800 DrugBank approved drugs,
which puts the number in context. Predictions, not measurements: cite them as model output."""

PERCENTILE_MEANING = (
    "percentile (0-100) of this prediction among DrugBank approved drugs' predictions for the same endpoint: "
    "80 means higher than 80% of approved drugs"
)


class AdmetInput(BaseModel):
    smiles: list[str] = Field(description="One or more SMILES strings (a comma-separated string also works).")

    @field_validator("smiles", mode="before")
    @classmethod
    def _split(cls, value: Any) -> list[str]:
        return split_items(value)


@lru_cache(maxsize=1)
def load_admet_model() -> Any:
    """The ADMET-AI model ensembles, loaded once per process."""
    require("admet_ai", "admet-ai", "tools", "ADMET prediction")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with _silenced():
        from admet_ai import ADMETModel

        return ADMETModel(num_workers=0)


@lru_cache(maxsize=1)
def endpoint_info() -> dict[str, dict[str, str]]:
    """admet-ai's description of each property (category, name, units, task type, data set, test metrics)."""
    with admet_ai_data("admet.csv").open(newline="", encoding="utf-8") as stream:
        return {row["id"]: row for row in csv.DictReader(stream)}


def admet(smiles: str | list[str], *, settings: Settings | None = None) -> dict[str, Any]:
    """ADMET-AI predictions for each SMILES (all molecules in one batch)."""
    parsed = parse_smiles_list(smiles, settings)
    canonical = [canonical_smiles(mol) for _, mol in parsed]
    model = load_admet_model()
    with _silenced(), quiet_rdkit():
        table = model.predict(smiles=canonical)
    info = endpoint_info()
    molecules = []
    for row, (text, _) in enumerate(parsed):
        values = table.iloc[row].to_dict()
        molecules.append({"input": text, "smiles": canonical[row], **_grouped(values, info)})
    version = package_version("admet-ai")
    return {
        "tool": "admet",
        "model": f"ADMET-AI {version} (Chemprop {package_version('chemprop')} ensembles, 5 models per group)",
        "model_version": version,
        "molecules": molecules,
        "meaning": {
            "value": "the prediction: a probability 0-1 for classification endpoints, else in `unit`",
            "percentile_approved": PERCENTILE_MEANING,
        },
    }


def _grouped(values: dict[str, Any], info: dict[str, dict[str, str]]) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    physchem: dict[str, Any] = {}
    for key, value in values.items():
        if key.endswith(PERCENTILE_SUFFIX) or key not in info:
            continue
        entry = _endpoint(key, value, values.get(key + PERCENTILE_SUFFIX), info[key])
        (physchem if info[key]["category"] == "Physicochemical" else endpoints)[key] = entry
    return {"endpoints": endpoints, "physicochemical": physchem}


def _endpoint(key: str, value: Any, percentile: Any, row: dict[str, str]) -> dict[str, Any]:
    classification = row["task_type"] == "classification"
    return {
        "name": row["name"],
        "category": row["category"],
        "value": round(float(value), 4),
        "unit": "probability" if classification else row["units"],
        "percentile_approved": None if percentile is None else round(float(percentile), 1),
        "meaning": _meaning(key, row),
    }


def _meaning(key: str, row: dict[str, str]) -> str:
    if row["category"] == "Physicochemical":
        return f"{row['name']} computed with RDKit ({row['units']})"
    species = f", {row['species']}" if row.get("species") not in (None, "", "-") else ""
    data = f"TDC {key}, {row['size']} training molecules"
    if row["task_type"] == "classification":
        return f"predicted probability of {row['name']}{species} ({data}; test AUROC {_metric(row['AUROC'])})"
    return (
        f"predicted {row['name']} in {row['units']}{species} "
        f"({data}; test R^2 {_metric(row['R^2'])}, MAE {_metric(row['MAE'])})"
    )


def _metric(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return "n/a"
    return "n/a" if math.isnan(value) else f"{value:.2f}"


@contextlib.contextmanager
def _silenced() -> Any:
    """Keep Lightning/tqdm progress output off stdout/stderr (the CLI prints JSON on stdout)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


SPEC = ToolSpec(name="admet", description=DESCRIPTION, args_schema=AdmetInput, function=admet)
