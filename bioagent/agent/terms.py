"""Content words of a sentence: lower-cased, crudely stemmed, stop words dropped (numbers kept).

Shared by the verifier (support overlap), the reader checks and the answer composer."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOPWORDS_TEXT = (
    "a about above after again against all also although am among an and any are as at be because been "
    "before being below between both but by can could did do does doing done during each either et few "
    "for from further had has have having he her here hers him his how however i if in into is it its "
    "itself just may might more most much must my no nor not now of off on once only or other our out "
    "over own per rather same she should so some such than that the their them then there these they this "
    "those through thus to too under until up upon us very via was we were what when where whether which "
    "while who whom why will with within without would yes you your maybe answer evidence according shows "
    "show shown study studies result results suggest suggests suggested indicate indicates found"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_QUESTION_WORDS_TEXT = (
    "list name names describe main common commonly used use role roles function functions known effect effects "
    "involved associated around world type types never always worst best most least"
)
#: Words that say what is asked rather than what about ("Which genes are involved in ...?", "List the ...").
QUESTION_WORDS = STOPWORDS | frozenset(_QUESTION_WORDS_TEXT.split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


def content_terms(text: str) -> set[str]:
    """Lower-cased, crudely stemmed words that carry meaning (numbers kept, stop words dropped)."""
    terms = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or (len(word) < 3 and not word[0].isdigit()):
            continue
        terms.add(_stem(word))
    return terms


def _stem(word: str) -> str:
    if word[0].isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
