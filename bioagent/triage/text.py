"""Small text helpers for screening: record text, sentence splitting, title normalisation."""

from __future__ import annotations

import re
import unicodedata

from bioagent.citations import split_sentences
from bioagent.types import Document

_NON_WORD = re.compile(r"[^a-z0-9]+")


def record_text(doc: Document) -> str:
    """Title and abstract, as ranked and embedded."""
    return doc.full_text()


def is_empty(doc: Document) -> bool:
    """True when a record has neither a title nor an abstract."""
    return not (doc.title.strip() or doc.text.strip())


def record_sentences(doc: Document) -> list[str]:
    """The title (as one sentence) followed by the abstract's sentences."""
    sentences = [doc.title.strip()] if doc.title.strip() else []
    return sentences + split_sentences(" ".join(doc.text.split()))


def normalise_title(title: str) -> str:
    """Lower case, accents stripped, punctuation and spacing collapsed: the key for duplicate titles."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    return _NON_WORD.sub(" ", folded).strip()
