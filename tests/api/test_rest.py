"""Every REST endpoint over a real socket, on memory + SQLite and on Redis + PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ccsync.wire import WIRE_VERSION
from fixtures.corpora import ParityCase
from fixtures.payloads import device_entries, entry_push, now_entry
from fixtures.server import BACKENDS, RunningServer, backend_server


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_health_and_status(server: RunningServer) -> None:
    async with server.client() as http:
        health = (await http.get("/health")).json()
        assert health["status"] == "OK" and health["checks"] == {"live": "ok", "history": "ok"}
        status = (await http.get("/api/status")).json()
    assert status["mode"] == "local"
    assert status["live"]["backend"] in ("memory", "redis") and status["live"]["state"] == "ok"
    assert (
        status["history"]["backend"] in ("sqlite", "postgresql")
        and status["history"]["entries"] == 0
    )
    assert set(status["tools"]) == {"claude", "ccusage"}


async def test_live_metrics(server: RunningServer) -> None:
    async with server.client() as http:
        stored = (await http.post("/api/metrics/cpu", json={"load": 0.5})).json()
        assert (
            stored["success"] is True
            and stored["data"]["load"] == 0.5
            and "timestamp" in stored["data"]
        )
        assert (await http.get("/api/metrics/cpu")).json() == {"key": "cpu", "data": stored["data"]}
        assert (await http.get("/api/metrics")).json()["data"]["live:cpu"] == stored["data"]
        scalar = (await http.post("/api/metrics/n", json=42)).json()
        assert scalar["data"]["value"] == 42
        assert (await http.delete("/api/metrics/cpu")).json()["success"] is True
        assert (await http.get("/api/metrics/cpu")).json() == {"key": "cpu", "data": None}
        missing = await http.delete("/api/metrics/cpu")
        assert missing.status_code == 404 and "error" in missing.json()
        bad = await http.post(
            "/api/metrics/cpu", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert 400 <= bad.status_code < 500 and "error" in bad.json()
        assert (await http.get("/api/metrics/no%20spaces")).status_code == 422


async def test_a_stored_key_has_the_300_s_ttl(server: RunningServer) -> None:
    async with server.client() as http:
        await http.post("/api/metrics/k", json={"x": 1})
    ttl = await server.services.live.values.ttl("k")
    assert ttl is not None and 1 <= ttl <= 300
    if server.settings.redis_url:  # the key itself, as Redis holds it
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(server.settings.redis_url)
        try:
            assert 1 <= await client.ttl(f"{server.settings.redis_prefix}live:k") <= 300
        finally:
            await client.aclose()


@pytest.mark.parametrize("backends", BACKENDS)
async def test_a_stored_key_expires(
    backends: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    short = backend_server(request, backends, tmp_path, live_ttl=1.0)
    async with short as running, running.client() as http:
        await http.post("/api/metrics/short", json={"x": 1})
        ttl = await running.services.live.values.ttl("short")
        assert ttl is not None and 0 < ttl <= 1.0
        assert (await http.get("/api/metrics")).json()["data"]["live:short"]["x"] == 1
        await asyncio.sleep(1.3)
        assert "live:short" not in (await http.get("/api/metrics")).json()["data"]
        assert (await http.get("/api/metrics/short")).json()["data"] is None


async def test_push_entries_then_duplicates(
    server: RunningServer, parity_cases: dict[str, ParityCase]
) -> None:
    entries = device_entries(parity_cases["case-basic"].devices[0])
    body = entry_push(
        entries, device={"name": "Laptop", "hostname": "laptop.local", "version": "0.1.0"}
    )
    async with server.client() as http:
        first = await http.post("/api/usage/device1", json=body)
        assert first.status_code == 200, first.text
        ack = first.json()
        assert (ack["success"], ack["deviceId"], ack["account"]) == (True, "device1", "default")
        assert (ack["accepted"], ack["duplicate"], ack["rejected"]) == (len(entries), 0, 0)
        assert ack["window"]["account"] == "default"
        again = (await http.post("/api/usage/device1", json=body)).json()
        assert (again["accepted"], again["duplicate"]) == (0, len(entries))
        devices = (await http.get("/api/usage")).json()["devices"]
        assert [d["deviceId"] for d in devices] == ["device1"]
        assert (
            devices[0]["name"] == "Laptop"
            and devices[0]["online"] is True
            and devices[0]["lastPush"]
        )
        one = (await http.get("/api/usage/device1")).json()
        assert one["hostname"] == "laptop.local"
        assert (await http.get("/api/usage/nobody")).status_code == 404


async def test_bad_pushes_are_4xx_or_counted(server: RunningServer) -> None:
    good = now_entry(now_ms(), 1)
    async with server.client() as http:
        cases = {
            "not json": await http.post(
                "/api/usage/d", content=b"{entries", headers={"content-type": "application/json"}
            ),
            "empty": await http.post("/api/usage/d", content=b""),
            "unknown field": await http.post("/api/usage/d", json={"entries": [good], "extra": 1}),
            "two kinds": await http.post("/api/usage/d", json={"entries": [good], "tokens": 5}),
            "no kind": await http.post("/api/usage/d", json={"account": "a"}),
            "array": await http.post("/api/usage/d", json=[good]),
            "newer wire": await http.post(
                "/api/usage/d", json={"tokens": 1, "version": WIRE_VERSION + 1}
            ),
            "reserved id": await http.post("/api/usage/sync", json={"tokens": 1}),
            "bad id": await http.post("/api/usage/a%20b", json={"tokens": 1}),
        }
        for name, response in cases.items():
            assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
            assert "error" in response.json(), name
        mixed = (
            await http.post(
                "/api/usage/d",
                json={
                    "entries": [
                        good,
                        {**good, "offset": -1},
                        {**good, "inputTokens": "lots"},
                        {"nonsense": True},
                    ]
                },
            )
        ).json()
        assert (mixed["accepted"], mixed["rejected"]) == (1, 3)
        assert len(mixed["errors"]) == 3 and mixed["errors"][0].startswith("entries[1]")


async def test_push_blocks_and_tokens(server: RunningServer) -> None:
    now = now_ms()
    start = now - now % 3_600_000
    block = {
        "id": "b1",
        "startTime": _iso(start),
        "endTime": _iso(start + 5 * 3_600_000),
        "actualEndTime": _iso(now),
        "isActive": True,
        "isGap": False,
        "entries": 3,
        "tokenCounts": {
            "inputTokens": 100,
            "outputTokens": 200,
            "cacheCreationInputTokens": 0,
            "cacheReadInputTokens": 700,
        },
        "totalTokens": 1000,
        "costUSD": 0.25,
        "models": ["claude-sonnet-4-20250514"],
        "burnRate": None,
        "projection": None,
    }
    async with server.client() as http:
        ack = (await http.post("/api/usage/old-agent", json={"blocks": [block]})).json()
        assert ack["accepted"] == 1
        assert ack["window"]["tokens"] == 1000
        assert ack["window"]["devices"][0] == {
            "deviceId": "old-agent",
            "tokens": 1000,
            "costUSD": 0.25,
            "share": 1.0,
            "source": "ccusage",
        }
        counter = (await http.post("/api/usage/counter", json={"tokens": 77})).json()
        assert counter["accepted"] == 1
        assert (await http.get("/api/metrics/device:counter:tokens")).json()["data"]["tokens"] == 77


async def test_window_with_devices_and_official_limits(server: RunningServer) -> None:
    now = now_ms()
    async with server.client() as http:
        await http.post(
            "/api/usage/a",
            json={
                "entries": [now_entry(now, 1, minutes_ago=30), now_entry(now, 2, minutes_ago=20)]
            },
        )
        await http.post(
            "/api/usage/b",
            json={"entries": [now_entry(now, 3, minutes_ago=10, tokens=2000, session="s2")]},
        )
        window = (await http.get("/api/window")).json()
        assert window["active"] is True and window["tokens"] == 1500 + 1500 + 3000
        assert {d["deviceId"]: d["tokens"] for d in window["devices"]} == {"a": 3000, "b": 3000}
        assert window["burnRate"]["tokensPerMinute"] == pytest.approx(6000 / 20)
        assert window["resetInSeconds"] > 0 and window["limit"] is None  # no past block, no setting
        limits = {
            "five_hour": {"used_percentage": 23.5, "resets_at": now / 1000 + 3600},
            "seven_day": {"used_percentage": 41.2},
        }
        answer = (await http.post("/api/limits/a", json=limits)).json()
        official = answer["window"]["official"]
        assert official["fiveHour"]["usedPercentage"] == 23.5
        assert official["fiveHour"]["source"] == "statusline"  # what sent readings before
        assert official["fiveHour"]["deviceId"] == "a"
        assert official["sevenDay"]["resetsAt"] is None and official["fiveHour"]["ageSeconds"] >= 0
        await http.put("/api/config", json={"planTokenLimit": 12000})
        limited = (await http.get("/api/window")).json()
        assert limited["limit"]["tokens"] == 12000 and limited["limit"][
            "percentUsed"
        ] == pytest.approx(50)
        bad = await http.post("/api/limits/a", json={"five_hour": {"used_percentage": "high"}})
        assert bad.status_code == 422


async def test_reports_endpoints(
    server: RunningServer, parity_cases: dict[str, ParityCase]
) -> None:
    case = parity_cases["case-resumed"]
    async with server.client() as http:
        for device in case.devices:
            await http.post(f"/api/usage/{device.name}", json=entry_push(device_entries(device)))
        for kind, key in (
            ("daily", "daily"),
            ("weekly", "weekly"),
            ("monthly", "monthly"),
            ("session", "sessions"),
            ("blocks", "blocks"),
        ):
            response = await http.get(f"/api/reports/{kind}", params={"timezone": "UTC"})
            assert response.status_code == 200 and key in response.json()
        one = (await http.get("/api/reports/monthly", params={"device": "device1"})).json()
        every = (await http.get("/api/reports/monthly")).json()
        assert 0 < one["totals"]["totalTokens"] < every["totals"]["totalTokens"]
        assert (
            await http.get("/api/reports/monthly", params={"timezone": "Mars/Base"})
        ).status_code == 400
        assert (
            await http.get("/api/reports/daily", params={"since": "2026/11/01"})
        ).status_code == 422
        assert (
            await http.get("/api/reports/daily", params={"since": "20261399"})
        ).status_code == 400
        assert (await http.get("/api/reports/yearly")).status_code == 422
        assert (await http.get("/api/reports/daily", params={"device": "ghost"})).status_code == 404
        assert (
            await http.get("/api/reports/daily", params={"account": "someone-else"})
        ).status_code == 400


async def test_config(server: RunningServer) -> None:
    async with server.client() as http:
        assert (await http.get("/api/config")).json() == {
            "timezone": "UTC",
            "planTokenLimit": None,
            "retentionDays": None,
            "warmups": [],
            "plan": None,
        }
        changed = (await http.put("/api/config", json={"timezone": "Europe/Berlin"})).json()
        assert changed["timezone"] == "Europe/Berlin"
        assert (await http.put("/api/config", json={"timezone": "Nowhere/City"})).status_code == 422
        assert (await http.put("/api/config", json={"colour": "blue"})).status_code == 422
        assert (await http.put("/api/config", json={"planTokenLimit": -5})).status_code == 422
        assert (await http.get("/api/config")).json()["timezone"] == "Europe/Berlin"
        assert (await http.put("/api/config", json={"retentionDays": 0})).status_code == 422
        await http.post(
            "/api/cron",
            json={"name": "w", "kind": "warmup", "resetAt": ["08:00"], "timezone": "UTC"},
        )
        warmups = (await http.get("/api/config")).json()["warmups"]
        assert [(w["name"], w["resetAt"], w["schedule"]) for w in warmups] == [
            ("w", ["08:00"], "0 3 * * *")
        ]
        redis = (await http.get("/api/config/redis")).json()
        assert redis["connected"] is True and redis["backend"] in ("memory", "redis")
        refused = await http.put(
            "/api/config/redis", json={"url": "redis://:hunter2@127.0.0.1:1/0"}
        )
        assert refused.status_code == 400 and "nothing changed" in refused.json()["error"]
        assert "hunter2" not in refused.text
        assert (await http.get("/api/config/redis")).json() == redis


async def test_switch_to_redis_at_runtime(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from fixtures.server import backend_server

    redis_url = request.getfixturevalue("redis_url")
    async with (
        backend_server(
            request, "memory+sqlite", tmp_path, redis_prefix=request.getfixturevalue("redis_prefix")
        ) as running,
        running.client() as http,
    ):
        await http.post("/api/metrics/kept", json={"v": 1})
        switched = (await http.put("/api/config/redis", json={"url": redis_url})).json()
        assert switched["success"] is True and switched["backend"] == "redis"
        assert (await http.get("/api/metrics/kept")).json()["data"]["v"] == 1  # carried over
        assert (await http.get("/api/status")).json()["live"]["backend"] == "redis"


async def test_sync_and_host_ingest(server: RunningServer) -> None:
    async with server.client() as http:
        asked = (await http.put("/api/usage/sync")).json()
        assert asked == {"success": True, "requested": 0, "devices": []}
        refused = await http.post("/api/usage/ccusage")
        assert refused.status_code == 409


async def test_host_ingest_reads_the_hosts_data(
    tmp_path: Path, request: pytest.FixtureRequest, parity_cases: dict[str, ParityCase]
) -> None:
    from fixtures.server import backend_server

    devices = parity_cases["case-basic"].devices
    async with (
        backend_server(
            request,
            "memory+sqlite",
            tmp_path,
            local_agent=True,
            claude_dirs=tuple(map(str, devices)),
        ) as running,
        running.client() as http,
    ):
        done = (await http.post("/api/usage/ccusage")).json()
        assert done["success"] is True and done["files"] > 0
        total = (await http.get("/api/reports/monthly", params={"timezone": "UTC"})).json()[
            "totals"
        ]["totalTokens"]
        assert total == case_total(parity_cases["case-basic"])


def case_total(case: ParityCase) -> int:
    for check in case.checks:
        if check["report"] == "monthly" and check["options"] == ["--timezone", "UTC"]:
            total: int = case.expected(check)["totals"]["totalTokens"]  # type: ignore[index]
            return total
    raise AssertionError("no monthly UTC check")


async def test_tokens_in_local_mode(server: RunningServer) -> None:
    async with server.client() as http:
        made = await http.post(
            "/api/tokens", json={"kind": "device", "deviceId": "phone", "label": "my phone"}
        )
        assert made.status_code == 201 and made.json()["token"].startswith("ccs_")
        listed = (await http.get("/api/tokens")).json()["tokens"]
        assert [t["deviceId"] for t in listed] == ["phone"] and "token" not in listed[0]
        assert (await http.post("/api/tokens", json={"kind": "device"})).status_code == 422
        assert (await http.delete(f"/api/tokens/{listed[0]['id']}")).json()["success"] is True
        assert (await http.delete(f"/api/tokens/{listed[0]['id']}")).status_code == 404


async def test_prometheus_and_openapi(server: RunningServer) -> None:
    async with server.client() as http:
        await http.get("/health")
        metrics = await http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert (
            'ccsync_http_requests_total{method="GET",route="/health",status="200"}' in metrics.text
        )
        schema = (await http.get("/openapi.json")).json()
        push = schema["paths"]["/api/usage/{deviceId}"]["post"]
        assert push["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/UsagePush"
        )
        assert "WireEntry" in schema["components"]["schemas"]
        assert (await http.get("/docs")).status_code == 200


def _iso(ms: int) -> str:
    from ccsync.usage.timestamps import iso_millis

    return iso_millis(ms)


async def test_values_json_cannot_hold_are_refused(server: RunningServer) -> None:
    async with server.client() as http:
        for body in (b'{"x": Infinity}', b'{"x": NaN}', b"-Infinity"):
            response = await http.post(
                "/api/metrics/k", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, body
        huge = now_entry(now_ms(), 1)
        for field, value in (
            ("timestamp", 10**17),
            ("costUSD", 1e300),
            ("usageLimitReset", 10**18),
        ):
            response = await http.post("/api/usage/d", json={"entries": [{**huge, field: value}]})
            assert response.status_code == 200 and response.json()["rejected"] == 1, field
        far = await http.post(
            "/api/limits/d", json={"five_hour": {"used_percentage": 1, "resets_at": 1e300}}
        )
        assert far.status_code == 422


async def test_deeply_nested_json_is_a_4xx(server: RunningServer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    async with server.client() as http:
        for path in ("/api/metrics/k", "/api/usage/d", "/api/limits/d", "/api/config"):
            method = "PUT" if path == "/api/config" else "POST"
            response = await http.request(
                method, path, content=deep, headers={"content-type": "application/json"}
            )
            assert 400 <= response.status_code < 500, (path, response.status_code)


async def test_retention_prunes_old_history(server: RunningServer) -> None:
    now = int(time.time() * 1000)
    day = 86_400_000
    async with server.client() as http:
        await http.post(
            "/api/usage/laptop",
            json={"entries": [now_entry(now, 1, minutes_ago=3 * 24 * 60), now_entry(now, 2)]},
        )
        before = (await http.get("/api/reports/daily")).json()
        assert len(before["daily"]) == 2
        config = (await http.put("/api/config", json={"retentionDays": 2})).json()
        assert config["retentionDays"] == 2
        after = (await http.get("/api/reports/daily")).json()
        assert [d["date"] for d in after["daily"]] == [before["daily"][-1]["date"]]
        assert after["totals"]["totalTokens"] == before["daily"][-1]["totalTokens"]
        # The window and the statuses keep working on what is left.
        assert (await http.get("/api/window")).json()["active"] is True
        cleared = (await http.put("/api/config", json={"retentionDays": None})).json()
        assert cleared["retentionDays"] is None
        # Nothing comes back, and newer lines are kept again.
        await http.post("/api/usage/laptop", json={"entries": [now_entry(now - day, 3)]})
        assert len((await http.get("/api/reports/daily")).json()["daily"]) == 2
