"""Latency of each tool call through its LangChain tool: first call (loads the model once) and warm calls.

    python benchmarks/tool_latency.py [--repeats 5] [--esm PATH]

The first call of a tool includes its one-time model load / reference-set build; later calls reuse them.
UniProt tools search the 1,037 Swiss-Prot entries of ../shared/data/uniprot_more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bioagent.ingest import read_documents
from bioagent.settings import Settings
from bioagent.tools.registry import all_tools

DATA = Path(__file__).resolve().parents[1].parent / "shared/data"
P53 = (
    "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGPDEAPRMPEAAPPVAPAPAAPTPAAPAPAPSWPLSSSVPSQKTYQGSYGF"
    "RLGFLHSGTAKSVTCTYSPALNKMFCQLAKTCPVQLWVDSTPPPGTRVRAMAIYKQSQHMTEVVRRCPHHERCSDSDGLAPPQHLIRVEGNLRVEYLDDRNTFRHSVVV"
    "PYEPPEVGSDCTTIHYNYMCNSSCMGGMNRRPILTIITLEDSSGNLLGRNSFEVRVCACPGRDRRTEEENLRKKGEPHHELPPGSTKRALPNNTSSSPQPKKKPLDGEYF"
    "TLQIRGRERFEMFRELNEALELKDAQAGKEPGGSRAHSSHLKSKKGQSTSRHKKLMFKTEGPDSD"
)
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
CALLS: dict[str, dict[str, Any]] = {
    "protein_properties": {"sequence": P53},
    "disorder": {"sequence": P53},
    "homology_search": {"sequence": P53[100:250], "k": 5},
    "uniprot_lookup": {"query": "TP53"},
    "variant_effect": {"sequence": P53, "mutations": ["R175H", "R248Q", "R273H"]},
    "drug_lookup": {"name": "imatinib"},
    "drug_properties": {"smiles": [IMATINIB]},
    "admet": {"smiles": [IMATINIB]},
    "similar_drugs": {"smiles": IMATINIB, "k": 5},
}


def timed(tool: Any, arguments: dict[str, Any]) -> float:
    start = time.perf_counter()
    tool.invoke(arguments)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Warm calls per tool.")
    parser.add_argument(
        "--esm", default=None, help="ESM-2 weights for variant_effect (default: not configured)."
    )
    args = parser.parse_args()

    documents = read_documents(
        DATA / "uniprot_more/ai_gene_review_swissprot_reviewed.dat", "uniprot-dat"
    ).documents
    settings = Settings.load(tools={"esm_model": args.esm} if args.esm else {})
    tools = {tool.name: tool for tool in all_tools(settings, protein_index=documents)}
    print(
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; {args.repeats} warm calls per tool"
    )
    print(f"{'tool':<20} {'first call (s)':>15} {'warm median (ms)':>17}")
    for name, arguments in CALLS.items():
        first = timed(tools[name], arguments)
        warm = statistics.median(timed(tools[name], arguments) for _ in range(args.repeats))
        note = "  (not configured: no ESM weights)" if name == "variant_effect" and not args.esm else ""
        print(f"{name:<20} {first:>15.2f} {warm * 1000:>17.0f}{note}")


if __name__ == "__main__":
    main()
