"""Reference drug sets: DrugBank approved drugs shipped by admet-ai, plus the Drug Repurposing Hub if configured.

Records of the two sources are linked by structure (InChIKey, then its first block), so each source's names are
the other's synonyms: DrugBank's "Acetylsalicylic acid" is the Hub's "aspirin".
"""

from __future__ import annotations

import csv
import difflib
import importlib.util
import json
import logging
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bioagent.errors import BioagentError, ConfigError, MissingExtraError

from .chem import inchikey, inchikey_skeleton, parent_molecule, parse_smiles
from .common import closest, package_version

logger = logging.getLogger(__name__)

DRUGBANK_SOURCE = "DrugBank approved drugs (reference set shipped with admet-ai)"
HUB_SOURCE = "Broad Drug Repurposing Hub (2020-03-24 snapshot)"
HUB_DRUGS = "repurposing_drugs_20200324.txt"
HUB_SAMPLES = "repurposing_samples_20200324.txt"
# Counter-ions and hydrate words dropped when a salt form is looked up ("imatinib mesylate" -> "imatinib").
_SALTS = (
    "hydrochloride dihydrochloride hcl mesylate mesilate sodium disodium potassium calcium magnesium sulfate "
    "sulphate phosphate acetate citrate maleate fumarate tartrate bitartrate succinate besylate besilate "
    "tosylate bromide hydrobromide chloride iodide nitrate lactate gluconate hydrate monohydrate dihydrate "
    "trihydrate hemihydrate anhydrous free base"
)
SALT_WORDS = frozenset(_SALTS.split())


#: Very common INN/BAN names that the DrugBank set spells the USAN (or another) way, and back. Used only when a
#: name is in neither reference set; with the Drug Repurposing Hub loaded most of these also link by structure.
COMMON_SYNONYMS = {
    "aspirin": "Acetylsalicylic acid",
    "paracetamol": "Acetaminophen",
    "salbutamol": "Albuterol",
    "adrenaline": "Epinephrine",
    "noradrenaline": "Norepinephrine",
    "lignocaine": "Lidocaine",
    "frusemide": "Furosemide",
    "glibenclamide": "Glyburide",
    "pethidine": "Meperidine",
    "ciclosporin": "Cyclosporine",
    "rifampicin": "Rifampin",
    "isoproterenol": "Isoprenaline",
    "chlorphenamine": "Chlorpheniramine",
    "levomepromazine": "Methotrimeprazine",
    "phenobarbitone": "Phenobarbital",
    "mesalamine": "Mesalazine",
    "thyroxine": "Levothyroxine",
    "aciclovir": "Acyclovir",
    "cefalexin": "Cephalexin",
    "hydroxycarbamide": "Hydroxyurea",
    "colecalciferol": "Cholecalciferol",
    "glyceryl trinitrate": "Nitroglycerin",
    "vitamin c": "Ascorbic acid",
}
SYNONYM = "synonym (built-in INN/USAN table)"
SAME_STRUCTURE = "same structure (InChIKey)"
SAME_PARENT = "same parent structure (InChIKey after salt stripping and neutralisation)"
SAME_SKELETON = "same skeleton (first InChIKey block)"


@dataclass
class DrugRecord:
    """One named compound with its SMILES and whatever identifiers/annotations its source gives."""

    name: str
    smiles: str
    source: str
    identifiers: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass
class CatalogMatch:
    """How a query matched, and the records of the one drug it found (DrugBank first, then linked records)."""

    how: str
    matched_name: str = ""
    similarity: float = 0.0
    records: list[DrugRecord] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    """Other compounds with the same skeleton (a skeleton match only)."""
    inchikey: str = ""
    """The InChIKey (or, for a skeleton match, its first block) that matched a structure query."""


@dataclass
class StructureTable:
    """The catalogue's records by full InChIKey, by its first block, and (salts, mixtures) by the parent's key."""

    by_key: dict[str, list[DrugRecord]] = field(default_factory=dict)
    by_block: dict[str, list[DrugRecord]] = field(default_factory=dict)
    by_parent: dict[str, list[DrugRecord]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)

    def add(self, record: DrugRecord, keys: tuple[str, str]) -> None:
        key, parent = keys
        if not key:
            return
        self.keys[id(record)] = key
        self.by_key.setdefault(key, []).append(record)
        self.by_block.setdefault(inchikey_skeleton(key), []).append(record)
        if parent and parent != key:
            self.by_parent.setdefault(parent, []).append(record)

    def key_of(self, record: DrugRecord) -> str:
        return self.keys.get(id(record), "")


