"""Live keys under attack (hostile review findings A5, C1/C10, C4, E3, E4), over real sockets.

Each test drives a real server the way the attacker did and asserts what must hold now:
the server's own keys are read-only through ``/api/metrics``, client values are capped in
size, number and total, ``initial-data`` is bounded, a stored value never turns a read into
a 5xx, and ``GET /api/usage`` costs the same number of queries for 10 devices or 200.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from websockets.asyncio.client import connect

from fixtures.payloads import now_entry
from fixtures.server import RunningServer, backend_server

ADMIN = "ccs_admin-token-for-live-tests"
MIB = 1024 * 1024
JSON_HEADERS = {"content-type": "application/json"}
SERVER_KEYS = [
    "device:laptop",
    "device:laptop:tokens",
    "window:default",
    "limits:default",
    "tokens:x",
    "cron:job",
]


async def test_a5_a_device_token_cannot_touch_another_devices_state(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A5: a device token overwrote and deleted ``device:<other>`` through /api/metrics."""
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=ADMIN) as running:
        async with running.client(ADMIN) as admin:
            tokens = {
                device: (await admin.post("/api/tokens", json={"deviceId": device})).json()["token"]
                for device in ("dev1", "dev2")
            }
        async with running.client(tokens["dev2"]) as dev2:
            assert (await dev2.post("/api/usage/dev2", json={"tokens": 5})).status_code == 200
            before = (await dev2.get("/api/metrics/device:dev2")).json()["data"]
        assert before["deviceId"] == "dev2" and before["online"] is True
        async with running.client(tokens["dev1"]) as dev1:
            hacked = {"deviceId": "dev2", "name": "HACKED", "online": False}
            for key in ("device:dev2", "device:dev2:tokens", "device:dev1"):
                written = await dev1.post(f"/api/metrics/{key}", json=hacked)
                assert written.status_code == 403, key
                assert "belongs to the server" in written.json()["error"]
                assert (await dev1.delete(f"/api/metrics/{key}")).status_code == 403
            assert (await dev1.get("/api/metrics/device:dev2")).json()["data"] == before
            usage = (await dev1.get("/api/usage/dev2")).json()
            assert usage["name"] == "dev2" and usage["online"] is True
            # Client keys stay open to every client (any token stores and deletes them).
            assert (await dev1.post("/api/metrics/gpu", json={"temp": 60})).status_code == 200
            assert (await dev1.delete("/api/metrics/gpu")).status_code == 200


async def test_a5_c4_server_owned_keys_are_read_only_for_everyone(server: RunningServer) -> None:
    """C4/A5: any caller (here local mode, which acts as admin) wrote the keys the server
    trusts; now POST and DELETE answer 403 for each of them, and reading is still allowed."""
    async with server.client() as http:
        assert (await http.post("/api/usage/laptop", json={"tokens": 3})).status_code == 200
        for key in SERVER_KEYS:
            before = (await http.get(f"/api/metrics/{key}")).json()
            stored = await http.post(f"/api/metrics/{key}", json={"fiveHour": {"x": 1}})
            assert stored.status_code == 403, key
            assert "read-only" in stored.json()["error"]
            assert (await http.delete(f"/api/metrics/{key}")).status_code == 403, key
            assert (await http.get(f"/api/metrics/{key}")).json() == before
        assert (await http.get("/api/window")).status_code == 200


async def test_c4_poisoned_live_values_never_break_reads(server: RunningServer) -> None:
    """C4: a poisoned ``limits:`` or ``device:`` value made /api/window, /api/usage, every
    push, /api/status and PUT /api/usage/sync answer 500. Whatever is stored there (put
    straight into the store: an older version, another writer), reads stay 200."""
    now = int(time.time() * 1000)
    async with server.client() as http:
        for device in ("a", "b"):
            pushed = await http.post(f"/api/usage/{device}", json={"entries": [now_entry(now, 1)]})
            assert pushed.status_code == 200
        live = server.services.live.values
        await live.set("limits:default", {"fiveHour": {"x": 1}, "sevenDay": "nonsense"})
        await live.set("device:a", {"deviceId": 1, "online": True})
        await live.set("device:b", {"deviceId": "b", "online": True, "name": "b"})
        for method, path in (
            ("GET", "/api/window"),
            ("GET", "/api/usage"),
            ("GET", "/api/usage/a"),
            ("GET", "/api/status"),
            ("PUT", "/api/usage/sync"),
            ("GET", "/api/metrics"),
        ):
            answer = await http.request(method, path)
            assert answer.status_code == 200, (path, answer.text)
        pushed = await http.post("/api/usage/a", json={"entries": [now_entry(now, 2)]})
        assert pushed.status_code == 200
        assert (await http.get("/api/status")).json()["devicesOnline"] == ["a", "b"]
        await live.set("limits:default", [1, 2, 3])
        await live.set("device:a", {"deviceId": "a", "online": "yes"})
        assert (await http.get("/api/window")).json()["official"] == {}
        assert (await http.put("/api/usage/sync")).json()["devices"] == ["b"]
        assert (await http.get("/api/usage/a")).json()["online"] is False


