"""Reports and the live window over the history store: the engine fed from stored entries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from ccsync.bounds import EARLIEST_MS, latest_ms
from ccsync.clock import Clock
from ccsync.gc_pause import paused
from ccsync.server.errors import InvalidRequestError, NotFoundError
from ccsync.server.live_keys import official_limits_key
from ccsync.server.live_values import official_readings
from ccsync.server.mirror import Survivors
from ccsync.server.runtime_config import RuntimeSettings
from ccsync.server.window import TodayView, WindowView, window_view
from ccsync.storage.history.blocks import BlockStore
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.entries import EntryStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.live.base import ValueStore
from ccsync.usage import BlocksOptions, ReportKind, ReportOptions, build_report
from ccsync.usage.dedup import deduplicate
from ccsync.usage.pricing import PriceTable, default_prices, price_entry
from ccsync.usage.reports import Order, PricedEntry, Report, Weekday
from ccsync.usage.timestamps import (
    MS_PER_DAY,
    UnknownTimezoneError,
    iso_millis,
    resolve_timezone,
)
from ccsync.usage.window import (
    LOOKBACK_MS,
    DeviceUsage,
    OfficialLimit,
    Window,
    current_window,
)

DEFAULT_ACCOUNT = "default"


class AccountError(LookupError):
    """The account of a request cannot be told (several exist) or does not exist."""


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A report as a client asks for it (``/api/reports/{kind}``'s query, checked here)."""

    timezone: str | None = None
    """IANA zone; ``None``: the configured one (``runtime_config``)."""
    since: str | None = None
    """``YYYYMMDD`` (or ``YYYY-MM-DD``)."""
    until: str | None = None
    start_of_week: str = "sunday"
    order: str = "asc"
    device: str | None = None
    account: str | None = None