class DrugCatalog:
    """Lookup by name (exact, salt form, built-in synonym, fuzzy) or by structure (InChIKey) over DrugBank approved
    drugs and optional Hub compounds; records of the same structure are linked across the sources."""

    def __init__(
        self, drugbank: list[DrugRecord], hub: list[DrugRecord] | None = None, key_cache: Path | None = None
    ) -> None:
        self.drugbank = drugbank
        self.hub = hub or []
        self.key_cache = key_cache
        """JSON file of computed InChIKeys by SMILES (RDKit takes seconds for the ~2,800 DrugBank structures)."""
        self._names: dict[str, list[DrugRecord]] = {}
        for record in [*self.drugbank, *self.hub]:
            self._names.setdefault(normalise(record.name), []).append(record)

    @property
    def has_hub(self) -> bool:
        return bool(self.hub)

    def lookup(self, name: str) -> CatalogMatch:
        """The drug called ``name``; ``how`` is 'none' when nothing is close.

        Records are DrugBank first; with the Hub loaded, records of the same structure (same InChIKey, or the one
        compound of the other source with the same skeleton) are added, so Hub names act as DrugBank synonyms.
        """
        key = normalise(name)
        base = " ".join(w for w in key.split() if w not in SALT_WORDS) or key
        if key in self._names:
            return self._name_match("exact", key, 1.0)
        if base in self._names:
            return self._name_match("salt form", base, 1.0)
        alias = normalise(COMMON_SYNONYMS.get(base, ""))
        if alias in self._names:
            return self._name_match(SYNONYM, alias, 1.0)
        best = closest(base, self._names, cutoff=0.8)
        if not best:
            return CatalogMatch("none")
        return self._name_match("fuzzy", *best)

    def _name_match(self, how: str, matched: str, similarity: float) -> CatalogMatch:
        records = self.linked(self._names[matched]) if self.hub else self._names[matched]
        name = next((r.name for r in records if normalise(r.name) == matched), records[0].name)
        return CatalogMatch(how, name, similarity, records)

    def lookup_structure(self, key: str, parent_key: str = "") -> CatalogMatch:
        """The drug with InChIKey ``key``; else whose structure is the salt-stripped, neutralised ``parent_key``;
        else a salt of the same parent; else the first with the same first block (alternatives: the others)."""
        table = self.structures
        for how, full, where in (
            (SAME_STRUCTURE, key, table.by_key),
            (SAME_PARENT, parent_key, table.by_key),
            (SAME_PARENT, parent_key, table.by_parent),
        ):
            if full and full in where:
                records = where[full]
                return CatalogMatch(how, records[0].name, 1.0, self.linked(records), inchikey=full)
        for block in dict.fromkeys(inchikey_skeleton(k) for k in (key, parent_key) if k):
            group = table.by_block.get(block)
            if group:
                records = self.linked(group[:1])
                others: dict[str, str] = {}
                for other in (r for r in group if all(r is not s for s in records)):
                    others.setdefault(normalise(other.name), other.name)
                return CatalogMatch(SAME_SKELETON, group[0].name, 1.0, records, list(others.values()), block)
        return CatalogMatch("none")

    def linked(self, records: list[DrugRecord]) -> list[DrugRecord]:
        """``records`` and every record of the same structure: the same full InChIKey in any source; for a source
        with no such record, its one compound with the same skeleton, if just one (salts stay separate drugs)."""
        table = self.structures
        keys = {table.key_of(r) for r in records} - {""}
        found = [*records, *(r for k in keys for r in table.by_key.get(k, []))]
        blocks = {inchikey_skeleton(k) for k in keys}
        for source in {DRUGBANK_SOURCE, HUB_SOURCE} - {r.source for r in found}:
            same = [r for b in blocks for r in table.by_block.get(b, []) if r.source == source]
            if len({normalise(r.name) for r in same}) == 1:
                found += same
        unique = {id(r): r for r in found}
        return sorted(unique.values(), key=lambda r: r.source != DRUGBANK_SOURCE)

    @cached_property
    def structures(self) -> StructureTable:
        known = _read_key_cache(self.key_cache)
        computed = 0
        table = StructureTable()
        for record in [*self.drugbank, *self.hub]:
            keys = known.get(record.smiles)
            if keys is None:
                keys = known[record.smiles] = record_keys(record)
                computed += 1
            elif keys[0] and not record.identifiers.get("InChIKey"):
                record.identifiers["InChIKey"] = keys[0]
            table.add(record, keys)
        if computed:
            _write_key_cache(self.key_cache, known)
        return table

    def suggestions(self, name: str, n: int = 5) -> list[str]:
        keys = difflib.get_close_matches(normalise(name), self._names, n=n, cutoff=0.5)
        return [self._names[k][0].name for k in keys]

    def approved(self) -> list[DrugRecord]:
        """Approved/launched reference compounds for similarity search (Hub 'Launched' only)."""
        launched = [r for r in self.hub if r.annotations.get("clinical_phase") == "Launched"]
        return self.drugbank + launched


def drug_names(records: list[DrugRecord]) -> list[str]:
    """Every name of one drug: its records' names (first = the main name), then built-in synonyms; no repeats."""
    names: dict[str, str] = {}
    for name in (r.name for r in records):
        names.setdefault(normalise(name), name)
    for alias, target in COMMON_SYNONYMS.items():
        if normalise(target) in names:
            names.setdefault(normalise(alias), alias)
    return list(names.values())


