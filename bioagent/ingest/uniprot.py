"""UniProt entries as Documents: the shared document builder, Swiss-Prot/TrEMBL flat files and TSV exports.

Every UniProt parser (flat file, XML, TSV, REST JSON) fills a :class:`ProteinFields` and calls
:func:`protein_document`, so all of them produce the same title, summary text and metadata keys.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bioagent.errors import IngestError
from bioagent.ingest.files import ReadOptions, Record, open_text
from bioagent.ingest.tabular import iter_csv_rows
from bioagent.types import Document

ACCESSION = re.compile(
    r"^(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})(?:-\d+)?$"
)
_EVIDENCE = re.compile(r"(?<=\.)\s*\{ECO:[^}]*\}\.?|\s*\{ECO:[^}]*\}")
_PUBMED_REFS = re.compile(r"\s*\((?:PubMed:\d+|Ref\.\d+)(?:,\s*(?:PubMed:\d+|Ref\.\d+))*\)")
_GO_BRACKET = re.compile(r"^(.*?)\s*\[(GO:\d{7})\]$")
_WRAPPED_HYPHEN = re.compile(r"(?<=\w-) (?!(?:and|or|nor|to|as|but)\b)(?=\w)")
_TRAILING_GROUP = re.compile(r"\s\(((?:[^()]|\([^()]*\))*)\)$")
_CLEAVED = re.compile(r"\s*\[(?:Cleaved into|Includes):.*$")
_TOPIC_PREFIX = re.compile(
    r"(?:^|\s)(?:FUNCTION|SUBCELLULAR LOCATION|DISEASE|TISSUE SPECIFICITY|SUBUNIT|CATALYTIC ACTIVITY|PATHWAY"
    r"|PTM|COFACTOR|DOMAIN):\s*"
)
_DISEASE_HEAD = re.compile(r"^(?P<name>[^:\[]+?)\s*(?:\[MIM:[0-9]+\])?:\s+(?P<text>.*)$")
_NOTE = re.compile(r"\s*\bNote=.*$")
_REACTION = re.compile(r"Reaction=(.+?)(?:;\s*(?:Xref|EC|Evidence|PhysiologicalDirection)=|;?\s*$)")
_EC = re.compile(r"\bEC=([0-9n.\-]+)")
_COFACTOR_NAME = re.compile(r"\bName=([^;]+)(?:;|$)")
_SUMMARY_TEXT_LIMIT = 400
_GO_PREFIXED = re.compile(r"^(GO:\d{7})\s*;?\s*(?:[CFP]:)?(.*)$")
_UNUSED_LINES = ("FT", "RN", "RP", "RC", "RX", "RG", "RA", "RT", "RL", "DR")
#: Organisms behind UniProt's model-organism mnemonics, for TSV exports whose columns omit them.
SPECIES_CODES = {
    "HUMAN": ("Homo sapiens (Human)", 9606),
    "MOUSE": ("Mus musculus (Mouse)", 10090),
    "RAT": ("Rattus norvegicus (Rat)", 10116),
    "BOVIN": ("Bos taurus (Bovine)", 9913),
    "DANRE": ("Danio rerio (Zebrafish) (Brachydanio rerio)", 7955),
    "DROME": ("Drosophila melanogaster (Fruit fly)", 7227),
    "CAEEL": ("Caenorhabditis elegans", 6239),
    "YEAST": ("Saccharomyces cerevisiae (strain ATCC 204508 / S288c) (Baker's yeast)", 559292),
    "ARATH": ("Arabidopsis thaliana (Mouse-ear cress)", 3702),
    "ECOLI": ("Escherichia coli (strain K12)", 83333),
}


@dataclass
class ProteinFields:
    """The fields of one UniProt entry, as stored in ``Document.metadata`` (keys are the metadata keys)."""

    accession: str
    accessions: list[str] = field(default_factory=list)
    entry_name: str = ""
    protein_name: str = ""
    alt_names: list[str] = field(default_factory=list)
    gene: str = ""
    gene_synonyms: list[str] = field(default_factory=list)
    organism: str = ""
    taxonomy_id: int | None = None
    function: str = ""
    subcellular_location: str = ""
    disease: list[str] = field(default_factory=list)
    """'Name (ABBR): description' per CC DISEASE block (notes without a named disease kept as text)."""
    tissue_specificity: str = ""
    subunit: str = ""
    catalytic_activity: list[str] = field(default_factory=list)
    """'reaction (EC n.n.n.n)' per CATALYTIC ACTIVITY block."""
    pathway: str = ""
    ptm: str = ""
    cofactor: str = ""
    domain: str = ""
    go_terms: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    sequence: str = ""
    length: int | None = None
    reviewed: bool | None = None


def protein_document(fields: ProteinFields) -> Document:
    """The entry's Document: id = accession, title '<name> (<gene>) — <organism>', a readable summary."""
    fields.accessions = fields.accessions or [fields.accession]
    fields.protein_name = fields.protein_name or fields.entry_name or fields.accession
    if fields.length is None and fields.sequence:
        fields.length = len(fields.sequence)
    title = fields.protein_name + (f" ({fields.gene})" if fields.gene else "")
    title += f" — {fields.organism}" if fields.organism else ""
    metadata = dict(vars(fields))
    return Document(
        id=fields.accession, title=title, text=_summary(fields), source="uniprot", metadata=metadata
    )


