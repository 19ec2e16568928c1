"""Bounded time and text that is not Unicode (hostile review findings C1, C2 and C3).

Every instant is bounded: an entry dated before 2023, or more than a day ahead of the
server's clock, is refused with a counted reason at every door and never read; a local
report of a transcript that holds one never crashes.

Each door the way an attacker uses it: the real server on a real socket (both backend
pairs), the WebSocket, a real ``ccsync agent --once`` process, a real ``ccsync report``
process. What ccusage 20.0.24 prints for the same transcripts is in ``time_cases/``
(``gen_time_cases.py`` writes it).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect

from ccsync.storage.history import schema as t
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.loader import scan
from ccsync.usage.reports import Order
from fixtures.payloads import now_entry
from fixtures.processes import agent_once
from fixtures.server import RunningServer
from parity.compare import ROW_KEYS, same

YEAR_9999_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the largest timestamp the wire schema allows."""
BEFORE_2023_MS = 1_672_531_199_999
CASES = Path(__file__).resolve().parent / "time_cases"
READS = (
    "/api/window",
    "/api/usage",
    "/api/reports/blocks",
    "/api/reports/daily",
    "/api/reports/monthly",
    "/api/reports/session",
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def expected(case: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CASES / case / "expected.json").read_text())
    return loaded


async def assert_reads_answer(http: httpx.AsyncClient) -> None:
    for path in READS:
        response = await http.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:200])


