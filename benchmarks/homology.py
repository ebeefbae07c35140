"""homology_search: recover the source entry of mutated fragments of UniProt sequences; top-1 accuracy, queries/s.

    python benchmarks/homology.py [--data ../shared/data/uniprot_more/ai_gene_review_swissprot_reviewed.dat]
                                  [--queries 100] [--seed 0]

Each query: a random entry, a random fragment of 50-200 residues, 10-30% of its residues substituted at random.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from bioagent.ingest import read_documents
from bioagent.tools.catalog import ProteinCatalog
from bioagent.tools.homology import PREFILTER_CANDIDATES, homology_search

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/uniprot_more/ai_gene_review_swissprot_reviewed.dat"
)
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def make_query(sequence: str, rng: random.Random) -> tuple[str, float]:
    """A mutated fragment of ``sequence`` and the fraction of its residues that were substituted."""
    length = min(len(sequence), rng.randint(50, 200))
    start = rng.randint(0, len(sequence) - length)
    fragment = list(sequence[start : start + length])
    fraction = rng.uniform(0.10, 0.30)
    for i in rng.sample(range(length), round(fraction * length)):
        fragment[i] = rng.choice(AMINO.replace(fragment[i], ""))
    return "".join(fragment), fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    documents = read_documents(args.data, "uniprot-dat").documents
    start = time.perf_counter()
    catalog = ProteinCatalog(documents)
    homology_search("MEEPQSDPSVEPPLSQETFSDLWKLL", catalog=catalog)  # builds the k-mer index once
    build = time.perf_counter() - start
    rng = random.Random(args.seed)
    sources = rng.sample(
        [d for d in catalog.entries if len(d.metadata.get("sequence", "")) >= 50], args.queries
    )
    queries = [(doc, *make_query(doc.metadata["sequence"], rng)) for doc in sources]

    correct, same_sequence, timings, identities = 0, 0, [], []
    for doc, query, _ in queries:
        t0 = time.perf_counter()
        hits = homology_search(query, k=1, catalog=catalog)["hits"]
        timings.append(time.perf_counter() - t0)
        if hits and hits[0]["accession"] == doc.id:
            correct += 1
            identities.append(hits[0]["identity"])
        elif (
            hits
            and catalog.lookup(hits[0]["accession"])[2][0].metadata["sequence"] == doc.metadata["sequence"]
        ):
            same_sequence += 1
    total = sum(timings)
    print(f"data: {args.data.name} ({len(catalog)} entries, {catalog.total_residues:,} residues)")
    print(f"queries: {args.queries} fragments of 50-200 residues, 10-30% substituted (seed {args.seed})")
    print(
        f"top-1 accuracy: {correct / args.queries:.2%} ({correct}/{args.queries})"
        + (f"; {same_sequence} more hit an entry with the identical sequence" if same_sequence else "")
    )
    print(f"median identity of correct hits: {statistics.median(identities):.2f}" if identities else "")
    print(
        f"speed: {args.queries / total:.1f} queries/s (median {statistics.median(timings) * 1000:.0f} ms; "
        f"{PREFILTER_CANDIDATES} candidates aligned per query); catalog + k-mer index built in {build:.1f} s"
    )


if __name__ == "__main__":
    main()
