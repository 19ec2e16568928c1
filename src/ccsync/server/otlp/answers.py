"""What ``/v1/logs`` and ``/v1/metrics`` answer, in the request's encoding.

Success is ``Export*ServiceResponse``: empty, or with ``partial_success`` (how many records
or points were refused, and why). Every refusal is a ``google.rpc.Status`` (``code``,
``message``): protobuf for a protobuf request, JSON otherwise. The JSON form also carries
``error`` (the same text), so it is ccsync's one error shape as well; OTLP clients ignore
fields they do not know. Exporters retry 429, 502, 503 and 504 (after ``Retry-After``)
and drop the data on any other 4xx.
"""

from __future__ import annotations

import msgspec
from google.rpc.code_pb2 import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    NOT_FOUND,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNAUTHENTICATED,
    UNAVAILABLE,
    UNIMPLEMENTED,
    UNKNOWN,
)
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from ccsync.server.otlp.decode import JSON, PROTOBUF, Encoding
from ccsync.server.otlp.model import ExportLogsServiceResponse, ExportMetricsServiceResponse

Answer = ExportLogsServiceResponse | ExportMetricsServiceResponse

GRPC_CODES = {
    400: INVALID_ARGUMENT,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    405: UNIMPLEMENTED,
    409: FAILED_PRECONDITION,
    413: RESOURCE_EXHAUSTED,
    415: INVALID_ARGUMENT,
    421: FAILED_PRECONDITION,
    422: INVALID_ARGUMENT,
    429: RESOURCE_EXHAUSTED,
    503: UNAVAILABLE,
}
"""The ``google.rpc.Code`` of each HTTP status (OTLP/HTTP's table; others: UNKNOWN)."""

OTLP_PATHS = frozenset({"/v1/logs", "/v1/metrics"})


class StatusBody(msgspec.Struct):
    """A refusal as OTLP/JSON ``google.rpc.Status`` (plus ccsync's ``error``)."""

    code: int
    message: str
    error: str


def media_type(encoding: Encoding) -> str:
    return PROTOBUF if encoding == "protobuf" else JSON


def answer_encoding(content_type: str | None) -> Encoding:
    """The encoding to answer a request of this ``Content-Type`` in (JSON unless protobuf)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return "protobuf" if media == PROTOBUF else "json"


def encode_answer(answer: Answer, encoding: Encoding) -> bytes:
    if encoding == "json":
        return msgspec.json.encode(answer)
    if isinstance(answer, ExportLogsServiceResponse):
        logs = logs_service_pb2.ExportLogsServiceResponse()
        if answer.partial_success is not None:
            logs.partial_success.rejected_log_records = int(
                answer.partial_success.rejected_log_records
            )
            logs.partial_success.error_message = answer.partial_success.error_message
        return logs.SerializeToString()
    metrics = metrics_service_pb2.ExportMetricsServiceResponse()
    if answer.partial_success is not None:
        metrics.partial_success.rejected_data_points = int(
            answer.partial_success.rejected_data_points
        )
        metrics.partial_success.error_message = answer.partial_success.error_message
    return metrics.SerializeToString()


def encode_status(status: int, message: str, encoding: Encoding) -> bytes:
    code = GRPC_CODES.get(status, UNKNOWN)
    if encoding == "json":
        return msgspec.json.encode(StatusBody(code=code, message=message, error=message))
    return Status(code=code, message=message).SerializeToString()