async def test_c1_c10_a_lone_surrogate_is_refused_and_reads_stay_up(
    server: RunningServer, request: pytest.FixtureRequest
) -> None:
    """C1/C10: ``{"\\ud800":1}`` to /api/metrics answered 500 but was stored, and then
    ``GET /api/metrics`` answered 500 for 300 s. Now it is refused (4xx) and reads stay 200,
    even when such a text sits in the store already (an older version wrote it)."""
    async with server.client() as http:
        for body in (b'{"\\ud800": 1}', b'{"name": "a\\udfffb"}', b'"\\ud83d"'):
            refused = await http.post("/api/metrics/uni", content=body, headers=JSON_HEADERS)
            assert 400 <= refused.status_code < 500, refused.text
            assert "not storable" in refused.json()["error"]
        pair = await http.post(
            "/api/metrics/emoji", content=b'{"e": "\\ud83d\\ude00"}', headers=JSON_HEADERS
        )
        assert pair.status_code == 200  # a proper surrogate pair is just a character
        planted = False
        try:  # straight into the store, as an older version would have let it in
            await server.services.live.values.set("old", {"\ud800": 1})
            planted = True
        except ValueError:
            pass
        if server.services.live.backend == "redis":
            import redis.asyncio

            raw = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
            prefix = server.settings.redis_prefix
            await server.services.live.values.set("older", 1)
            await raw.set(f"{prefix}live:older", b'{"\\ud800":1}', px=60_000)
            await raw.aclose()
            planted = True
        listing = await http.get("/api/metrics")
        assert listing.status_code == 200
        data = listing.json()["data"]
        assert data["live:emoji"]["e"] == "\U0001f600"
        assert "live:uni" not in data and "live:older" not in data and "live:old" not in data
        for key in ("uni", "old", "older"):
            one = await http.get(f"/api/metrics/{key}")
            assert one.status_code == 200 and one.json()["data"] is None
        async with connect(server.ws_url, max_size=None) as ws:
            initial = json.loads(await ws.recv())
            assert initial["type"] == "initial-data" and "live:emoji" in initial["data"]
            await ws.send(json.dumps({"type": "get-live-data", "key": "older"}))
            assert json.loads(await ws.recv())["data"] is None
        assert planted or server.services.live.backend == "memory"


async def test_e3_a_value_over_one_mib_is_refused(server: RunningServer) -> None:
    """E3: any token stored 15 MB values (40 of them: RSS 930 MB). A value is at most 1 MiB
    of JSON now: 413, and nothing is stored."""
    async with server.client() as http:
        big = b'{"blob": "' + b"x" * (2 * MIB) + b'"}'
        refused = await http.post("/api/metrics/big", content=big, headers=JSON_HEADERS)
        assert refused.status_code == 413
        assert "at most 1,048,576" in refused.json()["error"]
        assert (await http.get("/api/metrics/big")).json()["data"] is None
        fits = b'{"blob": "' + b"x" * (MIB - 100) + b'"}'
        assert (
            await http.post("/api/metrics/fits", content=fits, headers=JSON_HEADERS)
        ).status_code == 200


async def test_e3_client_keys_are_capped_in_total_size(server: RunningServer) -> None:
    """E3: no cap on the total either. Client keys hold at most 16 MiB: the 17th value of
    1 MiB is refused (413, the store is full) until one is deleted; the server's own keys
    are not client keys, so pushes still work when the store is full."""
    async with server.client() as http:
        value = b'{"blob": "' + b"x" * (MIB - 200) + b'"}'
        codes = []
        for n in range(17):
            stored = await http.post(f"/api/metrics/big{n}", content=value, headers=JSON_HEADERS)
            codes.append(stored.status_code)
        assert codes == [200] * 16 + [413]
        assert "live store is full" in stored.json()["error"]
        assert (await http.post("/api/usage/laptop", json={"tokens": 1})).status_code == 200
        assert (await http.delete("/api/metrics/big0")).status_code == 200
        again = await http.post("/api/metrics/big16", content=value, headers=JSON_HEADERS)
        assert again.status_code == 200


