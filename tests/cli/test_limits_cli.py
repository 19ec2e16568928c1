"""``ccsync limits``, ``ccsync alerts`` and ``ccsync status`` as a user runs them, against a
real server process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fixtures.processes import server_process

pytestmark = pytest.mark.timeout(120)


def run(server: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccsync", *args],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "COLUMNS": "200",
            "CCSYNC_SERVER": server,
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        },
        timeout=60,
    )


def test_limits_status_and_alerts(tmp_path: Path) -> None:
    with server_process(tmp_path / "server") as server:
        empty = run(server.url, "limits")
        assert empty.returncode == 0, empty.stderr
        assert "No limit known yet" in empty.stdout

        now = time.time()
        reading = {
            "five_hour": {"used_percentage": 42, "resets_at": now + 2 * 3600 + 900},
            "seven_day": {"used_percentage": 63.2, "resets_at": now + 3 * 86400 + 3600},
            "windows": {"seven_day_opus": {"used_percentage": 20, "resets_at": now + 86400}},
            "source": "statusline",
        }
        posted = httpx.post(f"{server.url}/api/limits/laptop", json=reading, timeout=10)
        assert posted.status_code == 200, posted.text

        shown = run(server.url, "limits")
        assert shown.returncode == 0, shown.stderr
        first = shown.stdout.splitlines()[0]
        assert first.startswith("7d 63% ") and "resets 3d0h" in first  # 3d1h less a few seconds
        assert "7d ◆" in shown.stdout and "statusline on laptop" in shown.stdout
        assert "7d opus" in shown.stdout

        as_json = json.loads(run(server.url, "limits", "--json").stdout)
        assert [item["name"] for item in as_json["limits"]] == [
            "five_hour",
            "seven_day",
            "seven_day_opus",
        ]

        status = run(server.url, "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.splitlines()[0].startswith("7d 63%")

        configured = run(
            server.url,
            "alerts",
            "set",
            "--channel",
            "json://user:hunter2@127.0.0.1:9/hook",  # loopback, a closed port
            "--rule",
            "five_hour:80",
            "--rule",
            "*:projected",
            "--rule",
            "seven_day:unused<40@12h",
        )
        assert configured.returncode == 0, configured.stderr
        assert (
            "hunter2" not in configured.stdout
            and "json://user:***@127.0.0.1:9/hook" in configured.stdout
        )
        assert "seven_day: under 40 % used 12 h before the reset" in configured.stdout
        shown_config = json.loads(run(server.url, "alerts", "show", "--json").stdout)
        assert shown_config["rules"][2] == {
            "window": "seven_day",
            "unusedBelow": 40.0,
            "beforeResetMinutes": 720,
        }

        bad = run(server.url, "alerts", "set", "--channel", "nonsense://x")
        assert bad.returncode == 1 and "Apprise cannot send to 'nonsense://…'" in bad.stderr
        worse = run(server.url, "alerts", "set", "--rule", "five_hour:lots")
        assert worse.returncode == 2 and "WHEN is a percentage" in worse.stderr

        defaults = run(server.url, "alerts", "set", "--channel", "json://127.0.0.1:9/hook")
        assert "rules (the defaults):" in defaults.stdout
        failed = run(server.url, "alerts", "test")  # a closed port
        assert failed.returncode == 1 and "not delivered" in failed.stderr
        # The server may have looked at the limits meanwhile: what it fired could not be
        # delivered (a closed port), and says so.
        fired = run(server.url, "alerts", "history")
        assert fired.returncode == 0, fired.stderr
        lines = fired.stdout.strip().splitlines()
        assert lines == ["no alerts yet"] or all("[failed: not every channel" in x for x in lines)
        assert "hunter2" not in fired.stdout

        none = run(server.url, "limits", "poller", "status")
        assert none.returncode == 0 and "no account is polled" in none.stdout
        given = subprocess.run(
            [sys.executable, "-m", "ccsync", "limits", "poller", "set"],
            input="sk-ant-oat01-" + "s" * 40 + "\n",
            capture_output=True,
            text=True,
            env={
                "PATH": os.environ["PATH"],
                "CCSYNC_SERVER": server.url,
                **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
            },
            timeout=60,
        )
        assert given.returncode == 0, given.stderr
        assert given.stdout.startswith("default: not read yet") and "sss" not in given.stdout
        assert run(server.url, "limits", "poller", "remove").returncode == 0
