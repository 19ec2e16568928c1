"""The ccusage reports ``daily``, ``weekly``, ``monthly`` and ``session``, in its JSON shapes.

Every report is computed from the same deduplicated entries (``dedup.deduplicate``), so
all reports of one data set share one total. (ccusage's own ``daily`` uses a second
loader with other duplicate rules and can disagree with its ``monthly``; on data where
the two loaders agree, ours equals both.)

A report is a plain ``dict`` ready for ``json.dumps(..., sort_keys=True)``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ccsync.usage.entry import UsageEntry
from ccsync.usage.pricing import CostMode, PriceTable, default_prices, price_entry
from ccsync.usage.timestamps import (
    DateKeys,
    days_from_civil,
    format_day,
    iso_millis,
    resolve_timezone,
)

Report = dict[str, Any]


class Weekday(enum.IntEnum):
    """``--start-of-week`` values, numbered like ``date.weekday()``."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class Order(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """The options every report shares (ccusage's flags of the same names)."""

    timezone: str | None = None
    """IANA name, ``UTC``; ``None`` or ``local`` for the system zone."""
    since: date | None = None
    until: date | None = None
    start_of_week: Weekday = Weekday.SUNDAY
    order: Order = Order.ASC
    mode: CostMode = CostMode.AUTO
    prices: PriceTable = field(default_factory=default_prices, compare=False)
    recorded_costs: Mapping[str, Mapping[str, float]] = field(default_factory=dict, compare=False)
    """Claude Code's own cost per session and model (``cost_state``): offered beside the
    cost of models without a price, as ``claudeCodeCostUSD``, never added to ccusage's."""


@dataclass(slots=True)
class PricedEntry:
    """An entry with its cost under the report's cost mode."""

    entry: UsageEntry
    cost: float
    unpriced: str | None
    """The model name when the cost had to be calculated and no price was found."""
    device: str = ""
    """The device that pushed the entry, where that matters (the window's shares)."""


def price_entries(entries: Iterable[UsageEntry], options: ReportOptions) -> list[PricedEntry]:
    """Entries with their costs; reports expect them in time order (as ``deduplicate`` gives)."""
    mode, prices = options.mode, options.prices
    return [PricedEntry(entry, *price_entry(entry, mode, prices)) for entry in entries]


class Sums:
    """Token and cost sums of one model (or of the entries without one)."""

    __slots__ = ("cache_creation", "cache_read", "cost", "input", "output", "unpriced")

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.cache_creation = 0
        self.cache_read = 0
        self.cost = -0.0  # ccusage's sums start at -0.0: an empty report costs -0.0
        self.unpriced = False

    @property
    def total_tokens(self) -> int:
        return self.input + self.output + self.cache_creation + self.cache_read

    def add(self, other: Sums) -> None:
        self.input += other.input
        self.output += other.output
        self.cache_creation += other.cache_creation
        self.cache_read += other.cache_read
        self.cost += other.cost
        self.unpriced = self.unpriced or other.unpriced


class Totals:
    """Sums per model in order of first appearance; the row's sums are theirs together.

    Entries without a model to show (``<synthetic>``, or none logged) count in the sums
    under ``None`` and never appear as a model.
    """

    __slots__ = ("models", "unpriced", "unpriced_sessions")

    def __init__(self) -> None:
        self.models: dict[str | None, Sums] = {}
        self.unpriced: set[str] = set()
        self.unpriced_sessions: set[tuple[str, str]] = set()
        """(session, model) of every entry whose model had no price."""

    def add(self, priced: PricedEntry) -> None:
        entry = priced.entry
        model = entry.display_model
        sums = self.models.get(model)
        if sums is None:
            sums = self.models[model] = Sums()
        sums.input += entry.input_tokens
        sums.output += entry.output_tokens
        sums.cache_creation += entry.cache_creation_tokens
        sums.cache_read += entry.cache_read_tokens
        sums.cost += priced.cost
        if priced.unpriced is not None:
            sums.unpriced = True
            self.unpriced.add(priced.unpriced)
            self.unpriced_sessions.add((entry.effective_session, priced.unpriced))

    def merge(self, other: Totals) -> None:
        for model, theirs in other.models.items():
            ours = self.models.get(model)
            if ours is None:
                ours = self.models[model] = Sums()
            ours.add(theirs)
        self.unpriced |= other.unpriced
        self.unpriced_sessions |= other.unpriced_sessions

    def sums(self) -> Sums:
        """All models together."""
        total = Sums()
        for sums in self.models.values():
            total.add(sums)
        return total

    @property
    def total_tokens(self) -> int:
        return sum(sums.total_tokens for sums in self.models.values())

    def row(self, recorded: Mapping[str, Mapping[str, float]] | None = None) -> Report:
        """The token and cost fields of a report row (with Claude Code's own cost of its
        unpriced models when ``recorded`` is given: rows that hold whole sessions)."""
        return {
            **_token_fields(self.sums()),
            "modelsUsed": [model for model in self.models if model is not None],
            "modelBreakdowns": self.breakdowns(recorded),
        }

    def recorded_costs(self, recorded: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """Claude Code's own cost of each unpriced model, over the sessions using it here."""
        costs: dict[str, float] = {}
        for session, model in sorted(self.unpriced_sessions):
            cost = recorded.get(session, {}).get(model)
            if cost is not None:
                costs[model] = costs.get(model, 0.0) + cost
        return costs

    def breakdowns(self, recorded: Mapping[str, Mapping[str, float]] | None = None) -> list[Report]:
        own = {} if not recorded or not self.unpriced_sessions else self.recorded_costs(recorded)
        items = []
        for model, sums in self.models.items():
            if model is None:
                continue
            item: Report = {
                "modelName": model,
                "inputTokens": sums.input,
                "outputTokens": sums.output,
                "cacheCreationTokens": sums.cache_creation,
                "cacheReadTokens": sums.cache_read,
                "cost": sums.cost,
            }
            if sums.unpriced:
                item["missingPricing"] = True
                cost = own.get(model.removesuffix("-fast"))
                if cost is not None:
                    item["claudeCodeCostUSD"] = cost
            items.append(item)
        items.sort(key=lambda item: item["cost"], reverse=True)  # stable: ties keep first seen
        return items

    def totals(self, recorded: Mapping[str, Mapping[str, float]] | None = None) -> Report:
        """The ``totals`` object of a report."""
        result = _token_fields(self.sums())
        if self.unpriced:
            result["unpricedModels"] = sorted(self.unpriced)
            own = self.recorded_costs(recorded) if recorded else {}
            if own:
                result["claudeCodeCostUSD"] = own
        return result


def _token_fields(sums: Sums) -> Report:
    return {
        "inputTokens": sums.input,
        "outputTokens": sums.output,
        "cacheCreationTokens": sums.cache_creation,
        "cacheReadTokens": sums.cache_read,
        "totalTokens": sums.total_tokens,
        "totalCost": sums.cost,
    }


class DayRange:
    """``--since``/``--until`` as ccusage applies them: to a date key without its dashes,
    compared as text with ``YYYYMMDD`` (the same as by date for years 0000-9999)."""

    __slots__ = ("since", "until")

    def __init__(self, since: date | None, until: date | None) -> None:
        self.since = None if since is None else _compact(since)
        self.until = None if until is None else _compact(until)

    @property
    def everything(self) -> bool:
        return self.since is None and self.until is None

    def __contains__(self, key: str) -> bool:
        compact = key.replace("-", "")
        return (self.since is None or compact >= self.since) and (
            self.until is None or compact <= self.until
        )


def _compact(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def daily_totals(priced: Sequence[PricedEntry], options: ReportOptions) -> dict[str, Totals]:
    """Totals per local date key (``YYYY-MM-DD``) in the report's zone, within
    ``since``/``until``."""
    keys = DateKeys(resolve_timezone(options.timezone))
    days: dict[int, Totals] = {}
    for item in priced:
        day = keys.day(item.entry.timestamp_ms)
        totals = days.get(day)
        if totals is None:
            totals = days[day] = Totals()
        totals.add(item)
    wanted = DayRange(options.since, options.until)
    named = ((keys.day_key(day), totals) for day, totals in days.items())
    return {key: totals for key, totals in named if key in wanted}


def _period_report(
    name: str,
    key_field: str,
    periods: dict[str, Totals],
    options: ReportOptions,
) -> Report:
    grand = Totals()
    rows = []
    for period in sorted(periods, reverse=options.order == Order.DESC):
        totals = periods[period]
        grand.merge(totals)
        rows.append({key_field: period, **totals.row()})
    return {name: rows, "totals": grand.totals(options.recorded_costs)}


def _bucket(days: dict[str, Totals], key: Callable[[str], str]) -> dict[str, Totals]:
    buckets: dict[str, Totals] = {}
    for day in sorted(days):
        bucket = key(day)
        totals = buckets.get(bucket)
        if totals is None:
            totals = buckets[bucket] = Totals()
        totals.merge(days[day])
    return buckets


def daily_report(priced: Sequence[PricedEntry], options: ReportOptions) -> Report:
    return _period_report("daily", "date", daily_totals(priced, options), options)


def week_start(day: date, start_of_week: Weekday) -> date:
    """The most recent ``start_of_week`` day on or before ``day``."""
    return day - timedelta(days=(day.weekday() - start_of_week) % 7)


def week_key(day_key: str, start_of_week: Weekday) -> str:
    """The week of a date key: its most recent ``start_of_week`` day. A key with a year
    that is not four digits (``10000-01-01``, ``-001-12-31``) is its own week, as in ccusage."""
    if len(day_key) != 10 or not day_key[:4].isdigit():
        return day_key
    day = days_from_civil(int(day_key[:4]), int(day_key[5:7]), int(day_key[8:]))
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday (Monday is 0)
    return format_day(day - (weekday - start_of_week) % 7)


def weekly_report(priced: Sequence[PricedEntry], options: ReportOptions) -> Report:
    days = daily_totals(priced, options)
    weeks = _bucket(days, lambda key: week_key(key, options.start_of_week))
    return _period_report("weekly", "week", weeks, options)


def monthly_report(priced: Sequence[PricedEntry], options: ReportOptions) -> Report:
    """Months are the first seven characters of the date keys (ccusage's ``10000-0``)."""
    months = _bucket(daily_totals(priced, options), lambda key: key[:7])
    return _period_report("monthly", "month", months, options)


def session_report(priced: Sequence[PricedEntry], options: ReportOptions) -> Report:
    """One row per (project path, session), most expensive first; empty sessions dropped."""
    keys = DateKeys(resolve_timezone(options.timezone))
    wanted = DayRange(options.since, options.until)
    in_range: dict[int, bool] = {}
    sessions: dict[tuple[str, str], tuple[Totals, list[int]]] = {}
    for item in priced:  # in time order: the first entry of a session is its first activity
        entry = item.entry
        ts = entry.timestamp_ms
        if not wanted.everything:
            day = keys.day(ts)
            inside = in_range.get(day)
            if inside is None:
                inside = in_range[day] = keys.day_key(day) in wanted
            if not inside:
                continue
        key = (entry.project_path, entry.session)
        found = sessions.get(key)
        if found is None:
            found = sessions[key] = (Totals(), [ts, ts])
        found[0].add(item)
        found[1][1] = ts
    grand = Totals()
    rows = []
    for (project_path, session), (totals, (first_ms, last_ms)) in sessions.items():
        if totals.total_tokens == 0:
            continue
        grand.merge(totals)
        rows.append(
            {
                "sessionId": session,
                "projectPath": project_path,
                "firstActivity": iso_millis(first_ms),
                "lastActivity": iso_millis(last_ms),
                **totals.row(options.recorded_costs),
            }
        )
    rows.sort(key=lambda row: row["totalCost"], reverse=True)
    return {"sessions": rows, "totals": grand.totals(options.recorded_costs)}
