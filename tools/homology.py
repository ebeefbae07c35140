"""homology_search: nearest UniProt entries to a protein sequence (k-mer prefilter, then Smith-Waterman)."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from bioagent.settings import Settings
from bioagent.types import Document

from .catalog import KMER, ProteinCatalog
from .common import ToolSpec, fact, package_version, parse_sequences
from .names import ToolName

# Karlin-Altschul parameters for BLOSUM62 with gap costs 11 (open) / 1 (extend): NCBI BLAST's gapped values.
LAMBDA = 0.267
K = 0.041
GAP_OPEN, GAP_EXTEND = 11, 1
PREFILTER_CANDIDATES = 20
# BLOSUM62 has no U or O; they are scored as C and K.
_RARE = str.maketrans({"U": "C", "O": "K"})

STATISTIC = (
    f"E = K*m*n*exp(-lambda*S) with Karlin-Altschul lambda={LAMBDA}, K={K} (NCBI BLAST's values for BLOSUM62, "
    f"gap open {GAP_OPEN} / extend {GAP_EXTEND}); m = query length, n = residues in the searched entries; "
    "no length correction, so treat it as approximate (smaller is more significant; below 1e-3 is a "
    "confident homolog)"
)

DESCRIPTION = """Find the UniProt entries most similar to a protein sequence in the local UniProt index.
Call it when you have a sequence (or fragment) and need to know what protein it is or is related to.
Input: one sequence (raw or single-record FASTA) and k, the number of hits. A 3-mer prefilter picks
candidates, then Smith-Waterman local alignment (BLOSUM62, gap open 11 / extend 1) scores them. Returns hits
best first with accession, gene, protein name, organism, percent identity, query coverage, alignment score,
bit score and an E-value-like statistic (Karlin-Altschul; smaller = more significant). Only entries in the
local index are searched, not all of UniProt."""

MEANING = {
    "identity": "identical residues / alignment columns (gaps included), 0-1",
    "query_coverage": "fraction of the query inside the local alignment, 0-1",
    "subject_coverage": "fraction of the matched entry inside the local alignment, 0-1",
    "score": "raw Smith-Waterman score (BLOSUM62, gap open 11 / extend 1)",
    "bit_score": "(lambda*S - ln K) / ln 2, comparable across searches",
    "evalue": STATISTIC,
    "query_range": "aligned query positions, 1-based inclusive",
    "subject_range": "aligned entry positions, 1-based inclusive",
}


class HomologySearchInput(BaseModel):
    sequence: str = Field(description="Query protein sequence in one-letter code (or single-record FASTA).")
    k: int = Field(default=5, ge=1, le=50, description="Number of hits to return.")
    max_evalue: float = Field(default=10.0, gt=0, description="Drop hits with a larger E-value.")


@lru_cache(maxsize=1)
def _aligner() -> Any:
    from Bio.Align import PairwiseAligner, substitution_matrices

    return PairwiseAligner(
        mode="local",
        substitution_matrix=substitution_matrices.load("BLOSUM62"),
        open_gap_score=-(GAP_OPEN + GAP_EXTEND),
        extend_gap_score=-GAP_EXTEND,
    )


def homology_search(
    sequence: str,
    k: int = 5,
    max_evalue: float = 10.0,
    *,
    catalog: Any,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Best local alignments of ``sequence`` against the entries of ``catalog`` (a ProteinCatalog, index or docs)."""
    query = parse_sequences(sequence, settings, many=False)[0].sequence.translate(_RARE)
    proteins = ProteinCatalog.from_source(catalog)
    candidates = proteins.prefilter(query, max(PREFILTER_CANDIDATES, 2 * k))
    aligner = _aligner()
    scored = sorted(
        ((aligner.score(_subject(doc), query), doc) for doc, _ in candidates), key=lambda pair: -pair[0]
    )
    database = proteins.total_residues
    hits = []
    for score, doc in scored:
        evalue = K * len(query) * database * math.exp(-LAMBDA * score)
        if evalue <= max_evalue:
            hits.append(_hit(aligner, query, doc, score, evalue))
        if len(hits) == k:
            break
    result: dict[str, Any] = {
        "tool": "homology_search",
        "model": f"Smith-Waterman (Biopython {package_version('biopython')} PairwiseAligner, BLOSUM62, "
        f"gap {GAP_OPEN}/{GAP_EXTEND}) of the {len(candidates)} entries sharing most {KMER}-mers with the query",
        "model_version": package_version("biopython"),
        "query_length": len(query),
        "database": {"entries": len(proteins.searchable), "residues": database},
        "hits": hits,
        "meaning": MEANING,
    }
    if not hits:
        result["note"] = f"no entry in the local UniProt index aligns with E-value <= {max_evalue}"
    result["facts"] = homology_facts(hits, len(proteins.searchable), max_evalue)
    return result


