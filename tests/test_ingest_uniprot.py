"""UniProt parsers (flat file, XML, TSV, REST JSON) on real entries from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioagent.ingest import detect_format, read_documents
from bioagent.ingest.uniprot import go_term, split_protein_names, strip_evidence
from bioagent.types import Document

METADATA_KEYS = {
    "accession",
    "accessions",
    "entry_name",
    "protein_name",
    "alt_names",
    "gene",
    "gene_synonyms",
    "organism",
    "taxonomy_id",
    "function",
    "subcellular_location",
    "disease",
    "tissue_specificity",
    "subunit",
    "catalytic_activity",
    "pathway",
    "ptm",
    "cofactor",
    "domain",
    "go_terms",
    "keywords",
    "sequence",
    "length",
    "reviewed",
}


@pytest.fixture(scope="module")
def reviewed(shared_data: Path) -> dict[str, Document]:
    result = read_documents(shared_data / "uniprot_more" / "ai_gene_review_swissprot_reviewed.dat")
    assert result.format == "uniprot-dat"
    assert result.errors == []
    return {doc.id: doc for doc in result.documents}


@pytest.fixture(scope="module")
def swissprot_tests(shared_data: Path) -> Path:
    return shared_data / "uniprot_swissprot_biopython_tests" / "SwissProt"


def assert_uniprot_shape(doc: Document) -> None:
    assert doc.source == "uniprot"
    assert set(doc.metadata) == METADATA_KEYS
    assert doc.id == doc.metadata["accession"] == doc.metadata["accessions"][0]
    assert all(term.startswith("GO:") and term[10] == " " for term in doc.metadata["go_terms"])
    assert "{ECO:" not in doc.text and "{ECO:" not in doc.metadata["function"]


def test_reviewed_dat_count_and_shape(reviewed: dict[str, Document]) -> None:
    assert len(reviewed) == 1037
    assert all(doc.metadata["reviewed"] is True for doc in reviewed.values())
    assert sum(bool(doc.metadata["function"]) for doc in reviewed.values()) == 978
    assert sum(bool(doc.metadata["subcellular_location"]) for doc in reviewed.values()) == 902
    for doc in reviewed.values():
        assert_uniprot_shape(doc)
        assert doc.metadata["length"] == len(doc.metadata["sequence"])


def test_tp53_fields(reviewed: dict[str, Document]) -> None:
    tp53 = reviewed["P04637"]
    meta = tp53.metadata
    assert tp53.title == "Cellular tumor antigen p53 (TP53) — Homo sapiens (Human)"
    assert meta["entry_name"] == "P53_HUMAN"
    assert meta["protein_name"] == "Cellular tumor antigen p53"
    assert meta["alt_names"] == ["Antigen NY-CO-13", "Phosphoprotein p53", "Tumor suppressor p53"]
    assert (meta["gene"], meta["gene_synonyms"]) == ("TP53", ["P53"])
    assert (meta["organism"], meta["taxonomy_id"]) == ("Homo sapiens (Human)", 9606)
    assert "Q15086" in meta["accessions"]
    assert meta["function"].startswith("Multifunctional transcription factor that induces cell cycle arrest")
    assert meta["subcellular_location"].startswith("Cytoplasm. Nucleus. Nucleus, PML body.")
    assert "GO:0005634 nucleus" in meta["go_terms"]
    assert "Tumor suppressor" in meta["keywords"]
    assert meta["length"] == 393 and meta["sequence"].startswith("MEEPQSDPSVEPPLSQETFS")
    assert "Multifunctional transcription factor" in tp53.text
    assert "PubMed:" not in tp53.text  # citations stay in metadata, not in the readable summary
    assert "(PubMed:11025664" in meta["function"]


def test_tp53_disease_expression_and_other_comment_fields(reviewed: dict[str, Document]) -> None:
    tp53 = reviewed["P04637"]
    meta = tp53.metadata
    assert len(meta["disease"]) == 9  # 9 CC DISEASE blocks: a note naming no disease, then 8 diseases
    assert meta["disease"][0].startswith(
        "TP53 is found in increased amounts in a wide variety of transformed"
    )
    lfs = next(d for d in meta["disease"] if d.startswith("Li-Fraumeni"))
    assert lfs.startswith("Li-Fraumeni syndrome (LFS): An autosomal dominant familial cancer syndrome")
    assert lfs.endswith("colorectal and gastric cancers.")  # 'Note=The disease is caused by …' dropped
    assert all("MIM:" not in d and "PubMed" not in d and "{ECO" not in d for d in meta["disease"])
    assert meta["tissue_specificity"].startswith("Ubiquitous. Isoforms are expressed in a wide range")
    assert meta["subunit"].startswith("Forms homodimers and homotetramers (PubMed:19011621).")
    assert meta["cofactor"] == "Zn(2+). Binds 1 zinc ion per subunit."
    assert meta["ptm"].startswith("Acetylation of Lys-382 by CREBBP enhances transcriptional activity")
    assert "liquid-liquid phase separation" in meta["domain"]
    assert (meta["catalytic_activity"], meta["pathway"]) == ([], "")
    lines = tp53.text.splitlines()
    disease_line = next(line for line in lines if line.startswith("Involvement in disease: "))
    assert disease_line.startswith(
        "Involvement in disease: Esophageal cancer (ESCR); Li-Fraumeni syndrome (LFS);"
    )
    assert "autosomal" not in disease_line  # names only: the summary stays short
    tissue_line = next(line for line in lines if line.startswith("Tissue specificity: Ubiquitous."))
    assert len(tissue_line) < 450 and tissue_line.endswith(".")


def test_enzyme_reactions_cofactors_and_pathways(reviewed: dict[str, Document]) -> None:
    abl1 = reviewed["P00519"].metadata
    assert abl1["catalytic_activity"] == [
        "L-tyrosyl-[protein] + ATP = O-phospho-L-tyrosyl-[protein] + ADP + H(+) (EC 2.7.10.2)"
    ]
    assert abl1["cofactor"].startswith("Mg(2+)")
    assert any("chronic myeloid leukemia" in d for d in abl1["disease"])  # the BCR-ABL note is kept
    assert reviewed["P00533"].metadata["subcellular_location"].startswith("Cell membrane")
    with_pathway = [doc.metadata["pathway"] for doc in reviewed.values() if doc.metadata["pathway"]]
    assert len(with_pathway) == 100 and all("{ECO" not in p for p in with_pathway)


def test_comment_field_totals_match_the_cc_blocks(reviewed: dict[str, Document]) -> None:
    """grep -c on the .dat: 475 'CC   -!- DISEASE:' and 711 'CC   -!- CATALYTIC ACTIVITY:' blocks."""
    docs = list(reviewed.values())
    assert sum(len(doc.metadata["disease"]) for doc in docs) == 475
    reactions = [r for doc in docs for r in doc.metadata["catalytic_activity"]]
    assert len(reactions) == 711
    assert not [r for r in reactions if any(tag in r for tag in ("Reaction=", "Xref=", "Evidence", "{ECO"))]
    assert sum(bool(doc.metadata["tissue_specificity"]) for doc in docs) == 430
    assert sum("Involvement in disease: " in doc.text for doc in docs) == 234


@pytest.mark.parametrize(("accession", "gene"), [("P00533", "EGFR"), ("P38398", "BRCA1"), ("P00519", "ABL1")])
def test_well_known_entries(reviewed: dict[str, Document], accession: str, gene: str) -> None:
    assert reviewed[accession].metadata["gene"] == gene
    assert reviewed[accession].metadata["function"]


def test_trembl_dat(shared_data: Path) -> None:
    docs = read_documents(shared_data / "uniprot_more" / "ai_gene_review_trembl_unreviewed.dat").documents
    assert len(docs) == 153
    assert all(doc.metadata["reviewed"] is False for doc in docs)


def test_swissprot_flat_test_files(swissprot_tests: Path) -> None:
    multi = read_documents(swissprot_tests / "multi_ex.txt").documents
    assert len(multi) == 8
    htr4 = read_documents(swissprot_tests / "Q13639.txt").documents[0]
    assert htr4.metadata["function"].startswith(
        "This is one of the several different receptors for 5-hydroxy"
    )
    assert htr4.metadata["subcellular_location"].startswith("Cell membrane; Multi-pass membrane protein")
    old = read_documents(swissprot_tests / "sp012").documents[0]
    assert (old.id, old.metadata["protein_name"], old.metadata["reviewed"]) == ("Q9Y736", "UBIQUITIN", False)


def test_uniprot_xml_matches_flat_file(swissprot_tests: Path) -> None:
    assert detect_format(swissprot_tests / "Q13639.xml") == "uniprot-xml"
    xml = read_documents(swissprot_tests / "Q13639.xml").documents[0]
    flat = read_documents(swissprot_tests / "Q13639.txt").documents[0]
    assert_uniprot_shape(xml)
    for key in ("accession", "accessions", "entry_name", "protein_name", "gene", "organism", "taxonomy_id"):
        assert xml.metadata[key] == flat.metadata[key], key
    assert xml.metadata["go_terms"] == flat.metadata["go_terms"]
    assert xml.metadata["sequence"] == flat.metadata["sequence"]
    assert xml.metadata["subcellular_location"].startswith(
        "Cell membrane; Multi-pass membrane protein. Endosome."
    )
    assert xml.title == flat.title == "5-hydroxytryptamine receptor 4 (HTR4) — Homo sapiens (Human)"


def test_uniprot_xml_multi_and_trembl(swissprot_tests: Path) -> None:
    multi = read_documents(swissprot_tests / "multi_ex.xml").documents
    assert [doc.id for doc in multi] == [
        doc.id for doc in read_documents(swissprot_tests / "multi_ex.txt").documents
    ]
    trembl = read_documents(swissprot_tests / "F2CXE6.xml").documents[0]
    assert trembl.metadata["reviewed"] is False
    assert trembl.metadata["protein_name"] == "Plasma membrane intrinsic protein"
    assert trembl.metadata["gene"] == "HvPIP2;8"


COMMENT_KEYS = (
    "disease",
    "tissue_specificity",
    "subunit",
    "catalytic_activity",
    "pathway",
    "ptm",
    "cofactor",
    "domain",
)


def test_uniprot_xml_comment_fields(swissprot_tests: Path) -> None:
    xml = read_documents(swissprot_tests / "multi_ex.xml").documents
    flat = read_documents(swissprot_tests / "multi_ex.txt").documents
    for x, f in zip(xml, flat):
        for key in COMMENT_KEYS:
            assert x.metadata[key] == f.metadata[key], (x.id, key)
    plat = xml[0].metadata
    assert plat["disease"][0].startswith("Increased activity of TPA results in increased fibrinolysis")
    assert plat["catalytic_activity"] == [
        "Specific cleavage of Arg-|-Val bond in plasminogen to form plasmin."
    ]
    assert plat["tissue_specificity"].startswith("Synthesized in numerous tissues (including tumors)")
    betaine = next(doc.metadata for doc in xml if doc.metadata["pathway"])
    assert betaine["pathway"].startswith("Amine and polyamine biosynthesis; betaine biosynthesis via choline")
    assert betaine["cofactor"] == "FAD (By similarity)."
    arf6 = read_documents(swissprot_tests / "P62330.xml").documents[0].metadata
    assert arf6["catalytic_activity"] == ["GTP + H2O = GDP + phosphate + H(+) (EC 3.6.5.2)"]
    assert (
        arf6["tissue_specificity"] == "Ubiquitous, with higher levels in heart, substantia nigra, and kidney."
    )
    assert arf6["ptm"].startswith("GTP-bound form is myristoylated on Lys-3 by NMT1 and NMT2")


def test_tsv_comment_columns(tmp_path: Path) -> None:
    """uniprot.org's column names and 'TOPIC: … {ECO:…}' cells, several blocks per cell."""
    header = [
        "Entry", "Entry Name", "Protein names", "Gene Names", "Organism", "Involvement in disease",
        "Tissue specificity", "Subunit structure", "Catalytic activity", "Pathway",
        "Post-translational modification", "Cofactor", "Domain [CC]",
    ]  # fmt: skip
    row = [
        "P00519", "ABL1_HUMAN", "Tyrosine-protein kinase ABL1 (EC 2.7.10.2)", "ABL1 ABL JTK7",
        "Homo sapiens (Human)",
        "DISEASE: Note=A chromosomal aberration involving ABL1 has been found in patients with chronic myeloid "
        "leukemia. {ECO:0000269|PubMed:3021337}. DISEASE: Congenital heart defects and skeletal malformations "
        "syndrome (CHDSKM) [MIM:617602]: An autosomal dominant disorder. {ECO:0000269|PubMed:28288113}. "
        "Note=The disease is caused by variants affecting the gene represented in this entry.",
        "TISSUE SPECIFICITY: Widely expressed. {ECO:0000269|PubMed:1}.",
        "SUBUNIT: Interacts with SORBS1 (PubMed:9211900).",
        "CATALYTIC ACTIVITY: Reaction=L-tyrosyl-[protein] + ATP = O-phospho-L-tyrosyl-[protein] + ADP + H(+); "
        "Xref=Rhea:RHEA:10596; EC=2.7.10.2; Evidence={ECO:0000269|PubMed:1};",
        "",
        "PTM: Acetylated at Lys-711 by EP300. {ECO:0000269|PubMed:2}.",
        "COFACTOR: Name=Mg(2+); Xref=ChEBI:CHEBI:18420; Evidence={ECO:0000250}; Name=Mn(2+); "
        "Xref=ChEBI:CHEBI:29035; Evidence={ECO:0000250}; Note=Mg(2+) was found in one crystal structure.;",
        "DOMAIN: Contains an N-terminal myristoylation site.",
    ]  # fmt: skip
    path = tmp_path / "abl1.tsv"
    path.write_text("\t".join(header) + "\n" + "\t".join(row) + "\n", encoding="utf-8")
    assert detect_format(path) == "uniprot-tsv"
    doc = read_documents(path).documents[0]
    meta = doc.metadata
    assert meta["disease"] == [
        "A chromosomal aberration involving ABL1 has been found in patients with chronic myeloid leukemia.",
        "Congenital heart defects and skeletal malformations syndrome (CHDSKM): An autosomal dominant disorder.",
    ]
    assert meta["catalytic_activity"] == [
        "L-tyrosyl-[protein] + ATP = O-phospho-L-tyrosyl-[protein] + ADP + H(+) (EC 2.7.10.2)"
    ]
    assert meta["cofactor"] == "Mg(2+), Mn(2+). Mg(2+) was found in one crystal structure."
    assert (meta["tissue_specificity"], meta["pathway"]) == ("Widely expressed.", "")
    assert meta["subunit"] == "Interacts with SORBS1 (PubMed:9211900)."
    assert meta["ptm"] == "Acetylated at Lys-711 by EP300."
    assert meta["domain"] == "Contains an N-terminal myristoylation site."
    assert (
        "Involvement in disease: Congenital heart defects and skeletal malformations syndrome (CHDSKM)."
        in doc.text
    )


