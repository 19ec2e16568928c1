"""The agent ⇄ server messages, version 1: one module that both sides build and test against.

A push (``POST /api/usage/{deviceId}``, or the ``usage_update`` WebSocket message) carries
exactly one of:

- ``entries``: usage lines as the device parsed them (``WireEntry``), the agent's format;
- ``blocks``: the output of ``ccusage blocks --json`` (devices that run ccusage, not the agent);
- ``tokens``: a bare token counter, kept only as live state.

Lines are identified by ``(source, offset)``: the file they came from on the device and
the byte offset of the line in it. The server prefixes ``source`` with the device id, so
the same path on two machines is two files, and sending a line twice changes nothing.

The history's identity (optional, all fields additive): an agent numbers the lines it
queues (its ``stream``, a random id, and a sequence number per line); an ``entries`` push
may say ``stream``, ``seq`` (its highest number) and ``acked`` (the highest number the
agent saw acknowledged). The server keeps, per device and stream, a ``mark``: it holds
every line numbered up to it. Acknowledgements (and the WebSocket ``welcome``, and
``GET /api/usage/{deviceId}/mark``) carry the server's ``historyId`` (random, made with
its database) and the mark, so an agent learns when the server lost what it had.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from ccsync.bounds import RESET_AHEAD_MS, acceptable, time_problem
from ccsync.usage.entry import UsageEntry

WIRE_VERSION = 1
MAX_ENTRIES_PER_PUSH = 20_000
MAX_BLOCKS_PER_PUSH = 5_000

Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
MAX_EPOCH_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: later instants cannot be shown as dates."""
EpochMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_MS)]
MAX_COST_USD = 1e9
"""More than any one request or block can cost: keeps every sum finite."""
Text = Annotated[str, msgspec.Meta(max_length=1024)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,128}$"
"""A device id: 1-128 letters, digits and ``._:@-`` (the same rule on every door)."""
RESERVED_DEVICE_IDS = frozenset({"sync", "ccusage"})
"""Names the REST API uses for itself under ``/api/usage/``."""
StreamId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
"""An agent's stream of numbered lines: a random id made with its state."""
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def device_id_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a device id; ``None`` when it is a good one."""
    if not isinstance(value, str) or not _DEVICE_ID.match(value):
        return "a device id is 1-128 letters, digits and ._:@-"
    if value in RESERVED_DEVICE_IDS:
        return f"{value!r} is a reserved name: choose another device id"
    return None


class WireEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel", omit_defaults=True):
    """One usage line, as ``ccsync.usage.entry.UsageEntry`` holds it."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    """The transcript file on the device (its path)."""
    offset: Count
    """Byte offset of the line in that file."""
    timestamp: EpochMs
    """Milliseconds since the epoch (UTC)."""
    project: Text
    session: Text
    project_path: Text
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_creation_tokens: Count = 0
    cache_creation_1h_tokens: Count = 0
    cache_read_tokens: Count = 0
    model: Text | None = None
    fast: bool = False
    has_speed: bool = False
    message_id: Id | None = None
    request_id: Id | None = None
    session_id: Id | None = None
    """The line's own ``sessionId`` field (may differ from the file's session)."""
    cost_usd: Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)] | None = None
    sidechain: bool = False
    usage_limit_reset: EpochMs | None = None
    """Milliseconds since the epoch when an API error announced the limit resets."""

    def to_entry(self, device_id: str, now_ms: int) -> UsageEntry:
        """The entry as the server stores it (its source qualified by the device).

        ``ValueError`` says why the server refuses it: inconsistent counts, or a time
        outside ``bounds`` at ``now_ms`` (the server's clock).
        """
        if self.cache_creation_1h_tokens > self.cache_creation_tokens:
            raise ValueError("cacheCreation1hTokens exceeds cacheCreationTokens")
        if not acceptable(self.timestamp, now_ms):
            raise ValueError(f"timestamp {time_problem(self.timestamp, now_ms)}")
        reset = self.usage_limit_reset
        if reset is not None and not acceptable(reset, now_ms, RESET_AHEAD_MS):
            raise ValueError(f"usageLimitReset {time_problem(reset, now_ms, RESET_AHEAD_MS)}")
        return UsageEntry(
            self.timestamp,
            self.input_tokens,
            self.output_tokens,
            self.cache_creation_tokens,
            self.cache_creation_1h_tokens,
            self.cache_read_tokens,
            self.model,
            self.fast,
            self.has_speed,
            self.message_id,
            self.request_id,
            self.session_id,
            self.cost_usd,
            self.sidechain,
            self.usage_limit_reset,
            self.project,
            self.session,
            self.project_path,
            f"{device_id}:{self.source}",
            self.offset,
        )

    @classmethod
    def from_entry(cls, entry: UsageEntry) -> WireEntry:
        """The wire form of a line the agent parsed (its ``source`` is the local path)."""
        return cls(
            source=entry.source,
            offset=entry.offset,
            timestamp=entry.timestamp_ms,
            project=entry.project,
            session=entry.session,
            project_path=entry.project_path,
            input_tokens=entry.input_tokens,
            output_tokens=entry.output_tokens,
            cache_creation_tokens=entry.cache_creation_tokens,
            cache_creation_1h_tokens=entry.cache_creation_1h_tokens,
            cache_read_tokens=entry.cache_read_tokens,
            model=entry.model,
            fast=entry.fast,
            has_speed=entry.has_speed,
            message_id=entry.message_id,
            request_id=entry.request_id,
            session_id=entry.session_field,
            cost_usd=entry.cost_usd,
            sidechain=entry.sidechain,
            usage_limit_reset=entry.usage_limit_reset_ms,
        )


class BlockTokenCounts(msgspec.Struct, rename="camel"):
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_creation_input_tokens: Count = 0
    cache_read_input_tokens: Count = 0


class CcusageBlock(msgspec.Struct, rename="camel"):
    """One block of ``ccusage blocks --json`` (fields ccsync does not use are ignored)."""

    id: Text
    start_time: Text
    end_time: Text
    is_active: bool = False
    is_gap: bool = False
    entries: Count = 0
    token_counts: BlockTokenCounts = msgspec.field(default_factory=BlockTokenCounts)
    cost_usd: Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)] = msgspec.field(
        default=0.0, name="costUSD"
    )
    models: list[Text] = msgspec.field(default_factory=list)
    actual_end_time: Text | None = None


class DeviceInfo(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a device says about itself (all optional)."""

    name: Text | None = None
    hostname: Text | None = None
    version: Text | None = None


class UsagePush(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A device's push: ``entries``, ``blocks`` or ``tokens`` (exactly one of them)."""

    entries: list[WireEntry] | None = None
    blocks: list[CcusageBlock] | None = None
    tokens: Count | None = None
    account: Id | None = None
    """The Claude account (``oauthAccount.accountUuid``); the device's, else ``default``."""
    device: DeviceInfo | None = None
    version: Annotated[int, msgspec.Meta(ge=1)] = WIRE_VERSION
    stream: StreamId | None = None
    """The sending agent's stream (with ``entries`` only; send to servers that tell their
    ``historyId``: older ones refuse unknown fields)."""
    seq: Count | None = None
    """The highest number among these lines in ``stream``."""
    acked: Count | None = None
    """The highest number of ``stream`` the agent saw acknowledged before this push: the
    server's mark moves on only if it holds that much."""

    def __post_init__(self) -> None:
        given = [
            name for name in ("entries", "blocks", "tokens") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("a push carries exactly one of entries, blocks or tokens")
        if self.entries is not None and len(self.entries) > MAX_ENTRIES_PER_PUSH:
            raise ValueError(f"at most {MAX_ENTRIES_PER_PUSH} entries per push: send several")
        if self.blocks is not None and len(self.blocks) > MAX_BLOCKS_PER_PUSH:
            raise ValueError(f"at most {MAX_BLOCKS_PER_PUSH} blocks per push")
        if self.version > WIRE_VERSION:
            raise ValueError(
                f"wire version {self.version} is newer than this server's ({WIRE_VERSION})"
            )
        if (self.seq is not None or self.acked is not None) and self.stream is None:
            raise ValueError("seq and acked number the lines of a stream: give the stream")
        if self.stream is not None and (self.entries is None or self.seq is None):
            raise ValueError("a stream is given with entries and their seq")


EpochSeconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_EPOCH_MS / 1000)]
LIMIT_SOURCES = ("statusline", "transcript", "warmup", "usage_cache", "usage_api")
"""Where an official reading came from: Claude Code's status-line input (``rate_limits``),
a limit-hit line of a transcript (``quotaLimits``), a warm-up run's ``rate_limit_event``,
Claude Code's copy of the account usage response in ``~/.claude.json``
(``cachedUsageUtilization``, observed at its ``fetchedAtMs``; ``ccsync.usage.usage_response``),
or that response fetched by the server itself (``GET /api/oauth/usage``, a poller to come).
Other names (of later sources) are taken as they are."""
LimitSource = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
ScopedWindow = Annotated[str, msgspec.Meta(pattern=r"^seven_day(_[a-z0-9]+){1,4}$")]
"""A 7-day window scoped to a model family, by Claude Code's name (``seven_day_opus``)."""
MAX_SCOPED_WINDOWS = 16


class RateLimit(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One of Claude Code's ``rate_limits`` windows, as its status line receives it."""

    used_percentage: Annotated[float, msgspec.Meta(ge=0, le=1000)]
    resets_at: EpochSeconds | None = None
    """Unix epoch seconds."""
    observed_at: EpochSeconds | None = None
    """When the device saw this reading (Unix epoch seconds; the time of the transcript line
    it was read from): of two readings of a window, the server keeps the later one.
    Without it, the time the server received it."""


class RateLimits(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``POST /api/limits/{deviceId}``: the official percentages a device's Claude Code showed.

    The shape of the status line's ``rate_limits`` object, plus the account; optionally
    (additive: send them to servers of this version or later, an older one refuses unknown
    fields) where the readings came from and other windows by name.
    """

    five_hour: RateLimit | None = None
    seven_day: RateLimit | None = None
    account: Id | None = None
    source: LimitSource | None = None
    """``statusline``, ``transcript``, ``warmup``, ``usage_cache`` or ``usage_api``
    (``LIMIT_SOURCES``); without it, ``statusline``."""
    windows: (
        Annotated[dict[ScopedWindow, RateLimit], msgspec.Meta(max_length=MAX_SCOPED_WINDOWS)] | None
    ) = None
    """Model-scoped 7-day windows (``seven_day_opus``…), each under its own name (the usage
    response's ``weekly_scoped`` limits as ``seven_day_<family>``: ``seven_day_fable``)."""

    def readings(self) -> list[tuple[str, RateLimit]]:
        """Every window given, by Claude Code's name."""
        named: list[tuple[str, RateLimit]] = []
        for name, limit in (("five_hour", self.five_hour), ("seven_day", self.seven_day)):
            if limit is not None:
                named.append((name, limit))
        return named + sorted((self.windows or {}).items())


class PushAck(msgspec.Struct, omit_defaults=False):
    """The server's answer to a push."""

    success: bool
    device_id: str = msgspec.field(name="deviceId")
    account: str
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    errors: list[str] = msgspec.field(default_factory=list)
    window: dict[str, Any] | None = None
    history_id: str | None = msgspec.field(default=None, name="historyId")
    """The server's history (random, made with its database: a new one means a new,
    wiped or replaced database)."""
    mark: int | None = None
    """For a push with a ``stream``: the server holds every line of it numbered up to this."""


class _LenientPush(msgspec.Struct, forbid_unknown_fields=True):
    entries: list[msgspec.Raw]
    account: Id | None = None
    device: DeviceInfo | None = None
    version: Annotated[int, msgspec.Meta(ge=1)] = WIRE_VERSION
    stream: StreamId | None = None
    seq: Count | None = None
    acked: Count | None = None


_push_decoder = msgspec.json.Decoder(UsagePush)
_lenient_decoder = msgspec.json.Decoder(_LenientPush)
_entry_decoder = msgspec.json.Decoder(WireEntry)
encode = msgspec.json.Encoder().encode
MAX_REPORTED_ERRORS = 10


def decode_push(body: bytes | str) -> tuple[UsagePush, int, list[str]]:
    """A push from JSON, with the number of entries rejected and why (the first few).

    A push whose envelope is wrong (not JSON, not UTF-8, a lone surrogate, unknown fields,
    none or several of ``entries``/``blocks``/``tokens``) raises ``msgspec.ValidationError``
    or ``msgspec.DecodeError``. Within ``entries``, each entry stands alone: the valid ones
    are taken and the others counted as rejected.
    """
    try:
        return _decode_push(body)
    except UnicodeError as exc:  # msgspec checks UTF-8 only where it reads a string
        raise msgspec.DecodeError(f"the body is not valid UTF-8: {exc}") from None


def _decode_push(body: bytes | str) -> tuple[UsagePush, int, list[str]]:
    try:
        return _push_decoder.decode(body), 0, []
    except msgspec.ValidationError as error:
        try:
            lenient = _lenient_decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise error from None
    if len(lenient.entries) > MAX_ENTRIES_PER_PUSH:
        raise msgspec.ValidationError(
            f"at most {MAX_ENTRIES_PER_PUSH} entries per push: send several"
        )
    good: list[WireEntry] = []
    errors: list[str] = []
    for index, raw in enumerate(lenient.entries):
        try:
            good.append(_entry_decoder.decode(raw))
        except msgspec.ValidationError as exc:
            errors.append(f"entries[{index}]: {exc}")
    try:
        push = UsagePush(
            entries=good,
            account=lenient.account,
            device=lenient.device,
            version=lenient.version,
            stream=lenient.stream,
            seq=lenient.seq,
            acked=lenient.acked,
        )
    except ValueError as exc:  # the envelope's own rules (version), as decoding reports them
        raise msgspec.ValidationError(str(exc)) from None
    return push, len(errors), errors[:MAX_REPORTED_ERRORS]


_limits_decoder = msgspec.json.Decoder(RateLimits)


def decode_limits(body: bytes | str) -> RateLimits:
    """``RateLimits`` from JSON; ``msgspec.DecodeError`` (or its subclass
    ``ValidationError``) when it is not, invalid UTF-8 included."""
    try:
        return _limits_decoder.decode(body)
    except UnicodeError as exc:
        raise msgspec.DecodeError(f"the body is not valid UTF-8: {exc}") from None
