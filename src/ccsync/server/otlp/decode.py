"""An OTLP/HTTP body → the log records and metric points in it, whatever its encoding.

Bodies are ``application/x-protobuf`` (decoded by the official ``opentelemetry-proto``
messages) or ``application/json`` (the OTLP JSON mapping, ``otlp.model``), optionally
gzip-compressed (``Content-Encoding: gzip``; inflated to at most the body cap). Both give
the same plain records: attributes flattened to ``{key: value}``, each record's or point's
over its resource's. A body that cannot be read raises ``OtlpBodyError`` (a 400).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from ccsync.server.otlp import model

Encoding = Literal["json", "protobuf"]
Value = str | int | float | bool | None
"""An attribute's value; arrays, maps and bytes are kept as JSON text."""
Attributes = dict[str, Value]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CUMULATIVE = 2


class OtlpBodyError(ValueError):
    """The body is not an OTLP export of the signal (the message says why)."""


class OtlpMediaError(ValueError):
    """The body is in a media type or encoding OTLP/HTTP does not use."""


@dataclass(slots=True)
class Record:
    """A log record: an event of Claude Code's (``name``: ``claude_code.api_request``…)."""

    name: str
    time_ns: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class Point:
    """A data point of a sum."""

    metric: str
    start_ns: int
    time_ns: int
    value: float
    cumulative: bool
    attributes: Attributes = field(default_factory=dict)


def encoding_of(content_type: str | None) -> Encoding:
    """``json`` or ``protobuf`` from a ``Content-Type``; ``OtlpMediaError`` for others."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == PROTOBUF:
        return "protobuf"
    if media == JSON:
        return "json"
    raise OtlpMediaError(f"send OTLP as {PROTOBUF} or {JSON} (Content-Type was {media[:100]!r})")


def inflate(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body without its ``Content-Encoding`` (gzip or none), at most ``limit`` bytes."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise OtlpMediaError(f"Content-Encoding {coding[:50]!r} is not gzip")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OtlpBodyError(f"the body is not gzip: {exc}") from None
    if len(plain) > limit:
        raise OtlpBodyError(f"the body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise OtlpBodyError("the gzip body is cut short")
    return plain


_logs_json = msgspec.json.Decoder(model.ExportLogsServiceRequest)
_metrics_json = msgspec.json.Decoder(model.ExportMetricsServiceRequest)


def log_records(body: bytes, encoding: Encoding) -> list[Record]:
    """The records of an ``ExportLogsServiceRequest``."""
    if encoding == "json":
        request = _json(_logs_json, body)
        return [
            _json_record(record, _json_attributes(rl.resource.attributes if rl.resource else []))
            for rl in request.resource_logs
            for scope in rl.scope_logs
            for record in scope.log_records
        ]
    message = logs_service_pb2.ExportLogsServiceRequest()
    _parse(message, body)
    records = []
    for rl in message.resource_logs:
        resource = _proto_attributes(rl.resource.attributes)
        for scope in rl.scope_logs:
            for record in scope.log_records:
                attributes = {**resource, **_proto_attributes(record.attributes)}
                body_value = _proto_value(record.body) if record.HasField("body") else None
                name = record.event_name or (body_value if isinstance(body_value, str) else "")
                when = record.time_unix_nano or record.observed_time_unix_nano
                records.append(Record(name, when, attributes))
    return records


def metric_points(body: bytes, encoding: Encoding) -> list[Point]:
    """The data points of the sums in an ``ExportMetricsServiceRequest`` (gauges,
    histograms and summaries are not read)."""
    if encoding == "json":
        request = _json(_metrics_json, body)
        points: list[Point] = []
        for rm in request.resource_metrics:
            resource = _json_attributes(rm.resource.attributes if rm.resource else [])
            for scope in rm.scope_metrics:
                for metric in scope.metrics:
                    if metric.sum is not None:
                        points.extend(_json_points(metric.name, metric.sum, resource))
        return points
    message = metrics_service_pb2.ExportMetricsServiceRequest()
    _parse(message, body)
    found = []
    for rm in message.resource_metrics:
        resource = _proto_attributes(rm.resource.attributes)
        for scope in rm.scope_metrics:
            for metric in scope.metrics:
                if metric.WhichOneof("data") != "sum":
                    continue
                cumulative = metric.sum.aggregation_temporality == CUMULATIVE
                for dp in metric.sum.data_points:
                    number = dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double
                    found.append(
                        Point(
                            metric.name,
                            dp.start_time_unix_nano,
                            dp.time_unix_nano,
                            float(number),
                            cumulative,
                            {**resource, **_proto_attributes(dp.attributes)},
                        )
                    )
    return found


def _parse(message: Any, body: bytes) -> None:
    try:
        message.ParseFromString(body)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise OtlpBodyError(f"the body is not an OTLP protobuf message: {exc}") from None


def _json(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except UnicodeError as exc:
        raise OtlpBodyError(f"the body is not valid UTF-8: {exc}") from None
    except msgspec.DecodeError as exc:  # ValidationError included: a wrong shape
        raise OtlpBodyError(f"the body is not OTLP/JSON: {exc}") from None


def _int(value: model.Int64, where: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise OtlpBodyError(f"{where} {value[:40]!r} is not an integer") from None


def _double(value: model.Double, where: str) -> float:
    if isinstance(value, float | int):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.lower().replace("infinity", "inf"))
    raise OtlpBodyError(f"{where} {value[:40]!r} is not a number")


def _json_record(record: model.LogRecord, resource: Attributes) -> Record:
    attributes = {**resource, **_json_attributes(record.attributes)}
    body = _json_value(record.body) if record.body is not None else None
    name = record.event_name or (body if isinstance(body, str) else "")
    when = _int(record.time_unix_nano, "timeUnixNano") or _int(
        record.observed_time_unix_nano, "observedTimeUnixNano"
    )
    return Record(name, when, attributes)


def _json_points(name: str, total: model.Sum, resource: Attributes) -> Iterable[Point]:
    cumulative = total.aggregation_temporality == CUMULATIVE
    for dp in total.data_points:
        if dp.as_int is not None:
            value = float(_int(dp.as_int, "asInt"))
        elif dp.as_double is not None:
            value = _double(dp.as_double, "asDouble")
        else:
            value = 0.0
        yield Point(
            name,
            _int(dp.start_time_unix_nano, "startTimeUnixNano"),
            _int(dp.time_unix_nano, "timeUnixNano"),
            value,
            cumulative,
            {**resource, **_json_attributes(dp.attributes)},
        )


def _json_attributes(pairs: list[model.KeyValue]) -> Attributes:
    return {pair.key: _json_value(pair.value) for pair in pairs}


def _json_value(value: model.AnyValue | None) -> Value:
    if value is None:
        return None
    if value.string_value is not None:
        return value.string_value
    if value.bool_value is not None:
        return value.bool_value
    if value.int_value is not None:
        return _int(value.int_value, "intValue")
    if value.double_value is not None:
        return _double(value.double_value, "doubleValue")
    if value.bytes_value is not None:
        return value.bytes_value
    if value.array_value is not None or value.kvlist_value is not None:
        return msgspec.json.encode(value).decode()
    return None


def _proto_attributes(pairs: Iterable[common_pb2.KeyValue]) -> Attributes:
    return {pair.key: _proto_value(pair.value) for pair in pairs}


def _proto_value(value: common_pb2.AnyValue) -> Value:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return msgspec.json.encode([_proto_value(v) for v in value.array_value.values]).decode()
    if kind == "kvlist_value":
        return msgspec.json.encode(_proto_attributes(value.kvlist_value.values)).decode()
    return None
