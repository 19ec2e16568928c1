"""Ingest: a device's push → validated entries → history → live state → events.

The one path every push takes, whether it came over REST, over the WebSocket, or from the
server's own host agent. History is written first (the source of truth); the live keys
and the broadcast follow, so a client that hears of a push can read its effect.
"""

from __future__ import annotations

import logging

import msgspec

from ccsync.bounds import AHEAD_MS, RESET_AHEAD_MS, time_problem
from ccsync.clock import Clock
from ccsync.server import events
from ccsync.server.access import Principal
from ccsync.server.admission import Admission
from ccsync.server.devices import account_of, record_presence
from ccsync.server.live_keys import official_limits_key, tokens_key, window_key
from ccsync.server.live_values import OfficialReading, official_name, official_readings
from ccsync.server.reporting import Reporter
from ccsync.server.window import WindowView
from ccsync.storage.history.blocks import BlockStore, StoredBlock
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.entries import EntryStore, StreamMark
from ccsync.storage.history.limits import LimitStore, ReadingRecord
from ccsync.storage.live.base import EventBus, ValueStore
from ccsync.usage.entry import UsageEntry
from ccsync.usage.timestamps import iso_millis, parse_timestamp
from ccsync.wire import CcusageBlock, PushAck, RateLimit, RateLimits, UsagePush

log = logging.getLogger("ccsync.server.ingest")

OFFICIAL_MAX_TTL = 8 * 24 * 3600.0
"""As long as a reset may be ahead (``bounds.RESET_AHEAD_MS``)."""
DEFAULT_LIMIT_SOURCE = "statusline"
"""What sent official readings before they said so: the status line's refresher."""


class IngestError(ValueError):
    """A push that cannot be taken as a whole (the message says why)."""


class LimitsAccepted(msgspec.Struct):
    """The answer to a device's official readings: the account's window after them."""

    success: bool
    window: WindowView


