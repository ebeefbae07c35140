"""Literature parsers: PubMed/MEDLINE XML, MEDLINE text (.nbib), PubMedQA JSON and RIS."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from bioagent.errors import IngestError, require
from bioagent.ingest.files import (
    MAX_RECORD_CHARS,
    ReadOptions,
    Record,
    RecordTooLarge,
    iter_lines,
    open_text,
    read_head,
)
from bioagent.ingest.jsonstream import JsonStreamError, iter_json_members
from bioagent.ingest.xmlrecords import element_text, iter_xml_records, root_element
from bioagent.types import Document

_YEAR = re.compile(r"\b(1[6-9]\d\d|20\d\d)\b")
_RECORD_TAGS = {"PubmedArticleSet": "PubmedArticle", "MedlineCitationSet": "MedlineCitation"}
_RIS_END = "ER  -"


def parse_pubmed_xml(path: Path, options: ReadOptions) -> Iterator[Record]:
    """PubMed efetch XML (``PubmedArticleSet``) or MEDLINE XML (``MedlineCitationSet``), also gzipped."""
    root, _ = root_element(read_head(path))
    tag = _RECORD_TAGS.get(root, root if root in _RECORD_TAGS.values() else "")
    if not tag:
        raise IngestError(path, f"XML root <{root}> is not a PubMed/MEDLINE article set")
    with open_text(path, options.progress) as stream:
        yield from pubmed_documents(stream, tag, path)


def pubmed_documents(stream: IO[str], tag: str, where: Path | str) -> Iterator[Record]:
    """Documents from a stream of PubMed XML records (used for files and for live efetch responses)."""
    for record in iter_xml_records(stream, tag):
        if record.element is None:
            yield IngestError(where, record.error, record.number)
            continue
        citation = record.element if tag == "MedlineCitation" else record.element.find("MedlineCitation")
        doc = _citation_document(citation, record.element)
        if isinstance(doc, str):
            yield IngestError(where, doc, record.number)
        else:
            yield doc


def _citation_document(citation: ET.Element | None, record: ET.Element) -> Document | str:
    """One PubMed citation as a Document, or the reason it has none."""
    pmid = element_text(citation.find("PMID")) if citation is not None else ""
    if citation is None or not pmid:
        return "record has no PMID"
    article = citation.find("Article")
    if article is None:
        return f"PMID {pmid} has no <Article>"
    title = element_text(article.find("ArticleTitle")) or element_text(article.find("VernacularTitle"))
    abstract = _abstract_text(article.find("Abstract"))
    if not title and not abstract:
        return f"PMID {pmid} has neither title nor abstract"
    metadata: dict[str, Any] = {"pmid": pmid, "journal": element_text(article.find("Journal/Title"))}
    metadata["year"] = _pub_year(article)
    metadata["authors"] = [a for a in map(_author_name, article.iterfind("AuthorList/Author")) if a]
    metadata["mesh"] = [
        element_text(d) for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
    ]
    metadata["doi"] = _doi(article, record)
    return Document(id=pmid, title=title, text=abstract, source="pubmed", metadata=_compact(metadata))


def _abstract_text(abstract: ET.Element | None) -> str:
    """Abstract sections joined; labelled sections keep their label ("METHODS: ...")."""
    if abstract is None:
        return ""
    parts = []
    for section in abstract.iterfind("AbstractText"):
        text = element_text(section)
        label = section.get("Label")
        if text:
            parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def _pub_year(article: ET.Element) -> int | None:
    for path in (
        "Journal/JournalIssue/PubDate/Year",
        "Journal/JournalIssue/PubDate/MedlineDate",
        "ArticleDate/Year",
    ):
        if match := _YEAR.search(element_text(article.find(path))):
            return int(match.group(1))
    return None


def _author_name(author: ET.Element) -> str:
    last = element_text(author.find("LastName"))
    if not last:
        return element_text(author.find("CollectiveName"))
    initials = element_text(author.find("Initials"))
    return f"{last} {initials}".strip()


def _doi(article: ET.Element, record: ET.Element) -> str:
    for node in article.iterfind("ELocationID"):
        if node.get("EIdType") == "doi":
            return element_text(node)
    for node in record.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == "doi":
            return element_text(node)
    return ""


def parse_medline(path: Path, options: ReadOptions) -> Iterator[Record]:
    """MEDLINE tagged text (PubMed's "MEDLINE" / .nbib export), read with Bio.Medline."""
    from Bio import Medline

    with open_text(path, options.progress) as stream:
        for number, entry in enumerate(Medline.parse(stream), start=1):
            yield _medline_document(entry, path, number)


def _medline_document(entry: dict[str, Any], path: Path, number: int) -> Record:
    pmid = str(entry.get("PMID", "")).strip()
    if not pmid:
        return IngestError(path, "record has no PMID line", number)
    title, abstract = entry.get("TI", "").strip(), entry.get("AB", "").strip()
    if not title and not abstract:
        return IngestError(path, f"PMID {pmid} has neither TI nor AB", number)
    year = _YEAR.search(entry.get("DP", ""))
    metadata: dict[str, Any] = {
        "pmid": pmid,
        "journal": entry.get("JT") or entry.get("TA", ""),
        "year": int(year.group(1)) if year else None,
        "authors": list(entry.get("AU", [])),
        "mesh": [_mesh_descriptor(term) for term in entry.get("MH", [])],
        "doi": _medline_doi(entry),
    }
    return Document(id=pmid, title=title, text=abstract, source="pubmed", metadata=_compact(metadata))


def _medline_doi(entry: dict[str, Any]) -> str:
    """The DOI from the AID/LID lines ('10.1186/1471-2105-7-10 [doi]')."""
    for field in ("AID", "LID"):
        values = entry.get(field, [])
        for value in [values] if isinstance(values, str) else values:
            if value.endswith(" [doi]"):
                return value[: -len(" [doi]")].strip()
    return ""


def _mesh_descriptor(term: str) -> str:
    """'Neoplasms/*genetics' -> 'Neoplasms' (qualifiers and major-topic stars dropped)."""
    return term.split("/", 1)[0].lstrip("*").strip()


def parse_pubmedqa(path: Path, options: ReadOptions) -> Iterator[Record]:
    """PubMedQA ``ori_pqal.json``: one document per PMID whose text is the abstract's context sections (read
    member by member; where the JSON breaks off, the records before are kept and the broken one is named)."""
    number = 0
    with open_text(path, options.progress) as stream:
        try:
            for number, (pmid, item) in enumerate(iter_json_members(stream), start=1):
                if pmid is None:
                    raise IngestError(path, "PubMedQA JSON must map PMIDs to records")
                yield _pubmedqa_document(pmid, item, path, number)
        except JsonStreamError as exc:
            yield IngestError(path, str(exc), number + 1)


def _pubmedqa_document(pmid: str, item: Any, path: Path, number: int) -> Record:
    contexts = item.get("CONTEXTS") if isinstance(item, dict) else None
    if not isinstance(contexts, list) or not contexts:
        return IngestError(path, f"PMID {pmid} has no CONTEXTS list", number)
    labels = item.get("LABELS") or []
    sections = [f"{label}: {text}" if label else str(text) for label, text in _zip_labels(labels, contexts)]
    year = _YEAR.search(str(item.get("YEAR", "")))
    metadata = {
        "pmid": pmid,
        "dataset": "pubmedqa",
        "question": item.get("QUESTION", ""),
        "year": int(year.group(1)) if year else None,
        "mesh": list(item.get("MESHES") or []),
    }
    return Document(id=pmid, text=" ".join(sections), source="pubmed", metadata=_compact(metadata))


def _zip_labels(labels: list[Any], contexts: list[Any]) -> Iterator[tuple[str, str]]:
    for index, text in enumerate(contexts):
        label = labels[index] if index < len(labels) else ""
        yield str(label or ""), str(text)


def parse_ris(path: Path, options: ReadOptions) -> Iterator[Record]:
    """RIS reference files (EndNote, Zotero, Scopus exports), streamed and read with rispy record by record."""
    rispy = require("rispy", "rispy", "triage", "Reading RIS files")
    with open_text(path, options.progress) as stream:
        for number, block in enumerate(_ris_blocks(stream), start=1):
            if block.problem:
                yield IngestError(path, block.problem, number)
                continue
            if not block.text.strip():
                continue
            try:
                entries = rispy.loads(block.text + "\nER  - \n")  # type: ignore[attr-defined]
            except Exception as exc:  # rispy raises bare exceptions on malformed tags
                yield IngestError(path, f"malformed RIS record: {exc}", number)
                continue
            yield (
                _ris_document(entries[0], path, number)
                if entries
                else IngestError(path, "no 'TY  -' line", number)
            )


class _RisBlock(NamedTuple):
    """The lines of one RIS record before its ``ER  -`` line, or why the record cannot be read."""

    text: str
    problem: str = ""


def _ris_blocks(stream: IO[str]) -> Iterator[_RisBlock]:
    """The records of a RIS stream, each held only up to :data:`MAX_RECORD_CHARS` characters."""
    lines: list[str] = []
    size, problem = 0, ""
    for line in iter_lines(stream):
        if isinstance(line, str) and line.startswith(_RIS_END):
            yield _RisBlock("".join(lines), problem)
            lines, size, problem = [], 0, ""
        elif isinstance(line, RecordTooLarge) or size + len(line) > MAX_RECORD_CHARS:
            lines, problem = [], f"record is longer than {MAX_RECORD_CHARS:,} characters; skipped it"
        elif not problem:
            lines.append(line)
            size += len(line)
    if problem or any(line.strip() for line in lines):
        yield _RisBlock("", problem or "record is not closed by an 'ER  -' line")


def _ris_document(entry: dict[str, Any], path: Path, number: int) -> Record:
    title = entry.get("title") or entry.get("primary_title") or ""
    abstract = entry.get("abstract") or entry.get("notes_abstract") or ""
    if not title and not abstract:
        return IngestError(path, "record has neither title nor abstract", number)
    accession = str(entry.get("accession_number", "")).strip()
    pmid = accession if accession.isdigit() else ""
    doi = entry.get("doi", "")
    doc_id = pmid or str(entry.get("id", "")).strip() or doi or f"{path.stem}-{number}"
    year = _YEAR.search(str(entry.get("year") or entry.get("publication_year") or ""))
    metadata: dict[str, Any] = {
        "pmid": pmid,
        "doi": doi,
        "journal": entry.get("journal_name") or entry.get("secondary_title") or "",
        "year": int(year.group(1)) if year else None,
        "authors": list(entry.get("authors") or entry.get("first_authors") or []),
        "keywords": list(entry.get("keywords") or []),
    }
    return Document(id=doc_id, title=title, text=abstract, source="ris", metadata=_compact(metadata))


def _compact(metadata: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields so that metadata only says what the record says."""
    return {key: value for key, value in metadata.items() if value not in (None, "", [])}
