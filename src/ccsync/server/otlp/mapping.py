"""Claude Code's OpenTelemetry records → what ccsync keeps: usage entries, metric points,
retention sweeps. Pure: the device, account and clock come from the caller.

``claude_code.api_request`` → a ``UsageEntry`` equal to the transcript line of the same
request where the event can say it (2.1.332 sends every token count, the model, the
session, ``speed`` and ``request_id``, which equals the transcript's ``requestId``):

- tokens from ``input_tokens``, ``output_tokens``, ``cache_read_tokens`` and the cache
  writes as the transcript's usage has them: ``cache_creation_5m_tokens`` +
  ``cache_creation_1h_tokens`` when either is sent (the 1-hour part priced at its own
  rate), else ``cache_creation_tokens``. Numbers may be ints, integral doubles or strings.
- the time is the record's (a few milliseconds after the transcript line's: the event is
  logged when the answer is complete); session and ``sessionId`` from ``session.id``;
  ``speed: fast`` is fast mode, any ``speed`` counts as having one.
- the project is the ``ccsync.project`` attribute, else ``DEFAULT_PROJECT`` (events do not
  say the working directory).
- no message id (the event has none) and no ``costUSD`` (the transcript line has none:
  both are priced from the same table); sidechain when Claude Code classes the request as
  a sub-agent's (``query_source`` ``agent:…`` or ``hook_agent``), as its sub-agent
  transcripts mark their lines.
- identity: source ``otlp://<device>/<session>``, offset a 63-bit hash of ``request_id``,
  so an exporter's retry (or the same event sent twice) is the same line.

Requests Claude Code classes as auxiliary (session titles, quota checks, compaction,
memory extraction…: any ``query_source`` other than ``sdk``, ``repl_main_thread…``,
``agent:…`` and ``hook_agent``) are written to no transcript, so ccusage never counts
them: they give no entry either (``AUXILIARY``), and their metric points are not kept.
"""

from __future__ import annotations

import hashlib
import json
import math

from ccsync.bounds import acceptable, time_problem
from ccsync.server.otlp.decode import Attributes, Point, Record, Value
from ccsync.storage.history.telemetry import MetricName, MetricPoint, RetentionSweep
from ccsync.usage.entry import TELEMETRY_SOURCE_PREFIX, UsageEntry
from ccsync.usage.timestamps import parse_timestamp

API_REQUEST = "claude_code.api_request"
RETENTION_SWEEP = "claude_code.retention_sweep"
TOKEN_USAGE = "claude_code.token.usage"
COST_USAGE = "claude_code.cost.usage"
EVENT_PREFIX = "claude_code."

DEVICE_ATTRIBUTE = "ccsync.device"
ACCOUNT_ATTRIBUTE = "ccsync.account"
PROJECT_ATTRIBUTE = "ccsync.project"
CLAUDE_ACCOUNT_ATTRIBUTE = "user.account_uuid"
"""The account's UUID as Claude Code knows it: the agent's account (``oauthAccount.accountUuid``)."""
DEFAULT_PROJECT = "otel"
"""The project of entries whose events name none."""
UNKNOWN_SESSION = "unknown"
AUXILIARY = "auxiliary"
"""The class of requests no transcript shows (Claude Code's own word, on metric points)."""
COUNTED_METRIC_CLASSES = frozenset({"main", "subagent", "workflow", "side_reply"})
MAX_COUNT = 2**63 - 1
SWEEP_FIELDS = (
    "period_days",
    "used_default",
    "skip_reason",
    "transcripts_deleted",
    "transcripts_exempted_desktop",
    "session_files_deleted",
    "artifacts_deleted",
    "files_retained_fresh",
    "files_past_cutoff",
    "error_count",
    "history_entries_pruned",
)


class RecordError(ValueError):
    """One record or point that cannot be kept (the message says why)."""


def event_name(record: Record) -> str:
    """``claude_code.<event>``: the record's event name or body, else its ``event.name``."""
    if record.name.startswith(EVENT_PREFIX):
        return record.name
    named = record.attributes.get("event.name")
    if isinstance(named, str) and named:
        return named if named.startswith(EVENT_PREFIX) else EVENT_PREFIX + named
    return record.name


def text(attributes: Attributes, key: str) -> str | None:
    """A non-empty string attribute."""
    value = attributes.get(key)
    return value if isinstance(value, str) and value else None


def request_class(query_source: str | None) -> str:
    """Claude Code 2.1.332's class of a request by its ``query_source`` (``main``,
    ``subagent`` or ``auxiliary``); none given (older versions): ``main``."""
    if query_source is None or query_source == "sdk" or query_source.startswith("repl_main_thread"):
        return "main"
    if query_source.startswith("agent:") or query_source == "hook_agent":
        return "subagent"
    return AUXILIARY