CONFIDENT_EVALUE = 1e-3
IDENTIFY_TOPICS = (
    "what protein", "which protein", "identify", "identity", "homolog", "similar", "what is", "related", "match",
)  # fmt: skip


def homology_facts(hits: list[dict[str, Any]], entries: int, max_evalue: float) -> list[dict[str, Any]]:
    """The top hit as an identification (or that nothing aligned), then the other hits in one sentence."""
    if not hits:
        statement = (
            f"No entry in the local UniProt index ({entries} entries) aligns with {{subject}} "
            f"at E-value <= {max_evalue}"
        )
        value = {"entries": entries, "max_evalue": max_evalue}
        return [fact("no_hit", "no homolog found", value, statement, topics=IDENTIFY_TOPICS, main=True)]
    top = _summary(hits[0])
    alignment = (
        f"{top['identity_percent']}% identity over {top['coverage_percent']}% of the query "
        f"(E-value {top['evalue']})"
    )
    if top["evalue"] <= CONFIDENT_EVALUE:
        statement = f"{{subject}} is most similar to {_name(hits[0])}: {alignment}"
    else:
        statement = (
            f"The best match of {{subject}} in the local UniProt index is {_name(hits[0])}: {alignment}, "
            f"not a confident homolog (E-value above {CONFIDENT_EVALUE})"
        )
    facts = [fact("top_hit", "top UniProt hit", top, statement, topics=IDENTIFY_TOPICS, main=True)]
    if len(hits) > 1:
        others = [_summary(hit) for hit in hits[1:]]
        listed = ", ".join(
            f"{hit['gene'] or hit['protein_name']} ({hit['accession']}; {hit['identity_percent']}% identity, "
            f"E-value {hit['evalue']})"
            for hit in others
        )
        weak = (
            f" (E-values above {CONFIDENT_EVALUE} are not confident homologs)"
            if any(hit["evalue"] > CONFIDENT_EVALUE for hit in others)
            else ""
        )
        facts.append(
            fact(
                "other_hits",
                "other UniProt hits",
                others,
                f"Other UniProt entries aligning with {{subject}}: {listed}" + weak,
                topics=("homolog", "similar", "related", "other", "family", "paralog", "ortholog"),
            )
        )
    return facts


def _summary(hit: dict[str, Any]) -> dict[str, Any]:
    """A hit as stated: identity and query coverage in whole percent."""
    return {
        "accession": hit["accession"],
        "gene": hit["gene"],
        "protein_name": hit["protein_name"],
        "organism": hit["organism"],
        "identity_percent": round(100 * hit["identity"]),
        "coverage_percent": round(100 * hit["query_coverage"]),
        "evalue": hit["evalue"],
    }


def _name(hit: dict[str, Any]) -> str:
    """'Alpha-synuclein (SNCA, P37840, Homo sapiens)'; the organism without its common name."""
    organism = str(hit["organism"]).split(" (")[0]
    details = ", ".join(part for part in (hit["gene"], hit["accession"], organism) if part)
    return f"{hit['protein_name']} ({details})"


def _subject(doc: Document) -> str:
    return str(doc.metadata["sequence"]).upper().translate(_RARE)


def _hit(aligner: Any, query: str, doc: Document, score: float, evalue: float) -> dict[str, Any]:
    subject = _subject(doc)
    alignment = aligner.align(subject, query)[0]
    counts = alignment.counts()
    columns = counts.aligned + counts.gaps
    (s_start, s_end), (q_start, q_end) = (
        (int(alignment.coordinates[row][0]), int(alignment.coordinates[row][-1])) for row in (0, 1)
    )
    meta = doc.metadata
    return {
        "accession": meta.get("accession", doc.parent_id),
        "entry_name": meta.get("entry_name", ""),
        "gene": meta.get("gene", ""),
        "protein_name": meta.get("protein_name", doc.title),
        "organism": meta.get("organism", ""),
        "length": len(subject),
        "identity": round(counts.identities / columns, 4) if columns else 0.0,
        "query_coverage": round((q_end - q_start) / len(query), 4),
        "subject_coverage": round((s_end - s_start) / len(subject), 4),
        "score": float(score),
        "bit_score": round((LAMBDA * score - math.log(K)) / math.log(2), 1),
        "evalue": float(f"{evalue:.3g}"),
        "query_range": [q_start + 1, q_end],
        "subject_range": [s_start + 1, s_end],
    }


SPEC = ToolSpec(
    title="Sequence similarity search (local UniProt)",
    name=ToolName.HOMOLOGY_SEARCH,
    description=DESCRIPTION,
    args_schema=HomologySearchInput,
    function=homology_search,
    needs_catalog=True,
)
