"""Refusals on the OTLP paths (``/v1/logs``, ``/v1/metrics``) in OTLP's shape.

An OTLP exporter reads a refusal as a ``google.rpc.Status`` in the encoding it sent
(``server.otlp.answers``); whatever refuses such a request — the request guard, the body
limit, a route — answers through ``refusal``.
"""

from __future__ import annotations

from fastapi import Response
from starlette.types import Scope

from ccsync.server.otlp.answers import OTLP_PATHS, answer_encoding, encode_status, media_type

CONTENT_TYPES = ("application/json", "application/x-protobuf")
"""What OTLP/HTTP bodies are sent as (the request guard lets both through on these paths)."""


def is_otlp(scope: Scope) -> bool:
    return scope.get("type") == "http" and scope.get("path") in OTLP_PATHS


def refusal_body(status: int, message: str, content_type: str | None) -> tuple[str, bytes]:
    """The media type and body of a refusal of a request sent as ``content_type``."""
    encoding = answer_encoding(content_type)
    return media_type(encoding), encode_status(status, message, encoding)


def refusal(
    status: int, message: str, content_type: str | None, headers: dict[str, str] | None = None
) -> Response:
    media, body = refusal_body(status, message, content_type)
    return Response(body, status_code=status, media_type=media, headers=headers)
