"""The container files: compose.yaml (what `podman-compose config` cannot judge: replicas,
allowed hosts, health-gated start, secrets from the env file, nothing published but the
replicas), the Dockerfile's promises (non-root, health check, volume, pinned tools), and
the health check script against a real server. deploy/smoke.sh builds and runs them."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import backend_server, free_port

ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
REPLICAS = ("ccsync-a", "ccsync-b")
RESERVED_HOST_PORTS = {3000, 5432, 6379}  # ccsync's default, PostgreSQL's and Redis's


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _stages(dockerfile: str) -> dict[str, str]:
    """Each stage's name and text."""
    parts = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    return {part.split()[2]: part for part in parts}


def test_compose_runs_two_replicas_of_the_server_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*REPLICAS, "redis", "postgres"}
    for name in REPLICAS:
        replica = services[name]
        assert replica["build"]["target"] == "server"
        assert replica["image"] == services[REPLICAS[0]]["image"]
        assert replica["hostname"] == name
        assert replica["restart"] == "unless-stopped"
        assert replica["healthcheck"]["test"] == ["CMD", "ccsync-healthcheck"]
        assert replica["depends_on"] == {
            "redis": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
        }
        env = replica["environment"]
        assert env["REDIS_HOST"] == "redis"
        assert env["DATABASE_URL"].startswith("postgresql://ccsync:${POSTGRES_PASSWORD:?")
        assert env["DATABASE_URL"].endswith("@postgres:5432/ccsync")
        assert env["CCSYNC_ADMIN_TOKEN"].startswith("${CCSYNC_ADMIN_TOKEN:?")
        allowed = env["CCSYNC_ALLOWED_HOSTS"].split(",")
        assert set(REPLICAS) <= set(allowed)  # the replicas call each other by name
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in replica["volumes"]}
        assert mounts["/data"] == name  # its own data: SQLite fallback, admin-token file
        assert mounts["/data/claude"] == "claude"  # one Claude login for both
    assert "--no-local-agent" in services["ccsync-b"]["command"]


def test_compose_publishes_only_the_replicas_on_loopback_by_default(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("redis", "postgres"):
        assert "ports" not in services[name], f"{name} must stay on the compose network"
        assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL"
    published = []
    for name in REPLICAS:
        (port,) = services[name]["ports"]
        defaults = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", port)
        host, host_port, container_port = defaults.split(":")
        assert host == "127.0.0.1" and container_port == "3000"
        published.append(int(host_port))
    assert len(set(published)) == 2 and not set(published) & RESERVED_HOST_PORTS


def test_every_compose_variable_is_in_the_env_example(compose: dict[str, Any]) -> None:
    text = (ROOT / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Za-z_]+)", text))
    example = (ROOT / "deploy" / "env.example").read_text()
    documented = set(re.findall(r"^#?([A-Z_]+)=", example, flags=re.MULTILINE))
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    required = set(re.findall(r"\$\{([A-Za-z_]+):\?", text))
    assert required == {"CCSYNC_ADMIN_TOKEN", "POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    # The example holds no secret: every required one is left empty.
    for name in required:
        assert re.search(rf"^{name}=$", example, flags=re.MULTILINE), name
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_dockerfile_final_image_is_unprivileged_with_health_check_and_volume() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = _stages(dockerfile)
    assert list(stages)[-1] == "server"  # `docker build .` gives the server
    assert {"python-build", "node-build", "runtime", "supervisor", "server"} == set(stages)
    for text in stages.values():
        assert text.startswith(("debian:bookworm-slim AS", "runtime AS"))
    runtime, server, single = stages["runtime"], stages["server"], stages["supervisor"]
    assert "HEALTHCHECK" in runtime and 'CMD ["ccsync-healthcheck"]' in runtime
    assert 'VOLUME ["/data"]' in runtime
    assert "CLAUDE_CONFIG_DIR=/data/claude" in runtime  # the login survives restarts
    assert re.search(r"^USER ccsync$", server, flags=re.MULTILINE)
    assert 'CMD ["ccsync", "serve", "--host", "0.0.0.0"]' in server
    assert re.findall(r"^USER (\S+)$", single, flags=re.MULTILINE)[-1] == "ccsync"
    # No build tools in what runs: only the build stages install pip's or npm's work.
    assert "npm" not in runtime.split("COPY")[0] and "python3-venv" not in runtime
    assert "CLAUDE_CODE_VERSION=2.1.332" in dockerfile and "CCUSAGE_VERSION=20.0.24" in dockerfile
    assert "pip install '/src[all]'" in dockerfile  # ccsync from these files, not a registry
    assert "ca-certificates/" not in dockerfile  # no host certificate is copied in


def test_supervisor_config_runs_redis_and_ccsync() -> None:
    conf = ConfigParser(interpolation=None)
    conf.read(ROOT / "deploy" / "supervisord.conf")
    redis, ccsync = conf["program:redis"], conf["program:ccsync"]
    assert redis["command"].startswith("redis-server --bind 127.0.0.1")
    assert ccsync["command"] == "ccsync serve --host 0.0.0.0"
    assert redis["autorestart"] == ccsync["autorestart"] == "true"
    assert int(redis["priority"]) < int(ccsync["priority"])  # Redis first
    assert conf["supervisorctl"]["serverurl"] == "unix://" + conf["unix_http_server"]["file"]


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env={"PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_healthcheck_passes_on_a_serving_server_and_fails_without_one(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with backend_server(request, "memory+sqlite", tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        healthy = await asyncio.to_thread(_healthcheck, port)
    assert healthy.returncode == 0, healthy.stderr
    gone = await asyncio.to_thread(_healthcheck, free_port())
    assert gone.returncode == 1 and "/health" in gone.stderr
