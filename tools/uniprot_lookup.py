"""uniprot_lookup: a UniProt entry by accession, gene or protein name from the local UniProt index."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pydantic import BaseModel, Field

from bioagent.errors import ToolInputError
from bioagent.ingest.uniprot import ProteinFields
from bioagent.settings import Settings
from bioagent.types import Document

from .catalog import ProteinCatalog
from .common import ToolSpec, fact
from .names import ToolName

HUMAN_TAXON = 9606
FIELDS = tuple(f.name for f in dataclasses.fields(ProteinFields) if f.name not in ("accessions", "sequence"))
"""Entry fields the tool returns (every field ingestion keeps; the sequence only on request)."""

DESCRIPTION = """Look up UniProt entries in the local UniProt index by accession (P04637), entry name
(P53_HUMAN), gene symbol (TP53) or protein name (Cellular tumor antigen p53). Call it to get a protein's
curated function, subcellular location, disease involvement, tissue specificity, subunit, catalytic
activity, pathway, PTMs, cofactors, domains, GO terms, keywords and sequence. Matching is exact first
(accession, gene, gene synonym, entry name, protein name), then all words of the name, then a gene symbol or
accession inside a phrase ("SDHAF1 protein"), then fuzzy; the result says how it matched and what it
matched, so check a fuzzy match before relying on it. When several
species share a gene name, human entries come first; pass organism to choose another. Returns up to k
entries with a UniProt URL each (cite as UniProt:<accession>)."""


class UniProtLookupInput(BaseModel):
    query: str = Field(description="UniProt accession, entry name, gene symbol or protein name.")
    organism: str | None = Field(
        default=None,
        description="Keep entries whose organism contains this text (e.g. 'human', 'Mus musculus').",
    )
    k: int = Field(default=3, ge=1, le=20, description="Most entries to return.")
    include_sequence: bool = Field(default=True, description="Include the amino-acid sequence of each entry.")


def uniprot_lookup(
    query: str,
    organism: str | None = None,
    k: int = 3,
    include_sequence: bool = True,
    *,
    catalog: Any,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Entries of ``catalog`` (a ProteinCatalog, index or document list) matching ``query``."""
    if not query or not query.strip():
        raise ToolInputError("query is empty: give a UniProt accession, gene symbol or protein name")
    proteins = ProteinCatalog.from_source(catalog)
    how, matched, entries = proteins.lookup(query, organism)
    if not entries:
        hint = proteins.suggestions(query)
        close = f"; closest names: {', '.join(hint)}" if hint else ""
        raise ToolInputError(
            f"no UniProt entry matches '{query}' in the local index ({len(proteins)} entries){close}"
        )
    chosen = _by_organism(entries, organism)
    if not chosen:
        found = sorted({str(e.metadata.get("organism", "?")) for e in entries})
        raise ToolInputError(f"'{query}' matches entries only from {'; '.join(found)}, not '{organism}'")
    return {
        "tool": "uniprot_lookup",
        "source": "UniProtKB entries in the local protein index",
        "match": {"how": how, "matched": matched, "query": query, "count": len(chosen)},
        "entries": [_entry(doc, include_sequence) for doc in chosen[:k]],
        "facts": [f for doc in chosen[:k] for f in entry_facts(doc)],
    }


def _by_organism(entries: list[Document], organism: str | None) -> list[Document]:
    if organism:
        wanted = organism.strip().lower()
        return [
            e
            for e in entries
            if wanted in str(e.metadata.get("organism", "")).lower()
            or wanted == str(e.metadata.get("taxonomy_id", ""))
        ]
    return sorted(entries, key=lambda e: str(e.metadata.get("taxonomy_id")) != str(HUMAN_TAXON))


def _entry(doc: Document, include_sequence: bool) -> dict[str, Any]:
    meta = doc.metadata
    entry = {name: meta.get(name) for name in FIELDS if meta.get(name) not in (None, "", [])}
    entry.setdefault("accession", doc.parent_id)
    if include_sequence and meta.get("sequence"):
        entry["sequence"] = meta["sequence"]
    entry["url"] = f"https://www.uniprot.org/uniprotkb/{entry['accession']}/entry"
    entry["citation"] = f"UniProt:{entry['accession']}"
    return entry


