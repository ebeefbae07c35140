"""admet tool: ROC-AUC on MoleculeNet BBBP (BBB_Martins) and ClinTox (ClinTox vs CT_TOX), and molecules/s.

    python benchmarks/admet.py [--data ../shared/data/moleculenet] [--limit 300] [--batch 200]

Both sets overlap the Therapeutics Data Commons data ADMET-AI was trained on (TDC BBB_Martins is built from
BBBP; TDC ClinTox is MoleculeNet's ClinTox), so these figures check the wiring, not generalisation.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

from bioagent.errors import ToolInputError
from bioagent.settings import Settings
from bioagent.tools.admet import admet, load_admet_model
from bioagent.tools.chem import parse_smiles, quiet_rdkit

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/moleculenet"
TASKS = (("bbbp.csv", "p_np", "BBB_Martins"), ("clintox.csv", "CT_TOX", "ClinTox"))


def read_labelled(path: Path, label: str, limit: int) -> tuple[list[str], list[int], int]:
    """SMILES that RDKit can read with their 0/1 labels (a seeded sample of ``limit`` when set), and skips."""
    with path.open(newline="") as stream:
        rows = [(row["smiles"], row[label]) for row in csv.DictReader(stream) if row[label] in ("0", "1")]
    if limit:
        rows = random.Random(0).sample(rows, min(limit, len(rows)))
    smiles, labels, skipped = [], [], 0
    with quiet_rdkit():
        for text, value in rows:
            try:
                parse_smiles(text)
            except ToolInputError:
                skipped += 1
                continue
            smiles.append(text)
            labels.append(int(value))
    return smiles, labels, skipped


def predict(smiles: list[str], endpoint: str, batch: int, settings: Settings) -> list[float]:
    values: list[float] = []
    for start in range(0, len(smiles), batch):
        result = admet(smiles[start : start + batch], settings=settings)
        values.extend(m["endpoints"][endpoint]["value"] for m in result["molecules"])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--limit",
        type=int,
        default=300,
        help="Seeded sample of N molecules per set (0 = all; ~10 min on 2 cores).",
    )
    parser.add_argument("--batch", type=int, default=200, help="Molecules per admet call.")
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    settings = Settings.load(tools={"max_batch": args.batch})
    start = time.perf_counter()
    load_admet_model()
    print(f"model: ADMET-AI loaded in {time.perf_counter() - start:.1f} s")
    molecules, seconds = 0, 0.0
    for filename, label, endpoint in TASKS:
        smiles, labels, skipped = read_labelled(args.data / filename, label, args.limit)
        start = time.perf_counter()
        scores = predict(smiles, endpoint, args.batch, settings)
        seconds += time.perf_counter() - start
        molecules += len(smiles)
        sample = f"seeded sample of {len(smiles)}" if args.limit else f"{len(smiles)} molecules"
        print(
            f"{filename} ({sample}, {skipped} unreadable SMILES skipped): {endpoint} vs {label} "
            f"ROC-AUC {roc_auc_score(labels, scores):.3f}"
        )
    print(
        f"speed: {molecules / seconds:.1f} molecules/s ({molecules} molecules in {seconds:.0f} s, "
        f"batches of {args.batch}, all 41 endpoints + percentiles)"
    )
    print(
        "note: BBBP and ClinTox overlap ADMET-AI's training data (TDC BBB_Martins, TDC ClinTox): these numbers "
        "check the wiring, not how well the model generalises."
    )


if __name__ == "__main__":
    main()