class IngestService:
    def __init__(
        self,
        *,
        devices: DeviceStore,
        entries: EntryStore,
        blocks: BlockStore,
        values: ValueStore,
        bus: EventBus,
        reporter: Reporter,
        clock: Clock,
        admission: Admission | None = None,
        limits: LimitStore | None = None,
    ) -> None:
        self.devices = devices
        self.entries = entries
        self.blocks = blocks
        self.values = values
        self.bus = bus
        self.reporter = reporter
        self.clock = clock
        self.admission = admission
        """Who may push for which device (``receive``); without it, only trusted callers
        (the host agent, the scheduler) push, through ``push``."""
        self.limits = limits
        """Where official readings are kept as sent (``None``: only the live key)."""

    async def account_of(self, device_id: str, requested: str | None) -> str:
        return await account_of(self.devices, device_id, requested)

    async def receive(
        self,
        principal: Principal,
        client: str,
        device_id: str,
        push: UsagePush,
        rejected: int = 0,
        errors: list[str] | None = None,
    ) -> PushAck:
        """A client's push: admitted (``server.admission``), then taken (``push``)."""
        await self._admit(principal, device_id, push.account, client)
        return await self.push(device_id, push, rejected, errors)

    async def receive_limits(
        self, principal: Principal, client: str, device_id: str, limits: RateLimits
    ) -> LimitsAccepted:
        """A client's official readings: admitted, then kept (``report_limits``)."""
        await self._admit(principal, device_id, limits.account, client)
        return LimitsAccepted(success=True, window=await self.report_limits(device_id, limits))

    async def _admit(
        self, principal: Principal, device_id: str, account: str | None, client: str
    ) -> None:
        if self.admission is None:
            raise RuntimeError("this ingest service takes no pushes from clients")
        await self.admission.admit(principal, device_id, account, client)

    async def push(
        self, device_id: str, push: UsagePush, rejected: int = 0, errors: list[str] | None = None
    ) -> PushAck:
        """Take a push for ``device_id``; the acknowledgement carries the account window."""
        now = self.clock.now_ms()
        account = await self.account_of(device_id, push.account)
        errors = list(errors or [])
        entries = None
        if push.entries is not None:
            entries = []
            for index, wire_entry in enumerate(push.entries):
                try:
                    entries.append(wire_entry.to_entry(device_id, now))
                except ValueError as exc:
                    rejected += 1
                    if len(errors) < 10:
                        errors.append(f"entries[{index}]: {exc}")
        return await self._take(device_id, account, push, entries, rejected, errors, now)

    async def receive_entries(
        self,
        principal: Principal,
        client: str,
        device_id: str,
        account: str | None,
        entries: list[UsageEntry],
        rejected: int = 0,
        errors: list[str] | None = None,
    ) -> PushAck:
        """A client's entries made on the server (from telemetry, sources already
        qualified): admitted, then taken as a push of them is."""
        await self._admit(principal, device_id, account, client)
        now = self.clock.now_ms()
        resolved = await self.account_of(device_id, account)
        push = UsagePush(entries=[], account=account)  # the entries are made already
        return await self._take(
            device_id, resolved, push, entries, rejected, list(errors or []), now
        )

    async def admit(
        self, principal: Principal, device_id: str, account: str | None, client: str
    ) -> str:
        """Admit a client to act for ``device_id``; the account it acts in."""
        await self._admit(principal, device_id, account, client)
        return await self.account_of(device_id, account)

    async def _take(
        self,
        device_id: str,
        account: str,
        push: UsagePush,
        entries: list[UsageEntry] | None,
        rejected: int,
        errors: list[str],
        now: int,
    ) -> PushAck:
        history_id = await self.entries.history_id()
        info = push.device
        device = await self.devices.register_device(
            device_id,
            account,
            now,
            name=info.name if info else None,
            hostname=info.hostname if info else None,
            version=info.version if info else None,
        )
        accepted = duplicate = 0
        mark = None
        if entries is not None:
            numbered = None
            if push.stream is not None and push.seq is not None:
                numbered = StreamMark(push.stream, push.seq, push.acked or 0)
            result = await self.entries.ingest(account, device_id, entries, now, mark=numbered)
            accepted, duplicate, mark = result.accepted, result.duplicate, result.mark
        elif push.blocks is not None:
            blocks = []
            for index, block in enumerate(push.blocks):
                try:
                    blocks.append(_stored_block(account, device_id, block, now))
                except ValueError as exc:
                    rejected += 1
                    if len(errors) < 10:
                        errors.append(f"blocks[{index}]: {exc}")
            await self.blocks.replace_blocks(account, device_id, blocks)
            accepted = len(blocks)
        elif push.tokens is not None:
            await self.values.set(
                tokens_key(device_id), {"tokens": push.tokens, "timestamp": iso_millis(now)}
            )
            accepted = 1
        refreshed = await self.devices.get_device(device_id) or device
        await record_presence(self.values, refreshed, online=True)
        window = await self.reporter.window(account)
        shown = msgspec.to_builtins(window)
        await self.values.set(window_key(account), shown)
        await events.publish(
            self.bus,
            events.TokenUsageUpdate(
                device_id=device_id,
                account=account,
                accepted=accepted,
                window=window,
                timestamp=iso_millis(now),
            ),
        )
        log.info(
            "push.ingested",
            extra={
                "device": device_id,
                "account": account,
                "accepted": accepted,
                "duplicate": duplicate,
                "rejected": rejected,
            },
        )
        return PushAck(
            success=True,
            device_id=device_id,
            account=account,
            accepted=accepted,
            duplicate=duplicate,
            rejected=rejected,
            errors=errors,
            window=shown,
            history_id=history_id,
            mark=mark,
        )

    async def report_limits(self, device_id: str, limits: RateLimits) -> WindowView:
        """Keep the official readings a device's Claude Code gave, each until its reset.

        One reading per window (``fiveHour``, ``sevenDay``, ``sevenDayOpus``…), with where
        it came from (``limits.source``), the device, and when it was observed: of two
        readings of a window the later observed one stays, whatever order they arrive in
        (a transcript line read late does not undo a newer status line). A reading whose
        reset has passed is worthless and not kept. ``IngestError`` when a time is outside
        ``bounds`` (a reset 8 days ahead at most, an observation a day).
        """
        now = self.clock.now_ms()
        given = limits.readings()
        for name, limit in given:
            if limit.resets_at is not None:
                problem = time_problem(int(limit.resets_at * 1000), now, RESET_AHEAD_MS)
                if problem is not None:
                    raise IngestError(f"invalid limits: {name}.resets_at {problem}")
            if limit.observed_at is not None:
                problem = time_problem(int(limit.observed_at * 1000), now, AHEAD_MS)
                if problem is not None:
                    raise IngestError(f"invalid limits: {name}.observed_at {problem}")
        account = await self.account_of(device_id, limits.account)
        await self.devices.register_device(device_id, account, now)
        source = limits.source or DEFAULT_LIMIT_SOURCE
        records = [
            ReadingRecord(
                account=account,
                window=name,
                used_percentage=limit.used_percentage,
                resets_at_ms=None if limit.resets_at is None else int(limit.resets_at * 1000),
                source=source,
                device_id=device_id,
                observed_ms=_observed_ms(limit, now),
                received_ms=now,
            )
            for name, limit in given
        ]
        # Kept as sent, reset or not: a past reading still teaches the estimates its ratio.
        if self.limits is not None and await self.limits.add_readings(records):
            await events.publish(
                self.bus, events.ReadingsKept(account=account, timestamp=iso_millis(now))
            )
        key = official_limits_key(account)
        kept = official_readings(key, await self.values.get(key))
        changed = False
        for name, limit in given:
            resets_ms = None if limit.resets_at is None else int(limit.resets_at * 1000)
            if resets_ms is not None and resets_ms <= now:
                continue  # reset already: it says nothing of the window now
            # a device's clock ahead of the server's does not make its readings newer
            observed = _observed_ms(limit, now)
            field = official_name(name)
            held = kept.get(field)
            if held is not None and held.observed() > observed and not held.expired(now):
                continue  # a later reading of this window is kept
            kept[field] = OfficialReading(
                used_percentage=limit.used_percentage,
                resets_at_ms=resets_ms,
                device_id=device_id,
                reported_ms=now,
                source=source,
                observed_ms=observed,
            )
            changed = True
        if changed:
            # readings whose window reset stay until the key expires (never shown: the
            # warm-up learns from them that the window ended)
            current = {field: msgspec.to_builtins(reading) for field, reading in kept.items()}
            resets = [r.resets_at_ms for r in kept.values() if r.resets_at_ms is not None]
            ttl = max([(ms - now) / 1000 for ms in resets], default=0.0)
            ttl = min(max(ttl, self.values.default_ttl), OFFICIAL_MAX_TTL)
            await self.values.set(key, current, ttl=ttl)
        window = await self.reporter.window(account)
        await self.values.set(window_key(account), msgspec.to_builtins(window))
        return window


