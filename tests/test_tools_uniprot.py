"""ProteinCatalog, uniprot_lookup and homology_search on hand-made entries, a built index and real Swiss-Prot."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bioagent.errors import ConfigError, ToolInputError
from bioagent.settings import Settings
from bioagent.tools.catalog import ProteinCatalog, kmer_codes
from bioagent.tools.homology import homology_search
from bioagent.tools.registry import all_tools
from bioagent.tools.uniprot_lookup import uniprot_lookup
from bioagent.types import Document

AMINO = "ACDEFGHIKLMNPQRSTVWY"


def _sequence(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(AMINO) for _ in range(length))


def _entry(
    accession: str, gene: str, name: str, organism: str, taxon: int, sequence: str, **extra: object
) -> Document:
    metadata = {
        "accession": accession,
        "accessions": [accession, *extra.pop("secondary", [])],
        "entry_name": f"{gene}_{organism.split()[0][:5].upper()}",
        "protein_name": name,
        "alt_names": extra.pop("alt_names", []),
        "gene": gene,
        "gene_synonyms": extra.pop("synonyms", []),
        "organism": organism,
        "taxonomy_id": taxon,
        "function": f"{name} does things.",
        "go_terms": ["GO:0005515 protein binding"],
        "sequence": sequence,
        "length": len(sequence),
        "reviewed": True,
        **extra,
    }
    return Document(
        id=accession, title=f"{name} ({gene}) — {organism}", text=name, source="uniprot", metadata=metadata
    )


@pytest.fixture(scope="module")
def entries() -> list[Document]:
    rng = random.Random(7)
    named = [
        _entry("P04637", "TP53", "Cellular tumor antigen p53", "Homo sapiens (Human)", 9606, _sequence(rng, 393),
               secondary=["Q15086"], alt_names=["Tumor suppressor p53"], synonyms=["P53"], entry_name="P53_HUMAN"),
        _entry("P56423", "TP53", "Cellular tumor antigen p53", "Macaca mulatta (Rhesus macaque)", 9544,
               _sequence(rng, 393), entry_name="P53_MACMU"),
        _entry("P06753", "TPM3", "Tropomyosin alpha-3 chain", "Homo sapiens (Human)", 9606, _sequence(rng, 285)),
        _entry("P01308", "INS", "Insulin", "Homo sapiens (Human)", 9606, _sequence(rng, 110)),
        _entry("Q00000", "NOSEQ", "Protein without sequence", "Homo sapiens (Human)", 9606, ""),
    ]  # fmt: skip
    filler = [
        _entry(f"A0A{i:03d}", f"GENE{i}", f"Protein number {i}", "Mus musculus (Mouse)", 10090,
               _sequence(rng, rng.randint(120, 500)))
        for i in range(60)
    ]  # fmt: skip
    return named + filler


@pytest.fixture(scope="module")
def catalog(entries: list[Document]) -> ProteinCatalog:
    return ProteinCatalog(entries)


def _mutate(sequence: str, fraction: float, seed: int) -> str:
    rng = random.Random(seed)
    letters = list(sequence)
    for i in rng.sample(range(len(letters)), int(fraction * len(letters))):
        letters[i] = rng.choice(AMINO.replace(letters[i], ""))
    return "".join(letters)


# ----- uniprot_lookup --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "how", "accession"),
    [
        ("P04637", "accession", "P04637"),
        ("q15086", "accession", "P04637"),
        ("P53_HUMAN", "entry name", "P04637"),
        ("tp53", "gene", "P04637"),
        ("P53", "gene synonym", "P04637"),
        ("cellular tumor antigen P53", "protein name", "P04637"),
        ("tumor suppressor p53", "protein name", "P04637"),
        ("insulin", "protein name", "P01308"),
        ("tropomyosin alpha-3", "protein name words", "P06753"),
        ("TP35", "fuzzy gene name", "P04637"),
        ("Tropomyosin alfa-3 chain", "fuzzy protein name", "P06753"),
    ],
)
def test_lookup_matches_accessions_names_then_fuzzy(
    catalog: ProteinCatalog, query: str, how: str, accession: str
) -> None:
    result = uniprot_lookup(query, catalog=catalog)
    assert result["match"]["how"] == how
    first = result["entries"][0]
    assert first["accession"] == accession and first["citation"] == f"UniProt:{accession}"
    assert first["url"].endswith(f"/uniprotkb/{accession}/entry") and first["go_terms"]


def test_human_comes_first_and_organism_chooses(catalog: ProteinCatalog) -> None:
    both = uniprot_lookup("TP53", catalog=catalog, include_sequence=False)
    assert [e["accession"] for e in both["entries"]] == ["P04637", "P56423"] and "sequence" not in both[
        "entries"
    ][0]
    macaque = uniprot_lookup("TP53", organism="macaca", catalog=catalog)
    assert [e["accession"] for e in macaque["entries"]] == ["P56423"] and len(
        macaque["entries"][0]["sequence"]
    ) == 393
    assert uniprot_lookup("TP53", k=1, catalog=catalog)["match"]["count"] == 2


def test_unknown_names_and_organisms_are_errors_that_help(catalog: ProteinCatalog) -> None:
    with pytest.raises(
        ToolInputError, match=r"no UniProt entry matches 'zzzz9' in the local index \(65 entries\)"
    ):
        uniprot_lookup("zzzz9", catalog=catalog)
    with pytest.raises(ToolInputError, match="matches entries only from Homo sapiens"):
        uniprot_lookup("INS", organism="yeast", catalog=catalog)
    with pytest.raises(ToolInputError, match="query is empty"):
        uniprot_lookup("  ", catalog=catalog)


def test_chunks_of_an_index_collapse_onto_their_entry(entries: list[Document]) -> None:
    chunk = entries[0].model_copy(update={"id": "P04637#1"})
    chunk.metadata = {**entries[0].metadata, "parent_id": "P04637"}
    literature = Document(id="12345", title="a paper", source="pubmed")
    catalog = ProteinCatalog([entries[0], chunk, literature])
    assert len(catalog) == 1


# ----- homology_search ---------------------------------------------------------------------------------------


def test_kmer_codes_are_distinct_per_kmer() -> None:
    codes = kmer_codes("ACDAC")
    assert len(codes) == 3 and codes[0] != codes[1] and len(kmer_codes("AC")) == 0


def test_an_exact_fragment_is_found_with_full_identity(
    catalog: ProteinCatalog, entries: list[Document]
) -> None:
    target = entries[10].metadata["sequence"]
    result = homology_search(target[40:140], k=3, catalog=catalog)
    best = result["hits"][0]
    assert best["accession"] == entries[10].id
    assert best["identity"] == 1.0 and best["query_coverage"] == 1.0
    assert best["query_range"] == [1, 100] and best["subject_range"] == [41, 140]
    assert best["evalue"] < 1e-20 and best["bit_score"] > 100
    assert result["database"]["entries"] == 64  # the entry without a sequence is not searched
    assert "Karlin-Altschul" in result["meaning"]["evalue"]


def test_a_mutated_fragment_still_finds_its_source(catalog: ProteinCatalog, entries: list[Document]) -> None:
    for row in (0, 3, 20, 41):
        source = entries[row].metadata["sequence"]
        query = _mutate(source[20:110], 0.3, seed=row)
        hits = homology_search(query, k=1, catalog=catalog)["hits"]
        assert hits[0]["accession"] == entries[row].id
        assert 0.6 < hits[0]["identity"] < 0.8


def test_an_unrelated_sequence_gets_no_hits(catalog: ProteinCatalog) -> None:
    result = homology_search(_sequence(random.Random(99), 80), catalog=catalog, max_evalue=0.01)
    assert result["hits"] == [] and "no entry" in result["note"]


def test_homology_search_takes_one_valid_sequence(catalog: ProteinCatalog) -> None:
    with pytest.raises(ToolInputError, match="takes one sequence; got 2 FASTA records"):
        homology_search(">a\nMKT\n>b\nMKT", catalog=catalog)
    with pytest.raises(ToolInputError, match="'#' at 4"):
        homology_search("MKT#AYI", catalog=catalog)


# ----- wiring: registry tools over an index, or no index at all ---------------------------------------------


def test_tools_read_a_built_index(tmp_path: Path, entries: list[Document], settings: Settings) -> None:
    from bioagent.index import build_index
    from bioagent.index.embedders import HashEmbedder

    index = build_index(entries[:12], tmp_path / "proteins", settings, embedder=HashEmbedder(dimension=64))
    tools = {tool.name: tool for tool in all_tools(settings, protein_index=index)}
    found = tools["uniprot_lookup"].invoke({"query": "INS"})
    assert found["entries"][0]["accession"] == "P01308"
    fragment = entries[3].metadata["sequence"][5:70]
    assert tools["homology_search"].invoke({"sequence": fragment, "k": 1})["hits"][0]["accession"] == "P01308"


def test_without_an_index_the_error_says_how_to_build_one(settings: Settings) -> None:
    tool = {t.name: t for t in all_tools(settings)}["uniprot_lookup"]
    with pytest.raises(ConfigError, match="no UniProt index at .*proteins: build it"):
        tool.invoke({"query": "TP53"})


# ----- real Swiss-Prot entries --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swissprot(shared_data: Path) -> ProteinCatalog:
    from bioagent.ingest import read_documents

    path = shared_data / "uniprot_more" / "ai_gene_review_swissprot_reviewed.dat"
    return ProteinCatalog(read_documents(path, "uniprot-dat").documents)


@pytest.mark.slow
def test_real_tp53_entry_has_function_location_and_go(swissprot: ProteinCatalog) -> None:
    entry = uniprot_lookup("TP53", catalog=swissprot)["entries"][0]
    assert entry["accession"] == "P04637" and entry["gene"] == "TP53" and entry["length"] == 393
    assert "apoptosis" in entry["function"].lower() and "Nucleus" in entry["subcellular_location"]
    assert any(term.startswith("GO:") for term in entry["go_terms"])


@pytest.mark.slow
def test_real_mutated_egfr_fragment_finds_egfr(swissprot: ProteinCatalog) -> None:
    egfr = uniprot_lookup("P00533", catalog=swissprot)["entries"][0]["sequence"]
    hits = homology_search(_mutate(egfr[700:900], 0.25, seed=1), k=3, catalog=swissprot)["hits"]
    assert hits[0]["accession"] == "P00533" and hits[0]["evalue"] < 1e-10


# ----- which entry a name means ------------------------------------------------------------------------------


def test_exact_kinds_rank_gene_over_synonym_over_entry_name() -> None:
    rng = random.Random(3)
    catalog = ProteinCatalog(
        [
            _entry("Q11111", "ABC1", "Mouse protein", "Mus musculus (Mouse)", 10090, _sequence(rng, 50)),
            _entry("P22222", "XYZ9", "Human protein", "Homo sapiens (Human)", 9606, _sequence(rng, 50),
                   synonyms=["ABC1"], entry_name="DEF2_HUMAN"),
            _entry("A0A333", "DEF2", "Unreviewed human", "Homo sapiens (Human)", 9606, _sequence(rng, 50),
                   reviewed=False),
            _entry("P44444", "DEF2", "Reviewed yeast", "Saccharomyces cerevisiae", 4932, _sequence(rng, 50)),
            _entry("P55555", "GHI3", "Yeast GHI3", "Saccharomyces cerevisiae", 4932, _sequence(rng, 50)),
            _entry("P66666", "GHI3", "Human GHI3", "Homo sapiens (Human)", 9606, _sequence(rng, 50)),
        ]
    )  # fmt: skip
    how, _, entries = catalog.lookup("ABC1")
    assert (how, [e.id for e in entries]) == ("gene", ["Q11111"])
    how, _, entries = catalog.lookup("ABC1", organism="human")  # no human gene ABC1: the synonym is next
    assert (how, [e.id for e in entries]) == ("gene synonym", ["P22222"])
    how, _, entries = catalog.lookup("DEF2")  # a gene symbol beats the entry name DEF2_HUMAN's mnemonic
    assert (how, [e.id for e in entries]) == ("gene", ["P44444", "A0A333"])  # reviewed first
    assert [e.id for e in catalog.lookup("GHI3")[2]] == ["P66666", "P55555"]  # then human first


@pytest.mark.parametrize(
    ("query", "how", "accession"),
    [
        ("protein encoded by the gene INS", "gene in query", "P01308"),
        ("TP53 protein", "gene in query", "P04637"),
        ("what is P04637", "accession in query", "P04637"),
        ("the p53 tumour antigen", "gene synonym in query", "P04637"),
    ],
)
def test_a_symbol_inside_a_phrase_beats_fuzzy_matching(
    catalog: ProteinCatalog, query: str, how: str, accession: str
) -> None:
    result = uniprot_lookup(query, catalog=catalog)
    assert (result["match"]["how"], result["entries"][0]["accession"]) == (how, accession)


@pytest.fixture(scope="module")
def demo_catalog(shared_data: Path) -> ProteinCatalog:
    from bioagent.ingest import read_documents

    documents: list[Document] = []
    for source in (
        "uniprot_more/ai_gene_review_swissprot_reviewed.dat",
        "uniprot_human_subsets/uniprot_human_reviewed_500_function.tsv",
        "uniprot_human_subsets/human_proteome_reviewed_names_2024_07_08.tsv",
    ):
        documents += read_documents(shared_data / source).documents
    return ProteinCatalog(documents)


@pytest.mark.parametrize(
    ("query", "accessions"),
    [
        ("SDHAF1", ["A6NFY7"]),
        ("SDHAF1 protein", ["A6NFY7"]),  # was a fuzzy match to 'EDA protein' (Q92838)
        ("What does the protein encoded by the gene SDHAF1 do?", ["A6NFY7"]),
        ("TP53", ["P04637"]),
        ("EGFR", ["P00533"]),
        ("BRCA1", ["P38398", "P48754"]),  # human, then mouse
        ("ABL1", ["P00519"]),
        ("SNCA", ["P37840"]),
        ("CRYAA", ["P02489", "P02470"]),  # the bovine entry comes first in the file
        ("TEP1", ["Q99973"]),  # the human gene TEP1, not the Anopheles one, not PTEN (synonym TEP1)
    ],
)
def test_real_names_find_the_expected_entries(
    demo_catalog: ProteinCatalog, query: str, accessions: list[str]
) -> None:
    assert [doc.id for doc in demo_catalog.lookup(query)[2]][: len(accessions)] == accessions


def test_real_organism_choice(demo_catalog: ProteinCatalog) -> None:
    assert [doc.id for doc in demo_catalog.lookup("CCT2")[2]] == ["P78371", "P39076"]
    assert demo_catalog.lookup("CCT6", organism="human")[:2] == ("gene synonym", "CCT6")
