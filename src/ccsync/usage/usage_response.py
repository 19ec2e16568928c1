"""Claude's account usage response (``GET /api/oauth/usage``) → official readings per window.

The body Claude Code fetches for ``/usage``, and keeps a copy of in ``~/.claude.json`` as
``cachedUsageUtilization = {fetchedAtMs, accountUuid?, utilization: <the body>}``. Two
shapes, often in one body (``../shared/research/claude-code.md`` §5.3)::

    {"five_hour": {"utilization": 53.0, "resets_at": "2026-07-08T00:49:59.940321+00:00"},
     "seven_day": {"utilization": 8.0, "resets_at": "2026-07-13T06:00:00+00:00"},
     "seven_day_opus": null, "seven_day_sonnet": null, "iguana_necktie": null, …,
     "limits": [
       {"kind": "session", "percent": 53, "resets_at": "…", "scope": null, "is_active": true},
       {"kind": "weekly_all", "percent": 8, "resets_at": "…", "scope": null, …},
       {"kind": "weekly_scoped", "percent": 6, "resets_at": "…", "is_active": false,
        "scope": {"model": {"id": null, "display_name": "Fable"}, "surface": null}}]}

- ``limits[]`` (2026): ``session`` is the ``five_hour`` window, ``weekly_all`` ``seven_day``,
  ``weekly_scoped`` the 7-day window of a model family, named ``seven_day_<family>`` after
  ``scope.model.display_name`` (``Fable`` → ``seven_day_fable``, ``Opus`` →
  ``seven_day_opus``); ``percent`` 0-100; ``is_active`` marks the binding limit.
- The flat buckets (2025 on): ``five_hour``, ``seven_day``, ``seven_day_opus``,
  ``seven_day_sonnet``, each ``{utilization: 0-100, resets_at: ISO-8601 | null}`` or
  ``null`` (the model ones are always ``null`` since the scoped limits moved to
  ``limits[]``). Other keys (``seven_day_cowork``, code names such as ``tangelo``) are no
  window ccsync knows: ignored.

``limits[]`` wins for the windows it has; the flat buckets fill in the others. A window
at ``0`` with no ``resets_at`` has not started (the next request starts it): it is a
reading of 0 % with no reset. What is not understood is skipped and counted, entry by
entry, so one odd entry does not hide its siblings: a ``limits[]`` entry of another kind,
a scoped one without a model name (or scoped to a ``surface``: not a model family's
window), a percentage that is not a number in 0-1000, a reset that is no ISO-8601 time
with an offset. Of two entries of one window, the higher percentage stays (the one
closer to stopping the user).

Pure: bytes (or a decoded object) in, readings out, never an exception, no clock. The
``~/.claude.json`` document can be megabytes of other state: ``read_cached_usage``
decodes only ``cachedUsageUtilization`` (msgspec skips the rest without building it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import msgspec

CACHE_KEY = "cachedUsageUtilization"
"""Where ``~/.claude.json`` keeps its copy of the usage response."""
MAX_EPOCH_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: later instants cannot be shown as dates."""
MAX_PERCENT = 1000.0
"""The highest percentage taken (as the wire takes it): the response says 0-100."""
MAX_FAMILY_WORDS = 4
MAX_FAMILY_CHARS = 48
FLAT_WINDOWS = ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet")
"""The flat buckets that are usage windows; every other key is ignored."""
LIMIT_KINDS = {"session": "five_hour", "weekly_all": "seven_day"}
SCOPED_KIND = "weekly_scoped"
SCOPED_PREFIX = "seven_day_"
_WORD = re.compile(r"[a-z0-9]+", re.ASCII)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class UsageReading(msgspec.Struct, frozen=True):
    """One window of the response, as an official reading."""

    window: str
    """``five_hour``, ``seven_day`` or ``seven_day_<family>`` (``seven_day_fable``)."""
    used_percentage: float
    """0-100 (as the response says it)."""
    resets_at_ms: int | None
    """When the window resets (epoch milliseconds); ``None``: it has not started."""
    is_active: bool = False
    """``limits[]`` says this is the binding limit (the flat buckets never say)."""


