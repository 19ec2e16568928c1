#!/usr/bin/env python3
"""OTLP ingest: how long 1,000 ``api_request`` events take, decoded and through a server.

The events are copies of the one the real Claude Code 2.1.332 sent in
``tests/fixtures/otlp/protobuf/`` (same attributes, a new ``request_id`` each), in one
``ExportLogsServiceRequest`` per batch, as protobuf and as OTLP/JSON:

- decode: body → records → entries (``server.otlp.decode`` + ``mapping``), in process;
- server: ``POST /v1/logs`` to ``ccsync serve`` (SQLite, loopback) until answered, i.e.
  decoded, stored with survivors decided, the window recomputed and published.

Medians of ``--rounds`` batches of ``--events`` events.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from ccsync.server.otlp import decode, mapping

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "otlp" / "protobuf"


def template() -> ExportLogsServiceRequest:
    """The first recorded export holding an ``api_request``, reduced to that one record."""
    for path in sorted(FIXTURE.glob("*-logs.bin")):
        request = ExportLogsServiceRequest.FromString(path.read_bytes())
        for resource_logs in request.resource_logs:
            for scope in resource_logs.scope_logs:
                for record in scope.log_records:
                    if record.body.string_value == mapping.API_REQUEST:
                        del scope.log_records[:]
                        scope.log_records.append(record)
                        del resource_logs.scope_logs[:]
                        resource_logs.scope_logs.append(scope)
                        del request.resource_logs[:]
                        request.resource_logs.append(resource_logs)
                        return request
    raise SystemExit("no api_request in the fixtures")


def batch(base: ExportLogsServiceRequest, events: int, tag: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    request.CopyFrom(base)
    scope = request.resource_logs[0].scope_logs[0]
    (record,) = scope.log_records
    now = time.time_ns()
    del scope.log_records[:]
    for n in range(events):
        copy = scope.log_records.add()
        copy.CopyFrom(record)
        copy.time_unix_nano = now - (events - n) * 1_000_000
        for attribute in copy.attributes:
            if attribute.key == "request_id":
                attribute.value.string_value = f"req_bench_{tag}_{n}"
    return request


def bodies(base: ExportLogsServiceRequest, events: int, tag: str) -> dict[str, bytes]:
    request = batch(base, events, tag)
    return {
        "protobuf": request.SerializeToString(),
        "json": MessageToJson(request, indent=None).encode(),
    }


def time_decode(base: ExportLogsServiceRequest, events: int, rounds: int) -> None:
    for encoding in ("protobuf", "json"):
        body = bodies(base, events, "d")[encoding]
        spent = []
        for _ in range(rounds):
            started = time.perf_counter()
            records = decode.log_records(body, encoding)  # type: ignore[arg-type]
            made = [mapping.usage_entry(r, "bench", int(time.time() * 1000)) for r in records]
            spent.append(time.perf_counter() - started)
            assert len(made) == events
        print(f"decode {encoding:8} {events:,} events: {statistics.median(spent) * 1000:.1f} ms")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_server(base: ExportLogsServiceRequest, events: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "CCSYNC_DATA_DIR": tmp, "HOME": tmp}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ccsync",
                "serve",
                "--no-local-agent",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            with httpx.Client(base_url=url, timeout=60) as http:
                for encoding, media in (
                    ("protobuf", "application/x-protobuf"),
                    ("json", "application/json"),
                ):
                    spent = []
                    for n in range(rounds):
                        body = bodies(base, events, f"{encoding}{n}")[encoding]
                        started = time.perf_counter()
                        answer = http.post(
                            "/v1/logs", content=body, headers={"content-type": media}
                        )
                        spent.append(time.perf_counter() - started)
                        assert answer.status_code == 200, answer.content
                        time.sleep(0.1)  # under the per-device rate limit
                    print(
                        f"server {encoding:8} {events:,} events: "
                        f"{statistics.median(spent) * 1000:.1f} ms ({len(body):,} bytes)"
                    )
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    base = template()
    time_decode(base, args.events, args.rounds)
    time_server(base, args.events, args.rounds)


if __name__ == "__main__":
    main()
