"""Reference drug sets: DrugBank approved drugs shipped by admet-ai, plus the Drug Repurposing Hub if configured."""

from __future__ import annotations

import csv
import difflib
import importlib.util
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from bioagent.errors import BioagentError, ConfigError, MissingExtraError

from .common import closest

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


@dataclass
class DrugRecord:
    """One named compound with its SMILES and whatever identifiers/annotations its source gives."""

    name: str
    smiles: str
    source: str
    identifiers: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)


class DrugCatalog:
    """Name lookup (exact, salt form, fuzzy) over DrugBank approved drugs and optional Hub compounds."""

    def __init__(self, drugbank: list[DrugRecord], hub: list[DrugRecord] | None = None) -> None:
        self.drugbank = drugbank
        self.hub = hub or []
        self._names: dict[str, list[DrugRecord]] = {}
        for record in [*self.drugbank, *self.hub]:
            self._names.setdefault(normalise(record.name), []).append(record)

    @property
    def has_hub(self) -> bool:
        return bool(self.hub)

    def lookup(self, name: str) -> tuple[str, str, float, list[DrugRecord]]:
        """(how, matched normalised name, similarity, records); how is 'none' when nothing is close.

        Records are DrugBank first; with the Hub loaded, entries of the other source sharing the
        structure (InChIKey connectivity block) are added, so Hub names act as DrugBank synonyms.
        """
        key = normalise(name)
        base = " ".join(w for w in key.split() if w not in SALT_WORDS)
        if key in self._names:
            how, matched, similarity = "exact", key, 1.0
        elif base and base in self._names:
            how, matched, similarity = "salt form", base, 1.0
        else:
            best = closest(base or key, self._names, cutoff=0.8)
            if not best:
                return "none", "", 0.0, []
            how, (matched, similarity) = "fuzzy", best
        return how, matched, similarity, self._linked(self._names[matched])

    def _linked(self, records: list[DrugRecord]) -> list[DrugRecord]:
        if not self.hub:
            return records
        skeletons = {_skeleton(r) for r in records} - {""}
        linked = [r for s in skeletons for r in self._by_skeleton.get(s, [])]
        unique = {id(r): r for r in [*records, *linked]}
        return sorted(unique.values(), key=lambda r: r.source != DRUGBANK_SOURCE)

    @cached_property
    def _by_skeleton(self) -> dict[str, list[DrugRecord]]:
        table: dict[str, list[DrugRecord]] = {}
        for record in [*self.drugbank, *self.hub]:
            table.setdefault(_skeleton(record), []).append(record)
        return table

    def suggestions(self, name: str, n: int = 5) -> list[str]:
        keys = difflib.get_close_matches(normalise(name), self._names, n=n, cutoff=0.5)
        return [self._names[k][0].name for k in keys]

    def approved(self) -> list[DrugRecord]:
        """Approved/launched reference compounds for similarity search (Hub 'Launched' only)."""
        launched = [r for r in self.hub if r.annotations.get("clinical_phase") == "Launched"]
        return self.drugbank + launched


def _skeleton(record: DrugRecord) -> str:
    """First InChIKey block (connectivity without stereo or charge), computed once for DrugBank records."""
    key = record.identifiers.get("InChIKey")
    if not key:
        from .chem import inchikey, parse_smiles

        try:
            key = inchikey(parse_smiles(record.smiles))
        except BioagentError:
            key = ""
        record.identifiers["InChIKey"] = key
    return str(key).split("-")[0]


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


@lru_cache(maxsize=4)
def load_drug_catalog(hub_dir: Path | None) -> DrugCatalog:
    """The reference sets, read once per process (per Hub folder)."""
    return DrugCatalog(read_drugbank(drugbank_path()), read_hub(hub_dir) if hub_dir else None)


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
            f"settings.tools.repurposing_hub={folder} must hold {HUB_DRUGS} and {HUB_SAMPLES} (Drug Repurposing Hub)"
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
                    "moa": row.get("moa", ""),
                    "targets": [t for t in (row.get("target") or "").split("|") if t],
                    "disease_area": row.get("disease_area", ""),
                    "indication": row.get("indication", ""),
                },
            )
        )
    return records


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        lines = (line for line in stream if not line.startswith("!"))
        return list(csv.DictReader(lines, delimiter="\t"))
