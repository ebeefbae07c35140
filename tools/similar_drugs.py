"""similar_drugs: approved drugs most similar in structure to a molecule (Morgan fingerprints, Tanimoto)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bioagent.errors import BioagentError
from bioagent.settings import Settings

from .chem import MORGAN_BITS, MORGAN_RADIUS, canonical_smiles, morgan_fingerprint, parse_smiles, quiet_rdkit
from .common import ToolSpec, fact, package_version, settings_or_default
from .drug_catalog import DrugRecord, load_drug_catalog
from .names import ToolName

DESCRIPTION = """Find approved drugs whose chemical structure is most similar to a molecule (Morgan
fingerprints, radius 2, 2048 bits; Tanimoto similarity). Call it to find analogues of a compound, drugs that
may share its targets or liabilities, or whether a molecule resembles a known drug. Input: one SMILES (use
drug_lookup to get SMILES from a name) and k. Searches DrugBank approved drugs, plus launched drugs of the
Drug Repurposing Hub when configured. Returns the k most similar drugs with name, SMILES, identifiers and
Tanimoto similarity (0-1; above about 0.5 usually means a close analogue, 1.0 the same skeleton)."""

MEANING = {
    "similarity": "Tanimoto coefficient of Morgan fingerprints (radius 2, 2048 bits): shared bits / bits set in "
    "either molecule, 0-1. 1.0 means identical fingerprints (stereoisomers are not told apart); above about "
    "0.5 is usually a close analogue; below 0.3 is little resemblance.",
}


class SimilarDrugsInput(BaseModel):
    smiles: str = Field(description="The query molecule as a SMILES string.")
    k: int = Field(default=5, ge=1, le=50, description="Number of similar drugs to return.")


@lru_cache(maxsize=4)
def reference_fingerprints(
    hub_dir: Path | None, cache_dir: Path | None = None
) -> tuple[list[DrugRecord], list[Any]]:
    """Approved reference drugs and their fingerprints, computed once per process (per Hub folder), from the
    same catalogue object drug_lookup uses."""
    records, fingerprints, seen = [], [], set()
    with quiet_rdkit():
        for record in load_drug_catalog(hub_dir, cache_dir).approved():
            try:
                mol = parse_smiles(record.smiles)
            except BioagentError:
                continue
            key = canonical_smiles(mol)
            if key in seen:
                continue
            seen.add(key)
            records.append(record)
            fingerprints.append(morgan_fingerprint(mol))
    return records, fingerprints


def similar_drugs(smiles: str, k: int = 5, *, settings: Settings | None = None) -> dict[str, Any]:
    """The ``k`` approved drugs with the highest Tanimoto similarity to ``smiles``."""
    from rdkit import DataStructs

    mol = parse_smiles(smiles)
    settings = settings_or_default(settings)
    records, fingerprints = reference_fingerprints(settings.repurposing_hub_path(), settings.cache_dir)
    similarities = DataStructs.BulkTanimotoSimilarity(morgan_fingerprint(mol), fingerprints)
    ranked = sorted(range(len(records)), key=lambda i: -similarities[i])[:k]
    drugs = [_entry(records[i], similarities[i]) for i in ranked]
    return {
        "tool": "similar_drugs",
        "model": f"RDKit {package_version('rdkit')} Morgan fingerprints (radius {MORGAN_RADIUS}, {MORGAN_BITS} bits), "
        "Tanimoto similarity",
        "model_version": package_version("rdkit"),
        "query": canonical_smiles(mol),
        "reference": {"drugs": len(records), "sources": sorted({r.source for r in records})},
        "drugs": drugs,
        "meaning": MEANING,
        "facts": similarity_facts(drugs),
    }


SIMILAR_TOPICS = ("similar", "analog", "resembl", "like", "closest", "related", "structur")
FINGERPRINT = f"Morgan fingerprint (radius {MORGAN_RADIUS}, {MORGAN_BITS} bits)"


def similarity_facts(drugs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranked neighbours in one sentence, and what the closest one means (same fingerprint or not)."""
    if not drugs:
        return []
    ranked = [{"name": d["name"], "similarity": d["similarity"]} for d in drugs]
    listed = ", ".join(f"{d['name']} (Tanimoto {d['similarity']})" for d in ranked)
    facts = [
        fact(
            "similar_drugs",
            "similar approved drugs",
            ranked,
            f"The approved drugs most similar to {{subject}} by {FINGERPRINT} are {listed}",
            topics=SIMILAR_TOPICS,
            main=True,
        )
    ]
    same = [d["name"] for d in ranked if d["similarity"] == 1.0]
    if same:
        facts.append(
            fact(
                "same_fingerprint",
                "identical approved drug",
                {"names": same, "similarity": 1.0},
                f"{{subject}} has the same {FINGERPRINT} as {' and '.join(same)} (Tanimoto 1.0): "
                "the same compound or a stereoisomer",
                topics=(
                    *SIMILAR_TOPICS,
                    "same",
                    "identical",
                    "identify",
                    "what is",
                    "which drug",
                    "known drug",
                ),
                main=True,
            )
        )
    else:
        top = ranked[0]
        facts.append(
            fact(
                "closest_drug",
                "closest approved drug",
                top,
                f"The closest approved drug to {{subject}} is {top['name']} (Tanimoto {top['similarity']}), "
                + _closeness(top["similarity"]),
                topics=(*SIMILAR_TOPICS, "known drug", "which drug"),
                main=True,
            )
        )
    return facts


def _closeness(similarity: float) -> str:
    if similarity > 0.5:
        return "a close structural analogue (Tanimoto above 0.5)"
    if similarity >= 0.3:
        return "a moderate structural resemblance (Tanimoto 0.3-0.5)"
    return "little structural resemblance (Tanimoto below 0.3)"


def _entry(record: DrugRecord, similarity: float) -> dict[str, Any]:
    return {
        "name": record.name,
        "similarity": round(float(similarity), 4),
        "smiles": record.smiles,
        "source": record.source,
        **{k: v for k, v in record.identifiers.items() if k != "InChIKey"},
        **{k: v for k, v in record.annotations.items() if k in ("atc_codes", "moa", "clinical_phase") and v},
    }


SPEC = ToolSpec(
    title="Similar approved drugs (Morgan fingerprints)",
    name=ToolName.SIMILAR_DRUGS,
    description=DESCRIPTION,
    args_schema=SimilarDrugsInput,
    function=similar_drugs,
)
