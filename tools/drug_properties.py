"""drug_properties: RDKit descriptors, drug-likeness rules and structural alerts for molecules."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, field_validator

from bioagent.settings import Settings

from .chem import canonical_smiles, formula, parse_smiles_list
from .common import ToolSpec, fact, package_version, split_items
from .names import ToolName

DESCRIPTION = """Compute RDKit descriptors and drug-likeness checks for one or more molecules given as SMILES.
Call it for molecular weight, formula, logP, polar surface area, hydrogen-bond donors/acceptors, rotatable
bonds, Lipinski's rule of five, Veber's rules, QED drug-likeness, and PAINS / Brenk structural alerts. For a
drug name, call drug_lookup first to get its SMILES. Input: SMILES, several separated by commas. Returns one
entry per molecule with canonical SMILES, the numbers, rule verdicts (with the violated criteria) and the
alerts found; `meaning` explains each number. These are computed descriptors, not measurements."""

MEANING = {
    "molecular_weight": "average molecular weight, g/mol (Descriptors.MolWt)",
    "exact_mass": "monoisotopic mass, Da",
    "logp": "Wildman-Crippen calculated octanol/water logP",
    "tpsa": "topological polar surface area, Å^2 (Ertl)",
    "hbd": "hydrogen-bond donors (RDKit CalcNumHBD)",
    "hba": "hydrogen-bond acceptors (RDKit CalcNumHBA)",
    "rotatable_bonds": "rotatable bonds (strict RDKit definition)",
    "qed": "quantitative estimate of drug-likeness, 0-1 (Bickerton 2012); higher is more drug-like",
    "lipinski": "rule of five: MW <= 500, logP <= 5, HBD <= 5, HBA <= 10; passes with at most one violation",
    "veber": "Veber rules for oral bioavailability: rotatable bonds <= 10 and TPSA <= 140",
    "alerts": "PAINS (assay interference) and Brenk (unwanted/reactive groups) substructure matches",
}


class DrugPropertiesInput(BaseModel):
    smiles: list[str] = Field(description="One or more SMILES strings (a comma-separated string also works).")

    @field_validator("smiles", mode="before")
    @classmethod
    def _split(cls, value: Any) -> list[str]:
        return split_items(value)


def drug_properties(smiles: str | list[str], *, settings: Settings | None = None) -> dict[str, Any]:
    """Descriptors, rule checks and alerts for each SMILES."""
    molecules = [_describe(text, mol) for text, mol in parse_smiles_list(smiles, settings)]
    several = len(molecules) > 1
    return {
        "tool": "drug_properties",
        "model": f"RDKit {package_version('rdkit')} descriptors and FilterCatalog (PAINS, Brenk)",
        "model_version": package_version("rdkit"),
        "molecules": molecules,
        "meaning": MEANING,
        "facts": [f for m in molecules for f in molecule_facts(m, m["input"] if several else None)],
    }


def _describe(text: str, mol: Any) -> dict[str, Any]:
    from rdkit.Chem import QED, Descriptors, rdMolDescriptors

    values = {
        "molecular_weight": round(Descriptors.MolWt(mol), 2),  # type: ignore[attr-defined]
        "exact_mass": round(rdMolDescriptors.CalcExactMolWt(mol), 4),
        "logp": round(rdMolDescriptors.CalcCrippenDescriptors(mol)[0], 2) + 0.0,  # + 0.0: no "-0.0"
        "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 2),
        "hbd": rdMolDescriptors.CalcNumHBD(mol),
        "hba": rdMolDescriptors.CalcNumHBA(mol),
        "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
        "heavy_atoms": mol.GetNumHeavyAtoms(),
        "rings": rdMolDescriptors.CalcNumRings(mol),
        "aromatic_rings": rdMolDescriptors.CalcNumAromaticRings(mol),
        "qed": round(QED.qed(mol), 3),
    }
    return {
        "input": text,
        "smiles": canonical_smiles(mol),
        "formula": formula(mol),
        **values,
        "lipinski": _lipinski(values),
        "veber": _veber(values),
        "alerts": _alerts(mol),
    }


def _lipinski(v: dict[str, Any]) -> dict[str, Any]:
    checks = {
        "molecular_weight > 500": v["molecular_weight"] > 500,
        "logp > 5": v["logp"] > 5,
        "hbd > 5": v["hbd"] > 5,
        "hba > 10": v["hba"] > 10,
    }
    violations = [rule for rule, broken in checks.items() if broken]
    return {"passes": len(violations) <= 1, "violations": violations}


def _veber(v: dict[str, Any]) -> dict[str, Any]:
    checks = {"rotatable_bonds > 10": v["rotatable_bonds"] > 10, "tpsa > 140": v["tpsa"] > 140}
    violations = [rule for rule, broken in checks.items() if broken]
    return {"passes": not violations, "violations": violations}


@lru_cache(maxsize=1)
def _filter_catalogs() -> dict[str, Any]:
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    catalogs = {}
    for name, which in (
        ("PAINS", FilterCatalogParams.FilterCatalogs.PAINS),
        ("Brenk", FilterCatalogParams.FilterCatalogs.BRENK),
    ):
        params = FilterCatalogParams()
        params.AddCatalog(which)
        catalogs[name] = FilterCatalog(params)
    return catalogs


def _alerts(mol: Any) -> dict[str, list[str]]:
    return {
        name: sorted({entry.GetDescription() for entry in catalog.GetMatches(mol)})
        for name, catalog in _filter_catalogs().items()
    }


DRUG_LIKE = ("drug-like", "druglike", "drug like", "drug-likeness", "lipinski", "rule of five", "oral")


def molecule_facts(m: dict[str, Any], item: str | None = None) -> list[dict[str, Any]]:
    """The facts of one molecule's entry: descriptors, rule verdicts and alerts, numbers as in the entry."""

    def add(
        key: str, label: str, statement: str, topics: tuple[str, ...], main: bool = False, **kw: Any
    ) -> None:
        facts.append(fact(key, label, m[key], statement, topics=topics, main=main, item=item, **kw))

    facts: list[dict[str, Any]] = []
    add(
        "molecular_weight",
        "molecular weight",
        f"RDKit computes a molecular weight of {m['molecular_weight']} g/mol for {{subject}}",
        ("weight", "mass", "mw", "g/mol", "how heavy", "size"),
        main=True,
        unit="g/mol",
    )
    add(
        "logp",
        "logP",
        f"RDKit computes a logP (Wildman-Crippen) of {m['logp']} for {{subject}}",
        ("log p", "lipophil", "hydrophob", "octanol", "partition coefficient", "clogp"),
        main=True,
    )
    add(
        "tpsa",
        "TPSA",
        f"RDKit computes a topological polar surface area (TPSA) of {m['tpsa']} Å² for {{subject}}",
        ("polar surface", "psa", "surface area"),
        main=True,
        unit="Å²",
    )
    add(
        "hbd",
        "hydrogen-bond donors",
        f"RDKit counts {_count(m['hbd'], 'hydrogen-bond donor')} in {{subject}}",
        ("hydrogen bond donor", "h-bond donor", "hbd", "donor"),
        main=True,
    )
    add(
        "hba",
        "hydrogen-bond acceptors",
        f"RDKit counts {_count(m['hba'], 'hydrogen-bond acceptor')} in {{subject}}",
        ("hydrogen bond acceptor", "h-bond acceptor", "hba", "acceptor"),
        main=True,
    )
    add(
        "rotatable_bonds",
        "rotatable bonds",
        f"RDKit counts {_count(m['rotatable_bonds'], 'rotatable bond')} in {{subject}}",
        ("rotatable", "flexib"),
    )
    add(
        "qed",
        "QED",
        f"RDKit computes a QED drug-likeness score of {m['qed']} for {{subject}} (0-1, higher is more drug-like)",
        (*DRUG_LIKE, "qed"),
        main=True,
    )
    add(
        "formula",
        "molecular formula",
        f"The molecular formula of {{subject}} is {m['formula']}",
        ("formula", "composition", "atoms"),
    )
    add(
        "exact_mass",
        "monoisotopic mass",
        f"RDKit computes a monoisotopic mass of {m['exact_mass']} Da for {{subject}}",
        ("exact mass", "monoisotopic", "mass spec"),
        unit="Da",
    )
    add(
        "lipinski",
        "Lipinski's rule of five",
        _rule_statement("Lipinski's rule of five", m["lipinski"]),
        (*DRUG_LIKE, "ro5", "bioavailab"),
        main=True,
    )
    add(
        "veber",
        "Veber's rules",
        _rule_statement("Veber's rules for oral bioavailability", m["veber"]),
        (*DRUG_LIKE, "veber", "bioavailab"),
    )
    add(
        "alerts",
        "structural alerts",
        _alerts_statement(m["alerts"]),
        ("alert", "pains", "brenk", "reactive", "toxicophore", "assay interference", "promiscu"),
    )
    return facts


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _rule_statement(rule: str, verdict: dict[str, Any]) -> str:
    violations = verdict["violations"]
    if not violations:
        return f"{{subject}} passes {rule} (no violations)"
    if verdict["passes"]:
        return f"{{subject}} passes {rule} with one violation ({violations[0]})"
    return f"{{subject}} fails {rule} (violations: {', '.join(violations)})"


def _alerts_statement(alerts: dict[str, list[str]]) -> str:
    found = [f"{catalog} {', '.join(names)}" for catalog, names in alerts.items() if names]
    if not found:
        return f"No {' or '.join(alerts)} structural alerts match {{subject}}"
    return f"{{subject}} matches structural alerts: {'; '.join(found)}"


SPEC = ToolSpec(
    title="Drug properties (RDKit)",
    name=ToolName.DRUG_PROPERTIES,
    description=DESCRIPTION,
    args_schema=DrugPropertiesInput,
    function=drug_properties,
)
