"""drug_lookup: a drug name, synonym or SMILES -> the drug, its structure, identifiers, MOA and targets."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.types import Artifact

from .chem import canonical_smiles, depiction_svg, formula, inchikey, parent_molecule, parse_smiles
from .common import ToolSpec, fact, settings_or_default
from .drug_catalog import (
    DRUGBANK_SOURCE,
    HUB_SOURCE,
    SAME_PARENT,
    SAME_STRUCTURE,
    CatalogMatch,
    DrugCatalog,
    DrugRecord,
    drug_names,
    load_drug_catalog,
)
from .names import ToolName

DESCRIPTION = """Identify a drug by name or by structure, and get its SMILES, identifiers, other names and (from
the Drug Repurposing Hub) its mechanism of action, targets, clinical phase and indication. Call it first whenever
a question names a drug (pass name), or gives a SMILES and asks what it is (pass smiles); also to get a SMILES for
drug_properties, admet or similar_drugs, and to answer "what does X target / inhibit / how does it act".
Give exactly one of name or smiles.
By name: exact, then salt forms ('imatinib mesylate' -> imatinib), common INN/USAN synonyms ('paracetamol' ->
acetaminophen), then fuzzy; match.how says which, so check a fuzzy match. Brand names are not covered.
By SMILES: the structure's InChIKey is compared with every reference compound's (salts are stripped to the
parent); match.how 'same skeleton (first InChIKey block)' means a stereoisomer or other protonation state. A
SMILES that matches no reference drug returns drug = null and a fact saying so (not an error).
Returns drug (name, synonyms, smiles, inchikey, formula, drugbank_id, atc_codes, atc_classes, moa, targets as
gene symbols, clinical_phase, indication; fields a source lacks are absent), match, sources, searched, and facts:
sentences to quote. Searches the DrugBank approved set (about 2,800 drugs) and the Broad Drug Repurposing Hub
(about 6,800 compounds) when it is configured or found in the data folder."""

IDENTITY_TOPICS = (
    "what is",
    "which drug",
    "what drug",
    "identify",
    "name",
    "structure",
    "inchikey",
    "drugbank",
)
MOA_TOPICS = ("target", "inhibit", "kinase", "mechanism", "moa", "act", "acts", "action", "bind", "how does")
SYNONYM_TOPICS = ("synonym", "also called", "also known", "other name", "known as", "called", "name")
ATC_TOPICS = ("atc", "class", "classification", "category", "type of drug", "kind of drug")
PHASE_TOPICS = ("phase", "clinical", "approved", "approval", "launched", "marketed", "trial", "status")
INDICATION_TOPICS = ("indication", "indicated", "used for", "treat", "disease", "therapy", "prescribed")


class DrugLookupInput(BaseModel):
    name: str | None = Field(
        default=None,
        description="Generic drug name or synonym (e.g. 'imatinib', 'aspirin', 'paracetamol'). Give name or "
        "smiles, not both.",
    )
    smiles: str | None = Field(
        default=None,
        description="A molecule as SMILES, to find which drug it is by structure (e.g. 'CC(=O)Oc1ccccc1C(=O)O'). "
        "Give name or smiles, not both.",
    )


def drug_lookup(
    name: str | None = None, smiles: str | None = None, *, settings: Settings | None = None
) -> dict[str, Any]:
    """The drug called ``name`` (best match) or with the structure ``smiles``, merged across the sources."""
    given = {k: v.strip() for k, v in (("name", name), ("smiles", smiles)) if v is not None and v.strip()}
    if len(given) == 2:
        raise ToolInputError("give either name or smiles, not both: drug_lookup looks up one drug at a time")
    if not given:
        if name is not None:
            raise ToolInputError("drug name is empty: give a generic drug name such as 'imatinib'")
        raise ToolInputError(
            "give a drug name (name='imatinib') or a structure (smiles='CC(=O)Oc1ccccc1C(=O)O'): one is required"
        )
    settings = settings_or_default(settings)
    catalog = load_drug_catalog(settings.repurposing_hub_path(), settings.cache_dir)
    if "smiles" in given:
        return _by_structure(given["smiles"], catalog)
    return _by_name(given["name"], catalog)


def _by_name(name: str, catalog: DrugCatalog) -> dict[str, Any]:
    found = catalog.lookup(name)
    if not found.records:
        raise ToolInputError(_not_found(name, catalog))
    drug = _merge(found.records)
    match = {"how": found.how, "matched_name": found.matched_name, "similarity": found.similarity}
    facts = [_identity_fact(drug, found, by_structure=False), *_annotation_facts(drug)]
    return _result(name, "name", match, drug, found.records, catalog, facts)


def _by_structure(smiles: str, catalog: DrugCatalog) -> dict[str, Any]:
    mol = parse_smiles(smiles)
    key = inchikey(mol)
    parent_key = inchikey(parent_molecule(mol))
    found = catalog.lookup_structure(key, parent_key)
    match: dict[str, Any] = {"how": found.how, "matched_name": found.matched_name or None, "inchikey": key}
    if parent_key and parent_key != key:
        match["parent_inchikey"] = parent_key
    if found.alternatives:
        match["alternatives"] = found.alternatives
    if not found.records:
        fact_ = _no_structure_fact(key, catalog)
        return _result(smiles, "smiles", match, None, [], catalog, [fact_])
    drug = _merge(found.records)
    facts = [_identity_fact(drug, found, by_structure=True), *_annotation_facts(drug)]
    return _result(smiles, "smiles", match, drug, found.records, catalog, facts)


def _result(
    query: str,
    query_type: str,
    match: dict[str, Any],
    drug: dict[str, Any] | None,
    records: list[DrugRecord],
    catalog: DrugCatalog,
    facts: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "tool": "drug_lookup",
        "query": query,
        "query_type": query_type,
        "match": match,
        "drug": drug,
        "sources": sorted({r.source for r in records}),
        "searched": _searched_sources(catalog),
        "facts": facts,
    }


def _searched_sources(catalog: DrugCatalog) -> list[str]:
    return [DRUGBANK_SOURCE, HUB_SOURCE] if catalog.has_hub else [DRUGBANK_SOURCE]


def _searched(catalog: DrugCatalog, note: bool = True) -> str:
    searched = f"the DrugBank approved set ({len(catalog.drugbank)} drugs)"
    if catalog.has_hub:
        return searched + f" or the Drug Repurposing Hub ({len(catalog.hub)} compounds)"
    return searched + (
        " (Drug Repurposing Hub not configured: settings.tools.repurposing_hub)" if note else ""
    )


def _not_found(name: str, catalog: DrugCatalog) -> str:
    hint = catalog.suggestions(name)
    close = f"; closest names: {', '.join(hint)}" if hint else ""
    return f"no drug named '{name}' in {_searched(catalog)}{close} (for a structure, pass smiles instead)"


def _merge(records: list[DrugRecord]) -> dict[str, Any]:
    """One drug entry: structure from the first record (DrugBank before the Hub), identifiers from all."""
    first = records[0]
    mol = parse_smiles(first.smiles)
    drug: dict[str, Any] = {
        "name": first.name,
        "synonyms": drug_names(records)[1:],
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


# ----- facts --------------------------------------------------------------------------------------------------


def _identity_fact(drug: dict[str, Any], found: CatalogMatch, by_structure: bool) -> dict[str, Any]:
    name, ids = drug["name"], _identifiers(drug)
    if not by_structure:
        statement = f"{{subject}} is listed as {name} ({ids}; InChIKey {drug['inchikey']})"
    elif found.how == SAME_STRUCTURE:
        statement = f"{{subject}} has the structure of {name} ({ids}; identical InChIKey {drug['inchikey']})"
    elif found.how == SAME_PARENT:
        statement = (
            f"{{subject}} is a salt, mixture or charged form of {name} ({ids}; after salt stripping and "
            f"neutralisation its InChIKey is {found.inchikey})"
        )
    else:
        others = (
            f"; other compounds with this skeleton: {', '.join(found.alternatives)}"
            if found.alternatives
            else ""
        )
        statement = (
            f"{{subject}} has the skeleton of {name} ({ids}; same first InChIKey block "
            f"{found.inchikey}, different stereochemistry or protonation{others})"
        )
    topics = (*IDENTITY_TOPICS, "smiles") if by_structure else IDENTITY_TOPICS
    return fact(
        "identity", "identity", {"name": name, "match": found.how}, statement, topics=topics, main=True
    )


def _identifiers(drug: dict[str, Any]) -> str:
    if drug.get("drugbank_id"):
        return f"DrugBank {str(drug['drugbank_id']).split(';')[0]}"
    if drug.get("pubchem_cid"):
        return f"Drug Repurposing Hub; PubChem CID {drug['pubchem_cid']}"
    return "Drug Repurposing Hub"


def _no_structure_fact(key: str, catalog: DrugCatalog) -> dict[str, Any]:
    statement = (
        f"No drug in {_searched(catalog, note=False)} has the structure of {{subject}} (InChIKey {key})"
    )
    return fact("identity", "identity", None, statement, topics=IDENTITY_TOPICS, main=True)


def _annotation_facts(drug: dict[str, Any]) -> list[dict[str, Any]]:
    """Facts for the names, ATC class, MOA, targets, phase and indication the sources give."""
    facts = []
    names = [drug["name"], *drug["synonyms"]]
    if len(names) > 1:
        statement = (
            f"{{subject}} is known as {_joined(names)} (names of the same structure in the reference sets)"
        )
        facts.append(fact("synonyms", "synonyms", names, statement, topics=SYNONYM_TOPICS))
    if drug.get("atc_codes"):
        classes = "; ".join(drug.get("atc_classes") or [])
        statement = f"DrugBank classifies {{subject}} under ATC {', '.join(drug['atc_codes'])}"
        statement += f" ({classes})" if classes else ""
        facts.append(fact("atc", "ATC class", drug["atc_codes"], statement, topics=ATC_TOPICS, main=True))
    if drug.get("moa"):
        moas = str(drug["moa"]).split("; ")
        statement = (
            f"The Drug Repurposing Hub lists the mechanism of action of {{subject}} as {_joined(moas)}"
        )
        facts.append(fact("moa", "mechanism of action", moas, statement, topics=MOA_TOPICS, main=True))
    if drug.get("targets"):
        statement = (
            f"The Drug Repurposing Hub lists the targets of {{subject}} as {', '.join(drug['targets'])}"
        )
        topics = (*MOA_TOPICS, "protein", "gene", "receptor")
        facts.append(fact("targets", "targets", drug["targets"], statement, topics=topics, main=True))
    facts.extend(_hub_clinical_facts(drug))
    return facts


def _hub_clinical_facts(drug: dict[str, Any]) -> list[dict[str, Any]]:
    facts = []
    phase = drug.get("clinical_phase")
    if phase:
        meaning = " (marketed in at least one country)" if phase == "Launched" else ""
        statement = f"The Drug Repurposing Hub gives the clinical phase of {{subject}} as {phase}{meaning}"
        facts.append(fact("clinical_phase", "clinical phase", phase, statement, topics=PHASE_TOPICS))
    if drug.get("indication"):
        indications = str(drug["indication"]).split("; ")
        statement = (
            f"The Drug Repurposing Hub lists the indications of {{subject}} as {', '.join(indications)}"
        )
        if drug.get("disease_area"):
            statement += f" (disease areas: {str(drug['disease_area']).replace('; ', ', ')})"
        facts.append(fact("indication", "indication", indications, statement, topics=INDICATION_TOPICS))
    return facts


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def structure_artifacts(data: dict[str, Any]) -> list[Artifact]:
    """The identified drug's 2D structure as an ``svg`` (RDKit), with its name and SMILES."""
    drug = data.get("drug") or {}
    if not drug.get("smiles"):
        return []
    name = str(drug.get("name") or drug["smiles"])
    svg = depiction_svg(str(drug["smiles"]))
    return [Artifact(kind="svg", title=f"2D structure: {name}", data={"svg": svg, "smiles": drug["smiles"]})]


SPEC = ToolSpec(
    title="Drug identity (DrugBank, Drug Repurposing Hub)",
    name=ToolName.DRUG_LOOKUP,
    description=DESCRIPTION,
    args_schema=DrugLookupInput,
    function=drug_lookup,
    artifacts=structure_artifacts,
)
