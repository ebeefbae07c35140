"""drug_lookup: a drug name or synonym -> canonical SMILES and identifiers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bioagent.errors import ToolInputError
from bioagent.settings import Settings

from .chem import canonical_smiles, formula, inchikey, parse_smiles
from .common import ToolSpec, settings_or_default
from .drug_catalog import DrugRecord, load_drug_catalog, normalise

DESCRIPTION = """Find a drug by name and get its structure (canonical SMILES) and identifiers. Call it first
whenever a question names a drug and you need its SMILES for drug_properties, admet or similar_drugs, or
its DrugBank id and ATC class. Searches the DrugBank approved-drug set (about 2,800 drugs) and, when
configured, the Broad Drug Repurposing Hub (about 6,800 compounds with clinical phase, mechanism of action,
targets and indication). Matching is exact, then salt forms ('imatinib mesylate' -> imatinib), then fuzzy;
the result shows the name that matched and how, so check a fuzzy match. Brand names are not covered."""


class DrugLookupInput(BaseModel):
    name: str = Field(description="Generic drug name (e.g. 'imatinib', 'acetylsalicylic acid').")


def drug_lookup(name: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """The drug called ``name`` (best match) with SMILES, identifiers and annotations from each source."""
    if not name or not name.strip():
        raise ToolInputError("drug name is empty: give a generic drug name such as 'imatinib'")
    settings = settings_or_default(settings)
    catalog = load_drug_catalog(settings.tools.repurposing_hub)
    how, matched, similarity, records = catalog.lookup(name)
    if not records:
        raise ToolInputError(_not_found(name, catalog))
    return {
        "tool": "drug_lookup",
        "query": name,
        "match": {"how": how, "matched_name": _matched_name(records, matched), "similarity": similarity},
        "drug": _merge(records),
        "sources": sorted({r.source for r in records}),
    }


def _not_found(name: str, catalog: Any) -> str:
    searched = f"the DrugBank approved set ({len(catalog.drugbank)} drugs)"
    if catalog.has_hub:
        searched += f" or the Drug Repurposing Hub ({len(catalog.hub)} compounds)"
    else:
        searched += " (Drug Repurposing Hub not configured: settings.tools.repurposing_hub)"
    hint = catalog.suggestions(name)
    close = f"; closest names: {', '.join(hint)}" if hint else ""
    return f"no drug named '{name}' in {searched}{close}"


def _matched_name(records: list[DrugRecord], matched: str) -> str:
    return next((r.name for r in records if normalise(r.name) == matched), records[0].name)


def _merge(records: list[DrugRecord]) -> dict[str, Any]:
    """One drug entry: structure from the first record (DrugBank before the Hub), identifiers from all."""
    first = records[0]
    mol = parse_smiles(first.smiles)
    drug: dict[str, Any] = {
        "name": first.name,
        "smiles": canonical_smiles(mol),
        "inchikey": inchikey(mol),
        "formula": formula(mol),
    }
    for record in records:
        drug.update({k: v for k, v in record.identifiers.items() if k.lower() not in drug})
        for key, value in record.annotations.items():
            if value and key not in drug:
                drug[key] = value
    return drug


SPEC = ToolSpec(
    name="drug_lookup", description=DESCRIPTION, args_schema=DrugLookupInput, function=drug_lookup
)
