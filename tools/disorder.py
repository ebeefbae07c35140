"""disorder: per-residue intrinsic disorder and predicted AlphaFold2 pLDDT with metapredict."""

from __future__ import annotations

import base64
import io
import warnings
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bioagent.errors import require
from bioagent.settings import Settings
from bioagent.types import Artifact

from .common import NamedSequence, ToolSpec, fact, package_version, parse_sequences, rounded
from .names import ToolName

DISORDER_THRESHOLD = 0.5
# metapredict predicts only the 20 standard residues; these follow protfasta's conversion rules.
_CONVERSIONS = str.maketrans({"B": "N", "Z": "Q", "X": "G", "U": "C", "O": "K"})

DESCRIPTION = """Predict intrinsically disordered regions of one or more proteins with metapredict (V3
disorder network, V2 pLDDT network), from sequence alone. Call it when a question asks whether a protein
or region is disordered / unstructured / flexible, where its folded domains are, or how confident
AlphaFold2 would likely be. Input: a sequence or FASTA (several records allowed); set plot=true for a PNG
plot per protein, returned base64-encoded. Returns per protein: per-residue disorder scores (0-1, above
0.5 = disordered), per-residue predicted pLDDT (0-100), the disordered and folded regions (1-based
inclusive positions) and the fraction of residues predicted disordered."""

MEANING = {
    "disorder": "per-residue metapredict V3 disorder score, 0-1; residues scoring above 0.5 are predicted "
    "disordered (trained on consensus disorder combined with AlphaFold2 pLDDT)",
    "plddt": "per-residue predicted AlphaFold2 pLDDT, 0-100 (what AlphaFold2 confidence would likely be; "
    "below 50 suggests disorder); a prediction of a prediction, not a structure",
    "disordered_regions": "IDRs found by metapredict's smoothing and gap-closing rules; 1-based, inclusive",
    "folded_regions": "the remaining folded domains; 1-based, inclusive",
    "fraction_disordered": "fraction of residues with disorder score above 0.5",
    "mean_disorder": "mean per-residue disorder score",
    "mean_plddt": "mean per-residue predicted pLDDT",
}


class DisorderInput(BaseModel):
    """What the model may pass: no file paths (a plot comes back as data), nothing beyond these fields."""

    model_config = ConfigDict(extra="forbid")

    sequence: str = Field(
        description="Protein sequence in one-letter code, or FASTA with one or several records."
    )
    plot: bool = Field(
        default=False, description="Also draw a PNG plot of disorder and predicted pLDDT (base64-encoded)."
    )


def disorder(sequence: str, plot: bool = False, *, settings: Settings | None = None) -> dict[str, Any]:
    """Disorder scores, predicted pLDDT and disordered regions for each sequence in ``sequence``."""
    records = parse_sequences(sequence, settings)
    meta: Any = require("metapredict", "metapredict", "tools", "disorder prediction")
    converted = {r.name: r.sequence.translate(_CONVERSIONS) for r in records}
    keyed = {str(i): converted[r.name] for i, r in enumerate(records)}
    with warnings.catch_warnings():  # short sequences: metapredict notes it shrinks its smoothing window
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="metapredict")
        domains = meta.predict_disorder(keyed, return_domains=True, silence_warnings=True)
        plddt = meta.predict_pLDDT(keyed, silence_warnings=True)
    proteins = [
        _protein_result(record, converted[record.name], domains[str(i)], plddt[str(i)][1])
        for i, record in enumerate(records)
    ]
    if plot:
        for protein in proteins:
            protein["plot"] = _plot(protein)
    version = package_version("metapredict")
    return {
        "tool": "disorder",
        "model": f"metapredict {version} (disorder network V3, pLDDT network V2)",
        "model_version": version,
        "threshold": DISORDER_THRESHOLD,
        "proteins": proteins,
        "meaning": MEANING,
        "facts": [f for p in proteins for f in disorder_facts(p, p["name"] if len(proteins) > 1 else None)],
    }


def _protein_result(record: NamedSequence, predicted: str, domains: Any, plddt: Any) -> dict[str, Any]:
    scores = rounded(domains.disorder, 4)
    plddt_scores = rounded(plddt, 1)
    result: dict[str, Any] = {
        "name": record.name,
        "length": len(record.sequence),
        "fraction_disordered": round(sum(s > DISORDER_THRESHOLD for s in scores) / len(scores), 4),
        "mean_disorder": round(sum(scores) / len(scores), 4),
        "mean_plddt": round(sum(plddt_scores) / len(plddt_scores), 1),
        "disordered_regions": _regions(domains.disordered_domain_boundaries, record.sequence),
        "folded_regions": _regions(domains.folded_domain_boundaries, record.sequence),
        "disorder": scores,
        "plddt": plddt_scores,
    }
    if predicted != record.sequence:
        result["note"] = "non-standard residues were converted before prediction (B>N, Z>Q, X>G, U>C, O>K)"
    return result


DISORDER_TOPICS = (
    "disorder",
    "disordered",
    "unstructured",
    "idr",
    "flexib",
    "folded",
    "structure",
    "intrinsically",
)
PLDDT_TOPICS = ("plddt", "alphafold", "confidence", "structure", "folded", "disorder")


