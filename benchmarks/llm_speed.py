"""Chat-model speed: load time, first-token latency when streaming, and generation speed in tokens/s.

    python benchmarks/llm_speed.py                        # embedded SmolLM2 via llama-cpp-python
    python benchmarks/llm_speed.py --backend transformers --cache-dir .cache/bioagent
    python benchmarks/llm_speed.py --backend openai --base-url http://127.0.0.1:8000/v1 --model smollm2

Each run streams one reply to a new biomedical question (greedy decoding), optionally after numbered
evidence passages as the agent sends them (``--evidence N``). Tokens are counted with the model's
own tokenizer where it is in-process, else as streamed chunks. Prints one line per run and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from bioagent.llm import create_chat_model, describe_model
from bioagent.settings import LLMSettings

QUESTIONS = [
    "Explain what the TP53 gene does in human cells and why it matters in cancer.",
    "What is the role of BRCA1 in DNA repair?",
    "How does imatinib inhibit the BCR-ABL1 kinase?",
    "What does the EGFR receptor do in epithelial cells?",
    "Why are intrinsically disordered proteins hard to crystallise?",
]
EVIDENCE = (
    "[{n}] PMID:{pmid} The tumour suppressor p53 binds DNA as a tetramer and activates genes that arrest the "
    "cell cycle, repair DNA or trigger apoptosis after genotoxic stress; mutations in its DNA-binding domain "
    "are found in about half of human cancers."
)


def prompt(run: int, evidence_passages: int) -> list[BaseMessage]:
    """A fresh question per run (so no run reuses the previous run's prompt cache), with optional evidence."""
    evidence = "\n".join(
        EVIDENCE.format(n=i + 1, pmid=10_000_000 + 97 * i + run) for i in range(evidence_passages)
    )
    question = QUESTIONS[run % len(QUESTIONS)]
    user = f"Evidence:\n{evidence}\n\nQuestion: {question}" if evidence else question
    return [SystemMessage(content="You are a concise biomedical assistant."), HumanMessage(content=user)]


def count_tokens(model: BaseChatModel, text: str, chunks: int) -> int:
    """Tokens in ``text`` by the in-process tokenizer, or the number of streamed chunks for remote models."""
    loaded = getattr(model, "loaded", None)
    if loaded is None:
        return chunks
    backend = loaded()
    if hasattr(backend, "llama"):
        return len(backend.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))
    return len(backend.tokenizer(text, add_special_tokens=False)["input_ids"])


def one_run(model: BaseChatModel, messages: list[BaseMessage], max_tokens: int) -> dict[str, float]:
    """Stream one reply; time to first token, total time, and decode speed after the first token."""
    start = time.perf_counter()
    first = None
    pieces: list[str] = []
    for chunk in model.stream(messages, max_tokens=max_tokens):
        if chunk.text:
            first = first if first is not None else time.perf_counter() - start
            pieces.append(chunk.text)
    total = time.perf_counter() - start
    tokens = count_tokens(model, "".join(pieces), len(pieces))
    decode_s = total - (first or 0.0)
    return {
        "prompt_tokens": count_tokens(model, " ".join(m.text for m in messages), len(messages)),
        "first_token_s": first or total,
        "total_s": total,
        "tokens": tokens,
        "tokens_per_s": (tokens - 1) / decode_s if tokens > 1 and decode_s > 0 else 0.0,
        "end_to_end_tokens_per_s": tokens / total if total > 0 else 0.0,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", default="embedded", choices=["embedded", "transformers", "openai", "ollama"]
    )
    parser.add_argument("--model", default=None, help="GGUF path, model folder, or served model name.")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (embedded).")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="Converted-weights cache (transformers)."
    )
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--evidence", type=int, default=0, help="Evidence passages (~55 tokens each) per prompt."
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of text.")
    args = parser.parse_args(argv)
    settings = LLMSettings(
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        threads=args.threads,
        max_tokens=args.max_tokens,
    )
    start = time.perf_counter()
    model = create_chat_model(settings, cache_dir=args.cache_dir)
    load_s = time.perf_counter() - start
    one_run(model, prompt(-1, 1), max_tokens=8)  # warm-up: the first evaluation allocates buffers
    runs = [one_run(model, prompt(i, args.evidence), args.max_tokens) for i in range(args.runs)]
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    report = {"model": describe_model(settings), "load_s": load_s, "runs": runs, "median": medians}
    if args.json:
        print(json.dumps(report, indent=2))
        return report
    print(f"model: {report['model']}   load: {load_s:.2f} s")
    for i, run in enumerate(runs, 1):
        print(
            f"run {i}: prompt ~{run['prompt_tokens']:.0f} tokens, first token {run['first_token_s']:.3f} s, "
            f"{run['tokens']:.0f} tokens in "
            f"{run['total_s']:.2f} s, decode {run['tokens_per_s']:.1f} tok/s"
        )
    print(
        f"median: first token {medians['first_token_s']:.3f} s, decode {medians['tokens_per_s']:.1f} tok/s, "
        f"end to end {medians['end_to_end_tokens_per_s']:.1f} tok/s"
    )
    return report


if __name__ == "__main__":
    main()
