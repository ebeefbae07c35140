"""The ONNX Runtime embedder: export and cache, parity with the torch path, int8 closeness, settings wiring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bioagent.atomic import replace_with_file
from bioagent.errors import ConfigError, IndexLoadError, MissingExtraError
from bioagent.index import onnx_embedder
from bioagent.index.builder import write_index
from bioagent.index.embedders import SentenceTransformerEmbedder, load_embedder
from bioagent.index.onnx_embedder import OnnxEmbedder, read_layout
from bioagent.index.store import open_index
from bioagent.settings import IndexSettings, RetrievalSettings, Settings
from bioagent.types import Document

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def fp32(onnx_cache: Path) -> OnnxEmbedder:
    """The packaged all-MiniLM-L6-v2, exported once per test session."""
    return OnnxEmbedder(cache_dir=onnx_cache, threads=2)


@pytest.fixture(scope="session")
def int8(onnx_cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=onnx_cache, precision="int8", threads=2)


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def abstracts(shared_data: Path) -> list[Document]:
    lines = (shared_data / "scifact/beir_format/corpus.jsonl").read_text().splitlines()[:20]
    return [
        Document(id=r["_id"], title=r["title"], text=r["text"], source="beir") for r in map(json.loads, lines)
    ]


def write_model_folder(folder: Path, modules: list[str], pooling: dict[str, object]) -> Path:
    """A sentence-transformers folder with only the configuration files read_layout looks at."""
    entries = [
        {
            "idx": i,
            "name": str(i),
            "path": "" if kind == "Transformer" else f"{i}_{kind}",
            "type": f"sentence_transformers.models.{kind}",
        }
        for i, kind in enumerate(modules)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(entries))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling/config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    return folder


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


# ---------------------------------------------------------------- real model, default run


def test_export_is_cached_and_a_second_load_does_not_re_export(
    fp32: OnnxEmbedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fp32.encode_documents(["BRCA1 is a tumour suppressor.", "EGFR mutations in lung cancer."])
    assert first.shape == (2, 384)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    (model_file,) = (onnx_cache / "onnx").glob("*-fp32-*/model.onnx")
    stamp = model_file.stat().st_mtime_ns

    def fail(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embedder, "_export_fp32", fail)
    again = OnnxEmbedder(cache_dir=onnx_cache).encode_documents(["EGFR mutations in lung cancer."])
    assert model_file.stat().st_mtime_ns == stamp
    assert np.allclose(again[0], first[1], atol=1e-5)
    assert not list(model_file.parent.glob(".partial-*"))


def test_length_sorted_batches_return_vectors_in_input_order(fp32: OnnxEmbedder) -> None:
    texts = [
        f"{word} " * n for word, n in [("short", 1), ("kinase", 60), ("tumour", 7), ("p53", 30), ("x", 3)]
    ]
    encoder = fp32._encoder(fp32.model_name)
    batched = encoder.encode(texts + ["medium length text here"], batch_size=2)  # > SMALL_INPUT: 2 threads
    singles = np.vstack([fp32.encode_documents([t]) for t in texts + ["medium length text here"]])
    assert encoder._single_thread_session is not None  # single texts ran on the one-thread session
    assert np.allclose(batched, singles, atol=1e-5)
    assert cosines(batched, singles).min() > 0.99999


def test_fp32_vectors_match_the_torch_path(
    fp32: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder, abstracts: list[Document]
) -> None:
    texts = [doc.full_text() for doc in abstracts]
    assert cosines(fp32.encode_documents(texts), torch_embedder.encode_documents(texts)).min() > 0.9999
    titles = [doc.title for doc in abstracts]
    assert cosines(fp32.encode_queries(titles), torch_embedder.encode_queries(titles)).min() > 0.9999
    assert fp32.name == torch_embedder.name  # hence indexes built with either load with either


# ---------------------------------------------------------------- real model, slow


@pytest.mark.slow
def test_int8_vectors_are_close_and_rank_the_same_neighbours(
    int8: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder, abstracts: list[Document]
) -> None:
    texts = [doc.full_text() for doc in abstracts]
    titles = [doc.title for doc in abstracts]
    docs8, docs32 = int8.encode_documents(texts), torch_embedder.encode_documents(texts)
    assert cosines(docs8, docs32).min() > 0.98
    top8 = (int8.encode_queries(titles) @ docs8.T).argmax(axis=1)
    top32 = (torch_embedder.encode_queries(titles) @ docs32.T).argmax(axis=1)
    assert (top8 == top32).all()
    assert int8.name.endswith(";onnx-int8")


@pytest.mark.slow
def test_a_torch_built_index_loads_with_fp32_onnx_but_not_with_int8(
    tmp_path: Path,
    fp32: OnnxEmbedder,
    int8: OnnxEmbedder,
    torch_embedder: SentenceTransformerEmbedder,
    abstracts: list[Document],
) -> None:
    write_index(abstracts, tmp_path / "idx", torch_embedder, IndexSettings(), RetrievalSettings())
    reloaded = open_index(tmp_path / "idx", fp32, IndexSettings(), RetrievalSettings())
    for doc in abstracts[:5]:
        assert reloaded.search(doc.title, k=1, mode="dense")[0].id == doc.id
    with pytest.raises(IndexLoadError, match="onnx-int8"):
        open_index(tmp_path / "idx", int8, IndexSettings(), RetrievalSettings())


# ---------------------------------------------------------------- no model needed


def test_empty_input_gives_an_empty_matrix_without_loading_anything(tmp_path: Path) -> None:
    embedder = OnnxEmbedder(cache_dir=tmp_path)
    assert embedder.encode_documents([]).shape == (0, 384)
    assert embedder.encode_queries([]).shape == (0, 384)
    assert not (tmp_path / "onnx").exists()


@pytest.mark.parametrize(
    "modules, pooling, problem",
    [
        (["Transformer", "Pooling"], {"pooling_mode_max_tokens": True}, "pooling"),
        (
            ["Transformer", "Pooling"],
            {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True},
            "pooling",
        ),
        (["Transformer", "Pooling", "Dense", "Normalize"], {"pooling_mode_mean_tokens": True}, "Dense"),
    ],
)
def test_unsupported_model_configurations_are_refused(
    tmp_path: Path, modules: list[str], pooling: dict[str, object], problem: str
) -> None:
    folder = write_model_folder(tmp_path / "model", modules, pooling)
    with pytest.raises(ConfigError, match=problem):
        read_layout(folder)
    with pytest.raises(ConfigError, match=problem):
        OnnxEmbedder(str(folder), cache_dir=tmp_path).encode_documents(["text"])


def test_layout_follows_the_sentence_transformers_config(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "m", ["Transformer", "Pooling"], {"pooling_mode_cls_token": True})
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 128, "do_lower_case": true}')
    layout = read_layout(folder)
    assert (layout.pooling, layout.max_seq_length, layout.do_lower_case, layout.dimension) == (
        "cls",
        128,
        True,
        8,
    )
    with pytest.raises(ConfigError, match="modules.json"):
        read_layout(tmp_path)


def test_cache_folder_changes_with_the_model_files_and_the_precision(tmp_path: Path) -> None:
    folder = write_model_folder(
        tmp_path / "m", ["Transformer", "Pooling"], {"pooling_mode_mean_tokens": True}
    )
    first = onnx_embedder._cache_folder(folder, tmp_path, "fp32")
    assert onnx_embedder._cache_folder(folder, tmp_path, "fp32") == first
    assert onnx_embedder._cache_folder(folder, tmp_path, "int8") != first
    (folder / "model.safetensors").write_bytes(b"new weights")
    assert onnx_embedder._cache_folder(folder, tmp_path, "fp32") != first


def test_a_failed_export_leaves_no_model_file(tmp_path: Path) -> None:
    target = tmp_path / "onnx" / "model.onnx"

    def crash(tmp: Path) -> None:
        tmp.write_bytes(b"half a model")
        raise RuntimeError("killed mid-export")

    with pytest.raises(RuntimeError):
        replace_with_file(target, crash)  # how the ONNX exports are written
    assert list(target.parent.iterdir()) == []


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=r"\[onnx\]"):
        onnx_embedder._import_onnxruntime()


def test_settings_select_the_onnx_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load(cache_dir=tmp_path, embedding={"backend": "onnx", "onnx_threads": 1})
    embedder = load_embedder(settings.embedding, settings.cache_dir)
    assert isinstance(embedder, OnnxEmbedder)
    assert (embedder.precision, embedder.threads, embedder.cache_dir) == ("fp32", 1, tmp_path)
    assert embedder.name == SentenceTransformerEmbedder().name
    monkeypatch.setenv("BIOAGENT_EMBEDDING__BACKEND", "onnx-int8")
    int8_embedder = load_embedder(Settings.load(cache_dir=tmp_path).embedding, tmp_path)
    assert isinstance(int8_embedder, OnnxEmbedder) and int8_embedder.precision == "int8"
    assert int8_embedder.name == "sentence-transformers/all-MiniLM-L6-v2;onnx-int8"
    with pytest.raises(ConfigError, match="backend"):
        Settings.load(embedding={"backend": "onnx-fp16"})


def test_auto_backend_is_onnx_when_the_extra_is_installed() -> None:
    from bioagent.index.embedders import resolve_backend

    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    assert resolve_backend("auto") == "onnx-int8"
    assert resolve_backend("sentence-transformers") == "sentence-transformers"


def test_an_index_is_queried_at_the_precision_it_was_built_with() -> None:
    from bioagent.index.embedders import embedding_for_index
    from bioagent.settings import EmbeddingSettings

    pytest.importorskip("onnxruntime")
    float32, int8 = (
        "sentence-transformers/all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2;onnx-int8",
    )
    default = EmbeddingSettings(backend="auto")  # int8 with the onnx extra
    assert (
        embedding_for_index(default, float32).backend == "onnx"
    )  # an index built before int8 was the default
    assert embedding_for_index(default, int8) == default
    torch = EmbeddingSettings(backend="sentence-transformers")
    assert embedding_for_index(torch, int8).backend == "onnx-int8"
    assert embedding_for_index(torch, float32) == torch
    other = EmbeddingSettings(model="/models/medcpt", backend="auto")
    assert embedding_for_index(other, float32) == other  # another model: left to load_index to refuse


def test_the_fast_tokenizer_matches_transformers() -> None:
    from transformers import AutoTokenizer

    from bioagent.index.model_files import packaged_minilm_path
    from bioagent.index.onnx_embedder import FastTokenizer

    model_dir = packaged_minilm_path()
    texts = ["What is the logP of caffeine?", "G1P[8] ß-catenin naïve Δ", "a " * 400, "TP53 R175H"]
    expected = AutoTokenizer.from_pretrained(str(model_dir))(texts, truncation=True, max_length=256)
    fast = FastTokenizer(model_dir)
    found = fast(texts, truncation=True, max_length=256)
    assert all(found[k] == expected[k] for k in ("input_ids", "attention_mask", "token_type_ids"))
    assert fast.pad_token_id == 0 and fast.model_max_length == 512
