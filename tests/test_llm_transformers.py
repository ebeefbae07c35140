"""The transformers backend on a tiny randomly initialised Llama saved in tmp_path (built offline)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bioagent.errors import MissingExtraError
from bioagent.llm import create_chat_model, describe_model, hf, smollm2_gguf_path
from bioagent.settings import LLMSettings

_WORDS = ["<|im_start|>", "<|im_end|>", "system", "user", "assistant", "TP53", "binds", "DNA", "protein", "a"]
_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide Llama with a word-level tokenizer and a chat template."""
    torch = pytest.importorskip("torch")
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{word: i + 3 for i, word in enumerate(_WORDS)}}
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    backend.decoder = tokenizers.decoders.WordPiece()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = _TEMPLATE
    config = transformers.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_tiny_model_generates_and_streams_the_same_greedy_text(tiny_model: Path) -> None:
    settings = LLMSettings(backend="transformers", model=str(tiny_model), max_tokens=6)
    model = create_chat_model(settings)
    assert create_chat_model(settings).loaded() is model.loaded()  # loaded once per process
    text = model.invoke("TP53 binds DNA").content
    pieces = [chunk.text for chunk in model.stream("TP53 binds DNA") if chunk.text]
    assert text and len(text.split()) <= 6
    assert len(pieces) > 1
    assert "".join(pieces) == text
    assert describe_model(settings) == f"transformers:{tiny_model.name}"


@pytest.mark.slow
def test_tiny_model_honours_per_call_token_limit(tiny_model: Path) -> None:
    model = create_chat_model(LLMSettings(backend="transformers", model=str(tiny_model), max_tokens=8))
    assert len(model.invoke("protein gene", max_tokens=2).content.split()) <= 2


@pytest.mark.slow
def test_packaged_gguf_is_converted_once_into_the_cache(tmp_path: Path) -> None:
    """Without llama-cpp-python, transformers runs the packaged SmolLM2 GGUF (converted, then cached)."""
    pytest.importorskip("gguf")
    try:
        gguf = smollm2_gguf_path()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    model = create_chat_model(LLMSettings(backend="transformers", max_tokens=8), cache_dir=tmp_path)
    converted = hf.converted_gguf_dir(gguf, tmp_path)
    assert converted.name == f"{gguf.stem}-{hashlib.sha256(gguf.read_bytes()).hexdigest()[:16]}"
    assert (converted / "config.json").is_file()
    assert model.invoke("Say hello.").text.strip()


def test_gguf_cache_is_keyed_by_content_not_size(tmp_path: Path) -> None:
    """A fine-tuned model of the same name and size gets its own conversion, not the old one."""
    base, tuned = tmp_path / "base" / "model.gguf", tmp_path / "tuned" / "model.gguf"
    for path, fill in ((base, b"a"), (tuned, b"b")):
        path.parent.mkdir()
        path.write_bytes(b"GGUF" + fill * 1000)
    cache = tmp_path / "cache"
    first, second = hf.converted_gguf_dir(base, cache), hf.converted_gguf_dir(tuned, cache)
    assert first != second and first.parent == second.parent == cache / "transformers"
    assert first.name.startswith("model-") and first == hf.converted_gguf_dir(base, cache)


def test_gguf_hash_is_computed_once_per_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + b"x" * 1000)
    hashed: list[str] = []
    real_digest = hashlib.file_digest

    def counting_digest(handle: object, name: str) -> object:
        hashed.append(name)
        return real_digest(handle, name)  # type: ignore[arg-type]

    monkeypatch.setattr(hf.hashlib, "file_digest", counting_digest)
    cache = tmp_path / "cache"
    digest = hf.file_sha256(path, cache)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hf.file_sha256(path, cache) == digest and len(hashed) == 1  # remembered (also across processes)
    path.write_bytes(b"GGUF" + b"y" * 1000)  # same size, new content
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert hf.file_sha256(path, cache) == hashlib.sha256(path.read_bytes()).hexdigest() != digest
    assert len(hashed) == 2
