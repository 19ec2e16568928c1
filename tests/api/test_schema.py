"""schemathesis against ``/openapi.json`` of a real server process: every operation, fuzzed.

No 5xx; every response's status, content type and body match what the schema documents.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fixtures.server import free_port


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    port = free_port()
    data = tmp_path_factory.mktemp("schemathesis")
    env = {**os.environ, "CCSYNC_DATA_DIR": str(data), "PORT": str(port), "HOME": str(data)}
    # No claude or ccusage for jobs the fuzzer makes and runs: they fail, cleanly.
    env["PATH"] = os.pathsep.join((os.path.dirname(sys.executable), "/bin"))
    for variable in ("REDIS_URL", "DATABASE_URL", "CCSYNC_ADMIN_TOKEN", "HOST"):
        env.pop(variable, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ccsync", "serve", "--no-local-agent", "--log-level", "error"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    finally:
        process.terminate()
        process.wait(timeout=20)


EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
STATEFUL_EXAMPLES = int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_conforms_to_its_schema(api_schema: schemathesis.BaseSchema) -> None:
    """Each operation, ``SCHEMATHESIS_EXAMPLES`` generated requests (default 40)."""
    failures: list[str] = []
    tested = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc}"[:2000])
        tested += 1
    assert tested >= 15
    assert failures == []


def test_schema_documents_every_spec_endpoint(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    for path in (
        "/health",
        "/api/status",
        "/api/metrics",
        "/api/metrics/{key}",
        "/api/usage",
        "/api/usage/{deviceId}",
        "/api/usage/sync",
        "/api/usage/ccusage",
        "/api/window",
        "/api/reports/{kind}",
        "/api/config",
        "/api/config/redis",
        "/metrics",
    ):
        assert path in paths, path


def test_api_holds_up_statefully(api_schema: schemathesis.BaseSchema) -> None:
    """Sequences of calls that follow the schema's links (a job made, then changed, enabled,
    run, deleted; a token made, then revoked...): no 5xx and every answer as documented.
    ``PUT /api/config/redis`` is left out: it connects wherever the fuzzer says."""
    machine = api_schema.exclude(path="/api/config/redis", method="PUT").as_state_machine()

    class Checked(machine):  # type: ignore[valid-type,misc]
        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Checked.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
