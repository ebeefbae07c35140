"""The demo indexes, built once and reused: the corpus shipped with the package, plus what the data folder adds.

Shipped (compressed in ``bioagent/demo_data``, each with its licence): the PubMedQA PQA-L abstracts and the reviewed
UniProt entries. When ``settings.data_dir`` (default ``../shared/data``) exists, SciFact joins the literature
index, the location/GO table joins the proteins, ``--full`` adds the Cohen 2006 abstracts, and the drug tools
read the Drug Repurposing Hub from it (``Settings.repurposing_hub_path()``; ``drug_data_note`` says which).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bioagent import index as _index
from bioagent.api import Collected, read_inputs
from bioagent.errors import BioagentError, IndexLoadError
from bioagent.index import Index
from bioagent.index.manifest import read_manifest
from bioagent.ingest import ColumnMap
from bioagent.settings import Settings

logger = logging.getLogger(__name__)

BUNDLED_DATA_DIR = Path(__file__).with_name("demo_data")
DEMO_BUILD_TIME = "4-7 minutes"  # `make demo` without and with the shared data folder, on 2 cores (README)

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
    """One input of a demo index, named by its path inside the shared data folder."""

    relative_path: str
    format: str
    columns: ColumnMap | None = None
    bundled: bool = False
    """Shipped xz-compressed in ``bioagent/demo_data`` (same file name plus ``.xz``)."""

    def path(self, data_dir: Path) -> Path | None:
        """The bundled copy, else the file in ``data_dir``; None when neither exists."""
        if self.bundled:
            return BUNDLED_DATA_DIR / f"{Path(self.relative_path).name}.xz"
        found = data_dir / self.relative_path
        return found if found.exists() else None


def literature_sources(full: bool) -> list[DemoSource]:
    sources = [
        DemoSource("pubmedqa/ori_pqal.json", "pubmedqa", bundled=True),
        DemoSource("scifact/beir_format", "beir"),
    ]
    if full:
        cohen = ColumnMap(id="pubmedID", title="title", text="abstract")
        sources += [DemoSource(f"screening_cohen2006/{name}.csv", "csv", cohen) for name in COHEN_REVIEWS]
    return sources


def protein_sources() -> list[DemoSource]:
    """Richest first: an accession seen again in a later file is skipped."""
    return [
        DemoSource("uniprot_more/ai_gene_review_swissprot_reviewed.dat", "uniprot-dat", bundled=True),
        DemoSource(
            "uniprot_human_subsets/uniprot_human_reviewed_500_function.tsv", "uniprot-tsv", bundled=True
        ),
        DemoSource("uniprot_human_subsets/uniprot_human_170_location_go.tsv", "uniprot-tsv"),
        DemoSource(
            "uniprot_human_subsets/human_proteome_reviewed_names_2024_07_08.tsv", "uniprot-tsv", bundled=True
        ),
    ]


def build_demo_indexes(
    settings: Settings, full: bool = False, progress: bool = True, sample: int | None = None
) -> dict[str, Index]:
    """Build (or reuse) the literature and protein demo indexes under ``settings.index_dir``.

    ``sample`` indexes only the first N records of each source (a quick trial; a later full build replaces it).
    """
    if full and not settings.data_dir.is_dir():
        raise BioagentError(
            f"--full adds the Cohen 2006 abstracts from the data folder, and {settings.data_dir} does not exist; "
            "set data_dir (BIOAGENT_DATA_DIR or --data-dir)"
        )
    print(data_folder_note(settings), flush=True)
    print(drug_data_note(settings), flush=True)
    plans = {
        "literature": (settings.literature_index_path(), literature_sources(full)),
        "proteins": (settings.protein_index_path(), protein_sources()),
    }
    return {
        name: _build_or_reuse(name, out, sources, settings, progress, sample)
        for name, (out, sources) in plans.items()
    }


def first_run_hint(settings: Settings) -> str | None:
    """One line on how to build an index when neither configured index exists (None when one does)."""
    if settings.literature_index_path().exists() or settings.protein_index_path().exists():
        return None
    return (
        f"No index yet at {settings.literature_index_path()} or {settings.protein_index_path()}: build the demo "
        f"indexes once with `bioagent demo build` (or `make demo`; {DEMO_BUILD_TIME} on 2 CPU cores), point "
        "--index at an index folder, or add --live to search PubMed and UniProt."
    )


def data_folder_note(settings: Settings) -> str:
    """Which corpus the demo indexes: the bundled one alone, or with what the data folder adds."""
    if not settings.data_dir.is_dir():
        return (
            f"Demo corpus: the bundled PubMedQA abstracts and UniProt entries (no data folder at "
            f"{settings.data_dir}; with one, SciFact and the Drug Repurposing Hub join)."
        )
    return (
        f"Demo corpus: the bundled PubMedQA abstracts and UniProt entries, plus what {settings.data_dir} has."
    )


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
    name: str,
    out_dir: Path,
    sources: list[DemoSource],
    settings: Settings,
    progress: bool,
    sample: int | None,
) -> Index:
    found = [(source, path) for source in sources if (path := source.path(settings.data_dir)) is not None]
    if _is_current(out_dir, [str(path) for _, path in found], sample, settings):
        try:
            built = _index.load_index(out_dir, settings)
        except IndexLoadError as exc:
            logger.warning("rebuilding the %s index: %s", name, exc)
        else:
            print(f"The {name} index at {out_dir} is up to date ({len(built):,} documents); reusing it.")
            return built
    collected = _read(found, progress, sample)
    texts = len(collected.documents)
    print(
        f"Building the {name} index from {texts:,} documents into {out_dir}. Embedding is the slow part: "
        f"about {_minutes(texts / _DOCS_PER_SECOND[name])} on 2 CPU cores; an interrupted build resumes from its "
        "cached blocks.",
        flush=True,
    )
    return _index.build_index(
        collected.documents, out_dir, settings, sources=collected.sources, progress=progress
    )


def _read(found: list[tuple[DemoSource, Path]], progress: bool, sample: int | None) -> Collected:
    """Read every source; with ``sample``, keep only the first N documents of each."""
    if sample is None:
        return read_inputs([(path, source.format, source.columns) for source, path in found], progress)
    collected = Collected()
    for source, path in found:
        part = read_inputs([(path, source.format, source.columns)], progress)
        collected.documents += part.documents[:sample]
        collected.errors += part.errors
        collected.sources += [
            info.model_copy(update={"documents": min(info.documents, sample), "sample": sample})
            for info in part.sources
        ]
    return collected


def _is_current(out_dir: Path, paths: list[str], sample: int | None, settings: Settings) -> bool:
    """Whether the index at ``out_dir`` was built from ``paths`` (sampled alike) with the configured chunking
    and index kind."""
    try:
        manifest = read_manifest(out_dir)
    except IndexLoadError:
        return False
    chunking = {"words": settings.index.chunk_words, "overlap": settings.index.chunk_overlap}
    return (
        [s.path for s in manifest.sources] == paths
        and all(s.sample == sample for s in manifest.sources)
        and manifest.chunking == chunking
        and manifest.dense_kind == settings.index.kind
    )


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


# Measured with `bioagent demo build` on a 2-core machine (see README); used only for the time estimate.
_DOCS_PER_SECOND = {"literature": 40.0, "proteins": 100.0}