def _summary(f: ProteinFields) -> str:
    """Names, gene, organism, function, location and GO terms as readable lines (PubMed refs dropped)."""
    entry = f"UniProt {f.accession}" + (f" ({f.entry_name})" if f.entry_name else "")
    head = f"{entry}: {f.protein_name}" + (f", gene {f.gene}" if f.gene else "")
    lines = [head + (f", from {f.organism}." if f.organism else ".")]
    if f.alt_names:
        lines.append(f"Also known as: {'; '.join(f.alt_names)}.")
    if f.gene_synonyms:
        lines.append(f"Gene synonyms: {', '.join(f.gene_synonyms)}.")
    for label, value in (("Function", f.function), ("Subcellular location", f.subcellular_location)):
        if value:
            lines.append(f"{label}: {_PUBMED_REFS.sub('', value)}")
    if diseases := _disease_names(f.disease):
        lines.append(f"Involvement in disease: {'; '.join(diseases)}.")
    if f.tissue_specificity:
        lines.append(f"Tissue specificity: {_shortened(_PUBMED_REFS.sub('', f.tissue_specificity))}")
    if f.go_terms:
        lines.append(f"GO terms: {'; '.join(term.split(' ', 1)[-1] for term in f.go_terms)}.")
    if f.keywords:
        lines.append(f"Keywords: {', '.join(f.keywords)}.")
    return "\n".join(lines)


def _disease_names(diseases: list[str]) -> list[str]:
    """'Li-Fraumeni syndrome (LFS)' from each 'Name (ABBR): description' (notes without a name are left out)."""
    names = (d.split(": ", 1)[0] for d in diseases if ": " in d)
    return [name for name in names if len(name) <= 120 and ". " not in name]