def test_summary_tsv_matches_flat_file(shared_data: Path, reviewed: dict[str, Document]) -> None:
    path = shared_data / "uniprot_more" / "ai_gene_review_swissprot_summary.tsv"
    assert detect_format(path) == "uniprot-tsv"
    docs = {doc.id: doc for doc in read_documents(path).documents}
    assert len(docs) == 1037
    tsv, flat = docs["P04637"].metadata, reviewed["P04637"].metadata
    for key in ("entry_name", "protein_name", "gene", "organism", "taxonomy_id", "sequence", "go_terms"):
        assert tsv[key] == flat[key], key
    assert tsv["function"].startswith("Multifunctional transcription factor")


def test_human_500_function_tsv(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "uniprot_human_reviewed_500_function.tsv"
    ).documents
    assert len(docs) == 500
    assert sum(bool(doc.metadata["function"]) for doc in docs) == 491
    mots = docs[0]
    assert mots.id == "A0A0C5B5G6"
    assert mots.metadata["protein_name"] == "Mitochondrial-derived peptide MOTS-c"
    assert mots.metadata["gene"] == "MT-RNR1"
    assert mots.metadata["function"].startswith(
        "Regulates insulin sensitivity"
    )  # "FUNCTION: " prefix removed
    assert mots.metadata["sequence"] == "MRWQEMGYIFYPRKLR" and mots.metadata["length"] == 16


