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
from bioagent.types import Artifact

from .chem import canonical_smiles, parse_smiles_list, quiet_rdkit
from .common import ToolSpec, fact, package_version, split_items
from .drug_catalog import admet_ai_data
from .names import ToolName

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
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "chemprop"):
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
    several = len(molecules) > 1
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
        "facts": [f for m in molecules for f in admet_facts(m, m["input"] if several else None)],
    }


CYP = ("cyp", "cytochrome", "p450", "metaboli")
TOX21 = ("tox21", "toxic", "nuclear receptor", "stress response")
# endpoint id: (noun phrase of the statement, question words that ask for it); the 8 in MAIN answer "ADMET properties"
ENDPOINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "HIA_Hou": ("human intestinal absorption", ("absorption", "intestinal", "hia", "gut", "oral")),
    "Bioavailability_Ma": ("oral bioavailability", ("bioavailab", "oral")),
    "Solubility_AqSolDB": ("aqueous solubility (log S)", ("solubility", "soluble", "logs", "aqueous")),
    "Lipophilicity_AstraZeneca": ("lipophilicity (logD at pH 7.4)", ("lipophil", "logd", "hydrophob")),
    "HydrationFreeEnergy_FreeSolv": ("hydration free energy", ("hydration", "free energy", "solvation")),
    "Caco2_Wang": ("Caco-2 cell permeability", ("caco", "permeab", "absorption")),
    "PAMPA_NCATS": ("PAMPA membrane permeability", ("pampa", "permeab", "absorption")),
    "Pgp_Broccatelli": ("P-glycoprotein inhibition", ("p-glycoprotein", "pgp", "p-gp", "efflux", "mdr1")),
    "BBB_Martins": (
        "blood-brain barrier penetration",
        ("blood-brain barrier", "blood brain barrier", "bbb", "brain", "cns"),
    ),
    "PPBR_AZ": ("plasma protein binding rate", ("plasma protein", "protein binding", "ppb", "distribution")),
    "VDss_Lombardo": (
        "volume of distribution at steady state",
        ("volume of distribution", "vdss", "distribution"),
    ),
    "Half_Life_Obach": ("half-life", ("half-life", "half life", "elimination", "excretion")),
    "Clearance_Hepatocyte_AZ": (
        "hepatocyte clearance",
        ("clearance", "hepatocyte", "excretion", "elimination"),
    ),
    "Clearance_Microsome_AZ": ("microsomal clearance", ("clearance", "microsom", "excretion", "elimination")),
    "CYP1A2_Veith": ("CYP1A2 inhibition", (*CYP, "cyp1a2")),
    "CYP2C19_Veith": ("CYP2C19 inhibition", (*CYP, "cyp2c19")),
    "CYP2C9_Veith": ("CYP2C9 inhibition", (*CYP, "cyp2c9")),
    "CYP2D6_Veith": ("CYP2D6 inhibition", (*CYP, "cyp2d6")),
    "CYP3A4_Veith": ("CYP3A4 inhibition", (*CYP, "cyp3a4")),
    "CYP2C9_Substrate_CarbonMangels": ("CYP2C9 substrate", (*CYP, "cyp2c9", "substrate")),
    "CYP2D6_Substrate_CarbonMangels": ("CYP2D6 substrate", (*CYP, "cyp2d6", "substrate")),
    "CYP3A4_Substrate_CarbonMangels": ("CYP3A4 substrate", (*CYP, "cyp3a4", "substrate")),
    "hERG": ("hERG blocking", ("herg", "cardiotox", "cardiac", "qt", "arrhythm", "potassium channel")),
    "ClinTox": ("clinical toxicity", ("clinical toxicity", "clintox", "toxic", "clinical trial", "safety")),
    "AMES": ("Ames mutagenicity", ("ames", "mutagen", "genotox")),
    "DILI": ("drug-induced liver injury (DILI)", ("dili", "liver", "hepatotox", "hepatic")),
    "Carcinogens_Lagunin": ("carcinogenicity", ("carcinogen", "cancer-causing")),
    "LD50_Zhu": ("acute toxicity LD50", ("ld50", "lethal", "acute toxicity", "toxic")),
    "Skin_Reaction": ("skin reaction", ("skin", "sensitiz", "sensitis", "dermal")),
    "NR-AR": ("Tox21 androgen receptor activity", (*TOX21, "androgen")),
    "NR-AR-LBD": ("Tox21 androgen receptor ligand-binding domain activity", (*TOX21, "androgen")),
    "NR-AhR": ("Tox21 aryl hydrocarbon receptor activity", (*TOX21, "aryl hydrocarbon", "ahr")),
    "NR-Aromatase": ("Tox21 aromatase inhibition", (*TOX21, "aromatase")),
    "NR-ER": ("Tox21 estrogen receptor activity", (*TOX21, "estrogen", "oestrogen")),
    "NR-ER-LBD": (
        "Tox21 estrogen receptor ligand-binding domain activity",
        (*TOX21, "estrogen", "oestrogen"),
    ),
    "NR-PPAR-gamma": ("Tox21 PPAR-gamma activity", (*TOX21, "ppar")),
    "SR-ARE": (
        "Tox21 antioxidant response element (Nrf2/ARE) activation",
        (*TOX21, "antioxidant", "nrf2", "oxidative"),
    ),
    "SR-ATAD5": ("Tox21 ATAD5 genotoxic stress activation", (*TOX21, "atad5", "genotox", "dna damage")),
    "SR-HSE": ("Tox21 heat shock response activation", (*TOX21, "heat shock")),
    "SR-MMP": ("Tox21 mitochondrial membrane potential disruption", (*TOX21, "mitochondri")),
    "SR-p53": ("Tox21 p53 stress response activation", (*TOX21, "p53")),
}
MAIN = (
    "BBB_Martins",
    "HIA_Hou",
    "Bioavailability_Ma",
    "Solubility_AqSolDB",
    "hERG",
    "AMES",
    "DILI",
    "ClinTox",
)
_NO_UNIT = ("", "-", "probability", "log-ratio")