_PUBMED_REFS = re.compile(r"\s*\((?:PubMed:\d+|Ref\.\d+)(?:,\s*(?:PubMed:\d+|Ref\.\d+))*\)")
_DISEASE_NAME = re.compile(r"^([^:]{3,150}?\s\([A-Za-z0-9-]+\)):")
FUNCTION_TOPICS = (
    "function",
    "what does",
    "role",
    "do",
    "does",
    "activity",
    "involved",
    "mechanism",
    "pathway",
)
LOCATION_TOPICS = (
    "where", "locali", "location", "compartment", "membrane", "nucleus", "nuclear", "cytoplasm", "cytosol",
    "secreted", "mitochondri", "subcellular", "organelle",
)  # fmt: skip
DISEASE_TOPICS = (
    "disease", "diseases", "disorders", "associated with", "mutations cause", "syndrome", "cancer", "tumor",
    "tumour", "patholog", "inherited", "clinical", "implicated",
)  # fmt: skip


def entry_facts(doc: Document) -> list[dict[str, Any]]:
    """UniProt's own statements about one entry (names, gene, organism, length, function, location, disease).

    Each fact's ``item`` is the accession, and each statement names the entry (no ``{subject}`` placeholder):
    these are curated annotations of a named entry, not predictions about a query.
    """
    meta = doc.metadata
    accession = str(meta.get("accession") or doc.parent_id)
    name = str(meta.get("protein_name") or accession)
    gene = str(meta.get("gene") or "")
    entry = f"{gene or name} ({accession})"
    facts: list[dict[str, Any]] = []

    def add(key: str, label: str, value: Any, statement: str, topics: tuple[str, ...], main: bool) -> None:
        if value not in (None, "", []):
            facts.append(fact(key, label, value, statement, topics=topics, main=main, item=accession))

    entry_name = f" ({meta['entry_name']})" if meta.get("entry_name") else ""
    add(
        "protein_name",
        "protein name",
        name,
        f"UniProt entry {accession}{entry_name} is {name}",
        ("what protein", "which protein", "what is", "name", "called", "identify"),
        True,
    )
    add(
        "gene",
        "gene",
        gene,
        f"According to UniProt, {name} ({accession}) is encoded by the gene {gene}",
        ("gene", "encoded", "encodes", "symbol"),
        True,
    )
    organism = meta.get("organism")
    add(
        "organism",
        "organism",
        organism,
        f"UniProt entry {accession} ({name}) is from {organism}",
        ("organism", "species", "which organism"),
        False,
    )
    length = meta.get("length")
    add(
        "length",
        "length",
        length,
        f"According to UniProt, {entry} is {length} amino acids long",
        ("how long", "length", "residues", "amino acids", "size"),
        False,
    )
    function = _clean(meta.get("function"))
    add("function", "function", function, f"UniProt function of {entry}: {function}", FUNCTION_TOPICS, True)
    location = _clean(meta.get("subcellular_location"))
    add(
        "subcellular_location",
        "subcellular location",
        location,
        f"UniProt subcellular location of {entry}: {location}",
        LOCATION_TOPICS,
        True,
    )
    diseases = _diseases(meta.get("disease"))
    names = [m.group(1) for d in diseases if (m := _DISEASE_NAME.match(d))]
    listed = f"{'; '.join(names)}" if names else "; ".join(diseases)
    add(
        "disease",
        "disease",
        diseases,
        f"UniProt lists these diseases for {entry}: {listed}",
        DISEASE_TOPICS,
        True,
    )
    return facts


def _clean(text: Any) -> str:
    """UniProt free text without its PubMed references, which the citation to the entry covers."""
    return " ".join(_PUBMED_REFS.sub("", str(text or "")).split())


def _diseases(value: Any) -> list[str]:
    """The ``disease`` field as a list of cleaned strings (it may be one string or a list)."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [text for text in (_clean(item) for item in items) if text]


SPEC = ToolSpec(
    title="UniProt entry lookup",
    name=ToolName.UNIPROT_LOOKUP,
    description=DESCRIPTION,
    args_schema=UniProtLookupInput,
    function=uniprot_lookup,
    needs_catalog=True,
)