async def rejected_count(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    found = re.search(r'^ccsync_ingest_entries_total\{result="rejected"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


# -- C2: a year-9999 line through REST and the WebSocket ---------------------------------------


async def test_out_of_bounds_times_over_rest_are_refused_and_break_nothing(
    server: RunningServer,
) -> None:
    """C2: a year-9999 line (and one from 2022) pushed over REST is a counted rejection with
    its reason; the window, the device list, the reports and every later push still answer."""
    now = now_ms()
    far = {**now_entry(now, 1), "timestamp": YEAR_9999_MS}
    old = {**now_entry(now, 2), "timestamp": BEFORE_2023_MS}
    reset = {**now_entry(now, 3), "usageLimitReset": YEAR_9999_MS}
    good = now_entry(now, 4, tokens=1000)
    async with server.client() as http:
        response = await http.post("/api/usage/laptop", json={"entries": [far, old, reset, good]})
        assert response.status_code == 200, response.text
        ack = response.json()
        assert (ack["accepted"], ack["rejected"]) == (1, 3)
        assert ack["errors"] == [
            "entries[0]: timestamp 9999-12-31T23:59:59.999Z is more than a day ahead of the "
            "server's clock",
            "entries[1]: timestamp 2022-12-31T23:59:59.999Z is before 2023",
            "entries[2]: usageLimitReset 9999-12-31T23:59:59.999Z is more than 8 days ahead of "
            "the server's clock",
        ]
        assert await rejected_count(http) == 3
        await assert_reads_answer(http)
        window = (await http.get("/api/window")).json()
        assert window["active"] is True and window["tokens"] == 1500
        assert window["end"] < "9999"
        for body in ({"tokens": 7}, {"entries": [now_entry(now, 5, minutes_ago=5)]}):
            assert (await http.post("/api/usage/desktop", json=body)).status_code == 200
        assert (await http.get("/api/window")).json()["tokens"] == 3000


async def test_out_of_bounds_blocks_and_reset_times_are_refused(server: RunningServer) -> None:
    """C2: ccusage blocks dated in year 9999 or 2022 are counted rejections; official limits
    resetting in year 9999 are a 422 with the reason. Reads still answer."""
    now = now_ms()
    hour = 3_600_000

    def block(start: str, end: str) -> dict[str, Any]:
        return {"id": start, "startTime": start, "endTime": end, "isActive": True, "entries": 1}

    from ccsync.usage.timestamps import iso_millis

    blocks = [
        block("9999-12-31T23:00:00.000Z", "9999-12-31T23:59:59.999Z"),
        block("2022-12-31T18:00:00.000Z", "2022-12-31T23:00:00.000Z"),
        block(iso_millis(now - hour), "9999-12-31T23:59:59.999Z"),
        block(iso_millis(now - hour), iso_millis(now + 4 * hour)),
    ]
    async with server.client() as http:
        ack = (await http.post("/api/usage/laptop", json={"blocks": blocks})).json()
        assert (ack["accepted"], ack["rejected"]) == (1, 3)
        assert ack["errors"] == [
            "blocks[0]: startTime 9999-12-31T23:00:00.000Z is more than a day ahead of the "
            "server's clock",
            "blocks[1]: startTime 2022-12-31T18:00:00.000Z is before 2023",
            "blocks[2]: endTime 9999-12-31T23:59:59.999Z is more than 2 days ahead of the "
            "server's clock",
        ]
        far = {"five_hour": {"used_percentage": 50, "resets_at": YEAR_9999_MS // 1000}}
        refused = await http.post("/api/limits/laptop", json=far)
        assert refused.status_code == 422
        assert (
            "five_hour.resets_at 9999-12-31T23:59:59.000Z is more than 8 days ahead"
            in (refused.json()["error"])
        )
        near = {"five_hour": {"used_percentage": 50, "resets_at": now / 1000 + 3600}}
        assert (await http.post("/api/limits/laptop", json=near)).status_code == 200
        await assert_reads_answer(http)


async def test_a_year_9999_line_over_the_websocket_is_refused_and_breaks_nothing(
    server: RunningServer,
) -> None:
    """C2: the same line as a ``usage_update`` message: a counted rejection in the sync
    response, the connection stays usable, and the server's reads still answer."""
    now = now_ms()
    far = {**now_entry(now, 1), "timestamp": YEAR_9999_MS}
    async with connect(server.ws_url) as ws:
        await ws.recv()  # initial-data
        message = {"type": "usage_update", "deviceId": "phone", "entries": [far, now_entry(now, 2)]}
        await ws.send(json.dumps(message))
        answer = await _next(ws, "sync_response")
        assert (answer["accepted"], answer["rejected"]) == (1, 1)
        assert answer["errors"][0].startswith("entries[0]: timestamp 9999-12-31T23:59:59.999Z")
        assert answer["syncWindow"]["tokens"] == 1500
        await ws.send(json.dumps({**message, "entries": [now_entry(now, 3)]}))
        assert (await _next(ws, "sync_response"))["accepted"] == 1
    async with server.client() as http:
        await assert_reads_answer(http)


async def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if message.get("type") in (kind, "error"):
            return message


async def test_a_line_stored_out_of_bounds_cannot_break_reads(server: RunningServer) -> None:
    """C2 (defence in depth): a year-9999 line already in the database (stored before the
    bound, or by hand after migration 0004), and an official reset no date can hold in the
    live store: every read still answers, and the window does not count the line."""
    history = server.services.history
    assert isinstance(history, SqlHistoryStore)
    now = now_ms()
    async with server.client() as http:
        ack = (await http.post("/api/usage/laptop", json={"entries": [now_entry(now, 1)]})).json()
        assert ack["accepted"] == 1
        row = {
            **msgspec.structs.asdict(_stored()),
            "account": ack["account"],
            "device_id": "laptop",
            "kept": True,
        }
        row["line_offset"] = row.pop("offset")
        async with history.engine.begin() as conn:
            await conn.execute(t.entries.insert().values(**row))
        official = {
            "fiveHour": {
                "usedPercentage": 1.0,
                "resetsAtMs": 10**22,
                "deviceId": "laptop",
                "reportedMs": now,
            }
        }
        await server.services.live.values.set(f"limits:{ack['account']}", official)
        await assert_reads_answer(http)
        window = (await http.get("/api/window")).json()
        assert window["tokens"] == 1500 and window["end"] < "9999"
        assert (await http.post("/api/usage/laptop", json={"tokens": 1})).status_code == 200


def _stored() -> Any:
    from factories import entry

    return entry(
        ts=YEAR_9999_MS,
        inp=10**6,
        out=1,
        mid="m-far",
        rid="r-far",
        reset_ms=YEAR_9999_MS,
        session="s1",
        source="laptop:/home/u/.claude/projects/p/far.jsonl",
    )


# -- C3: the same line in a transcript ---------------------------------------------------------


async def test_an_agent_pushing_a_year_9999_transcript_line_drains_and_breaks_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    """C3: ``ccsync agent --once`` reads a transcript holding a year-9999 line: the server
    refuses that line (counted), the agent's outbox drains, and the server keeps answering
    (``ccsync status`` included)."""
    device = tmp_path / "device"
    shutil.copytree(CASES / "year-9999" / "claude", device)
    done = await asyncio.to_thread(agent_once, device, "laptop", server.url, tmp_path / "state")
    assert done.returncode == 0, done.stderr
    assert "read 2 new entries" in done.stderr and "sent 2; 0 waiting" in done.stderr
    assert await server.services.history.entries.entry_count() == 1
    async with server.client() as http:
        assert await rejected_count(http) == 1
        await assert_reads_answer(http)
        daily = (await http.get("/api/reports/daily", params={"timezone": "UTC"})).json()
        assert [row["date"] for row in daily["daily"]] == ["2026-11-01"]
    again = await asyncio.to_thread(agent_once, device, "laptop", server.url, tmp_path / "state")
    assert again.returncode == 0 and "read 0 new entries" in again.stderr
    status = await asyncio.to_thread(_ccsync, "status", "--server", server.url, home=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr


def test_the_local_blocks_report_of_a_year_9999_line_is_ccusages(tmp_path: Path) -> None:
    """C3: ``ccsync report blocks --json`` on a transcript with a year-9999 line does not
    crash: it prints what ccusage 20.0.24 prints, a block ending 10000-01-01T04:00:00.000Z."""
    done = _ccsync(
        "report",
        "blocks",
        "--json",
        "--timezone",
        "UTC",
        "--claude-dir",
        str(CASES / "year-9999" / "claude"),
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == expected("year-9999")["blocks --timezone UTC"]
    assert report["blocks"][-1]["endTime"] == "10000-01-01T04:00:00.000Z"


@pytest.mark.parametrize(
    ("case", "args"),
    [(case, args) for case in ("year-9999", "far") for args in expected(case)],
)
def test_local_reports_of_far_instants_are_ccusages(case: str, args: str) -> None:
    """C3: every report over the far instants ccusage reads (year 0000 and offsets that
    reach years -1 and 10000, dates past jiff's range, resets in year 292,278,994) equals
    ccusage's output, in several zones and with --order/--since/--until."""
    kind, *rest = args.split()
    flags = dict(zip(rest[::2], rest[1::2], strict=True))
    options = ReportOptions(
        timezone=flags["--timezone"],
        since=_day(flags.get("--since")),
        until=_day(flags.get("--until")),
        order=Order(flags.get("--order", "asc")),
    )
    entries = scan([CASES / case / "claude"], workers=1).entries
    report = build_report(ReportKind(kind), entries, options, now_ms())
    assert differences(expected(case)[args], report) == []


def differences(ccusage: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """The parity rules (``parity/compare.py``: costs within 1e-6 USD, the summation order
    differs when a file's lines are out of time order), plus the same rows in the same order."""
    found: list[str] = []
    same(ccusage, ours, "report", found)
    for name, keys in ROW_KEYS.items():
        if name in ccusage:
            order = [[row[key] for key in keys] for row in ccusage[name]]
            if order != [[row[key] for key in keys] for row in ours[name]]:
                found.append(f"{name}: rows in another order")
    return found


def _day(value: str | None) -> Any:
    from datetime import date

    return None if value is None else date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _ccsync(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "TZ": "UTC", "HOME": str(home)}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "ccsync", *args], capture_output=True, text=True, env=env
    )


# -- C1: text that is not Unicode --------------------------------------------------------------


async def test_invalid_utf8_and_lone_surrogates_are_a_400(server: RunningServer) -> None:
    """C1: invalid UTF-8 inside ``entries`` (and a surrogate encoded as UTF-8 bytes, and one
    escaped) is a 400 with a message, on pushes and on limits; over the WebSocket an escaped
    lone surrogate (in a push, in a hello) is an error frame 4000 and the connection stays
    open. (Invalid UTF-8 in a WebSocket text frame is closed with 1007 by the protocol.)"""
    entry = (
        b'{"entries":[{"source":"/p/%s","offset":8,"timestamp":%d,"project":"p",'
        b'"session":"s","projectPath":"/p"}]}'
    )
    stamp = now_ms()
    bodies = [
        entry % (b"\xff\xfe", stamp),
        entry % (b"\xed\xa0\x80", stamp),  # U+D800 as UTF-8 bytes: not UTF-8
        entry % (b"\\ud800", stamp),  # escaped lone surrogate
        b'{"tokens":1,"account":"\xc3"}',
    ]
    headers = {"content-type": "application/json"}
    async with server.client() as http:
        for body in bodies:
            response = await http.post("/api/usage/d1", content=body, headers=headers)
            assert response.status_code == 400, (body, response.status_code, response.text)
            assert response.json()["error"].startswith("malformed JSON: "), response.text
        for body in (b'{"account":"\xff"}', b'{"account":"\\udfff"}'):
            response = await http.post("/api/limits/d1", content=body, headers=headers)
            assert response.status_code == 400, (body, response.status_code, response.text)
        await assert_reads_answer(http)
    async with connect(server.ws_url) as ws:
        await ws.recv()  # initial-data
        good = now_entry(stamp, 1)
        text = json.dumps({"type": "usage_update", "deviceId": "d1", "entries": [good]})
        await ws.send(text.replace('"p"', '"p\\ud800"', 1))
        refused = await _next(ws, "error")
        assert refused["type"] == "error" and refused["code"] == 4000
        await ws.send(text)
        assert (await _next(ws, "sync_response"))["accepted"] == 1
        await ws.send(json.dumps({"type": "hello", "deviceId": "d2", "name": "x\ud800"}))
        refused = await _next(ws, "error")
        assert refused["code"] == 4000 and "not valid Unicode" in refused["message"]
        await ws.send(json.dumps({"type": "hello", "deviceId": "d2", "name": "tablet"}))
        assert (await _next(ws, "welcome"))["deviceId"] == "d2"