def _observed_ms(limit: RateLimit, now: int) -> int:
    """When the device saw ``limit`` (the server's now without it): a device's clock ahead
    of the server's does not make its readings newer."""
    return now if limit.observed_at is None else min(int(limit.observed_at * 1000), now)


def _stored_block(account: str, device_id: str, block: CcusageBlock, now: int) -> StoredBlock:
    """The block as stored; ``ValueError`` says why not (a time that is not one, or out of
    ``bounds``: a block may end up to a day after its start, so its end two days ahead)."""
    start = _block_time("startTime", block.start_time, now, AHEAD_MS)
    end = _block_time("endTime", block.end_time, now, 2 * AHEAD_MS)
    actual = (
        None
        if block.actual_end_time is None
        else _block_time("actualEndTime", block.actual_end_time, now, AHEAD_MS)
    )
    counts = block.token_counts
    return StoredBlock(
        account=account,
        device_id=device_id,
        block_id=block.id,
        start_ms=start,
        end_ms=end,
        actual_end_ms=actual,
        is_active=block.is_active,
        is_gap=block.is_gap,
        entries=block.entries,
        input_tokens=counts.input_tokens,
        output_tokens=counts.output_tokens,
        cache_creation_tokens=counts.cache_creation_input_tokens,
        cache_read_tokens=counts.cache_read_input_tokens,
        cost_usd=block.cost_usd,
        models=tuple(block.models),
        received_ms=now,
    )


def _block_time(name: str, value: str, now: int, ahead_ms: int) -> int:
    ms = parse_timestamp(value)
    if ms is None:
        raise ValueError(f"{name} is not a timestamp")
    problem = time_problem(ms, now, ahead_ms)
    if problem is not None:
        raise ValueError(f"{name} {problem}")
    return ms