class UsageSnapshot(msgspec.Struct, frozen=True):
    """What one usage response says: its windows (``five_hour``, ``seven_day``, then the
    scoped ones by name), and how much of it was not understood."""

    readings: tuple[UsageReading, ...] = ()
    fetched_at_ms: int | None = None
    """When Claude Code fetched it (the cache's ``fetchedAtMs``): when the readings were
    observed. ``None`` for a body read as it came."""
    account: str | None = None
    """The cache's ``accountUuid``, when it says."""
    skipped: int = 0
    """Windows or ``limits[]`` entries given but not understood."""

    def reading(self, window: str) -> UsageReading | None:
        return next((found for found in self.readings if found.window == window), None)


class CacheRead(msgspec.Struct, frozen=True):
    """What a ``~/.claude.json`` holds of the usage response: a snapshot, or why not.

    ``snapshot`` and ``problem`` both ``None``: the file has no ``cachedUsageUtilization``
    (a file that carries no figures, as Claude Code's small bootstrap ``.claude.json`` in
    its config folder); ``problem`` says why a file or its cache could not be read."""

    snapshot: UsageSnapshot | None = None
    problem: str | None = None


class _Document(msgspec.Struct):
    """The one key of ``~/.claude.json`` read; the rest is skipped, never built."""

    cached: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw, name=CACHE_KEY)


_decode_document = msgspec.json.Decoder(_Document).decode
_decode_any = msgspec.json.Decoder().decode
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeError, RecursionError)


def parse_usage_response(body: bytes | str | object) -> UsageSnapshot | None:
    """The readings of a usage response: its JSON (bytes or text) or the decoded object.
    ``None`` when it is not a JSON object."""
    if isinstance(body, bytes | str):
        try:
            body = _decode_any(body)
        except _DECODE_ERRORS:
            return None
    if not isinstance(body, dict):
        return None
    return _snapshot(body)


def read_cached_usage(document: bytes | str) -> CacheRead:
    """The usage response ``~/.claude.json`` (all of it) keeps, observed at its
    ``fetchedAtMs``."""
    try:
        raw = _decode_document(document).cached
    except _DECODE_ERRORS as exc:
        return CacheRead(problem=f"not a JSON object: {_short(exc)}")
    if not raw:
        return CacheRead()
    try:
        cached = _decode_any(raw)
    except _DECODE_ERRORS as exc:  # invalid UTF-8 in it: read only now
        return CacheRead(problem=f"{CACHE_KEY} is not JSON: {_short(exc)}")
    return parse_cache(cached)


def parse_cache(cached: object) -> CacheRead:
    """``cachedUsageUtilization`` decoded: ``{fetchedAtMs, accountUuid?, utilization}``."""
    if cached is None:
        return CacheRead()
    if not isinstance(cached, dict):
        return CacheRead(problem=f"{CACHE_KEY} is not an object")
    fetched = _epoch_ms(cached.get("fetchedAtMs"))
    if fetched is None:
        return CacheRead(problem=f"{CACHE_KEY}.fetchedAtMs is no time in epoch milliseconds")
    body = cached.get("utilization")
    if not isinstance(body, dict):
        return CacheRead(problem=f"{CACHE_KEY}.utilization is not an object")
    account = cached.get("accountUuid")
    found = _snapshot(body)
    return CacheRead(
        msgspec.structs.replace(
            found,
            fetched_at_ms=fetched,
            account=account if isinstance(account, str) and 0 < len(account) <= 256 else None,
        )
    )