def test_human_170_location_go_tsv(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "uniprot_human_170_location_go.tsv"
    ).documents
    assert len(docs) == 170
    cd44 = docs[0].metadata
    assert (cd44["accession"], cd44["entry_name"], cd44["gene"]) == ("P16070", "CD44_HUMAN", "CD44")
    assert cd44["gene_synonyms"] == ["LHR", "MDU2", "MDU3", "MIC4"]
    assert cd44["alt_names"][:2] == ["CDw44", "Epican"]
    assert cd44["subcellular_location"].startswith("Cell membrane; Single-pass type I membrane protein")
    assert "GO:0051216 cartilage development" in cd44["go_terms"]
    assert cd44["reviewed"] is True and cd44["length"] == 742 and cd44["taxonomy_id"] == 9606


@pytest.mark.slow
def test_human_names_tsv_with_comment_line(shared_data: Path) -> None:
    docs = read_documents(
        shared_data / "uniprot_human_subsets" / "human_proteome_reviewed_names_2024_07_08.tsv"
    ).documents
    assert len(docs) == 20420
    first = docs[0]
    assert (
        first.title == "Putative cytochrome P450 2D7 (CYP2D7) — Homo sapiens (Human)"
    )  # organism from _HUMAN
    assert first.metadata["length"] == 515
    assert all(doc.metadata["reviewed"] for doc in docs)


