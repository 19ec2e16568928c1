"""OTLP/HTTP ingest over a real server, with what the real Claude Code 2.1.332 sent.

The bodies in ``fixtures/otlp/`` were recorded from the real CLI (``fixtures/otlp_capture.py``;
provenance in ``fixtures/otlp/README.md``), both protocols, beside the transcript it wrote
in the same run. Each is posted as the CLI posts it; the entries the server makes must be
the transcript's, and sending both (either order, from two devices) counts each request once.
"""

from __future__ import annotations

import gzip
import json
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from google.rpc.status_pb2 import Status

from ccsync.usage.loader import scan
from ccsync.wire import WireEntry
from fixtures.otlp_capture import DEVICE, FIXTURES, Export, recorded, usage_fields
from fixtures.server import BACKENDS, backend_server

ADMIN = "ccs_admin-token-for-the-otlp-tests"
PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
ENCODINGS = ("json", "protobuf")


def transcript(name: str) -> list[Any]:
    """The entries of the transcript the CLI wrote in the run that sent ``name``'s bodies."""
    return scan([FIXTURES / name]).entries


async def send(http: httpx.AsyncClient, exports: list[Export], **headers: str) -> None:
    for export in exports:
        answer = await http.post(
            export.path,
            content=export.body,
            headers={"content-type": export.content_type, **headers},
        )
        assert answer.status_code == 200, answer.content
        assert answer.headers["content-type"] == export.content_type
        if export.content_type == "application/json":
            assert answer.json() == {}
        else:
            assert answer.content == b""  # an empty Export*ServiceResponse


async def device_token(admin: httpx.AsyncClient, device: str) -> str:
    made = await admin.post("/api/tokens", json={"deviceId": device})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


async def push_transcript(http: httpx.AsyncClient, device: str, name: str) -> None:
    """The transcript as an agent pushes it."""
    entries = [msgspec.to_builtins(WireEntry.from_entry(e)) for e in transcript(name)]
    answer = await http.post(f"/api/usage/{device}", json={"entries": entries})
    assert answer.status_code == 200, answer.text


async def totals(http: httpx.AsyncClient) -> dict[str, Any]:
    report = (await http.get("/api/reports/monthly")).json()
    total: dict[str, Any] = report["totals"]
    return total


def expected_totals(name: str) -> dict[str, int]:
    lines = transcript(name)
    return {
        "inputTokens": sum(e.input_tokens for e in lines),
        "outputTokens": sum(e.output_tokens for e in lines),
        "cacheReadTokens": sum(e.cache_read_tokens for e in lines),
        "cacheCreationTokens": sum(e.cache_creation_tokens for e in lines),
    }


