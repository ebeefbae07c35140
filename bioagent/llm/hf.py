"""The transformers backend: a local Hugging Face causal LM (a model folder, or a GGUF file it converts).

A GGUF file (SmolLM2 by default) is converted to transformers weights once and kept under
``<cache_dir>/transformers/<stem>-<sha256 prefix>/`` so later processes load it directly; the key is the file's
content hash (a fine-tuned model of the same name and size gets its own conversion), computed once and remembered
in ``<cache_dir>/transformers/sha256.json`` by path, size and modification time. Each model is loaded once per process.
Replies stream through :class:`transformers.TextIteratorStreamer` from a generation thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from bioagent.errors import LLMError, require
from bioagent.llm.local import LocalChatModel

logger = logging.getLogger(__name__)
_MODEL_SETTING = "settings llm.model / BIOAGENT_LLM__MODEL"
_PURPOSE = "The transformers chat backend"
_HASHES_FILE = "sha256.json"


@dataclass
class LoadedTransformers:
    """A tokenizer and causal LM held for the life of the process."""

    model: Any
    tokenizer: Any
    load_seconds: float


_LOADED: dict[str, LoadedTransformers] = {}
_LOAD_LOCK = threading.Lock()


def load_transformers(path: Path, cache_dir: Path | None = None) -> LoadedTransformers:
    """Load a model folder or GGUF file (converted once into ``cache_dir``), or reuse this process's copy."""
    key = str(path.resolve())
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        start = time.perf_counter()
        if path.suffix == ".gguf" and path.is_file():
            model, tokenizer = _load_gguf(path, cache_dir)
        elif (path / "config.json").is_file():
            model, tokenizer = _load_folder(path)
        else:
            raise LLMError(
                f"not a Hugging Face model folder (no config.json) nor a .gguf file: {path} "
                f"({_MODEL_SETTING})"
            )
        model.eval()
        _LOADED[key] = LoadedTransformers(model, tokenizer, time.perf_counter() - start)
        return _LOADED[key]


def _load_folder(folder: Path, gguf_file: str | None = None) -> tuple[Any, Any]:
    transformers: Any = require("transformers", "transformers", "llm", _PURPOSE)
    require("torch", "torch", "llm", _PURPOSE)
    options: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        options["gguf_file"] = gguf_file
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), **options)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), **options)
    except (OSError, ValueError) as exc:
        raise LLMError(f"cannot load the model at {folder} ({_MODEL_SETTING}): {exc}") from exc
    return model, tokenizer


def _load_gguf(path: Path, cache_dir: Path | None) -> tuple[Any, Any]:
    """Convert ``path`` (dequantised) or load the conversion an earlier process saved."""
    if cache_dir is None:
        return _load_folder(path.parent, gguf_file=path.name)
    target = converted_gguf_dir(path, cache_dir)
    if (target / "config.json").is_file():
        return _load_folder(target)
    model, tokenizer = _load_folder(path.parent, gguf_file=path.name)
    _forget_gguf_origin(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(target)
    except (OSError, ValueError) as exc:  # the cache is an optimisation: run on without it
        shutil.rmtree(staging, ignore_errors=True)
        logger.warning("could not keep the converted model in %s: %s", target, exc)
    return model, tokenizer


def converted_gguf_dir(path: Path, cache_dir: Path) -> Path:
    """Where the conversion of the GGUF file ``path`` is kept: named by its stem and content hash."""
    return cache_dir / "transformers" / f"{path.stem}-{file_sha256(path, cache_dir)[:16]}"


def file_sha256(path: Path, cache_dir: Path) -> str:
    """The sha256 of ``path``'s bytes, remembered in ``<cache_dir>/transformers/sha256.json`` by (path, size,
    mtime) so that a file is hashed once, not at every start."""
    record_path = cache_dir / "transformers" / _HASHES_FILE
    stat = path.stat()
    key = str(path.resolve())
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    records = _read_hashes(record_path)
    known = records.get(key)
    if isinstance(known, dict) and {k: known.get(k) for k in stamp} == stamp and known.get("sha256"):
        return str(known["sha256"])
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    records[key] = {**stamp, "sha256": digest}
    _write_hashes(record_path, records)
    return digest


def _read_hashes(record_path: Path) -> dict[str, Any]:
    try:
        records = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def _write_hashes(record_path: Path, records: dict[str, Any]) -> None:
    """Replace the hash records atomically; a failure only costs a rehash next time."""
    try:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        staging = record_path.with_name(f".{record_path.name}.{os.getpid()}")
        staging.write_text(json.dumps(records, indent=1), encoding="utf-8")
        staging.replace(record_path)
    except OSError as exc:
        logger.warning("could not remember the model's hash in %s: %s", record_path, exc)


def _forget_gguf_origin(model: Any) -> None:
    """Mark GGUF weights dequantised on load as ordinary weights, so that ``save_pretrained`` accepts them."""
    model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


class TransformersChatModel(LocalChatModel):
    """LangChain chat model over a local transformers causal LM (token streaming, prompt-based tools)."""

    model_path: str = Field(description="Model folder or GGUF file.")
    cache_dir: str | None = Field(default=None, description="Where converted GGUF weights are kept.")

    @property
    def _llm_type(self) -> str:
        return "bioagent-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "temperature": self.temperature}

    def loaded(self) -> LoadedTransformers:
        """The process-wide model and tokenizer behind this chat model."""
        return load_transformers(Path(self.model_path), Path(self.cache_dir) if self.cache_dir else None)

    def _stream_text(
        self,
        messages: list[dict[str, str]],
        *,
        stop: list[str] | None,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None,
    ) -> Iterator[str]:
        transformers: Any = require("transformers", "transformers", "llm", _PURPOSE)
        loaded = self.loaded()
        tokenizer = loaded.tokenizer
        inputs = tokenizer(_prompt_text(tokenizer, messages), return_tensors="pt", add_special_tokens=False)
        streamer = transformers.TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "do_sample": temperature > 0,
            "streamer": streamer,
        }
        if temperature > 0:
            options["temperature"] = temperature
        if stop:
            options.update(stop_strings=stop, tokenizer=tokenizer)
        if tokenizer.pad_token_id is None:
            options["pad_token_id"] = tokenizer.eos_token_id
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                loaded.model.generate(**inputs, **options)
            except Exception as exc:  # reported in the caller's thread below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        for text in streamer:
            if text:
                yield text
        worker.join()
        if failure:
            raise LLMError(f"the transformers model failed to generate: {failure[0]}") from failure[0]


def _prompt_text(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The chat rendered by the tokenizer's chat template, or a plain role-prefixed transcript without one."""
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    lines = [f"{message['role']}: {message['content']}" for message in messages]
    return "\n".join([*lines, "assistant:"])
