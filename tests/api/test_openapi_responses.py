"""Every operation of ``/openapi.json``, walked with valid inputs on a real server.

Each answer must be a success the schema documents for that operation, in the documented
media type, and its body must validate against the documented schema (JSON Schema
2020-12, ``$ref`` resolved in the document's components). The walk names every
operation: one the schema adds without a step here fails the test, so a new endpoint
comes with a documented, checked answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from fixtures.corpora import ParityCase
from fixtures.otlp_capture import recorded
from fixtures.payloads import now_entry
from fixtures.server import BACKENDS, RunningServer, backend_server

REPORTS = ("daily", "weekly", "monthly", "session", "blocks")


@dataclass
class Step:
    method: str
    path: str
    """The operation's path, as the schema names it."""
    params: dict[str, str] = field(default_factory=dict)
    """Its path parameters (named as in ``path``)."""
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    keep: str | None = None
    """Remember the answer under this name (later steps take ids from it)."""

    @property
    def url(self) -> str:
        url = self.path
        for name, value in self.params.items():
            url = url.replace("{" + name + "}", value)
        return url


@dataclass
class Walk:
    openapi: dict[str, Any]
    kept: dict[str, Any] = field(default_factory=dict)
    walked: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def schema_of(self, step: Step, status: int) -> tuple[str, dict[str, Any]] | None:
        operation = self.openapi["paths"][step.path][step.method.lower()]
        response = operation["responses"].get(str(status))
        if response is None or "content" not in response:
            return None
        ((media, content),) = response["content"].items()
        return media, content["schema"]

    def check(self, step: Step, answer: httpx.Response) -> None:
        self.walked.add((step.method.lower(), step.path))
        label = f"{step.method} {step.url}"
        if not 200 <= answer.status_code < 300:
            self.problems.append(f"{label}: {answer.status_code} {answer.text[:300]}")
            return
        documented = self.schema_of(step, answer.status_code)
        if documented is None:
            self.problems.append(f"{label}: {answer.status_code} is not documented")
            return
        media, schema = documented
        if answer.headers["content-type"].split(";")[0] != media:
            self.problems.append(f"{label}: {answer.headers['content-type']}, not {media}")
            return
        if media != "application/json":
            return
        if not schema or schema == {"type": "object"}:
            self.problems.append(f"{label}: the schema says nothing: {schema}")
        body = answer.json()
        validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": self.openapi["components"]}
        )
        for error in validator.iter_errors(body):
            self.problems.append(f"{label}: {error.message} at {list(error.instance_path)}")
        if step.keep is not None:
            self.kept[step.keep] = body


