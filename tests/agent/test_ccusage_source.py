"""``ccsync agent --source ccusage``: ccusage run through the one runner (``ccsync.process``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from ccsync.agent.ccusage_source import CcusageError, run_ccusage

pytestmark = pytest.mark.timeout(60)

HANGS = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(f"{child.pid}")
time.sleep(60)
"""


def _gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":  # ended; only its parent's wait is left
            return True
        time.sleep(0.05)
    return False


async def test_its_stdout_is_returned() -> None:
    out = await run_ccusage([sys.executable, "-c", "print('{\"blocks\": []}')"])
    assert out == b'{"blocks": []}\n'


async def test_a_failure_says_what_ccusage_said() -> None:
    argv = [sys.executable, "-c", "import sys; sys.exit('no data directory')"]
    with pytest.raises(CcusageError, match=r"failed \(1\): no data directory"):
        await run_ccusage(argv)


async def test_a_missing_ccusage_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CcusageError, match="ccusage not found on PATH"):
        await run_ccusage(["ccusage", "blocks", "--json"])


async def test_a_timeout_stops_its_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(CcusageError, match="took longer than"):
        await run_ccusage([sys.executable, "-c", HANGS, str(pidfile)], timeout=1.0)
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    assert _gone(child), "the child ccusage started outlived the timeout"
