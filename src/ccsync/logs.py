"""Logging for the entry points: one line per event, ``event key=value …`` (JSON in production).

Library code logs events named ``noun.verb`` with fields in ``extra``; only entry points
call ``configure_logging``. Values of fields whose name says secret are masked, and so is
every secret the final line holds (``redact``), however it got there.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from ccsync.redaction import redact

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
_SECRET_WORDS = ("token", "password", "secret", "authorization")
_QUIET = {"alembic": logging.WARNING, "aiosqlite": logging.INFO}
"""Libraries whose lines say nothing an operator needs (alembic's plugin set-up at INFO,
aiosqlite's every call at DEBUG)."""


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
