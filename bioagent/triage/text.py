"""Small text helpers for screening: record text, sentence splitting, title normalisation."""

from __future__ import annotations

import re
import unicodedata

from bioagent.types import Document

# A sentence ends at . ! or ? followed by space and an upper-case letter, digit or bracket. Abbreviations such
# as "e.g." or "vs." followed by a lower-case word therefore do not split.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def record_text(doc: Document) -> str:
    """Title and abstract, as ranked and embedded."""
    return doc.full_text()


def is_empty(doc: Document) -> bool:
    """True when a record has neither a title nor an abstract."""
    return not (doc.title.strip() or doc.text.strip())


def split_sentences(doc: Document) -> list[str]:
    """The title (as one sentence) followed by the abstract's sentences."""
    sentences = [doc.title.strip()] if doc.title.strip() else []
    body = " ".join(doc.text.split())
    sentences.extend(s.strip() for s in _SENTENCE_END.split(body) if s.strip())
    return sentences


def normalise_title(title: str) -> str:
    """Lower case, accents stripped, punctuation and spacing collapsed: the key for duplicate titles."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    return _NON_WORD.sub(" ", folded).strip()