class Reporter:
    """Answers reports and the window for one account from stored, deduplicated entries."""

    def __init__(
        self,
        *,
        devices: DeviceStore,
        entries: EntryStore,
        blocks: BlockStore,
        settings: SettingsStore,
        values: ValueStore,
        clock: Clock,
        prices: PriceTable | None = None,
    ) -> None:
        self.devices = devices
        self.entries = entries
        self.blocks = blocks
        self.values = values
        self.clock = clock
        self.runtime = RuntimeSettings(settings)
        self.survivors = Survivors(entries)
        self.prices = default_prices() if prices is None else prices
        """The price table every report and window of this server uses."""

    async def resolve_account(self, requested: str | None) -> str:
        """The account asked for, else the only one there is (``default`` when none)."""
        accounts = await self.devices.accounts()
        if requested:
            if accounts and requested not in accounts:
                raise AccountError(f"unknown account {requested!r}; known: {', '.join(accounts)}")
            return requested
        if len(accounts) > 1:
            raise AccountError(f"several accounts ({', '.join(accounts)}): pass ?account=")
        return accounts[0] if accounts else DEFAULT_ACCOUNT

    async def answer(self, kind: ReportKind, query: ReportQuery) -> Report:
        """The report ``query`` asks for: ``InvalidRequestError`` for a zone or date that is
        not one, ``NotFoundError`` for an unknown device, ``AccountError``."""
        timezone = await self.runtime.timezone() if query.timezone is None else query.timezone
        try:
            resolve_timezone(timezone)
        except UnknownTimezoneError as exc:
            raise InvalidRequestError(str(exc)) from None
        options = ReportOptions(
            timezone=timezone,
            since=_query_day(query.since, "since"),
            until=_query_day(query.until, "until"),
            start_of_week=Weekday[query.start_of_week.upper()],
            order=Order(query.order),
        )
        account = await self.resolve_account(query.account)
        if query.device is not None and await self.devices.get_device(query.device) is None:
            raise NotFoundError(f"unknown device {query.device!r}")
        return await self.report(kind, account, options, device=query.device)

    async def report(
        self,
        kind: ReportKind,
        account: str,
        options: ReportOptions,
        blocks: BlocksOptions | None = None,
        device: str | None = None,
    ) -> Report:
        """A report over every device of the account (or one device, deduplicated alone)."""
        # Local dates can be up to 14 hours away from UTC: read a day more on either side,
        # the engine then filters by exact local date.
        since_ms = None if options.since is None else _day_ms(options.since) - MS_PER_DAY
        until_ms = None if options.until is None else _day_ms(options.until) + 2 * MS_PER_DAY
        if kind is ReportKind.BLOCKS:
            since_ms = until_ms = None  # a block's start depends on the entries before it
        now = self.clock.now_ms()
        since_ms, until_ms = _within_bounds(since_ms, until_ms, now)
        if device is None:
            stored = await self.survivors.entries(account, since_ms, until_ms)
            entries = [s.entry for s in stored]
        else:
            entries = deduplicate(
                await self.entries.device_entries(account, device, since_ms, until_ms)
            )
        options = replace(options, prices=self.prices)
        with paused():
            return build_report(kind, entries, options, now, blocks, deduplicated=True)

    async def account_window(self, requested: str | None) -> WindowView:
        """The window of the account asked for (else the only one: ``resolve_account``)."""
        return await self.window(await self.resolve_account(requested))

    async def window(self, account: str) -> WindowView:
        """The account's current 5-hour window, as ``/api/window`` shows it."""
        window, priced = await self._window(account)
        zone = await self.runtime.timezone()
        midnight = local_midnight_ms(window.now_ms, zone)
        today = [p for p in priced if p.entry.timestamp_ms >= midnight]
        return window_view(
            window,
            TodayView(
                since=iso_millis(midnight),
                timezone=zone,
                tokens=sum(p.entry.total_tokens for p in today),
                cost_usd=sum(p.cost for p in today),
                unpriced_models=sorted({p.unpriced for p in today if p.unpriced is not None}),
            ),
        )

    async def current_window(self, account: str) -> Window:
        """The account's current 5-hour window (the block over all devices, and around it)."""
        window, _ = await self._window(account)
        return window

    async def priced_entries(self, account: str, since_ms: int) -> list[PricedEntry]:
        """The account's survivors from ``since_ms`` on, priced, each with its device."""
        now = self.clock.now_ms()
        stored = await self.survivors.entries(account, *_within_bounds(since_ms, None, now))
        options = ReportOptions(prices=self.prices)
        return [
            PricedEntry(
                s.entry, *price_entry(s.entry, options.mode, options.prices), device=s.device_id
            )
            for s in stored
        ]

    async def _window(self, account: str) -> tuple[Window, list[PricedEntry]]:
        now = self.clock.now_ms()
        priced = await self.priced_entries(account, now - LOOKBACK_MS)
        window = current_window(
            account,
            priced,
            now,
            token_limit=await self.runtime.token_limit(),
            ccusage_blocks=await self._ccusage_devices(account, now),
            official=await self.official_limits(account),
        )
        return window, priced

    async def today_by_device(self, account: str) -> dict[str, dict[str, float]]:
        """Tokens and cost per device since local midnight (the configured time zone)."""
        now = self.clock.now_ms()
        zone = await self.runtime.timezone()
        options = ReportOptions(prices=self.prices)
        result: dict[str, dict[str, float]] = {}
        since_ms, until_ms = _within_bounds(local_midnight_ms(now, zone), None, now)
        for item in await self.survivors.entries(account, since_ms, until_ms):
            cost, _ = price_entry(item.entry, options.mode, options.prices)
            totals = result.setdefault(item.device_id, {"tokens": 0, "costUSD": 0.0})
            totals["tokens"] += item.entry.total_tokens
            totals["costUSD"] += cost
        return result

    async def _ccusage_devices(self, account: str, now: int) -> list[DeviceUsage]:
        return [
            DeviceUsage(
                block.device_id, block.total_tokens, block.cost_usd, "ccusage", block.end_ms
            )
            for block in await self.blocks.blocks(account)
            if block.is_active and not block.is_gap and block.start_ms <= now < block.end_ms
        ]

    async def official_limits(self, account: str) -> dict[str, OfficialLimit]:
        """The official readings kept for the account (a reading that does not check out
        reads as missing: ``live_values``). One whose window has reset since is among them
        (the warm-up learns from it that the window ended) but never shown (``Window``)."""
        key = official_limits_key(account)
        readings = official_readings(key, await self.values.get(key))
        return {name: reading.to_limit() for name, reading in readings.items()}


def local_midnight_ms(now_ms: int, zone: str) -> int:
    """The start of the day ``now_ms`` falls in, in ``zone``, as epoch milliseconds."""
    local = datetime.fromtimestamp(now_ms / 1000, resolve_timezone(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


def _query_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    digits = value.replace("-", "")
    try:
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        raise InvalidRequestError(f"{name}: {value!r} is not a date (YYYYMMDD)") from None


def _within_bounds(since_ms: int | None, until_ms: int | None, now_ms: int) -> tuple[int, int]:
    """A read's ``[since_ms, until_ms)`` narrowed to the instants ``bounds`` accepts at
    ``now_ms``: a line stored out of them (before the rule, or by hand) is never read."""
    low = EARLIEST_MS if since_ms is None else max(since_ms, EARLIEST_MS)
    high = latest_ms(now_ms) + 1
    return low, high if until_ms is None else min(until_ms, high)


def _day_ms(day: date) -> int:
    """Midnight UTC of ``day`` in epoch milliseconds."""
    return (day.toordinal() - _EPOCH_ORDINAL) * MS_PER_DAY


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