def family_window(display_name: object) -> str | None:
    """The 7-day window of a model family by its display name: ``Fable`` →
    ``seven_day_fable``, ``Claude Opus 4`` → ``seven_day_claude_opus_4`` (lower-case ASCII
    words joined by ``_``, at most four). ``None`` when no such name can be made."""
    if not isinstance(display_name, str) or len(display_name) > 4 * MAX_FAMILY_CHARS:
        return None
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    words = _WORD.findall(ascii_name.lower())
    family = "_".join(words)
    if not words or len(words) > MAX_FAMILY_WORDS or len(family) > MAX_FAMILY_CHARS:
        return None
    return SCOPED_PREFIX + family


def _snapshot(body: Mapping[str, object]) -> UsageSnapshot:
    found: dict[str, UsageReading] = {}
    skipped = 0
    limits = body.get("limits")
    if isinstance(limits, list):
        for entry in limits:
            reading = _limit(entry)
            if reading is None:
                skipped += 1
            else:
                _keep(found, reading)
    elif limits is not None:
        skipped += 1
    from_limits = set(found)
    for window in FLAT_WINDOWS:
        bucket = body.get(window)
        if bucket is None or window in from_limits:
            continue
        reading = _bucket(window, bucket)
        if reading is None:
            skipped += 1
        else:
            found[window] = reading
    return UsageSnapshot(tuple(sorted(found.values(), key=_order)), skipped=skipped)


def _order(reading: UsageReading) -> tuple[int, str]:
    """``five_hour``, ``seven_day``, then the scoped windows by name."""
    rank = {"five_hour": 0, "seven_day": 1}.get(reading.window, 2)
    return rank, reading.window


def _keep(found: dict[str, UsageReading], reading: UsageReading) -> None:
    """Of two entries of one window the higher percentage stays (binding if either is)."""
    held = found.get(reading.window)
    if held is None:
        found[reading.window] = reading
        return
    kept = reading if reading.used_percentage > held.used_percentage else held
    found[reading.window] = msgspec.structs.replace(
        kept, is_active=held.is_active or reading.is_active
    )


def _limit(entry: object) -> UsageReading | None:
    """One ``limits[]`` entry as a reading; ``None`` when it is none ccsync knows."""
    if not isinstance(entry, dict):
        return None
    kind = entry.get("kind")
    window = LIMIT_KINDS.get(kind) if isinstance(kind, str) else None
    if kind == SCOPED_KIND:
        scope = entry.get("scope")
        if not isinstance(scope, dict) or scope.get("surface") is not None:
            return None
        model = scope.get("model")
        window = family_window(model.get("display_name")) if isinstance(model, dict) else None
    if window is None:
        return None
    percent = _percent(entry.get("percent"))
    readable, resets = _reset(entry.get("resets_at"))
    if percent is None or not readable:
        return None
    return UsageReading(window, percent, resets, entry.get("is_active") is True)


def _bucket(window: str, bucket: object) -> UsageReading | None:
    """A flat bucket ``{utilization, resets_at}`` as a reading."""
    if not isinstance(bucket, dict):
        return None
    percent = _percent(bucket.get("utilization"))
    readable, resets = _reset(bucket.get("resets_at"))
    if percent is None or not readable:
        return None
    return UsageReading(window, percent, resets)


def _percent(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    percent = float(value)
    return percent if math.isfinite(percent) and 0 <= percent <= MAX_PERCENT else None


def _reset(value: object) -> tuple[bool, int | None]:
    """Whether ``resets_at`` is readable, and its epoch milliseconds (``None``: it is null,
    the window has not started). Readable: null, or ISO-8601 with an offset."""
    if value is None:
        return True, None
    if not isinstance(value, str) or not 10 <= len(value) <= 64 or not value.isascii():
        return False, None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return False, None
    if when.utcoffset() is None:
        return False, None
    ms = (when - _EPOCH) // _MS
    return (True, ms) if 0 < ms <= MAX_EPOCH_MS else (False, None)


def _epoch_ms(value: object) -> int | None:
    """``fetchedAtMs`` (JavaScript's ``Date.now()``): a positive number of milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    ms = int(value)
    return ms if 0 < ms <= MAX_EPOCH_MS else None


def _short(error: BaseException) -> str:
    return str(error)[:200] or type(error).__name__
