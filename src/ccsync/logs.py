"""Logging for the entry points: one line per event, ``event key=value …`` (JSON in production).

Library code logs events named ``noun.verb`` with fields in ``extra``; only entry points
call ``configure_logging``. Values of fields whose name says secret are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
_SECRET_WORDS = ("token", "password", "secret", "authorization")
_SECRET_QUERY = re.compile(
    r"([?&][^=&\s\"]*(?:token|password|secret|key)[^=&\s\"]*=)[^&\s\"]*", re.IGNORECASE
)
"""A query parameter whose name says secret (``?token=…`` authenticates WebSockets)."""
_QUIET = {"alembic": logging.WARNING}
"""Libraries whose INFO lines say nothing an operator needs (alembic's plugin set-up)."""


def redact(text: str) -> str:
    """``text`` with the values of secret-named query parameters replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", text)


class RedactQueries(logging.Filter):
    """Masks secret query parameters in a record's arguments (uvicorn's access lines
    carry each request's full path, ``?token=`` included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
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
        return line


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
        return json.dumps(body, default=str)


def configure_logging(level: str = "info", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else KeyValueFormatter())
    handler.addFilter(RedactQueries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