def admet_facts(molecule: dict[str, Any], item: str | None = None) -> list[dict[str, Any]]:
    """One fact per ADMET endpoint (the physicochemical ones are drug_properties' facts), numbers as predicted."""
    return [_endpoint_fact(key, entry, item) for key, entry in molecule["endpoints"].items()]


def _endpoint_fact(key: str, entry: dict[str, Any], item: str | None) -> dict[str, Any]:
    phrase, topics = ENDPOINTS.get(key, (entry["name"].lower(), ()))
    value, unit, percentile = entry["value"], entry["unit"], entry["percentile_approved"]
    if unit == "probability":
        claim = f"{phrase} probability of {value}"
    else:
        claim = f"{phrase} of {value}" + ("" if unit in _NO_UNIT else "%" if unit == "%" else f" {unit}")
    context = key if percentile is None else f"{key}; percentile {percentile} among DrugBank approved drugs"
    article = "an" if claim[0].lower() in "aeiou" else "a"
    return fact(
        key,
        entry["name"],
        {"prediction": value, "percentile_approved": percentile},
        f"ADMET-AI predicts {article} {claim} for {{subject}} ({context})",
        unit=unit,
        topics=(*topics, key.lower(), entry["category"].lower()),
        main=key in MAIN,
        item=item,
    )


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


ADMET_COLUMNS = ["endpoint", "value", "unit", "percentile among approved drugs"]


def admet_artifacts(data: dict[str, Any]) -> list[Artifact]:
    """Each molecule's predictions as a ``table`` (endpoint, value, unit, percentile among approved drugs)."""
    tables = []
    for molecule in data.get("molecules", []):
        rows = [
            [entry["name"], entry["value"], entry["unit"], entry.get("percentile_approved")]
            for group in ("endpoints", "physicochemical")
            for entry in molecule.get(group, {}).values()
        ]
        title = f"ADMET predictions: {molecule['input']}"
        tables.append(Artifact(kind="table", title=title, data={"columns": ADMET_COLUMNS, "rows": rows}))
    return tables


SPEC = ToolSpec(
    title="ADMET predictions (ADMET-AI)",
    name=ToolName.ADMET,
    description=DESCRIPTION,
    args_schema=AdmetInput,
    function=admet,
    artifacts=admet_artifacts,
)