def test_rest_json_fixture(shared_data: Path) -> None:
    path = shared_data / "uniprot_more" / "uniprot_parquet_fixture_small.json.gz"
    assert detect_format(path) == "uniprot-json"
    docs = read_documents(path).documents
    assert len(docs) == 52
    assert sum(doc.metadata["reviewed"] for doc in docs) == 31
    krt6a = docs[0]
    assert_uniprot_shape(krt6a)
    assert krt6a.title == "Keratin, type II cytoskeletal 6A (KRT6A) — Homo sapiens (Human)"
    assert krt6a.metadata["gene_synonyms"] == ["K6A", "KRT6D"]
    assert "GO:0045095 keratin filament" in krt6a.metadata["go_terms"]
    assert krt6a.metadata["disease"] == [
        "Pachyonychia congenita 3 (PC3): An autosomal dominant genodermatosis characterized by hypertrophic nail "
        "dystrophy, painful and highly debilitating plantar keratoderma, oral leukokeratosis, and a variety of "
        "epidermal cysts."
    ]
    assert krt6a.metadata["tissue_specificity"] == "Expressed in the corneal epithelium (at protein level)."
    glyoxalase = next(doc.metadata for doc in docs if doc.id == "Q948T6")
    assert glyoxalase["catalytic_activity"] == [
        "(R)-S-lactoylglutathione = methylglyoxal + glutathione (EC 4.4.1.5)"
    ]
    assert glyoxalase["cofactor"] == "Ni(2+). Binds 1 nickel ion per subunit."
    assert glyoxalase["pathway"].startswith("Secondary metabolite metabolism; methylglyoxal degradation")
    assert sum(bool(doc.metadata["catalytic_activity"]) for doc in docs) == 24


def test_text_helpers() -> None:
    assert strip_evidence("Nucleus {ECO:0000269|PubMed:1}. Cytoplasm.") == "Nucleus. Cytoplasm."
    assert strip_evidence("binds DNA. {ECO:0000269|PubMed:1, ECO:0000305}.") == "binds DNA."
    assert (
        strip_evidence("via its C- terminus, pre- and post-synaptic")
        == "via its C-terminus, pre- and post-synaptic"
    )
    assert go_term("GO:0005515; F:protein binding") == "GO:0005515 protein binding"
    assert go_term("cell adhesion [GO:0007155]") == "GO:0007155 cell adhesion"
    assert go_term("GO:0005788 C:endoplasmic reticulum lumen") == "GO:0005788 endoplasmic reticulum lumen"
    assert split_protein_names("Protein X (Alpha (beta) form) (EC 1.2.3.4) [Cleaved into: Y (Z)]") == (
        "Protein X",
        ["Alpha (beta) form"],
    )
