"""Logging for the entry points: one line per event, ``event key=value …`` (JSON in production).

Library code logs events named ``noun.verb`` with fields in ``extra``; only entry points
call ``configure_logging``. Values of fields whose name says secret are masked, and so is
every secret the final line holds (``redact``), however it got there.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any
from urllib.parse import unquote_plus

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
_SECRET_WORDS = ("token", "password", "secret", "authorization")
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
_QUIET = {"alembic": logging.WARNING, "aiosqlite": logging.INFO}
"""Libraries whose lines say nothing an operator needs (alembic's plugin set-up at INFO,
aiosqlite's every call at DEBUG)."""


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


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message, whatever logged it (uvicorn's access lines carry
    each request's full path, ``?token=`` included; the websockets library logs handshake
    headers at debug level, ``Authorization`` included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {}
    for key, value in vars(record).items():
        if key in _STANDARD:
            continue
        fields[key] = "***" if any(word in key.lower() for word in _SECRET_WORDS) else value
    return fields


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        time = self.formatTime(record, "%H:%M:%S")
        parts = [f"{time} {record.levelname.lower():7} {record.getMessage()}"]
        parts += [f"{k}={v}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(body, default=str))


def configure_logging(level: str = "info", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else KeyValueFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
