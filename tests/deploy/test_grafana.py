"""The Grafana dashboard in deploy/grafana: well-formed, and every metric it queries is one
that ``/metrics`` of a real server exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixtures.server import backend_server

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "ccsync.json"
# The sample names each kind of metric family exposes (prometheus_client's text format).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
METRIC = re.compile(r"\b(ccsync_[a-z0-9_]+)\b")


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _queries(dashboard: dict[str, Any]) -> list[str]:
    queries = [t["expr"] for p in _panels(dashboard["panels"]) for t in p.get("targets", [])]
    variables = dashboard["templating"]["list"]
    queries.extend(v["definition"] for v in variables if v["type"] == "query")
    return queries


def test_dashboard_is_well_formed() -> None:
    dashboard = _dashboard()
    assert dashboard["title"] and dashboard["uid"]
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(t["expr"].strip() and t["refId"] for t in panel["targets"])
            assert panel["datasource"]["uid"] == "${datasource}"
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "job", "instance"} <= names


async def test_every_queried_metric_is_served_at_metrics(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as server,
        server.client() as client,
    ):
        await client.get("/health")  # labelled families get samples (and _created twins)
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    served = {
        family.name + suffix
        for family in text_string_to_metric_families(answer.text)
        for suffix in SUFFIXES[family.type]
    }
    queried = {name for query in _queries(_dashboard()) for name in METRIC.findall(query)}
    assert queried, "the dashboard queries no ccsync metric"
    assert not queried - served, f"queried but not served: {sorted(queried - served)}"
    # Every family the server exposes has a panel (creation times aside).
    families = {
        f.name
        for f in text_string_to_metric_families(answer.text)
        if not f.name.endswith("_created")
    }
    shown = {f for f in families if any(name.startswith(f) for name in queried)}
    assert shown == families, f"metrics without a panel: {sorted(families - shown)}"