def record_keys(record: DrugRecord) -> tuple[str, str]:
    """(InChIKey, parent InChIKey) of a record: its structure's key (the Hub gives it; computed and kept for
    DrugBank) and, for a salt or mixture, the key of its largest fragment, neutralised ('' otherwise)."""
    key = str(record.identifiers.get("InChIKey") or "")
    if key and "." not in record.smiles:
        return key, ""
    try:
        mol = parse_smiles(record.smiles)
    except BioagentError:
        return key, ""
    if not key:
        key = record.identifiers["InChIKey"] = inchikey(mol)
    return key, inchikey(parent_molecule(mol)) if "." in record.smiles else ""


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


@lru_cache(maxsize=4)
def load_drug_catalog(hub_dir: Path | None, cache_dir: Path | None = None) -> DrugCatalog:
    """The reference sets, read once per process (per Hub folder); computed InChIKeys are kept in
    ``<cache_dir>/drugs/`` for the next process."""
    path = drugbank_path()
    key_cache = None
    if cache_dir is not None:
        stamp = f"{package_version('admet-ai')}-{path.stat().st_size}"
        key_cache = cache_dir / "drugs" / f"inchikeys-{stamp}-{_hub_stamp(hub_dir)}.json"
    return DrugCatalog(read_drugbank(path), read_hub(hub_dir) if hub_dir else None, key_cache)


def _hub_stamp(hub_dir: Path | None) -> str:
    if hub_dir is None:
        return "nohub"
    return "-".join(str(p.stat().st_size) for p in sorted(hub_dir.glob("*.txt")))


def _read_key_cache(path: Path | None) -> dict[str, tuple[str, str]]:
    if path is None or not path.is_file():
        return {}
    try:
        return {smiles: (keys[0], keys[1]) for smiles, keys in json.loads(path.read_text("utf-8")).items()}
    except (OSError, ValueError, IndexError, TypeError):
        return {}  # a damaged cache is recomputed and rewritten


def _write_key_cache(path: Path | None, keys: dict[str, tuple[str, str]]) -> None:
    """Write the keys atomically (a temporary file renamed into place); a read-only cache folder is skipped."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(keys), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        logger.info("InChIKey cache not written to %s: %s", path, exc)


def admet_ai_data(filename: str) -> Path:
    """A file of admet-ai's ``resources/data``, found without importing admet_ai (which pulls in torch)."""
    spec = importlib.util.find_spec("admet_ai")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("admet-ai", "tools", "the DrugBank approved reference set")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "data" / filename


def drugbank_path() -> Path:
    return admet_ai_data("drugbank_approved.csv")


def read_drugbank(path: Path) -> list[DrugRecord]:
    with path.open(newline="", encoding="utf-8") as stream:
        return [
            DrugRecord(
                name=row["name"],
                smiles=row["smiles"],
                source=DRUGBANK_SOURCE,
                identifiers={"drugbank_id": row["id"]},
                annotations={
                    "atc_codes": [c for c in (row.get("atc") or "").split(";") if c],
                    "atc_classes": _atc_classes(row),
                },
            )
            for row in csv.DictReader(stream)
        ]


def _atc_classes(row: dict[str, str]) -> list[str]:
    """ATC class names of all levels (atc_name_1 = anatomical main group ... atc_name_4), without repeats."""
    names = [n for k in sorted(row) if k.startswith("atc_name_") for n in (row[k] or "").split(";") if n]
    return list(dict.fromkeys(names))


def read_hub(folder: Path) -> list[DrugRecord]:
    """Hub compounds (name, phase, MOA, targets, indication) joined with the first sample's SMILES."""
    drugs, samples = folder / HUB_DRUGS, folder / HUB_SAMPLES
    if not drugs.is_file() or not samples.is_file():
        raise ConfigError(
            f"the Drug Repurposing Hub folder {folder} (settings.tools.repurposing_hub, or found in data_dir) must "
            f"hold {HUB_DRUGS} and {HUB_SAMPLES}; set tools.repurposing_hub_from_data_dir=false to use DrugBank only"
        )
    first_sample: dict[str, dict[str, str]] = {}
    for row in _tsv(samples):
        if row.get("smiles"):
            first_sample.setdefault(row["pert_iname"], row)
    records = []
    for row in _tsv(drugs):
        sample = first_sample.get(row["pert_iname"])
        if sample is None:
            continue
        records.append(
            DrugRecord(
                name=row["pert_iname"],
                smiles=sample["smiles"].split(" |")[0].strip(),
                source=HUB_SOURCE,
                identifiers={k: sample[k] for k in ("broad_id", "pubchem_cid", "InChIKey") if sample.get(k)},
                annotations={
                    "clinical_phase": row.get("clinical_phase", ""),
                    "moa": _listed(row.get("moa")),
                    "targets": [t for t in (row.get("target") or "").split("|") if t],
                    "disease_area": _listed(row.get("disease_area")),
                    "indication": _listed(row.get("indication")),
                },
            )
        )
    return records


def _listed(value: str | None) -> str:
    """A Hub field with several values ('a|b') as readable text ('a; b')."""
    return "; ".join(v.strip() for v in (value or "").split("|") if v.strip())


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        lines = (line for line in stream if not line.startswith("!"))
        return list(csv.DictReader(lines, delimiter="\t"))
