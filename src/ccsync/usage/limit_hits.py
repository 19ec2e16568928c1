"""Official limit readings in transcripts: what a limit-hit line says about a window.

When Claude Code (2.x; seen in 2.1.332) is refused by a subscription limit, it writes a
synthetic assistant line such as::

    {"type":"assistant","timestamp":"2026-11-29T07:47:35.655Z","isApiErrorMessage":true,
     "error":"rate_limit","apiErrorStatus":429,"apiError":"usage_limit_reached",
     "quotaLimits":{"status":"rejected","resetsAt":1795942055,"rateLimitType":"five_hour",…},
     "apiErrorParams":{"rate_limit_info":{"status":"rejected","resetsAt":1795942055,…}},
     "message":{"model":"<synthetic>","usage":{…,"speed":null,…},…},…}

ccusage's token rules drop such a line (its ``speed`` is null), and so do ccsync's
(``parse``): it is never an entry. This pass reads it beside them, as an official reading
of that window: at the line's time, the window named by ``rateLimitType`` (``five_hour``,
``seven_day``, ``seven_day_opus``…) was used up (status ``rejected``: 100 %) and resets at
``resetsAt`` (Unix epoch seconds). ``quotaLimits`` is read first, else
``apiErrorParams.rate_limit_info``. (The "Claude AI usage limit reached|<epoch>" text of
older CLIs no longer exists; ``parse`` still reads it for ccusage's blocks report.)

Cheap where it does not apply: a buffer without the keys' bytes costs two substring
searches, and the token rules never see this pass. Pure: bytes in, readings out, never an
exception, no clock.
"""

from __future__ import annotations

import math
import re

import msgspec

from ccsync.usage.timestamps import parse_timestamp

QUOTA_MARKER = b'"quotaLimits"'
INFO_MARKER = b'"rate_limit_info"'
ERROR_MARKER = b'"isApiErrorMessage":true'
REJECTED = "rejected"
MAX_RESETS_AT = 253_402_300_799
"""9999-12-31T23:59:59Z in epoch seconds: later instants cannot be shown as dates."""
_WINDOW = re.compile(r"five_hour|seven_day(?:_[a-z0-9]+){0,4}", re.ASCII)
"""The names of the windows a reading can be of (``rateLimitType``): the 5-hour window, the
7-day one and the 7-day ones scoped to a model family (``seven_day_opus``…). Others
(``overage``…) are no usage window."""
_MAX_NAME = 64


class _Info(msgspec.Struct):
    status: str | None = None
    resets_at: float | None = msgspec.field(default=None, name="resetsAt")
    rate_limit_type: str | None = msgspec.field(default=None, name="rateLimitType")


class _Params(msgspec.Struct):
    rate_limit_info: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class _Line(msgspec.Struct):
    """The parts of a line this pass reads; ``Raw`` (empty when missing) so that one part of
    an unexpected shape does not hide the other."""

    timestamp: object = None
    is_api_error_message: object = msgspec.field(default=None, name="isApiErrorMessage")
    quota_limits: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw, name="quotaLimits")
    api_error_params: msgspec.Raw = msgspec.field(
        default_factory=msgspec.Raw, name="apiErrorParams"
    )


_decode_line = msgspec.json.Decoder(_Line).decode
_decode_info = msgspec.json.Decoder(_Info).decode
_decode_params = msgspec.json.Decoder(_Params).decode


class LimitHit(msgspec.Struct, frozen=True):
    """What one limit-hit line says: window ``window`` stood at ``status`` at
    ``observed_ms`` (the line's time) and resets at ``resets_at`` (epoch seconds)."""

    window: str
    """Claude Code's ``rateLimitType``: ``five_hour``, ``seven_day``, ``seven_day_opus``…"""
    resets_at: float
    """Unix epoch seconds."""
    observed_ms: int
    """The line's ``timestamp``, epoch milliseconds."""
    status: str
    """``rejected`` when the limit was hit; other statuses say nothing of the percentage."""

    @property
    def used_percentage(self) -> float | None:
        """The window's official percentage this line tells: 100 when it was refused."""
        return 100.0 if self.status == REJECTED else None

    @property
    def is_reading(self) -> bool:
        """A reading of a usage window's percentage and reset (what the server keeps)."""
        return self.used_percentage is not None and is_window(self.window)


def is_window(name: str) -> bool:
    """Whether ``rateLimitType`` ``name`` is a usage window (5-hour, 7-day, 7-day scoped)."""
    return _WINDOW.fullmatch(name) is not None


def might_hold_limit_hits(buf: bytes) -> bool:
    """The cheap pre-check: no limit-hit line can be in ``buf`` when this is false."""
    return QUOTA_MARKER in buf or INFO_MARKER in buf


def scan_limit_hits(buf: bytes) -> list[LimitHit]:
    """The limit-hit readings in ``buf`` (whole lines), in file order."""
    if not might_hold_limit_hits(buf):
        return []
    hits: list[LimitHit] = []
    find = buf.find
    pos = 0
    while True:
        quota, info = find(QUOTA_MARKER, pos), find(INFO_MARKER, pos)
        found = min(quota, info) if quota != -1 and info != -1 else max(quota, info)
        if found == -1:
            return hits
        start = buf.rfind(b"\n", 0, found) + 1
        end = find(b"\n", found)
        if end == -1:
            end = len(buf)
        hit = parse_limit_hit(buf[start:end])
        if hit is not None:
            hits.append(hit)
        pos = end + 1


def parse_limit_hit(line: bytes) -> LimitHit | None:
    """The reading of one transcript line, or ``None`` when it is no limit-hit line."""
    if ERROR_MARKER not in line:
        return None
    try:
        data = _decode_line(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if data.is_api_error_message is not True or not isinstance(data.timestamp, str):
        return None
    observed_ms = parse_timestamp(data.timestamp)
    if observed_ms is None:
        return None
    for info in (_quota(data.quota_limits), _rate_limit_info(data.api_error_params)):
        if info is None:
            continue
        name, resets, status = info.rate_limit_type, info.resets_at, info.status
        if (
            name is not None
            and 0 < len(name) <= _MAX_NAME
            and resets is not None
            and math.isfinite(resets)
            and 0 < resets <= MAX_RESETS_AT
            and status is not None
        ):
            return LimitHit(name, resets, observed_ms, status)
    return None


def _quota(raw: msgspec.Raw) -> _Info | None:
    if not raw:
        return None
    try:
        return _decode_info(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _rate_limit_info(raw: msgspec.Raw) -> _Info | None:
    if not raw:
        return None
    try:
        inner = _decode_params(raw).rate_limit_info
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return _quota(inner)
