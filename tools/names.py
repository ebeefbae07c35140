"""The prediction tools' names, in one place: the registry, the planner, the composer and the chat use these."""

from __future__ import annotations

from enum import StrEnum


class ToolName(StrEnum):
    """Each tool's name (equal to the plain string, as models and the CLI write it)."""

    PROTEIN_PROPERTIES = "protein_properties"
    DISORDER = "disorder"
    HOMOLOGY_SEARCH = "homology_search"
    UNIPROT_LOOKUP = "uniprot_lookup"
    VARIANT_EFFECT = "variant_effect"
    DRUG_LOOKUP = "drug_lookup"
    DRUG_PROPERTIES = "drug_properties"
    ADMET = "admet"
    SIMILAR_DRUGS = "similar_drugs"