@pytest.mark.parametrize("backends", BACKENDS)
@pytest.mark.parametrize("name", ENCODINGS)
async def test_the_real_cli_s_bodies_give_its_transcript_s_entries(
    backends: str, name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with (
        backend_server(request, backends, tmp_path, admin_token=ADMIN) as running,
        running.client(ADMIN) as admin,
    ):
        token = await device_token(admin, DEVICE)
        async with running.client(token) as laptop:
            await send(laptop, recorded(name))
            await send(laptop, recorded(name))  # an exporter's retry: nothing new
        stored = await running.services.history.entries.device_entries("default", DEVICE)
        lines = transcript(name)
        assert len(lines) == 2
        assert [usage_fields(e) for e in stored] == [usage_fields(e) for e in lines]
        for made, line in zip(stored, lines, strict=True):
            assert made.from_telemetry and made.message_id is None
            assert 0 <= made.timestamp_ms - line.timestamp_ms < 1000
            assert made.project == "otel"
        want = expected_totals(name)
        got = await totals(admin)
        assert {key: got[key] for key in want} == want
        # Claude Code's own metrics agree with the entries, session by session
        checks = (await admin.get("/api/otlp/sessions")).json()
        assert checks["disagreeing"] == 0 and len(checks["sessions"]) == 1
        (session,) = checks["sessions"]
        assert session["entryCount"] == 2 and session["agrees"] is True
        assert session["telemetryCostUSD"] == pytest.approx(session["entriesCostUSD"])


@pytest.mark.parametrize("backends", BACKENDS)
@pytest.mark.parametrize("otlp_first", [True, False], ids=["otlp-first", "transcript-first"])
async def test_telemetry_and_transcript_count_each_request_once(
    backends: str, otlp_first: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with backend_server(request, backends, tmp_path) as running, running.client() as http:
        for name in ENCODINGS:
            steps = [
                lambda n=name: send(http, recorded(n)),  # device "laptop" (its attribute)
                lambda n=name: push_transcript(http, "desk", n),  # another device
            ]
            for step in steps if otlp_first else steps[::-1]:
                await step()
        want = {k: sum(expected_totals(n)[k] for n in ENCODINGS) for k in expected_totals("json")}
        got = await totals(http)
        assert {key: got[key] for key in want} == want
        # what survives is the transcript's copy: the report is ccusage's over transcripts
        kept = [s.entry for s in await running.services.history.entries.kept_entries("default")]
        assert len(kept) == 4 and not any(e.from_telemetry for e in kept)


async def test_gzip_bodies_and_the_device_attribute(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):  # local mode: the device is the attribute's
        await send(http, _gzipped("protobuf"), **{"content-encoding": "gzip"})
        devices = (await http.get("/api/usage")).json()["devices"]
        assert [d["deviceId"] for d in devices] == [DEVICE]
        stored = await running.services.history.entries.device_entries("default", DEVICE)
        assert len(stored) == 2


def _gzipped(name: str) -> list[Export]:
    exports = recorded(name)
    for export in exports:
        export.body = gzip.compress(export.body)
    return exports


def _api_request(when_ns: int | None = None, **attributes: Any) -> bytes:
    """A logs body with one ``api_request`` event (OTLP/JSON), as 2.1.332 shapes it."""
    now_ns = time.time_ns() if when_ns is None else when_ns
    values = {
        "session.id": {"stringValue": "s1"},
        "event.name": {"stringValue": "api_request"},
        "model": {"stringValue": "claude-haiku-5-5"},
        "input_tokens": {"intValue": "12"},
        "output_tokens": {"doubleValue": 5.0},
        "cache_read_tokens": {"stringValue": "20000"},
        "cache_creation_tokens": {"intValue": 3000},
        "cache_creation_5m_tokens": {"intValue": 1000},
        "cache_creation_1h_tokens": {"intValue": 2000},
        "request_id": {"stringValue": "req_1"},
        "speed": {"stringValue": "normal"},
        "query_source": {"stringValue": "repl_main_thread"},
        **attributes,
    }
    record = {
        "timeUnixNano": str(now_ns),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": [{"key": k, "value": v} for k, v in values.items() if v is not None],
    }
    resource = {"attributes": [{"key": "ccsync.device", "value": {"stringValue": "box"}}]}
    body = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    return json.dumps(body).encode()


async def test_numbers_in_every_form_and_partial_success(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):
        answer = await http.post("/v1/logs", content=_api_request(), headers=JSON)
        assert answer.json() == {}
        (made,) = await running.services.history.entries.device_entries("default", "box")
        assert (made.input_tokens, made.output_tokens, made.cache_read_tokens) == (12, 5, 20000)
        assert (made.cache_creation_tokens, made.cache_creation_1h_tokens) == (3000, 2000)
        assert made.has_speed and not made.fast and not made.sidechain
        bad = {
            "request_id": {"stringValue": "req_2"},
            "output_tokens": {"doubleValue": 1.5},
        }
        answer = await http.post("/v1/logs", content=_api_request(**bad), headers=JSON)
        partial = answer.json()["partialSuccess"]
        assert partial["rejectedLogRecords"] == "1" and "output_tokens" in partial["errorMessage"]
        ahead = _api_request(
            time.time_ns() + 3 * 86_400 * 10**9, request_id={"stringValue": "req_3"}
        )
        answer = await http.post("/v1/logs", content=ahead, headers=JSON)
        partial = answer.json()["partialSuccess"]
        assert partial["rejectedLogRecords"] == "1" and "ahead" in partial["errorMessage"]
        # auxiliary requests (session titles, quota checks) are in no transcript: no entry
        aux = {
            "request_id": {"stringValue": "req_4"},
            "query_source": {"stringValue": "generate_session_title"},
        }
        assert (await http.post("/v1/logs", content=_api_request(**aux), headers=JSON)).json() == {}
        stored = await running.services.history.entries.device_entries("default", "box")
        assert [e.request_id for e in stored] == ["req_1"]


async def test_retention_sweeps_are_recorded(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    sweep = {
        "event.name": {"stringValue": "retention_sweep"},
        "session.id": {"stringValue": "s9"},
        "result": {"stringValue": "complete"},
        "period_days": {"stringValue": "30"},
        "used_default": {"stringValue": "false"},
        "transcripts_deleted": {"stringValue": "4"},
        "session_files_deleted": {"stringValue": "4"},
    }
    record = {
        "timeUnixNano": str(time.time_ns()),
        "body": {"stringValue": "claude_code.retention_sweep"},
        "attributes": [{"key": k, "value": v} for k, v in sweep.items()],
    }
    resource = {"attributes": [{"key": "ccsync.device", "value": {"stringValue": "box"}}]}
    body = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):
        for _ in range(2):
            answer = await http.post("/v1/logs", json=body)
            assert answer.json() == {}
        (shown,) = (await http.get("/api/otlp/sweeps", params={"device": "box"})).json()["sweeps"]
        assert shown["transcriptsDeleted"] == 4 and shown["result"] == "complete"
        assert shown["details"]["period_days"] == "30"


def _status(answer: httpx.Response, status: int, protobuf: bool) -> str:
    """``answer`` is a ``status`` refusal as a google.rpc.Status in the request's encoding."""
    assert answer.status_code == status, answer.content
    if protobuf:
        assert answer.headers["content-type"] == "application/x-protobuf"
        parsed = Status.FromString(answer.content)
        assert parsed.code != 0 and parsed.message
        return parsed.message
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert isinstance(body["code"], int) and body["message"] == body["error"]
    return str(body["message"])


@pytest.mark.parametrize("protobuf", [True, False], ids=["protobuf", "json"])
async def test_refusals_are_otlp_statuses_never_5xx(
    protobuf: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    headers = PROTOBUF if protobuf else JSON
    name = "protobuf" if protobuf else "json"
    body = recorded(name)[0].body
    async with (
        backend_server(
            request,
            "memory+sqlite",
            tmp_path,
            admin_token=ADMIN,
            max_body_bytes=64 * 1024,
            push_rate=0.01,
            push_burst=2,
        ) as running,
        AsyncExitStack() as stack,
    ):
        anonymous = await stack.enter_async_context(running.client())
        stranger = await stack.enter_async_context(running.client("ccs_wrong"))
        admin = await stack.enter_async_context(running.client(ADMIN))
        desk = await device_token(admin, "desk")
        other = await stack.enter_async_context(running.client(desk))
        cases = [
            (401, anonymous, body, {}),
            (401, stranger, body, {}),
            (403, other, body, {}),  # a token of another device than the attribute
            (400, admin, b"\xff\x00garbage{", {}),
            (400, admin, b"not gzip", {"content-encoding": "gzip"}),
            (400, admin, body, {"content-encoding": "br"}),
            (413, admin, b"x" * (65 * 1024), {}),
            # inflates past the cap: refused as a malformed body
            (
                400,
                admin,
                gzip.compress(b"\x00" * (1024 * 1024)),
                {"content-encoding": "gzip"},
            ),
            (421, admin, body, {"host": "evil.example"}),
        ]
        for status, client, content, extra in cases:
            answer = await client.post("/v1/logs", content=content, headers={**headers, **extra})
            _status(answer, status, protobuf)
        # 415: neither OTLP encoding (answered as JSON)
        answer = await admin.post(
            "/v1/logs", content=b"a=1", headers={"content-type": "text/plain"}
        )
        _status(answer, 415, False)
        # 429: too many exports for one device, with Retry-After
        exports = [await admin.post("/v1/logs", content=body, headers=headers) for _ in range(3)]
        _status(exports[-1], 429, protobuf)
        assert int(exports[-1].headers["Retry-After"]) >= 1
        # the metrics door refuses the same way
        answer = await anonymous.post("/v1/metrics", content=body, headers=headers)
        _status(answer, 401, protobuf)


def test_fixture_provenance_is_written_down() -> None:
    readme = (FIXTURES / "README.md").read_text()
    assert "2.1.332" in readme and "otlp_capture.py" in readme
