"""Disorder tool on the CAID DisProt-PDB reference: per-residue ROC-AUC and MCC, and residues/s.

    python benchmarks/disorder.py [--data ../shared/data/disorder_caid_disprot/disorder_pdb.fasta] [--limit N]

Residues labelled '-' (not assessed) are skipped; 1 = disordered, 0 = ordered (observed in PDB structures).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bioagent.settings import Settings
from bioagent.tools.disorder import DISORDER_THRESHOLD, disorder

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent / "shared/data/disorder_caid_disprot/disorder_pdb.fasta"
)

PUBLISHED = (
    "metapredict authors' figure for comparison: MCC 0.588 (V1 network) -> 0.70 (V2 network) on the CAID "
    "DisProt-PDB set, in the metapredict documentation (idptools/metapredict docs/getting_started.rst, "
    "'Major update to metapredict predictions', Feb 2022; CAID round 1 set). No published V3 figure on this "
    "set was found (the docs say the V3 paper is still to come), and this file is CAID's demo reference "
    "(319 proteins), not the CAID1 set, so the numbers are indicative, not a like-for-like comparison."
)


def read_caid(path: Path) -> list[tuple[str, str, str]]:
    """(id, sequence, labels) triples from CAID's 3-line FASTA."""
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return [(lines[i][1:], lines[i + 1], lines[i + 2]) for i in range(0, len(lines) - 2, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="Use only the first N proteins (0 = all).")
    args = parser.parse_args()
    from sklearn.metrics import matthews_corrcoef, roc_auc_score

    proteins = read_caid(args.data)[: args.limit or None]
    longest = max(len(seq) for _, seq, _ in proteins)
    settings = Settings.load(tools={"max_sequence_length": longest, "max_batch": len(proteins)})
    fasta = "\n".join(f">{pid}\n{seq}" for pid, seq, _ in proteins)
    disorder("MEEPQSDPSVEPPLSQETFSDLWKLL", settings=settings)  # load the networks before timing
    start = time.perf_counter()
    result = disorder(fasta, settings=settings)
    seconds = time.perf_counter() - start
    scores, labels = [], []
    for (_, _, label), predicted in zip(proteins, result["proteins"]):
        for value, mark in zip(predicted["disorder"], label):
            if mark in "01":
                scores.append(value)
                labels.append(int(mark))
    residues = sum(len(seq) for _, seq, _ in proteins)
    calls = [int(s > DISORDER_THRESHOLD) for s in scores]
    print(
        f"data: {args.data} ({len(proteins)} proteins, {residues:,} residues; {len(labels):,} labelled, "
        f"{sum(labels):,} disordered)"
    )
    print(f"model: {result['model']}")
    print(f"per-residue ROC-AUC: {roc_auc_score(labels, scores):.3f}")
    print(f"per-residue MCC at threshold {DISORDER_THRESHOLD}: {matthews_corrcoef(labels, calls):.3f}")
    print(f"speed: {residues / seconds:,.0f} residues/s ({seconds:.1f} s, disorder + pLDDT, one batch call)")
    print(PUBLISHED)


if __name__ == "__main__":
    main()
