"""Hiding secrets in text that is shown, logged or exported: URL credentials, key-like parameters, known values.

``redact("http://user:pw@host/v1?api_key=abc")`` gives ``"http://***@host/v1?api_key=***"``. Imports nothing from
the package, so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_MIN_SECRET_CHARS = 4  # shorter "secrets" are not keys, and replacing them would garble the text
#: Names of query parameters and JSON fields whose values are secrets (matched case-insensitively).
SECRET_NAMES = ("api_key", "api-key", "apikey", "key", "token", "access_token", "password", "email")

_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_NAMES, key=len, reverse=True))
_USERINFO = re.compile(r"(?<=://)[^/\s@?#]+@")
_PARAM = re.compile(rf"(?i)(?<![\w-])({_NAMES})=[^&\s#'\"<>]+")
_JSON_FIELD = re.compile(rf'(?i)("(?:{_NAMES})"\s*:\s*")[^"]*(")')


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL credentials (``user:pass@``), values of key-like parameters or JSON fields, and every
    occurrence of the given ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(f"{MASK}@", text)
    text = _PARAM.sub(rf"\1={MASK}", text)
    return _JSON_FIELD.sub(rf"\1{MASK}\2", text)
