"""OTLP bodies → records → entries, points and sweeps: the pure part of the OpenTelemetry ingest."""

from __future__ import annotations

import gzip

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from ccsync.server.otlp import decode, mapping
from ccsync.server.otlp.answers import encode_status
from ccsync.server.otlp.decode import Point, Record

NOW_MS = 1_795_000_000_000
NOW_NS = NOW_MS * 1_000_000


def api_request(**attributes: object) -> Record:
    values: dict[str, object] = {
        "session.id": "s1",
        "input_tokens": 12,
        "output_tokens": 5,
        "cache_read_tokens": 20_000,
        "cache_creation_tokens": 3000,
        "cache_creation_5m_tokens": 1000,
        "cache_creation_1h_tokens": 2000,
        "model": "claude-haiku-5-5",
        "request_id": "req_1",
        "speed": "normal",
        "query_source": "sdk",
    }
    values.update(attributes)
    return Record(mapping.API_REQUEST, NOW_NS, {k: v for k, v in values.items() if v is not None})  # type: ignore[misc]


def test_an_api_request_is_the_transcript_line_s_entry() -> None:
    made = mapping.usage_entry(api_request(), "laptop", NOW_MS)
    assert made is not None and made.from_telemetry
    assert (made.input_tokens, made.output_tokens, made.cache_read_tokens) == (12, 5, 20_000)
    assert (made.cache_creation_tokens, made.cache_creation_1h_tokens) == (3000, 2000)
    assert (made.session, made.session_field, made.request_id) == ("s1", "s1", "req_1")
    assert made.source == "otlp://laptop/s1" and made.offset == mapping.stable_offset("req_1")
    assert made.timestamp_ms == NOW_MS and made.cost_usd is None and made.message_id is None
    assert made.has_speed and not made.fast and not made.sidechain
    assert made.project == made.project_path == mapping.DEFAULT_PROJECT


@pytest.mark.parametrize("value", [12, 12.0, "12", "12.0"])
def test_numbers_may_be_ints_integral_doubles_or_strings(value: object) -> None:
    made = mapping.usage_entry(api_request(input_tokens=value), "d", NOW_MS)
    assert made is not None and made.input_tokens == 12


@pytest.mark.parametrize("value", [1.5, -1, "x", True, float("nan"), 2**64])
def test_what_is_not_a_count_is_refused(value: object) -> None:
    with pytest.raises(mapping.RecordError, match="input_tokens"):
        mapping.usage_entry(api_request(input_tokens=value), "d", NOW_MS)


def test_cache_writes_without_the_split_and_other_fields() -> None:
    flat = api_request(cache_creation_5m_tokens=None, cache_creation_1h_tokens=None)
    made = mapping.usage_entry(flat, "d", NOW_MS)
    assert made is not None and (made.cache_creation_tokens, made.cache_creation_1h_tokens) == (
        3000,
        0,
    )
    fast = mapping.usage_entry(api_request(speed="fast", **{"ccsync.project": "web"}), "d", NOW_MS)
    assert fast is not None and fast.fast and fast.project == "web"
    agent = mapping.usage_entry(api_request(query_source="agent:builtin:general"), "d", NOW_MS)
    assert agent is not None and agent.sidechain
    assert mapping.usage_entry(api_request(query_source="quota_check"), "d", NOW_MS) is None
    with pytest.raises(mapping.RecordError, match="request_id"):
        mapping.usage_entry(api_request(request_id=None), "d", NOW_MS)
    with pytest.raises(mapping.RecordError, match="output_tokens is missing"):
        mapping.usage_entry(api_request(output_tokens=None), "d", NOW_MS)
    late = Record(
        mapping.API_REQUEST, NOW_NS + 2 * 86_400_000 * 1_000_000, api_request().attributes
    )
    with pytest.raises(mapping.RecordError, match="ahead"):
        mapping.usage_entry(late, "d", NOW_MS)


