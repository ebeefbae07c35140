"""UniProt XML (``<uniprot><entry>…``) and UniProt REST JSON entries as Documents."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bioagent.errors import IngestError
from bioagent.ingest.files import ReadOptions, Record, open_text
from bioagent.ingest.uniprot import (
    ProteinFields,
    cofactor_entry,
    disease_entry,
    go_term,
    protein_document,
    reaction_entry,
    strip_evidence,
)
from bioagent.ingest.xmlrecords import element_text, iter_xml_records
from bioagent.types import Document

# --- XML -----------------------------------------------------------------------------------------------


def parse_uniprot_xml(path: Path, options: ReadOptions) -> Iterator[Record]:
    """UniProtKB XML, entry by entry (a malformed entry is reported, the rest are kept)."""
    with open_text(path, options.progress) as stream:
        for record in iter_xml_records(stream, "entry"):
            if record.element is None:
                yield IngestError(path, record.error, record.number)
                continue
            accessions = [element_text(node) for node in record.element.iterfind("accession")]
            if not accessions:
                yield IngestError(path, "entry has no <accession>", record.number)
                continue
            yield protein_document(_xml_fields(record.element, accessions))


def _xml_fields(entry: ET.Element, accessions: list[str]) -> ProteinFields:
    name, alt_names = _xml_names(entry.find("protein"))
    gene, synonyms = _xml_gene(entry.find("gene"))
    taxid = next(
        (
            ref.get("id", "")
            for ref in entry.iterfind("organism/dbReference")
            if ref.get("type") == "NCBI Taxonomy"
        ),
        "",
    )
    go = [
        go_term(ref.get("id", ""), _property(ref, "term"))
        for ref in entry.iterfind("dbReference")
        if ref.get("type") == "GO"
    ]
    sequence = entry.find("sequence")
    seq_text = "".join((sequence.text or "").split()) if sequence is not None else ""
    length = sequence.get("length") if sequence is not None else None
    return ProteinFields(
        accession=accessions[0],
        accessions=accessions,
        entry_name=element_text(entry.find("name")),
        protein_name=name,
        alt_names=alt_names,
        gene=gene,
        gene_synonyms=synonyms,
        organism=_xml_organism(entry.find("organism")),
        taxonomy_id=int(taxid) if taxid.isdigit() else None,
        function=" ".join(element_text(c.find("text")) for c in _comments(entry, "function")),
        subcellular_location=" ".join(_xml_location(c) for c in _comments(entry, "subcellular location")),
        **_xml_comment_fields(entry),
        go_terms=go,
        keywords=[element_text(k) for k in entry.iterfind("keyword")],
        sequence=seq_text,
        length=int(length) if length and length.isdigit() else None,
        reviewed=entry.get("dataset") == "Swiss-Prot",
    )


def _xml_names(protein: ET.Element | None) -> tuple[str, list[str]]:
    if protein is None:
        return "", []
    names = protein.findall("recommendedName") or protein.findall("submittedName")
    name = element_text(names[0].find("fullName")) if names else ""
    alt_names = [element_text(node) for node in names[0].iterfind("shortName")] if names else []
    alt_names += [element_text(other.find("fullName")) for other in names[1:]]
    for alt in protein.iterfind("alternativeName"):
        alt_names += [element_text(node) for node in alt if node.tag in ("fullName", "shortName")]
    return name, [alt for alt in alt_names if alt and alt != name]


def _xml_gene(gene: ET.Element | None) -> tuple[str, list[str]]:
    if gene is None:
        return "", []
    by_type: dict[str, list[str]] = {}
    for node in gene.iterfind("name"):
        by_type.setdefault(node.get("type", ""), []).append(element_text(node))
    names = by_type.get("primary") or by_type.get("ordered locus") or by_type.get("ORF") or [""]
    return names[0], by_type.get("synonym", [])


def _xml_organism(organism: ET.Element | None) -> str:
    if organism is None:
        return ""
    names = {node.get("type"): element_text(node) for node in organism.iterfind("name")}
    scientific, common = names.get("scientific", ""), names.get("common", "")
    return f"{scientific} ({common})" if scientific and common else scientific or common


def _comments(entry: ET.Element, kind: str) -> list[ET.Element]:
    return [c for c in entry.iterfind("comment") if c.get("type") == kind]


def _xml_location(comment: ET.Element) -> str:
    """'Cell membrane; Multi-pass membrane protein. Endosome. Note=…' from one location comment."""
    parts = []
    for place in comment.iterfind("subcellularLocation"):
        names = [element_text(node) for node in place if node.tag in ("location", "topology", "orientation")]
        parts.append("; ".join(name for name in names if name) + ".")
    note = element_text(comment.find("text"))
    return " ".join(parts + ([f"Note={note}"] if note else []))


#: ProteinFields text field -> XML comment type.
_XML_TEXT_COMMENTS = {
    "tissue_specificity": "tissue specificity",
    "subunit": "subunit",
    "pathway": "pathway",
    "ptm": "PTM",
    "domain": "domain",
}


def _xml_comment_fields(entry: ET.Element) -> dict[str, Any]:
    """Disease, tissue specificity, subunit, reactions, pathway, PTM, cofactor and domain comments."""
    fields: dict[str, Any] = {
        key: " ".join(_xml_text(c) for c in _comments(entry, kind))
        for key, kind in _XML_TEXT_COMMENTS.items()
    }
    fields["disease"] = [d for d in (_xml_disease(c) for c in _comments(entry, "disease")) if d]
    fields["catalytic_activity"] = [
        r for c in _comments(entry, "catalytic activity") for r in _xml_reactions(c) if r
    ]
    fields["cofactor"] = " ".join(filter(None, (_xml_cofactor(c) for c in _comments(entry, "cofactor"))))
    return fields


def _xml_text(comment: ET.Element) -> str:
    return " ".join(strip_evidence(element_text(node)) for node in comment.iterfind("text"))


def _xml_disease(comment: ET.Element) -> str:
    disease = comment.find("disease")
    if disease is None:
        return disease_entry(_xml_text(comment))
    return disease_entry(
        element_text(disease.find("description")),
        name=element_text(disease.find("name")),
        acronym=element_text(disease.find("acronym")),
    )


def _xml_reactions(comment: ET.Element) -> list[str]:
    reactions = comment.findall("reaction")
    if not reactions:
        return [reaction_entry(_xml_text(comment))]
    return [
        reaction_entry(
            element_text(node.find("text")),
            ec=next(
                (ref.get("id", "") for ref in node.iterfind("dbReference") if ref.get("type") == "EC"), ""
            ),
        )
        for node in reactions
    ]


def _xml_cofactor(comment: ET.Element) -> str:
    names = [element_text(node.find("name")) for node in comment.iterfind("cofactor")]
    note = _xml_text(comment)
    return cofactor_entry(f"Note={note}" if note else "", names=[n for n in names if n])


def _property(ref: ET.Element, key: str) -> str:
    return next((p.get("value", "") for p in ref.iterfind("property") if p.get("type") == key), "")


# --- REST JSON -----------------------------------------------------------------------------------------


def parse_uniprot_json(path: Path, options: ReadOptions) -> Iterator[Record]:
    """A saved UniProt REST JSON response (``{"results": [...]}``), a single entry, or a list of entries."""
    with open_text(path, options.progress) as stream:
        try:
            data = json.load(stream)
        except json.JSONDecodeError as exc:
            raise IngestError(path, f"not valid JSON: {exc}") from exc
    entries = data.get("results", [data]) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise IngestError(path, "expected UniProt REST JSON with a 'results' list")
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("primaryAccession"):
            yield IngestError(path, "entry has no primaryAccession", number)
            continue
        yield json_entry_document(entry)


def json_entry_document(entry: dict[str, Any]) -> Document:
    """One UniProt REST JSON entry (a ``/uniprotkb/search`` result or ``/uniprotkb/<acc>.json``)."""
    accession = entry["primaryAccession"]
    name, alt_names = _json_names(entry.get("proteinDescription", {}))
    gene, synonyms = _json_gene(entry.get("genes") or [])
    organism = entry.get("organism", {})
    scientific, common = organism.get("scientificName", ""), organism.get("commonName", "")
    comments = entry.get("comments", [])
    sequence = entry.get("sequence", {})
    fields = ProteinFields(
        accession=accession,
        accessions=[accession, *entry.get("secondaryAccessions", [])],
        entry_name=entry.get("uniProtkbId", ""),
        protein_name=name,
        alt_names=alt_names,
        gene=gene,
        gene_synonyms=synonyms,
        organism=f"{scientific} ({common})" if scientific and common else scientific,
        taxonomy_id=organism.get("taxonId"),
        function=" ".join(_json_texts(c) for c in comments if c.get("commentType") == "FUNCTION"),
        subcellular_location=" ".join(
            _json_location(c) for c in comments if c.get("commentType") == "SUBCELLULAR LOCATION"
        ),
        **_json_comment_fields(comments),
        go_terms=[
            go_term(ref.get("id", ""), _json_property(ref, "GoTerm"))
            for ref in entry.get("uniProtKBCrossReferences", [])
            if ref.get("database") == "GO"
        ],
        keywords=[kw.get("name", "") for kw in entry.get("keywords", []) if kw.get("name")],
        sequence=sequence.get("value", ""),
        length=sequence.get("length"),
        reviewed="unreviewed" not in entry.get("entryType", "").lower(),
    )
    return protein_document(fields)


def _json_names(description: dict[str, Any]) -> tuple[str, list[str]]:
    main: dict[str, Any] = description.get("recommendedName") or next(
        iter(description.get("submissionNames", [])), {}
    )
    name = main.get("fullName", {}).get("value", "")
    alt_names = [short.get("value", "") for short in main.get("shortNames", [])]
    for alt in description.get("alternativeNames", []):
        alt_names.append(alt.get("fullName", {}).get("value", ""))
        alt_names += [short.get("value", "") for short in alt.get("shortNames", [])]
    return name, [alt for alt in alt_names if alt and alt != name]


def _json_gene(genes: list[dict[str, Any]]) -> tuple[str, list[str]]:
    if not genes:
        return "", []
    first = genes[0]
    others = first.get("orderedLocusNames", []) + first.get("orfNames", [])
    name = first.get("geneName", {}).get("value") or (others[0].get("value", "") if others else "")
    return name, [syn.get("value", "") for syn in first.get("synonyms", [])]


def _json_texts(comment: dict[str, Any]) -> str:
    """Comment texts as sentences (the REST API drops the final full stop)."""
    texts = [strip_evidence(text.get("value", "")) for text in comment.get("texts", [])]
    return " ".join(text if text.endswith((".", "!", "?")) else f"{text}." for text in texts if text)


def _json_location(comment: dict[str, Any]) -> str:
    parts = []
    for place in comment.get("subcellularLocations", []):
        names = [place.get(key, {}).get("value", "") for key in ("location", "topology", "orientation")]
        parts.append("; ".join(name for name in names if name) + ".")
    note = _json_texts(comment.get("note", {}))
    return " ".join(parts + ([f"Note={note}"] if note else []))


#: ProteinFields text field -> REST JSON comment type.
_JSON_TEXT_COMMENTS = {
    "tissue_specificity": "TISSUE SPECIFICITY",
    "subunit": "SUBUNIT",
    "pathway": "PATHWAY",
    "ptm": "PTM",
    "domain": "DOMAIN",
}


def _json_comment_fields(comments: list[dict[str, Any]]) -> dict[str, Any]:
    """Disease, tissue specificity, subunit, reactions, pathway, PTM, cofactor and domain comments."""

    def of(kind: str) -> list[dict[str, Any]]:
        return [c for c in comments if c.get("commentType") == kind]

    fields: dict[str, Any] = {
        key: " ".join(_json_texts(c) for c in of(kind)) for key, kind in _JSON_TEXT_COMMENTS.items()
    }
    fields["disease"] = [d for d in (_json_disease(c) for c in of("DISEASE")) if d]
    fields["catalytic_activity"] = [
        reaction_entry(c["reaction"].get("name", ""), ec=c["reaction"].get("ecNumber", ""))
        for c in of("CATALYTIC ACTIVITY")
        if isinstance(c.get("reaction"), dict) and c["reaction"].get("name")
    ]
    fields["cofactor"] = " ".join(filter(None, (_json_cofactor(c) for c in of("COFACTOR"))))
    return fields


def _json_disease(comment: dict[str, Any]) -> str:
    disease = comment.get("disease") or {}
    if not disease.get("diseaseId"):
        return disease_entry(_json_texts(comment.get("note", {})))
    return disease_entry(
        disease.get("description", ""), name=disease["diseaseId"], acronym=disease.get("acronym", "")
    )


def _json_cofactor(comment: dict[str, Any]) -> str:
    names = [c.get("name", "") for c in comment.get("cofactors", []) if c.get("name")]
    note = _json_texts(comment.get("note", {}))
    return cofactor_entry(f"Note={note}" if note else "", names=names)


def _json_property(ref: dict[str, Any], key: str) -> str:
    return next((p.get("value", "") for p in ref.get("properties", []) if p.get("key") == key), "")
