"""Secrets out of what is shown: URLs with their passwords masked, and any text with the
secrets it holds replaced by ``***`` (logs, error messages, ``/api/config``).

Standard library only, and below everything that shows text: storage, settings and the
log formatters all use it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

_SECRET_NAMES = ("token", "password", "passwd", "secret", "key", "auth", "credential")
_QUERY_PARAMETER = re.compile(r"([?&;])([^=&;\s\"'#]+)=([^&;\s\"'#]*)")
"""``?name=value`` in a URL; names are compared percent-decoded (``?%74oken=`` is
``?token=`` to the server, so it is to the log too)."""
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
_AUTHORIZATION = re.compile(
    r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?!bearer\b)(?:[A-Za-z-]+\s+)?[^\s\"',;]+"
)
_TOKEN = re.compile(r"\bccs_[A-Za-z0-9_-]{16,}")
"""A ccsync token wherever it appears (``tokens.TOKEN_PREFIX``)."""
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@/\s]+@")


def _mask_parameter(match: re.Match[str]) -> str:
    name = unquote_plus(match.group(2)).lower()
    if any(word in name for word in _SECRET_NAMES):
        return f"{match.group(1)}{match.group(2)}=***"
    return match.group(0)


def redact(text: str) -> str:
    """``text`` with secrets masked: secret-named query parameters however spelled, bearer
    and other ``Authorization`` credentials, ccsync tokens, passwords in URLs."""
    text = _QUERY_PARAMETER.sub(_mask_parameter, text)
    text = _BEARER.sub(r"\1***", text)
    text = _AUTHORIZATION.sub(r"\1***", text)
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _TOKEN.sub("ccs_***", text)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and ``/api/config``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, location = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{location}"