def test_event_names_from_the_body_or_the_event_name_attribute() -> None:
    assert mapping.event_name(Record("claude_code.api_request", 0)) == mapping.API_REQUEST
    named = Record("", 0, {"event.name": "api_request"})
    assert mapping.event_name(named) == mapping.API_REQUEST


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def test_protobuf_and_json_give_the_same_records() -> None:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(_kv("ccsync.device", "laptop"))
    record = resource_logs.scope_logs.add().log_records.add()
    record.time_unix_nano = NOW_NS
    record.body.string_value = mapping.API_REQUEST
    for key, value in {"input_tokens": 12, "cost_usd": 0.5, "ok": True, "s": "x"}.items():
        record.attributes.append(_kv(key, value))
    body = request.SerializeToString()
    (from_protobuf,) = decode.log_records(body, "protobuf")
    as_json = (
        b'{"resourceLogs":[{"resource":{"attributes":[{"key":"ccsync.device","value":'
        b'{"stringValue":"laptop"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"'
        + str(NOW_NS).encode()
        + b'","body":{"stringValue":"claude_code.api_request"},"attributes":['
        b'{"key":"input_tokens","value":{"intValue":"12"}},{"key":"cost_usd","value":'
        b'{"doubleValue":0.5}},{"key":"ok","value":{"boolValue":true}},{"key":"s","value":'
        b'{"stringValue":"x"}}],"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}'
    )
    (from_json,) = decode.log_records(as_json, "json")
    assert from_protobuf == from_json
    assert from_json.attributes == {
        "ccsync.device": "laptop",
        "input_tokens": 12,
        "cost_usd": 0.5,
        "ok": True,
        "s": "x",
    }


def test_metric_points_delta_and_cumulative() -> None:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = mapping.TOKEN_USAGE
    metric.sum.aggregation_temporality = 2
    point = metric.sum.data_points.add()
    point.start_time_unix_nano, point.time_unix_nano, point.as_int = NOW_NS - 10, NOW_NS, 7
    for key, value in {"type": "output", "session.id": "s1", "query_source": "main"}.items():
        point.attributes.append(_kv(key, value))
    (found,) = decode.metric_points(request.SerializeToString(), "protobuf")
    assert found.cumulative and found.value == 7.0
    kept = mapping.metric_point(found, "a", "d", NOW_MS)
    assert kept is not None and (kept.kind, kept.session, kept.value) == ("output", "s1", 7.0)
    later = Point(found.metric, found.start_ns, NOW_NS + 5, 9.0, True, found.attributes)
    again = mapping.metric_point(later, "a", "d", NOW_MS)
    assert again is not None and again.series == kept.series  # one cumulative series
    delta = Point(found.metric, found.start_ns, NOW_NS + 5, 9.0, False, found.attributes)
    other = mapping.metric_point(delta, "a", "d", NOW_MS)
    assert other is not None and other.series != kept.series
    auxiliary = Point(found.metric, 0, NOW_NS, 1.0, False, {"query_source": "auxiliary"})
    assert mapping.metric_point(auxiliary, "a", "d", NOW_MS) is None


def test_bodies_that_cannot_be_read() -> None:
    with pytest.raises(decode.OtlpBodyError):
        decode.log_records(b"\xff\xff\xff", "protobuf")
    with pytest.raises(decode.OtlpBodyError):
        decode.log_records(b'{"resourceLogs": [{"scopeLogs": 1}]}', "json")
    with pytest.raises(decode.OtlpBodyError, match="integer"):
        decode.log_records(
            b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"x"}]}]}]}', "json"
        )
    with pytest.raises(decode.OtlpBodyError, match="inflates"):
        decode.inflate(gzip.compress(b"0" * 2000), "gzip", 1000)
    with pytest.raises(decode.OtlpMediaError):
        decode.encoding_of("text/plain")
    assert decode.inflate(gzip.compress(b"abc"), "gzip", 10) == b"abc"


def test_refusals_are_google_rpc_statuses() -> None:
    from google.rpc.status_pb2 import Status

    parsed = Status.FromString(encode_status(401, "no token", "protobuf"))
    assert (parsed.code, parsed.message) == (16, "no token")
    assert encode_status(429, "slow down", "json") == (
        b'{"code":8,"message":"slow down","error":"slow down"}'
    )