def steps(walk: Walk, running: RunningServer) -> Iterator[Step]:
    """Every operation with valid inputs, in an order that makes what the next needs."""
    now = int(time.time() * 1000)
    entries = [now_entry(now, n, minutes_ago=5 + n) for n in range(3)]
    block = {
        "id": "b1",
        "startTime": time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime(now / 1000 - 3600)),
        "endTime": time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime(now / 1000 + 4 * 3600)),
        "isActive": True,
        "entries": 1,
        "tokenCounts": {"inputTokens": 10, "outputTokens": 5},
        "costUSD": 0.01,
        "models": ["claude-sonnet-4-20250514"],
    }
    reading = {"used_percentage": 12.5, "resets_at": now / 1000 + 3600}
    redis = running.settings.redis_url or "memory://"
    yield Step("GET", "/health")
    yield Step("GET", "/metrics")
    yield Step("POST", "/api/metrics/{key}", {"key": "walk"}, body={"v": 1})
    yield Step("GET", "/api/metrics")
    yield Step("GET", "/api/metrics/{key}", {"key": "walk"})
    push = {"entries": entries, "stream": "s1", "seq": 3, "device": {"name": "Laptop"}}
    yield Step("POST", "/api/usage/{deviceId}", {"deviceId": "laptop"}, body=push)
    yield Step("POST", "/api/usage/{deviceId}", {"deviceId": "cc"}, body={"blocks": [block]})
    yield Step("POST", "/api/usage/{deviceId}", {"deviceId": "desk"}, body={"tokens": 7})
    limits = {"five_hour": reading, "seven_day": {"used_percentage": 3}, "source": "statusline"}
    yield Step("POST", "/api/limits/{deviceId}", {"deviceId": "laptop"}, body=limits)
    yield Step("POST", "/api/usage/ccusage")
    yield Step("GET", "/api/usage")
    yield Step("GET", "/api/usage/{deviceId}", {"deviceId": "laptop"})
    yield Step("GET", "/api/usage/{deviceId}", {"deviceId": "cc"})
    yield Step("GET", "/api/usage/{deviceId}/mark", {"deviceId": "laptop"}, {"stream": "s1"})
    yield Step("PUT", "/api/usage/sync")
    # OpenTelemetry: what the real Claude Code sent (OTLP/JSON; the device is its attribute)
    for export in recorded("json"):
        yield Step("POST", export.path, body=json.loads(export.body))
    yield Step("GET", "/api/otlp/sessions")
    yield Step("GET", "/api/otlp/sweeps", query={"device": "laptop"})
    yield Step("GET", "/api/window")
    yield Step("GET", "/api/limits")
    alerts = {"channels": ["json://127.0.0.1:9/hook"], "rules": [{"atPercent": 80}]}
    yield Step("PUT", "/api/alerts", body=alerts)
    yield Step("GET", "/api/alerts")
    yield Step("POST", "/api/alerts/test")  # a closed port: answered, not delivered
    yield Step("GET", "/api/alerts/history")
    yield Step("PUT", "/api/limits/poller", body={"token": "sk-ant-oat01-walk-token"})
    yield Step("GET", "/api/limits/poller")
    yield Step("DELETE", "/api/limits/poller")
    for kind in REPORTS:
        yield Step("GET", "/api/reports/{kind}", {"kind": kind})
        yield Step("GET", "/api/reports/{kind}", {"kind": kind}, {"device": "laptop"})
    yield Step("GET", "/api/config")
    change = {"timezone": "Europe/Paris", "planTokenLimit": 100_000, "retentionDays": 3650}
    yield Step("PUT", "/api/config", body=change)
    yield Step("GET", "/api/window")
    yield Step("GET", "/api/config/redis")
    yield Step("PUT", "/api/config/redis", body={"url": redis})
    yield Step("POST", "/api/tokens", body={"deviceId": "phone", "label": "p"}, keep="token")
    yield Step("GET", "/api/tokens")
    command = {"name": "blocks", "schedule": "0 7 * * *", "command": "ccusage blocks --json"}
    yield Step("POST", "/api/cron", body=command, keep="job")
    warmup = {"name": "morning", "kind": "warmup", "resetAt": ["12:00"], "timezone": "UTC"}
    yield Step("POST", "/api/cron", body=warmup, keep="warmup")
    job = {"job_id": walk.kept["job"]["job"]["id"]}
    yield Step("GET", "/api/cron")
    yield Step("GET", "/api/cron/{job_id}", job)
    yield Step(
        "PUT", "/api/cron/{job_id}", job, body={"name": "blocks at 8", "schedule": "0 8 * * *"}
    )
    yield Step("POST", "/api/cron/{job_id}/disable", job)
    yield Step("POST", "/api/cron/{job_id}/enable", job)
    yield Step("POST", "/api/cron/validate-schedule", body={"schedule": "*/5 * * * *"})
    yield Step("POST", "/api/cron/{job_id}/execute", job)
    yield Step("GET", "/api/cron/{job_id}/runs", job)
    yield Step("GET", "/api/config")
    yield Step("GET", "/api/status")
    yield Step("DELETE", "/api/cron/{job_id}", {"job_id": walk.kept["warmup"]["job"]["id"]})
    yield Step("DELETE", "/api/tokens/{token_id}", {"token_id": walk.kept["token"]["id"]})
    yield Step("DELETE", "/api/metrics/{key}", {"key": "walk"})


@pytest.mark.parametrize("backends", BACKENDS)
async def test_every_operation_answers_what_its_schema_says(
    backends: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    parity_cases: dict[str, ParityCase],
) -> None:
    host_data = tuple(map(str, parity_cases["case-basic"].devices))
    running_server = backend_server(
        request, backends, tmp_path, local_agent=True, claude_dirs=host_data
    )
    async with running_server as running, running.client() as http:
        walk = Walk((await http.get("/openapi.json")).json())
        for step in steps(walk, running):
            answer = await http.request(
                step.method, step.url, params=step.query or None, json=step.body
            )
            walk.check(step, answer)
    assert walk.problems == []
    operations = {(method, path) for path, ops in walk.openapi["paths"].items() for method in ops}
    assert operations - walk.walked == set(), "operations without a step in this walk"
    assert len(operations) >= 30
