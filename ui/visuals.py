"""Pictures and tables beside an answer: the disorder plot of the protein it is about, the 2D structure and
the ADMET table of the drug it is about. Drawn from what the agent's tools returned; a tool the agent did not
run is run here through the public API (``bioagent.api.run_tool``)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bioagent import api
from bioagent.api import ToolName
from bioagent.errors import BioagentError
from bioagent.settings import Settings
from bioagent.types import Answer, Artifact, ToolCall

logger = logging.getLogger(__name__)

SequenceLookup = Callable[[str], str | None]
"""UniProt accession -> sequence (from the loaded protein index), or None."""


@dataclass
class Visuals:
    """What the side panel shows for one answer; empty fields are hidden."""

    protein: str = ""
    disorder_plot: Any = None
    drug: str = ""
    structure_svg: str = ""
    admet_rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _tools_taking(argument: str) -> set[str]:
    """The tools whose schema has ``argument`` (e.g. every tool that takes a protein sequence)."""
    return {spec.name for spec in api.tool_specs() if argument in spec.args_schema.model_fields}


def _ok(call: ToolCall) -> bool:
    return bool(call.result and call.result.ok)


def _artifacts(answer: Answer, tool: str, **arguments: Any) -> list[Artifact] | None:
    """The artifacts of the agent's successful ``tool`` call (with these ``arguments``); None when it made none."""
    for call in answer.tool_calls:
        matches = all(call.arguments.get(name) == value for name, value in arguments.items())
        if call.name == tool and _ok(call) and call.result is not None and matches:
            return call.result.artifacts
    return None


def _first(shown: list[Artifact], kind: str, what: str) -> dict[str, Any]:
    """The data of the first ``kind`` artifact; a BioagentError (a note beside the answer) when there is none."""
    found = next((artifact.data for artifact in shown if artifact.kind == kind), None)
    if found is None:
        raise BioagentError(f"{what} has no {kind} to show")
    return found


def protein_subject(answer: Answer, sequence_of: SequenceLookup) -> tuple[str, str] | None:
    """(label, sequence) of the protein an answer is about: the sequence a protein tool got (named after its
    UniProt entry when it is one), else the first cited (or exactly matched) UniProt entry."""
    cited = {c.id for c in answer.citations}
    entries = [e for e in answer.evidence if e.id.startswith("UniProt:")]
    ranked = [e for e in entries if e.id in cited] + [e for e in entries if (e.score or 0) >= 0.999]
    known = [
        (f"{e.id.split(':', 1)[1]} {e.title}".strip(), sequence_of(e.id.split(":", 1)[1])) for e in ranked
    ]
    for call in answer.tool_calls:
        sequence = call.arguments.get("sequence")
        if call.name in _tools_taking("sequence") and isinstance(sequence, str) and sequence.strip():
            named = next((label for label, known_sequence in known if known_sequence == sequence), None)
            header = sequence.splitlines()[0][1:].strip() if sequence.startswith(">") else ""
            return named or header or "the query sequence", sequence
    return next(((label, sequence) for label, sequence in known if sequence), None)


def drug_subject(answer: Answer) -> tuple[str, str] | None:
    """(label, SMILES) of the molecule an answer is about: what drug_lookup found, or the SMILES a drug tool got."""
    for call in answer.tool_calls:
        if call.name == ToolName.DRUG_LOOKUP and _ok(call):
            drug = (call.result.data.get("drug") if call.result else None) or {}
            if drug.get("smiles"):
                return str(drug.get("name") or call.arguments.get("name") or "drug"), str(drug["smiles"])
    for call in answer.tool_calls:
        smiles = call.arguments.get("smiles")
        if call.name in _tools_taking("smiles") and smiles and call.name != ToolName.DRUG_LOOKUP:
            first = smiles[0] if isinstance(smiles, list) else str(smiles).split(",")[0]
            return first.strip(), first.strip()
    return None


def disorder_plot(answer: Answer, sequence: str, settings: Settings) -> Any:
    """The disorder / predicted-pLDDT plot of ``sequence`` as a PIL image, drawn for the narrow side panel from
    the agent's disorder result for it (metapredict is run here only when the agent did not run it)."""
    from PIL import Image

    shown = _artifacts(answer, ToolName.DISORDER, sequence=sequence)
    if shown is None:
        shown = api.run_tool_shown(ToolName.DISORDER, {"sequence": sequence}, settings)
    series = _first(shown, "series", "the disorder result")
    return Image.open(io.BytesIO(api.disorder_png(series, width=5.6, height=3.6, font=13, dpi=110)))


def admet_rows(answer: Answer, smiles: str, settings: Settings) -> list[list[Any]]:
    """ADMET table rows: the table of the agent's admet result when it ran, else of a fresh ADMET-AI prediction."""
    shown = _artifacts(answer, ToolName.ADMET)
    if shown is None:
        shown = api.run_tool_shown(ToolName.ADMET, {"smiles": smiles}, settings)
    return list(_first(shown, "table", "the admet result")["rows"])


def structure_svg(answer: Answer, smiles: str) -> str:
    """The 2D structure: the picture drug_lookup attached to its result, else one drawn from ``smiles``."""
    shown = _artifacts(answer, ToolName.DRUG_LOOKUP) or []
    return next((str(a.data["svg"]) for a in shown if a.kind == "svg"), None) or api.structure_svg(smiles)


def build_visuals(answer: Answer, settings: Settings, sequence_of: SequenceLookup) -> Visuals:
    """Everything that applies to ``answer``; a part that cannot be made becomes a note, not an error."""
    visuals = Visuals()
    protein = protein_subject(answer, sequence_of)
    if protein:
        visuals.protein = protein[0]
        visuals.disorder_plot = _attempt(
            visuals, "disorder plot", disorder_plot, answer, protein[1], settings
        )
    drug = drug_subject(answer)
    if drug:
        visuals.drug = drug[0]
        visuals.structure_svg = _attempt(visuals, "2D structure", structure_svg, answer, drug[1]) or ""
        visuals.admet_rows = _attempt(visuals, "ADMET table", admet_rows, answer, drug[1], settings) or []
    return visuals


def _attempt(visuals: Visuals, what: str, make: Callable[..., Any], *args: Any) -> Any:
    try:
        return make(*args)
    except BioagentError as exc:
        visuals.notes.append(f"No {what}: {exc}")
    except Exception as exc:  # a picture must never break the answer: log it, say so
        logger.exception("could not draw the %s", what)
        visuals.notes.append(f"No {what}: {type(exc).__name__}: {exc}")
    return None
