"""The demo indexes: real literature and UniProt data from ``settings.data_dir``, built once and reused.

The demo's drug tools read the Drug Repurposing Hub from ``<data_dir>/drugs_repurposing_hub`` when it is there
(``Settings.repurposing_hub_path()``, so `bioagent ask`/`chat` pick it up too); ``drug_data_note`` says which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bioagent import index as _index
from bioagent.api import read_inputs
from bioagent.errors import BioagentError, IndexLoadError
from bioagent.index import Index
from bioagent.index.manifest import read_manifest
from bioagent.ingest import ColumnMap
from bioagent.settings import Settings

logger = logging.getLogger(__name__)

COHEN_REVIEWS = (
    "ACEInhibitors",
    "ADHD",
    "Antihistamines",
    "AtypicalAntipsychotics",
    "BetaBlockers",
    "CalciumChannelBlockers",
    "Estrogens",
    "NSAIDS",
    "Opiods",
    "OralHypoglycemics",
    "ProtonPumpInhibitors",
    "SkeletalMuscleRelaxants",
    "Triptans",
    "UrinaryIncontinence",
)


@dataclass(frozen=True)
class DemoSource:
    relative_path: str
    format: str
    columns: ColumnMap | None = None


def literature_sources(full: bool) -> list[DemoSource]:
    sources = [DemoSource("pubmedqa/ori_pqal.json", "pubmedqa"), DemoSource("scifact/beir_format", "beir")]
    if full:
        cohen = ColumnMap(id="pubmedID", title="title", text="abstract")
        sources += [DemoSource(f"screening_cohen2006/{name}.csv", "csv", cohen) for name in COHEN_REVIEWS]
    return sources


def protein_sources() -> list[DemoSource]:
    """Richest first: an accession seen again in a later file is skipped."""
    return [
        DemoSource("uniprot_more/ai_gene_review_swissprot_reviewed.dat", "uniprot-dat"),
        DemoSource("uniprot_human_subsets/uniprot_human_reviewed_500_function.tsv", "uniprot-tsv"),
        DemoSource("uniprot_human_subsets/uniprot_human_170_location_go.tsv", "uniprot-tsv"),
        DemoSource("uniprot_human_subsets/human_proteome_reviewed_names_2024_07_08.tsv", "uniprot-tsv"),
    ]


def build_demo_indexes(settings: Settings, full: bool = False, progress: bool = True) -> dict[str, Index]:
    """Build (or reuse) the literature and protein demo indexes under ``settings.index_dir``."""
    if not settings.data_dir.is_dir():
        raise BioagentError(
            f"demo data folder {settings.data_dir} not found; set data_dir (BIOAGENT_DATA_DIR) to the shared data"
        )
    print(drug_data_note(settings), flush=True)
    plans = {
        "literature": (settings.literature_index_path(), literature_sources(full)),
        "proteins": (settings.protein_index_path(), protein_sources()),
    }
    return {
        name: _build_or_reuse(name, out, sources, settings, progress)
        for name, (out, sources) in plans.items()
    }


def drug_data_note(settings: Settings) -> str:
    """Which reference drug data the drug tools use with these settings (the decision is
    :meth:`Settings.repurposing_hub_path`: the configured Hub, else ``<data_dir>/drugs_repurposing_hub`` if present)."""
    hub = settings.repurposing_hub_path()
    if hub is None:
        return (
            "Drug tools: DrugBank approved set only (no Drug Repurposing Hub at "
            f"{settings.data_dir / 'drugs_repurposing_hub'}; set tools.repurposing_hub for MOA and targets)."
        )
    origin = "configured" if settings.tools.repurposing_hub is not None else "found in the data folder"
    return (
        f"Drug tools: DrugBank approved set plus the Drug Repurposing Hub at {hub} ({origin}): mechanism of "
        "action, targets, clinical phase and indication."
    )


def _build_or_reuse(
    name: str, out_dir: Path, sources: list[DemoSource], settings: Settings, progress: bool
) -> Index:
    paths = [str(settings.data_dir / s.relative_path) for s in sources]
    if _is_current(out_dir, paths, settings):
        try:
            built = _index.load_index(out_dir, settings)
        except IndexLoadError as exc:
            logger.warning("rebuilding the %s index: %s", name, exc)
        else:
            print(f"The {name} index at {out_dir} is up to date ({len(built):,} documents); reusing it.")
            return built
    collected = read_inputs([(Path(p), s.format, s.columns) for p, s in zip(paths, sources)], progress)
    texts = len(collected.documents)
    print(
        f"Building the {name} index from {texts:,} documents into {out_dir}. Embedding is the slow part: "
        f"about {texts / _DOCS_PER_SECOND[name] / 60:.0f} min on 2 CPU cores; an interrupted build resumes "
        "from its cached blocks.",
        flush=True,
    )
    return _index.build_index(
        collected.documents, out_dir, settings, sources=collected.sources, progress=progress
    )


def _is_current(out_dir: Path, paths: list[str], settings: Settings) -> bool:
    """Whether the index at ``out_dir`` was built from ``paths`` with the configured chunking and index kind."""
    try:
        manifest = read_manifest(out_dir)
    except IndexLoadError:
        return False
    chunking = {"words": settings.index.chunk_words, "overlap": settings.index.chunk_overlap}
    return (
        [s.path for s in manifest.sources] == paths
        and manifest.chunking == chunking
        and manifest.dense_kind == settings.index.kind
    )


# Measured with `bioagent demo build` on a 2-core machine (see README); used only for the time estimate.
_DOCS_PER_SECOND = {"literature": 14.0, "proteins": 60.0}
