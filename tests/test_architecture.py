"""The import rules of ARCHITECTURE.md, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

SERVER_ONLY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "redis",
    "asyncpg",
    "aiosqlite",
    "prometheus_client",
)


def imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize(
    "module", ["ccsync.usage", "ccsync.usage.loader", "ccsync.usage.window", "ccsync.wire"]
)
def test_the_engine_and_the_wire_format_import_no_server_code(module: str) -> None:
    assert imported_by(module).isdisjoint(SERVER_ONLY)


def test_a_local_report_imports_no_server_code() -> None:
    assert imported_by("ccsync.cli.report").isdisjoint(SERVER_ONLY)


@pytest.mark.parametrize("module", ["ccsync.storage.live.memory", "ccsync.storage.history"])
def test_backends_load_their_drivers_lazily(module: str) -> None:
    loaded = imported_by(module)
    assert "redis" not in loaded and "asyncpg" not in loaded


def _agent_modules() -> list[str]:
    import pkgutil

    import ccsync.agent

    return ["ccsync.agent"] + [
        info.name for info in pkgutil.walk_packages(ccsync.agent.__path__, "ccsync.agent.")
    ]


SERVER_PACKAGES = ("ccsync.server", "ccsync.api", "ccsync.storage", "ccsync.scheduler")


@pytest.mark.parametrize("module", [*_agent_modules(), "ccsync.cli.agent"])
def test_the_agent_imports_no_server_code(module: str) -> None:
    """Every module of the device side, imported alone: no server package of ccsync's own
    (import-linter checks the static graph; this checks what really loads) and no server
    library."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.split()
    assert not [name for name in loaded if name.startswith(SERVER_PACKAGES)]
    assert {name.split(".")[0] for name in loaded}.isdisjoint(SERVER_ONLY)


def test_the_status_line_imports_only_the_standard_library() -> None:
    loaded = imported_by("ccsync.agent.statusline")
    assert {"msgspec", "httpx", "click", "rich", "websockets"}.isdisjoint(loaded)
