"""OTLP/JSON: the request and answer bodies of ``/v1/logs`` and ``/v1/metrics`` as Structs.

The OTLP JSON mapping is protobuf's JSON mapping with lowerCamelCase keys only, 64-bit
integers as decimal strings (numbers accepted too), enums as integers, and trace and span
ids as hex strings. Fields ccsync does not read are left out: unknown keys are ignored,
as receivers must. Decoding is typed (msgspec), so a body of the wrong shape is refused as
a whole, like a protobuf body that does not parse.
"""

from __future__ import annotations

import msgspec

Int64 = int | str
"""A 64-bit integer: a decimal string in OTLP/JSON, a number accepted as well."""
Double = float | str
"""A double: a number, or ``"NaN"``/``"Infinity"``/``"-Infinity"`` as protobuf's JSON has them."""


class AnyValue(msgspec.Struct, rename="camel", omit_defaults=True):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: Int64 | None = None
    double_value: Double | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: str | None = None


class ArrayValue(msgspec.Struct, omit_defaults=True):
    values: list[AnyValue] = []


class KeyValue(msgspec.Struct, omit_defaults=True):
    key: str
    value: AnyValue | None = None


class KeyValueList(msgspec.Struct, omit_defaults=True):
    values: list[KeyValue] = []


class Resource(msgspec.Struct, omit_defaults=True):
    attributes: list[KeyValue] = []


class LogRecord(msgspec.Struct, rename="camel", omit_defaults=True):
    time_unix_nano: Int64 = 0
    observed_time_unix_nano: Int64 = 0
    body: AnyValue | None = None
    attributes: list[KeyValue] = []
    event_name: str = ""
    trace_id: str = ""
    """Hex (not read)."""


class ScopeLogs(msgspec.Struct, rename="camel", omit_defaults=True):
    log_records: list[LogRecord] = []


class ResourceLogs(msgspec.Struct, rename="camel", omit_defaults=True):
    resource: Resource | None = None
    scope_logs: list[ScopeLogs] = []


class ExportLogsServiceRequest(msgspec.Struct, rename="camel", omit_defaults=True):
    """``POST /v1/logs`` as OTLP/JSON (``application/json``)."""

    resource_logs: list[ResourceLogs] = []


class NumberDataPoint(msgspec.Struct, rename="camel", omit_defaults=True):
    attributes: list[KeyValue] = []
    start_time_unix_nano: Int64 = 0
    time_unix_nano: Int64 = 0
    as_double: Double | None = None
    as_int: Int64 | None = None


class Sum(msgspec.Struct, rename="camel", omit_defaults=True):
    data_points: list[NumberDataPoint] = []
    aggregation_temporality: int = 0
    """1: delta, 2: cumulative."""
    is_monotonic: bool = False


class Metric(msgspec.Struct, omit_defaults=True):
    name: str = ""
    unit: str = ""
    sum: Sum | None = None


class ScopeMetrics(msgspec.Struct, rename="camel", omit_defaults=True):
    metrics: list[Metric] = []


class ResourceMetrics(msgspec.Struct, rename="camel", omit_defaults=True):
    resource: Resource | None = None
    scope_metrics: list[ScopeMetrics] = []


class ExportMetricsServiceRequest(msgspec.Struct, rename="camel", omit_defaults=True):
    """``POST /v1/metrics`` as OTLP/JSON (``application/json``)."""

    resource_metrics: list[ResourceMetrics] = []


class ExportLogsPartialSuccess(msgspec.Struct, rename="camel"):
    rejected_log_records: str
    """How many records were refused (an int64, as a string)."""
    error_message: str


class ExportLogsServiceResponse(msgspec.Struct, rename="camel", omit_defaults=True):
    """The answer to ``/v1/logs``: ``{}``, or ``partialSuccess`` when records were refused."""

    partial_success: ExportLogsPartialSuccess | None = None


class ExportMetricsPartialSuccess(msgspec.Struct, rename="camel"):
    rejected_data_points: str
    """How many data points were refused (an int64, as a string)."""
    error_message: str


class ExportMetricsServiceResponse(msgspec.Struct, rename="camel", omit_defaults=True):
    """The answer to ``/v1/metrics``: ``{}``, or ``partialSuccess`` when points were refused."""

    partial_success: ExportMetricsPartialSuccess | None = None
