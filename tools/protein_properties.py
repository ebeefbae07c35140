"""protein_properties: sequence-derived physico-chemical properties (Biopython ProtParam)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from bioagent.settings import Settings

from .common import STANDARD_AMINO_ACIDS, NamedSequence, ToolSpec, fact, package_version, parse_sequences
from .names import ToolName

DESCRIPTION = """Compute physico-chemical properties of one or more protein sequences (Biopython ProtParam).
Call it when a question needs a protein's length, molecular weight, isoelectric point, hydrophobicity
(GRAVY), stability estimate, aromaticity, extinction coefficient or secondary-structure propensities. Input:
a sequence in one-letter code, or FASTA with one or several records. Returns one entry per sequence with
these numbers and a `meaning` map that says what each number is and its unit. These are sequence
formulas, not measurements or structure predictions."""

MEANING = {
    "length": "number of residues",
    "molecular_weight_da": "average molecular weight in daltons (Da), unmodified chain",
    "isoelectric_point": "pH at which the net charge is zero (Bjellqvist pK values)",
    "charge_at_ph7": "estimated net charge at pH 7.0",
    "gravy": "grand average of hydropathy (Kyte-Doolittle); positive = hydrophobic, negative = hydrophilic",
    "instability_index": "Guruprasad instability index; above 40 predicts a protein unstable in vitro",
    "aromaticity": "fraction of F, W and Y residues (Lobry)",
    "extinction_coefficient_reduced": "molar extinction coefficient at 280 nm (M^-1 cm^-1), cysteines reduced",
    "extinction_coefficient_cystines": "molar extinction coefficient at 280 nm (M^-1 cm^-1), all cysteines "
    "paired as cystines",
    "helix_fraction": "fraction of residues in V, I, Y, F, W, L (helix-favouring set used by ProtParam)",
    "turn_fraction": "fraction of residues in N, P, G, S (turn-favouring set)",
    "sheet_fraction": "fraction of residues in E, M, A, L (sheet-favouring set as defined by ProtParam)",
}


class ProteinPropertiesInput(BaseModel):
    sequence: str = Field(
        description="Protein sequence in one-letter code, or FASTA text with one or several records."
    )


def protein_properties(sequence: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Physico-chemical properties of each sequence in ``sequence`` (raw or FASTA)."""
    records = parse_sequences(sequence, settings)
    proteins = [_properties(record) for record in records]
    several = len(proteins) > 1
    return {
        "tool": "protein_properties",
        "model": f"Biopython {package_version('biopython')} Bio.SeqUtils.ProtParam",
        "model_version": package_version("biopython"),
        "proteins": proteins,
        "meaning": MEANING,
        "facts": [f for p in proteins for f in protein_facts(p, p["name"] if several else None)],
    }


def _properties(record: NamedSequence) -> dict[str, Any]:
    from Bio.SeqUtils.ProtParam import ProteinAnalysis

    standard = "".join(r for r in record.sequence if r in STANDARD_AMINO_ACIDS)
    ignored = dict(Counter(r for r in record.sequence if r not in STANDARD_AMINO_ACIDS))
    result: dict[str, Any] = {"name": record.name, "length": len(record.sequence)}
    if not standard:
        result["note"] = "no standard residues: properties cannot be computed"
        return result
    analysis = ProteinAnalysis(standard)
    helix, turn, sheet = analysis.secondary_structure_fraction()
    reduced, cystines = analysis.molar_extinction_coefficient()
    result.update(
        molecular_weight_da=round(analysis.molecular_weight(), 2),
        isoelectric_point=round(analysis.isoelectric_point(), 2),
        charge_at_ph7=round(analysis.charge_at_pH(7.0), 2),
        gravy=round(analysis.gravy(), 3),
        instability_index=round(analysis.instability_index(), 2),
        aromaticity=round(analysis.aromaticity(), 4),
        extinction_coefficient_reduced=int(reduced),
        extinction_coefficient_cystines=int(cystines),
        helix_fraction=round(helix, 4),
        turn_fraction=round(turn, 4),
        sheet_fraction=round(sheet, 4),
    )
    result["stable_in_vitro"] = result["instability_index"] <= 40
    if ignored:
        result["note"] = (
            f"computed on the {len(standard)} standard residues; ignored non-standard residues {ignored}"
        )
    return result