def _shortened(text: str, limit: int = _SUMMARY_TEXT_LIMIT) -> str:
    """``text`` cut after the last full sentence that fits in ``limit`` characters (or at a word, with '…')."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + " …"


def strip_evidence(text: str) -> str:
    """Remove UniProt evidence tags ``{ECO:...}``, tidy whitespace, and re-join words hyphenated at line ends.

    Flat files wrap lines after a hyphen ("5-" / "hydroxytryptamine"); Bio.SwissProt joins them with a space.
    """
    return _WRAPPED_HYPHEN.sub("", " ".join(_EVIDENCE.sub("", text).split()))


def go_term(raw: str, name: str = "") -> str:
    """'GO:0005515; F:protein binding' or 'protein binding [GO:0005515]' -> 'GO:0005515 protein binding'."""
    raw = raw.strip()
    if match := _GO_BRACKET.match(raw):
        return f"{match.group(2)} {match.group(1).strip()}"
    if match := _GO_PREFIXED.match(raw):
        label = name or match.group(2)
        return f"{match.group(1)} {re.sub(r'^[CFP]:', '', label.strip())}".strip()
    return raw


def reviewed_from_entry_name(accession: str, entry_name: str) -> bool | None:
    """Swiss-Prot entry names are mnemonics (P53_HUMAN); TrEMBL ones start with the accession."""
    if not entry_name or "_" not in entry_name:
        return None
    return not entry_name.startswith(f"{accession}_")


# --- Swiss-Prot / TrEMBL flat files -------------------------------------------------------------------------


def parse_uniprot_dat(path: Path, options: ReadOptions) -> Iterator[Record]:
    """UniProtKB flat file (``ID … //`` records), read record by record with Bio.SwissProt."""
    from Bio import SwissProt

    with open_text(path, options.progress) as stream:
        for number, text in enumerate(_flat_records(stream), start=1):
            try:
                entry = SwissProt.read(io.StringIO(text))
            except (ValueError, AssertionError, IndexError, KeyError) as exc:
                yield IngestError(path, f"malformed UniProt record: {exc}", number)
                continue
            if not entry.accessions:
                yield IngestError(path, f"entry {entry.entry_name} has no AC line", number)
                continue
            yield protein_document(_flat_fields(entry))


def _flat_records(stream: IO[str]) -> Iterator[str]:
    """Raw text of each ``//``-terminated record (a trailing record without ``//`` is still yielded).

    Lines no document uses (features, references, cross-references other than GO) are dropped here, which
    more than halves Bio.SwissProt's parse time.
    """
    lines: list[str] = []
    for line in stream:
        if line.startswith(_UNUSED_LINES) and not line.startswith("DR   GO;"):
            continue
        lines.append(line)
        if line.startswith("//"):
            yield "".join(lines)
            lines = []
    if any(line.strip() for line in lines):
        yield "".join(lines)


def _flat_fields(entry: Any) -> ProteinFields:
    name, alt_names = _description_names(entry.description)
    gene, synonyms = _flat_gene(entry.gene_name)
    comments = _comment_blocks(entry.comments)
    go = [go_term(f"{ref[1]}; {ref[2]}") for ref in entry.cross_references if ref[0] == "GO" and len(ref) > 2]
    return ProteinFields(
        accession=entry.accessions[0],
        accessions=list(entry.accessions),
        entry_name=entry.entry_name,
        protein_name=name,
        alt_names=alt_names,
        gene=gene,
        gene_synonyms=synonyms,
        organism=strip_evidence(entry.organism).rstrip("."),
        taxonomy_id=int(entry.taxonomy_id[0])
        if entry.taxonomy_id and entry.taxonomy_id[0].isdigit()
        else None,
        function=" ".join(comments.get("FUNCTION", [])),
        subcellular_location=" ".join(comments.get("SUBCELLULAR LOCATION", [])),
        **comment_fields(comments),
        go_terms=go,
        keywords=[strip_evidence(k) for k in entry.keywords],
        sequence=entry.sequence,
        length=entry.sequence_length or len(entry.sequence),
        reviewed=entry.data_class in ("Reviewed", "STANDARD"),
    )


def comment_fields(blocks: dict[str, list[str]]) -> dict[str, Any]:
    """The disease, expression, complex, reaction, pathway, PTM, cofactor and domain fields from CC blocks
    written as in flat files and TSV exports ('Name (ABBR) [MIM:…]: text', 'Reaction=…; EC=…', 'Name=…;')."""
    text = {key: " ".join(blocks.get(topic, [])) for key, topic in _TEXT_TOPICS.items()}
    return {
        **text,
        "disease": [d for d in (disease_entry(b) for b in blocks.get("DISEASE", [])) if d],
        "catalytic_activity": [
            r for r in (reaction_entry(b) for b in blocks.get("CATALYTIC ACTIVITY", [])) if r
        ],
        "cofactor": " ".join(c for c in (cofactor_entry(b) for b in blocks.get("COFACTOR", [])) if c),
    }


_TEXT_TOPICS = {
    "tissue_specificity": "TISSUE SPECIFICITY",
    "subunit": "SUBUNIT",
    "pathway": "PATHWAY",
    "ptm": "PTM",
    "domain": "DOMAIN",
}


def disease_entry(block: str, name: str = "", acronym: str = "") -> str:
    """'Li-Fraumeni syndrome (LFS) [MIM:151623]: An autosomal … Note=…' -> 'Li-Fraumeni syndrome (LFS): An …'.

    With ``name`` (XML, JSON), ``block`` is the description. MIM numbers, PubMed refs and the standard
    'Note=The disease is caused by …' are dropped; a block that is only a note is kept as its text.
    """
    block = _PUBMED_REFS.sub("", strip_evidence(block)).strip()
    match = None if name or block.startswith("Note=") else _DISEASE_HEAD.match(block)
    if match and ". " not in match.group("name"):
        name, block = match.group("name").strip(), match.group("text")
    if not name:
        return block.removeprefix("Note=").strip()
    head = f"{name} ({acronym})" if acronym and f"({acronym})" not in name else name
    description = _NOTE.sub("", block).strip()
    return f"{head}: {description}" if description else head


def reaction_entry(block: str, ec: str = "") -> str:
    """'Reaction=A + B = C; Xref=…; EC=1.2.3.4;' -> 'A + B = C (EC 1.2.3.4)'; older free text is kept."""
    block = strip_evidence(block)
    match = _REACTION.search(block)
    reaction = match.group(1).strip() if match else block.rstrip(";").strip()
    ec = ec or (m.group(1) if (m := _EC.search(block)) else "")
    return f"{reaction} (EC {ec})" if reaction and ec else reaction


def cofactor_entry(block: str, names: list[str] | None = None) -> str:
    """'Name=Zn(2+); Xref=…; Note=Binds 1 zinc ion per subunit.' -> 'Zn(2+). Binds 1 zinc ion per subunit.'"""
    block = strip_evidence(block)
    names = names if names is not None else [n.strip() for n in _COFACTOR_NAME.findall(block)]
    note = block.split("Note=", 1)[1].strip().rstrip(";").strip() if "Note=" in block else ""
    if not names and not note:
        return block
    text = ", ".join(names)
    return f"{text}. {note}" if text and note else text or note


def _description_names(description: str) -> tuple[str, list[str]]:
    """Recommended (or submitted) name and alternative names from the DE lines; contained chains skipped."""
    name, alt_names, section = "", [], ""
    for token in (strip_evidence(t) for t in description.split(";")):
        if token.startswith(("Contains:", "Includes:")):
            break
        if ":" in token.split("=", 1)[0]:
            section, token = (part.strip() for part in token.split(":", 1))
        key, _, value = token.partition("=")
        if not value or key not in ("Full", "Short"):
            continue
        if section in ("RecName", "SubName") and key == "Full" and not name:
            name = value
        elif section in ("RecName", "AltName", "SubName") and value != name:
            alt_names.append(value)
    if not name and "=" not in description:
        name = strip_evidence(description).rstrip(".")
    return name, alt_names


def _flat_gene(genes: Any) -> tuple[str, list[str]]:
    """Primary gene name (or first ordered-locus/ORF name) and synonyms from Bio.SwissProt's gene_name."""
    if not isinstance(genes, list) or not genes:
        return "", []
    first = genes[0]
    synonyms = _gene_list(first.get("Synonyms", []))
    name = strip_evidence(first.get("Name", ""))
    others = _gene_list(first.get("OrderedLocusNames", []) + first.get("ORFNames", []))
    return name or (others[0] if others else ""), synonyms


def _gene_list(parts: list[str]) -> list[str]:
    """Bio.SwissProt splits GN values on commas, even inside evidence tags: re-join, strip tags, re-split."""
    return [name.strip() for name in strip_evidence(", ".join(parts)).split(",") if name.strip()]


def _comment_blocks(comments: list[str]) -> dict[str, list[str]]:
    """CC blocks by topic ('FUNCTION' -> [text, ...]), evidence tags removed."""
    blocks: dict[str, list[str]] = {}
    for comment in comments:
        topic, _, text = comment.partition(": ")
        blocks.setdefault(topic.strip(), []).append(strip_evidence(text))
    return blocks


# --- UniProt TSV exports -----------------------------------------------------------------------------------

#: Field -> column names used by uniprot.org exports over the years (compared case-insensitively).
TSV_COLUMNS = {
    "accession": ("entry", "accession"),
    "entry_name": ("entry name", "entry_name"),
    "protein_name": ("protein names", "protein_name", "protein name"),
    "gene": ("gene names", "gene names (primary)", "gene", "gene_names"),
    "organism": ("organism", "organism name"),
    "taxonomy_id": ("organism (id)", "organism id", "taxid", "taxonomy_id"),
    "function": ("function [cc]", "function"),
    "subcellular_location": ("subcellular location [cc]", "subcellular_location"),
    "go_terms": ("gene ontology (go)", "go_terms", "gene ontology"),
    "keywords": ("keywords",),
    "sequence": ("sequence",),
    "length": ("length",),
    "reviewed": ("status", "reviewed"),
    "disease": ("involvement in disease", "disease"),
    "tissue_specificity": ("tissue specificity", "tissue_specificity"),
    "subunit": ("subunit structure", "subunit structure [cc]", "subunit"),
    "catalytic_activity": ("catalytic activity", "catalytic_activity"),
    "pathway": ("pathway",),
    "ptm": ("post-translational modification", "ptm"),
    "cofactor": ("cofactor",),
    "domain": ("domain [cc]",),
}
#: TSV comment columns ('DISEASE: … DISEASE: …') and the CC topic each holds.
_TSV_TOPICS = {
    "disease": "DISEASE",
    "tissue_specificity": "TISSUE SPECIFICITY",
    "subunit": "SUBUNIT",
    "catalytic_activity": "CATALYTIC ACTIVITY",
    "pathway": "PATHWAY",
    "ptm": "PTM",
    "cofactor": "COFACTOR",
    "domain": "DOMAIN",
}
_GO_ASPECT_COLUMNS = (
    "gene ontology (biological process)",
    "gene ontology (cellular component)",
    "gene ontology (molecular function)",
)


def parse_uniprot_tsv(path: Path, options: ReadOptions) -> Iterator[Record]:
    """UniProt TSV export (old and new column names; leading '#' comment lines and extra columns ignored)."""
    with open_text(path, options.progress, newline="") as stream:
        header_line = _first_non_comment(stream)
        if not header_line:
            raise IngestError(path, "no header row")
        header = next(csv.reader([header_line], delimiter="\t"))
        layout = _TsvLayout.from_header(header, path)
        reader = csv.reader(stream, delimiter="\t", strict=True)
        for number, row in iter_csv_rows(reader, len(header), path):
            yield row if isinstance(row, IngestError) else _tsv_document(layout.values(row), path, number)


def _first_non_comment(stream: IO[str]) -> str:
    for line in stream:
        if line.strip() and not line.startswith("#"):
            return line.rstrip("\r\n")
    return ""


@dataclass(frozen=True)
class _TsvLayout:
    """Where each field sits in one TSV export."""

    columns: dict[str, int]
    go_aspects: tuple[int, ...]

    @classmethod
    def from_header(cls, header: list[str], path: Path) -> _TsvLayout:
        lowered = [name.strip().lower() for name in header]
        columns = {}
        for field_name, names in TSV_COLUMNS.items():
            index = next((lowered.index(name) for name in names if name in lowered), None)
            if index is not None:
                columns[field_name] = index
        if "accession" not in columns:
            raise IngestError(path, f"no 'Entry' (accession) column; columns are: {', '.join(header)}")
        aspects = tuple(lowered.index(name) for name in _GO_ASPECT_COLUMNS if name in lowered)
        return cls(columns, aspects)

    def values(self, row: list[str]) -> dict[str, str]:
        """Field -> cell text; GO terms fall back to the per-aspect columns."""
        values = {name: row[index] for name, index in self.columns.items()}
        if not values.get("go_terms", "").strip():
            values["go_terms"] = "; ".join(row[index] for index in self.go_aspects)
        return values


def _tsv_document(values: dict[str, str], path: Path, number: int) -> Record:
    accession = values["accession"].strip()
    if not ACCESSION.match(accession):
        return IngestError(path, f"'{accession}' is not a UniProt accession", number)
    name, alt_names = split_protein_names(values.get("protein_name", ""))
    genes = values.get("gene", "").replace(";", " ").split()
    entry_name = values.get("entry_name", "").strip()
    organism, taxonomy_id = values.get("organism", "").strip(), values.get("taxonomy_id", "").strip()
    if species := SPECIES_CODES.get(entry_name.rpartition("_")[2]):
        organism, taxonomy_id = organism or species[0], taxonomy_id or str(species[1])
    status = values.get("reviewed", "").strip().lower()
    fields = ProteinFields(
        accession=accession,
        entry_name=entry_name,
        protein_name=name,
        alt_names=alt_names,
        gene=genes[0] if genes else "",
        gene_synonyms=genes[1:],
        organism=organism,
        taxonomy_id=int(taxonomy_id) if taxonomy_id.isdigit() else None,
        function=_strip_topic(values.get("function", "")),
        subcellular_location=_strip_topic(values.get("subcellular_location", "")),
        **comment_fields(_tsv_comment_blocks(values)),
        go_terms=_tsv_go_terms(values.get("go_terms", "")),
        keywords=[k.strip() for k in values.get("keywords", "").split(";") if k.strip()],
        sequence=values.get("sequence", "").strip(),
        length=int(values["length"]) if values.get("length", "").strip().isdigit() else None,
        reviewed=status in ("reviewed", "true", "1")
        if status
        else reviewed_from_entry_name(accession, entry_name),
    )
    return protein_document(fields)


def split_protein_names(text: str) -> tuple[str, list[str]]:
    """'CD44 antigen (CDw44) (Epican) [Cleaved into: …]' -> ('CD44 antigen', ['CDw44', 'Epican']).

    EC numbers are dropped from the alternative names.
    """
    text = _CLEAVED.sub("", text.strip())
    alt_names: list[str] = []
    while text.endswith(")") and (match := _TRAILING_GROUP.search(text)):
        alt_names.insert(0, match.group(1).strip())
        text = text[: match.start()]
    return text.strip(), [name for name in alt_names if name and not name.startswith("EC ")]


def _strip_topic(text: str) -> str:
    """Remove the 'FUNCTION: ' style prefixes of a TSV comment column and its evidence tags."""
    return strip_evidence(_TOPIC_PREFIX.sub(" ", text))


def _tsv_comment_blocks(values: dict[str, str]) -> dict[str, list[str]]:
    """CC topic -> blocks of the comment columns present ('DISEASE: A … DISEASE: B …' -> two blocks)."""
    blocks: dict[str, list[str]] = {}
    for key, topic in _TSV_TOPICS.items():
        parts = re.split(rf"(?:^|\s){topic}:\s*", values.get(key, ""))
        blocks[topic] = [strip_evidence(part) for part in parts if part.strip()]
    return blocks


def _tsv_go_terms(value: str) -> list[str]:
    """'name [GO:…]; …' or 'GO:… C:name; …' -> ['GO:… name', …] without duplicates."""
    terms = (go_term(part) for part in value.split(";") if part.strip())
    return list(dict.fromkeys(term for term in terms if term.startswith("GO:")))
