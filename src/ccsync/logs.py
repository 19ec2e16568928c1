"""Logging for the entry points: one line per event, ``event key=value …`` (JSON in production).

Library code logs events named ``noun.verb`` with fields in ``extra``; only entry points
call ``configure_logging``. Values of fields whose name says secret are masked.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRET_WORDS = ("token", "password", "secret", "authorization")


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