async def test_e3_client_keys_are_capped_in_number(server: RunningServer) -> None:
    """E3: no cap on the number of keys. At most 10,000 client keys live at once."""
    live = server.services.live.values
    for start in range(0, 9_999, 50):  # straight into the store: quicker than HTTP
        await asyncio.gather(*(live.set(f"k{n}", n) for n in range(start, min(start + 50, 9_999))))
    async with server.client() as http:
        assert (await http.post("/api/metrics/last", json=1)).status_code == 200
        full = await http.post("/api/metrics/one-more", json=1)
        assert full.status_code == 413 and "10,000 client keys" in full.json()["error"]
        assert (await http.post("/api/metrics/last", json=2)).status_code == 200  # overwrite
        assert (await http.post("/api/usage/laptop", json={"tokens": 1})).status_code == 200
        assert (await http.get("/api/status")).json()["live"]["clientKeys"] == {
            "used": 10_000,
            "max": 10_000,
        }


async def test_e3_initial_data_is_bounded(server: RunningServer) -> None:
    """E3: every new WebSocket got the whole store as ``initial-data`` (600 MB each). It is
    at most 1 MiB now: the server's keys first, then client keys while they fit, and
    ``omitted`` counts the rest (a client reads them with ``get-live-data``)."""
    async with server.client() as http:
        assert (await http.post("/api/usage/laptop", json={"tokens": 7})).status_code == 200
        value = b'{"blob": "' + b"x" * 600_000 + b'"}'
        for n in range(4):
            stored = await http.post(f"/api/metrics/big{n}", content=value, headers=JSON_HEADERS)
            assert stored.status_code == 200
        assert (await http.post("/api/metrics/small", json={"v": 1})).status_code == 200
    frames = []
    for _ in range(3):
        async with connect(server.ws_url, max_size=None) as ws:
            frames.append(await ws.recv())
            await ws.send(json.dumps({"type": "get-live-data", "key": "big3"}))
            rest = json.loads(await ws.recv())
            assert rest["type"] == "live-data-response" and len(rest["data"]["blob"]) == 600_000
    for frame in frames:
        assert len(frame.encode() if isinstance(frame, str) else frame) <= MIB
    initial: dict[str, Any] = json.loads(frames[0])
    assert initial["type"] == "initial-data" and initial["truncated"] is True
    data = initial["data"]
    assert {"live:device:laptop", "live:device:laptop:tokens", "live:window:default"} <= set(data)
    assert "live:small" in data
    assert sum(key.startswith("live:big") for key in data) == 1
    assert initial["omitted"] == 3


def count_statements(running: RunningServer) -> list[int]:
    """A counter of the SQL statements the server's history store sends from now on."""
    counter = [0]

    def count(*args: Any) -> None:
        counter[0] += 1

    event.listen(running.services.history.engine.sync_engine, "before_cursor_execute", count)  # type: ignore[attr-defined]
    return counter


async def test_e4_usage_takes_the_same_queries_for_10_or_200_devices(
    server: RunningServer,
) -> None:
    """E4: ``GET /api/usage`` did a few queries per device (8.3 s at 4,189 devices). Now the
    number of statements does not grow with the devices."""
    device_store = server.services.history.devices
    now = int(time.time() * 1000)
    # Only the request's statements: the loops that query on their own (the scheduler's
    # ticks, the limits monitor after a push, the usage poller) are stopped for the count.
    for loop in ("scheduler", "limits", "usage-poller"):
        await server.services.supervisor.stop(loop)
    statements = count_statements(server)
    counts = []
    async with server.client() as http:
        assert (await http.post("/api/usage/pusher", json={"tokens": 1})).status_code == 200
        for total in (10, 200):
            for n in range(len(await device_store.list_devices()), total):
                await device_store.register_device(f"dev{n:04d}", "default", now)
            statements[0] = 0
            answer = await http.get("/api/usage")
            assert answer.status_code == 200 and len(answer.json()["devices"]) == total
            counts.append(statements[0])
    assert counts[1] == counts[0] and counts[1] < 40, counts


async def test_e4_usage_answers_2000_devices_quickly(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """E4, timed: 2,000 devices (online, with a current block for one) in well under a
    second on memory + SQLite (the per-device version took ~2 s here)."""
    async with backend_server(request, "memory+sqlite", tmp_path) as running:
        device_store = running.services.history.devices
        now = int(time.time() * 1000)
        async with running.client() as http:
            pushed = await http.post("/api/usage/dev0000", json={"entries": [now_entry(now, 1)]})
            assert pushed.status_code == 200
            for n in range(1, 2_000):
                await device_store.register_device(f"dev{n:04d}", "default", now)
            await http.get("/api/usage")  # warm-up: the survivors mirror, the code paths
            started = time.perf_counter()
            answer = await http.get("/api/usage")
            took = time.perf_counter() - started
        devices = answer.json()["devices"]
        assert len(devices) == 2_000
        assert devices[0]["online"] is True and devices[0]["currentBlock"] is not None
        assert took < 1.0, f"GET /api/usage took {took:.2f} s for 2,000 devices"
