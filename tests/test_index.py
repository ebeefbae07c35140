"""Index folders: build, search modes, manifest, atomic writes, additions and refusals (hash embedder, real FAISS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bioagent.errors import ConfigError, IndexLoadError
from bioagent.index import HashEmbedder, add_documents, build_index, load_index
from bioagent.index.bm25_writer import BM25Writer
from bioagent.index.fusion import normalise_scores, reciprocal_rank_fusion, top_k, weighted_fusion
from bioagent.settings import Settings
from bioagent.types import Document

DOCS = [
    Document(
        id="1",
        title="Imatinib inhibits BCR-ABL",
        text="Imatinib is a tyrosine kinase inhibitor of ABL1.",
        source="pubmed",
    ),
    Document(
        id="2",
        title="TP53 mutations in cancer",
        text="The tumour suppressor p53 is mutated in half of cancers.",
        source="pubmed",
    ),
    Document(
        id="3",
        title="Insulin signalling",
        text="Insulin binds the insulin receptor and lowers blood glucose.",
        source="pubmed",
    ),
    Document(
        id="4",
        title="EGFR inhibitors in lung cancer",
        text="Gefitinib and erlotinib target mutant EGFR kinase.",
        source="pubmed",
    ),
]


@pytest.fixture()
def hash_settings(tmp_path: Path) -> Settings:
    return Settings.load(cache_dir=tmp_path / "cache", embedding={"backend": "hash", "hash_dimension": 128})


@pytest.fixture()
def built(tmp_path: Path, hash_settings: Settings):
    return build_index(DOCS, tmp_path / "idx", hash_settings)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_each_mode_ranks_the_matching_document_first(built, mode: str) -> None:
    hits = built.search("tumour suppressor p53 mutated", k=3, mode=mode)
    assert hits[0].id == "2"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].title == "TP53 mutations in cancer" and hits[0].source == "pubmed"


def test_reload_gives_the_same_results(built, hash_settings: Settings) -> None:
    loaded = load_index(built.path, hash_settings)
    query = "kinase inhibitor for ABL1"
    assert [h.id for h in loaded.search(query, k=4)] == [h.id for h in built.search(query, k=4)]
    assert loaded.get("3") is not None and loaded.get("3").title == "Insulin signalling"
    assert loaded.get("nope") is None


def test_manifest_records_model_counts_and_checksums(built) -> None:
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["embedder"] == {"name": "hash-128", "dimension": 128}
    assert manifest["documents"] == 4 and manifest["chunks"] == 4
    assert manifest["dense_kind"] == "flat" and manifest["metric"] == "inner_product"
    assert manifest["created_with"]
    assert {"documents.sqlite", "chunk_offsets.npy", "dense.faiss"} <= set(manifest["checksums"])
    assert manifest["format_version"] == 2 and set(manifest["sizes"]) == set(manifest["checksums"])


def test_loading_with_another_embedder_is_refused(built) -> None:
    other = Settings.load(embedding={"backend": "hash", "hash_dimension": 64})
    with pytest.raises(
        IndexLoadError, match="built with embedder 'hash-128'.*configured embedder is 'hash-64'"
    ):
        load_index(built.path, other)


def test_corrupt_manifest_and_missing_folder_are_clear_errors(built, tmp_path: Path, hash_settings) -> None:
    with pytest.raises(IndexLoadError, match="does not exist"):
        load_index(tmp_path / "missing", hash_settings)
    (built.path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexLoadError, match="corrupt"):
        load_index(built.path, hash_settings)


def test_tampered_data_file_fails_its_checksum(built, hash_settings: Settings) -> None:
    data = built.path / built.manifest.data_dir / "documents.sqlite"
    data.write_bytes(data.read_bytes().replace(b"Insulin", b"Inzulin"))  # same size: only the sha256 differs
    with pytest.raises(IndexLoadError, match="checksum"):
        load_index(built.path, hash_settings)


def test_a_crash_mid_build_leaves_the_previous_index_intact(built, hash_settings, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(BM25Writer, "finish", explode)
    with pytest.raises(RuntimeError):
        build_index(DOCS[:2], built.path, hash_settings)
    monkeypatch.undo()
    reloaded = load_index(built.path, hash_settings)
    assert len(reloaded) == 4
    assert [p.name for p in built.path.glob("data-*")] == [built.manifest.data_dir]


def test_adding_documents_extends_the_index_and_skips_known_ids(built, hash_settings: Settings) -> None:
    new = [
        Document(id="5", title="Metformin and AMPK", text="Metformin activates AMPK in the liver."),
        DOCS[0],
    ]
    updated, report = add_documents(built, new, hash_settings)
    assert report.added == 1 and report.skipped_duplicates == ["1"]
    reloaded = load_index(built.path, hash_settings)
    assert len(reloaded) == 5
    assert reloaded.search("metformin AMPK liver", k=1)[0].id == "5"
    assert len(list(built.path.glob("data-*"))) == 1


def test_long_documents_are_chunked_and_hits_name_the_parent(tmp_path: Path) -> None:
    settings = Settings.load(embedding={"backend": "hash"}, index={"chunk_words": 30, "chunk_overlap": 5})
    filler = " ".join(f"word{i}" for i in range(80))
    long_doc = Document(id="L1", title="Long", text=f"{filler} the rare term zebrafish appears here {filler}")
    index = build_index([long_doc, *DOCS], tmp_path / "idx", settings)
    assert len(index.chunks) > len(index.documents)
    hit = index.search("zebrafish", k=1, mode="lexical")[0]
    assert hit.id == "L1" and "zebrafish" in hit.text and hit.metadata["chunk_id"].startswith("L1#")


def test_hnsw_index_searches_and_ivfpq_on_a_tiny_set_is_refused(tmp_path: Path) -> None:
    hnsw = Settings.load(embedding={"backend": "hash"}, index={"kind": "hnsw"})
    assert build_index(DOCS, tmp_path / "h", hnsw).search("insulin receptor", k=1, mode="dense")[0].id == "3"
    ivfpq = Settings.load(
        embedding={"backend": "hash", "hash_dimension": 96}, index={"kind": "ivfpq", "pq_m": 8}
    )
    with pytest.raises(ConfigError, match="needs at least .* vectors"):
        build_index(DOCS, tmp_path / "p", ivfpq)


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion([{1: 0.9, 2: 0.5}, {2: 10.0, 3: 1.0}], k=60)
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1] == pytest.approx(1 / 61) and fused[3] == pytest.approx(1 / 62)
    assert [doc for doc, _ in top_k(fused, 3)] == [2, 1, 3]


def test_weighted_fusion_normalises_each_list() -> None:
    assert normalise_scores({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}
    fused = weighted_fusion([{1: 0.9, 2: 0.1}, {2: 8.0, 3: 4.0}], [0.25, 0.75])
    assert fused == pytest.approx({1: 0.25, 2: 0.75, 3: 0.0})


@pytest.mark.slow
def test_real_minilm_embedder_retrieves_scifact_abstracts(tmp_path: Path, shared_data: Path) -> None:
    lines = (shared_data / "scifact/beir_format/corpus.jsonl").read_text().splitlines()[:60]
    docs = [
        Document(id=r["_id"], title=r["title"], text=r["text"], source="beir") for r in map(json.loads, lines)
    ]
    settings = Settings.load(cache_dir=tmp_path / "cache")
    index = build_index(docs, tmp_path / "idx", settings)
    assert index.embedder.dimension == 384
    target = docs[7]
    hits = index.search(target.title, k=3, mode="dense")
    assert hits[0].id == target.id
    assert load_index(tmp_path / "idx", settings).search(target.title, k=1)[0].id == target.id


class CountingEmbedder(HashEmbedder):
    """Counts how many texts it was asked to embed."""

    def __init__(self) -> None:
        super().__init__(128)
        self.embedded = 0

    def encode_documents(self, texts: list[str], progress: bool = False):
        self.embedded += len(texts)
        return super().encode_documents(texts)


def test_a_repeated_build_reuses_cached_vectors(tmp_path: Path, hash_settings: Settings) -> None:
    embedder = CountingEmbedder()
    build_index(DOCS[:3], tmp_path / "a", hash_settings, embedder)
    assert embedder.embedded == 3
    rebuilt = build_index(DOCS, tmp_path / "b", hash_settings, embedder)
    assert embedder.embedded == 4  # only the new document was embedded
    assert rebuilt.search("EGFR gefitinib lung", k=1)[0].id == "4"
