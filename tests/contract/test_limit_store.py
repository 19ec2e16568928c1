"""The limit store contract, on SQLite and PostgreSQL: readings kept as sent, one claim
per alert across any number of processes."""

from __future__ import annotations

import asyncio
import dataclasses

from ccsync.storage.history.limits import AlertRecord, ReadingRecord
from ccsync.storage.history.sql import SqlHistoryStore

from .conftest import Target


def reading(device: str = "laptop", observed: int = 10_000, **changes: object) -> ReadingRecord:
    base = ReadingRecord(
        account="acct",
        window="five_hour",
        used_percentage=42.5,
        resets_at_ms=18_000_000,
        source="statusline",
        device_id=device,
        observed_ms=observed,
        received_ms=observed + 5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def alert(rule: str = "percent:80", period: str = "18000000", **changes: object) -> AlertRecord:
    base = AlertRecord(
        account="acct",
        window="five_hour",
        rule=rule,
        period=period,
        fired_ms=20_000,
        title="5-hour window at 80 %",
        body="82 % used, resets in 2h13m",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_readings_round_trip_and_repeat_once(history_store: SqlHistoryStore) -> None:
    limits = history_store.limits
    first = reading()
    other = reading("desktop", 12_000, used_percentage=40.0, resets_at_ms=None)
    scoped = reading(window="seven_day_opus", observed=11_000, source="usage_cache")
    assert await limits.add_readings([first, other, scoped]) == 3
    # A device resending what it sent is harmless; a changed percentage at the same instant
    # from the same device and source is the same reading.
    assert await limits.add_readings([first, dataclasses.replace(first, used_percentage=1)]) == 0
    assert await limits.add_readings([]) == 0
    assert await limits.readings("acct", 0) == [first, scoped, other]  # by observed time
    assert await limits.readings("acct", 11_000) == [scoped, other]
    assert await limits.readings("other", 0) == []


async def test_both_devices_are_kept_when_they_disagree(history_store: SqlHistoryStore) -> None:
    limits = history_store.limits
    await limits.add_readings([reading("a", 10_000, used_percentage=10)])
    await limits.add_readings([reading("b", 10_000, used_percentage=90)])
    assert sorted(r.used_percentage for r in await limits.readings("acct", 0)) == [10, 90]


async def test_prune_forgets_old_readings(history_store: SqlHistoryStore) -> None:
    limits = history_store.limits
    await limits.add_readings([reading(observed=1_000), reading(observed=9_000)])
    assert await limits.prune_readings(5_000) == 1
    assert [r.observed_ms for r in await limits.readings("acct", 0)] == [9_000]


async def test_one_alert_per_rule_and_period(history_store: SqlHistoryStore) -> None:
    limits = history_store.limits
    claimed = await limits.claim_alert(alert())
    assert claimed is not None and claimed.id is not None and claimed.status == "sending"
    assert await limits.claim_alert(alert(fired_ms=30_000)) is None  # fired already
    again = await limits.claim_alert(alert(period="36000000"))  # the next window
    other_rule = await limits.claim_alert(alert(rule="percent:95"))
    assert again is not None and other_rule is not None
    await limits.finish_alert(claimed.id, "failed", "connection refused")
    history = await limits.alerts("acct")
    assert [(a.rule, a.period) for a in history] == [
        ("percent:95", "18000000"),
        ("percent:80", "36000000"),
        ("percent:80", "18000000"),
    ]  # newest first (same instant: the later claim first)
    assert history[-1] == dataclasses.replace(claimed, status="failed", error="connection refused")
    assert len(await limits.alerts("acct", limit=1)) == 1
    assert await limits.alerts("nobody") == []


async def test_concurrent_processes_claim_an_alert_once(target: Target) -> None:
    stores = [await target.open() for _ in range(4)]
    try:
        results = await asyncio.gather(*(s.limits.claim_alert(alert()) for s in stores))
        assert sum(r is not None for r in results) == 1
        assert len(await stores[0].limits.alerts()) == 1
    finally:
        for store in stores:
            await store.aclose()