PROTPARAM = "Biopython ProtParam computes"


def protein_facts(p: dict[str, Any], item: str | None = None) -> list[dict[str, Any]]:
    """The facts of one protein's entry, numbers as in the entry (only the length without standard residues)."""

    def add(key: str, label: str, value: Any, statement: str, topics: tuple[str, ...], **kw: Any) -> None:
        facts.append(fact(key, label, value, statement, topics=topics, item=item, **kw))

    facts: list[dict[str, Any]] = []
    add(
        "length",
        "length",
        p["length"],
        f"{{subject}} is {p['length']} residues long",
        ("how long", "long", "residues", "amino acids", "size"),
        main=True,
        unit="residues",
    )
    if "molecular_weight_da" not in p:
        return facts
    add(
        "molecular_weight_da",
        "molecular weight",
        p["molecular_weight_da"],
        f"{PROTPARAM} a molecular weight of {p['molecular_weight_da']} Da for {{subject}}",
        ("weight", "mass", "kda", "dalton", "how heavy", "size"),
        main=True,
        unit="Da",
    )
    add(
        "isoelectric_point",
        "isoelectric point",
        p["isoelectric_point"],
        f"{PROTPARAM} an isoelectric point (pI) of {p['isoelectric_point']} for {{subject}}",
        ("isoelectric", "pi", "charge"),
        main=True,
    )
    add(
        "charge_at_ph7",
        "net charge",
        p["charge_at_ph7"],
        f"{PROTPARAM} an estimated net charge of {p['charge_at_ph7']} at pH 7 for {{subject}}",
        ("charge", "charged", "ph 7", "physiological ph"),
    )
    side = "hydrophobic" if p["gravy"] > 0 else "hydrophilic"
    add(
        "gravy",
        "GRAVY",
        p["gravy"],
        f"{PROTPARAM} a GRAVY (grand average of hydropathy, Kyte-Doolittle) of {p['gravy']} for {{subject}}: "
        f"{side} overall",
        ("hydrophob", "hydrophil", "hydropath", "gravy", "kyte"),
        main=True,
    )
    verdict = (
        "stable in vitro (index 40 or below)"
        if p["stable_in_vitro"]
        else "unstable in vitro (index above 40)"
    )
    add(
        "instability_index",
        "instability index",
        p["instability_index"],
        f"{PROTPARAM} an instability index of {p['instability_index']} for {{subject}}, "
        f"predicting that it is {verdict}",
        ("stable", "stability", "instability", "unstable", "half-life"),
        main=True,
    )
    add(
        "aromaticity",
        "aromaticity",
        p["aromaticity"],
        f"{PROTPARAM} an aromaticity (fraction of F, W and Y residues) of {p['aromaticity']} for {{subject}}",
        ("aromatic",),
    )
    coefficients = {
        "reduced": p["extinction_coefficient_reduced"],
        "cystines": p["extinction_coefficient_cystines"],
    }
    add(
        "extinction_coefficient",
        "extinction coefficient",
        coefficients,
        f"{PROTPARAM} a molar extinction coefficient at 280 nm of {coefficients['reduced']} M^-1 cm^-1 for "
        f"{{subject}} with cysteines reduced ({coefficients['cystines']} with all cysteines as cystines)",
        ("extinction", "absorbance", "a280", "280 nm", "concentration"),
        unit="M^-1 cm^-1",
    )
    return facts


SPEC = ToolSpec(
    title="Protein properties (Biopython ProtParam)",
    name=ToolName.PROTEIN_PROPERTIES,
    description=DESCRIPTION,
    args_schema=ProteinPropertiesInput,
    function=protein_properties,
)
