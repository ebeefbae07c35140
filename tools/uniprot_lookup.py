"""uniprot_lookup: a UniProt entry by accession, gene or protein name from the local UniProt index."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.types import Document

from .catalog import ProteinCatalog
from .common import ToolSpec

HUMAN_TAXON = 9606
FIELDS = (
    "accession",
    "entry_name",
    "protein_name",
    "alt_names",
    "gene",
    "gene_synonyms",
    "organism",
    "taxonomy_id",
    "function",
    "subcellular_location",
    "go_terms",
    "keywords",
    "length",
    "reviewed",
)

DESCRIPTION = """Look up UniProt entries in the local UniProt index by accession (P04637), entry name
(P53_HUMAN), gene symbol (TP53) or protein name (Cellular tumor antigen p53). Call it to get a protein's
curated function, subcellular location, GO terms, keywords and sequence. Matching is exact first
(accession, entry name, gene, gene synonym, protein name), then all words of the name, then fuzzy; the
result says how it matched and what it matched, so check a fuzzy match before relying on it. When several
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
    how, matched, entries = proteins.lookup(query)
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


SPEC = ToolSpec(
    name="uniprot_lookup",
    description=DESCRIPTION,
    args_schema=UniProtLookupInput,
    function=uniprot_lookup,
    needs_catalog=True,
)