def disorder_facts(p: dict[str, Any], item: str | None = None) -> list[dict[str, Any]]:
    """Fraction disordered with a verdict, the disordered and folded regions, and the mean predicted pLDDT."""
    residues = sum(score > DISORDER_THRESHOLD for score in p["disorder"])
    percent = round(100 * p["fraction_disordered"])
    verdict = _verdict(p["fraction_disordered"], bool(p["disordered_regions"]))
    fraction = {
        "fraction_disordered": p["fraction_disordered"],
        "percent": percent,
        "disordered_residues": residues,
        "length": p["length"],
        "threshold": DISORDER_THRESHOLD,
    }
    facts = [
        fact(
            "fraction_disordered",
            "fraction disordered",
            fraction,
            f"metapredict V3 predicts that {percent}% of {{subject}} is intrinsically disordered (fraction "
            f"{p['fraction_disordered']}; {residues} of {p['length']} residues score above the "
            f"{DISORDER_THRESHOLD} cutoff): {{subject}} is {verdict}",
            topics=DISORDER_TOPICS,
            main=True,
            item=item,
        ),
        _regions_fact(p, "disordered_regions", "disordered regions", item),
        _regions_fact(p, "folded_regions", "folded regions", item),
        fact(
            "mean_plddt",
            "mean predicted pLDDT",
            p["mean_plddt"],
            f"metapredict predicts a mean AlphaFold2 pLDDT of {p['mean_plddt']} for {{subject}} "
            "(0-100; below 50 suggests disorder)",
            topics=PLDDT_TOPICS,
            main=True,
            item=item,
        ),
    ]
    return facts


def _verdict(fraction: float, has_regions: bool) -> str:
    """Half or more of the residues disordered: mostly disordered; otherwise mostly folded."""
    if fraction >= 0.5:
        return "mostly intrinsically disordered"
    return "mostly folded, with disordered regions" if has_regions else "mostly folded"


def _regions_fact(p: dict[str, Any], key: str, label: str, item: str | None) -> dict[str, Any]:
    spans = [[r["start"], r["end"]] for r in p[key]]
    listed = ", ".join(f"{start}-{end}" for start, end in spans)
    kind = label.split()[0]
    statement = (
        f"metapredict V3 predicts {kind} regions of {{subject}} at residues {listed}"
        if spans
        else f"metapredict V3 predicts no {kind} regions in {{subject}}"
    )
    topics = (*DISORDER_TOPICS, "region", "domain", "where", "which residues", "segment")
    return fact(key, label, spans, statement, topics=topics, main=key == "disordered_regions", item=item)


def _regions(boundaries: list[list[int]], sequence: str) -> list[dict[str, Any]]:
    """metapredict's 0-based half-open boundaries as 1-based inclusive regions."""
    return [
        {"start": start + 1, "end": end, "length": end - start, "sequence": sequence[start:end]}
        for start, end in boundaries
    ]


def _plot(protein: dict[str, Any]) -> dict[str, str]:
    """The disorder / predicted-pLDDT plot of one protein as a base64-encoded PNG."""
    return {"format": "png", "base64": base64.b64encode(disorder_png(protein)).decode("ascii")}


def disorder_png(
    protein: dict[str, Any], width: float = 8.0, height: float = 3.2, font: float = 10.0, dpi: int = 120
) -> bytes:
    """PNG of one protein's disorder and predicted-pLDDT profiles (a ``disorder`` result's protein), disordered
    regions shaded; ``width``/``height`` in inches at ``dpi``; ``font`` is the title's size, the other texts are
    a little smaller."""
    require("matplotlib", "matplotlib", "tools", "disorder plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    positions = range(1, protein["length"] + 1)
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    axis = figure.add_subplot(111)
    for region in protein["disordered_regions"]:
        axis.axvspan(region["start"], region["end"], color="tab:orange", alpha=0.15, lw=0)
    axis.plot(positions, protein["disorder"], color="black", lw=1.2, label="disorder (metapredict V3)")
    axis.plot(
        positions, [p / 100 for p in protein["plddt"]], color="tab:blue", lw=1, label="predicted pLDDT / 100"
    )
    axis.axhline(DISORDER_THRESHOLD, color="grey", ls="--", lw=0.8)
    axis.set(xlim=(1, max(protein["length"], 2)), ylim=(0, 1.02))
    axis.set_xlabel("residue", fontsize=font - 1)
    axis.set_ylabel("score", fontsize=font - 1)
    axis.tick_params(labelsize=font - 2)
    axis.set_title(f"{protein['name']}: predicted disorder (shaded: disordered)", fontsize=font, pad=font)
    axis.legend(loc="best", fontsize=font - 3, framealpha=0.8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


PLOTTED = ("name", "length", "disorder", "plddt", "disordered_regions")


def disorder_artifacts(data: dict[str, Any]) -> list[Artifact]:
    """Each protein's disorder and pLDDT profiles as a ``series`` (what :func:`disorder_png` draws)."""
    return [
        Artifact(
            kind="series",
            title=f"{protein['name']}: predicted disorder (metapredict)",
            data={key: protein[key] for key in PLOTTED},
        )
        for protein in data.get("proteins", [])
    ]


SPEC = ToolSpec(
    title="Disorder prediction (metapredict)",
    name=ToolName.DISORDER,
    description=DESCRIPTION,
    args_schema=DisorderInput,
    function=disorder,
    artifacts=disorder_artifacts,
)
