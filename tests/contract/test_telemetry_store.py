"""The telemetry store contract (``TelemetryStore``), on SQLite and PostgreSQL: metric
points counted once per reading (a cumulative series' newer reading replaces the older),
retention sweeps kept once, both pruned by time. Telemetry lines (entries made from
``api_request`` events): ``test_telemetry_lines.py``.
"""

from __future__ import annotations

from ccsync.storage.history.telemetry import MetricPoint, RetentionSweep, TelemetryStore

ACCOUNT = "acct"
T0 = 1_780_000_000_000


async def test_metric_points_count_once_and_cumulative_ones_are_replaced(
    telemetry_store: TelemetryStore,
) -> None:
    store = telemetry_store

    def point(series: str, time_ms: int, value: float, kind: str = "input") -> MetricPoint:
        return MetricPoint(ACCOUNT, "laptop", "s1", "tokens", kind, series, time_ms, value, "m")

    delta = [point("a", T0, 10), point("b", T0 + 60_000, 5)]
    assert await store.add_points(delta) == 2
    assert await store.add_points(delta) == 0  # a retry
    cumulative = point("c", T0, 3, "output")
    assert await store.add_points([cumulative]) == 1
    assert await store.add_points([point("c", T0 + 60_000, 8, "output")]) == 1
    assert await store.add_points([point("c", T0 + 30_000, 6, "output")]) == 0  # older
    cost = MetricPoint(ACCOUNT, "laptop", "s1", "cost", "", "d", T0, 0.25)
    await store.add_points([cost])
    (totals,) = await store.session_totals(ACCOUNT)
    assert totals.tokens == {"input": 15, "output": 8}
    assert totals.cost_usd == 0.25 and totals.last_ms == T0 + 60_000
    assert await store.session_totals("other") == []


async def test_retention_sweeps_are_kept_once(telemetry_store: TelemetryStore) -> None:
    store = telemetry_store
    sweep = RetentionSweep("k1", ACCOUNT, "laptop", "s1", T0, "complete", 3, {"period_days": "30"})
    assert await store.add_sweeps([sweep, sweep]) == 1
    assert await store.add_sweeps([sweep]) == 0
    later = RetentionSweep("k2", ACCOUNT, "desk", "s2", T0 + 1, "skipped")
    await store.add_sweeps([later])
    assert [s.key for s in await store.sweeps(ACCOUNT)] == ["k2", "k1"]
    assert await store.sweeps(device_id="laptop") == [sweep]
    assert await store.prune(T0 + 1) == 1
    assert await store.sweeps() == [later]