def usage_entry(record: Record, device_id: str, now_ms: int) -> UsageEntry | None:
    """The entry of an ``api_request`` record; ``None`` for an auxiliary request;
    ``RecordError`` when it cannot be taken."""
    attributes = record.attributes
    request_id = text(attributes, "request_id")
    if request_id is None:
        raise RecordError(
            "api_request without request_id: it could not be told apart from its transcript line"
        )
    kind = request_class(text(attributes, "query_source"))
    if kind == AUXILIARY:
        return None
    timestamp = record_time(record)
    if not acceptable(timestamp, now_ms):
        raise RecordError(f"api_request {request_id}: time {time_problem(timestamp, now_ms)}")
    five = _count(attributes, "cache_creation_5m_tokens", request_id)
    hour = _count(attributes, "cache_creation_1h_tokens", request_id)
    split = "cache_creation_5m_tokens" in attributes or "cache_creation_1h_tokens" in attributes
    cache_creation = (
        five + hour if split else _count(attributes, "cache_creation_tokens", request_id)
    )
    session = text(attributes, "session.id")
    project = text(attributes, PROJECT_ATTRIBUTE) or DEFAULT_PROJECT
    speed = text(attributes, "speed")
    shown_session = session or UNKNOWN_SESSION
    return UsageEntry(
        timestamp_ms=timestamp,
        input_tokens=_count(attributes, "input_tokens", request_id, required=True),
        output_tokens=_count(attributes, "output_tokens", request_id, required=True),
        cache_creation_tokens=cache_creation,
        cache_creation_1h_tokens=hour if split else 0,
        cache_read_tokens=_count(attributes, "cache_read_tokens", request_id),
        model=text(attributes, "model"),
        fast=speed == "fast",
        has_speed=speed is not None,
        message_id=None,
        request_id=request_id,
        session_field=session,
        cost_usd=None,
        sidechain=kind == "subagent",
        usage_limit_reset_ms=None,
        project=project,
        session=shown_session,
        project_path=project,
        source=f"{TELEMETRY_SOURCE_PREFIX}{device_id}/{shown_session}",
        offset=stable_offset(request_id),
    )


def stable_offset(request_id: str) -> int:
    """A line offset for a request id: the same id always gives the same one (63 bits)."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def record_time(record: Record) -> int:
    """The record's time in milliseconds (its ``event.timestamp`` when it has no time)."""
    if record.time_ns > 0:
        return record.time_ns // 1_000_000
    stamp = text(record.attributes, "event.timestamp")
    parsed = parse_timestamp(stamp) if stamp else None
    if parsed is None:
        raise RecordError("a record without a time")
    return parsed


def _count(attributes: Attributes, key: str, request_id: str, required: bool = False) -> int:
    value: Value = attributes.get(key)
    if value is None:
        if required:
            raise RecordError(f"api_request {request_id}: {key} is missing")
        return 0
    number: float | int
    if isinstance(value, bool):
        number = math.nan
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
    else:
        number = value
    if isinstance(number, float):
        if not math.isfinite(number) or number != int(number):
            raise RecordError(f"api_request {request_id}: {key} {value!r} is not a count")
        number = int(number)
    if not 0 <= number <= MAX_COUNT:
        raise RecordError(f"api_request {request_id}: {key} {value!r} is not a count")
    return number


def retention_sweep(record: Record, account: str, device_id: str, now_ms: int) -> RetentionSweep:
    attributes = record.attributes
    when = record_time(record)
    if not acceptable(when, now_ms):
        raise RecordError(f"retention_sweep: time {time_problem(when, now_ms)}")
    session = text(attributes, "session.id") or UNKNOWN_SESSION
    details = {k: str(attributes[k]) for k in SWEEP_FIELDS if attributes.get(k) is not None}
    deleted = details.get("transcripts_deleted")
    key = json.dumps(
        [device_id, session, attributes.get("event.sequence"), record.time_ns, when], default=str
    )
    return RetentionSweep(
        key=hashlib.sha256(key.encode()).hexdigest(),
        account=account,
        device_id=device_id,
        session=session,
        time_ms=when,
        result=text(attributes, "result") or "unknown",
        transcripts_deleted=int(deleted) if deleted is not None and deleted.isdigit() else None,
        details=details,
    )


def metric_point(point: Point, account: str, device_id: str, now_ms: int) -> MetricPoint | None:
    """The point to keep of a token or cost data point; ``None`` for other metrics and for
    auxiliary requests' points; ``RecordError`` when it cannot be taken."""
    metric: MetricName
    if point.metric == TOKEN_USAGE:
        metric = "tokens"
    elif point.metric == COST_USAGE:
        metric = "cost"
    else:
        return None
    attributes = point.attributes
    kind = text(attributes, "query_source")
    if kind is not None and kind not in COUNTED_METRIC_CLASSES:
        return None
    when = point.time_ns // 1_000_000
    if not acceptable(when, now_ms):
        raise RecordError(f"{point.metric}: time {time_problem(when, now_ms)}")
    if not math.isfinite(point.value) or point.value < 0:
        raise RecordError(f"{point.metric}: value {point.value!r} is not a count")
    series = json.dumps(
        [
            device_id,
            point.metric,
            sorted((k, str(v)) for k, v in attributes.items()),
            point.start_ns,
            None if point.cumulative else point.time_ns,
        ]
    )
    return MetricPoint(
        account=account,
        device_id=device_id,
        session=text(attributes, "session.id") or UNKNOWN_SESSION,
        metric=metric,
        kind=(text(attributes, "type") or "") if metric == "tokens" else "",
        series=hashlib.sha256(series.encode()).hexdigest(),
        time_ms=when,
        value=point.value,
        model=text(attributes, "model"),
    )
