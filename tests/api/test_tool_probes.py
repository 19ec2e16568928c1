"""``/api/status``'s look at ``claude`` and ``ccusage``: through the one runner, so a probe
that hangs is stopped with what it started, and without the server's secrets."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from ccsync.api.rest import system
from fixtures.server import RunningServer

pytestmark = pytest.mark.timeout(60)

PROBE = """
import json, os, subprocess, sys, time
out = os.environ["PROBE_OUT"]
with open(os.path.join(out, os.path.basename(sys.argv[0]) + ".env"), "w") as f:
    json.dump(dict(os.environ), f)
if sys.argv[1:] != ["--version"]:
    sys.exit(1)
if os.path.basename(sys.argv[0]) == "ccusage" and os.environ.get("PROBE_HANG"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.path.join(out, "pids"), "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    time.sleep(60)
print("9.9.9 (probe)")
"""


@pytest.fixture
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``claude`` and ``ccusage`` first on ``PATH``: they note their environment in the
    folder returned; with ``PROBE_HANG`` set, ``ccusage --version`` hangs (with a child)."""
    bin_dir, out = tmp_path / "probe-bin", tmp_path / "probe-out"
    bin_dir.mkdir()
    out.mkdir()
    for name in ("claude", "ccusage"):
        (bin_dir / name).write_text(f"#!{sys.executable}\n{PROBE}")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PROBE_OUT", str(out))
    return out


def _gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


async def test_a_hanging_probe_is_stopped_with_what_it_started(
    server: RunningServer, probes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_HANG", "1")
    monkeypatch.setattr(system, "TOOL_TIMEOUT_SECONDS", 0.5)
    async with server.client() as http:
        started = time.monotonic()
        tools = (await http.get("/api/status")).json()["tools"]
        assert time.monotonic() - started < 10
    assert tools["ccusage"]["found"] is True and tools["ccusage"]["version"] is None
    assert tools["claude"]["version"] == "9.9.9 (probe)"
    probe, child = map(int, (probes / "pids").read_text().split())
    assert _gone(probe) and _gone(child), "a probe outlived its timeout"


async def test_probes_run_without_the_servers_secrets(
    server: RunningServer, probes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCSYNC_ADMIN_TOKEN", "ccs_" + "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://ccsync:hunter2@db/ccsync")
    monkeypatch.setenv("DEPLOY_API_KEY", "s3cret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-for-claude")
    async with server.client() as http:
        tools = (await http.get("/api/status")).json()["tools"]
    assert tools["ccusage"]["version"] == tools["claude"]["version"] == "9.9.9 (probe)"
    for name in ("claude", "ccusage"):
        env = json.loads((probes / f"{name}.env").read_text())
        assert env["PATH"] == os.environ["PATH"]
        assert not {"CCSYNC_ADMIN_TOKEN", "DATABASE_URL", "DEPLOY_API_KEY"} & set(env)
    # claude gets its own login variables back (as a claude job does); ccusage does not.
    assert json.loads((probes / "claude.env").read_text())["ANTHROPIC_API_KEY"]
    assert "ANTHROPIC_API_KEY" not in json.loads((probes / "ccusage.env").read_text())
