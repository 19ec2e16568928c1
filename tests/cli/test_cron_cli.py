"""``ccsync cron`` as a user runs it, against a real server process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccsync.cli.cron import window_started
from fixtures.doubles import Doubles
from fixtures.processes import server_process

pytestmark = pytest.mark.timeout(120)
T = "2027-03-10T12:00:00.000Z"


def test_add_list_run_history_rm(tmp_path: Path, doubles: Doubles) -> None:
    env = {**doubles.env, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    with server_process(tmp_path / "server", **env) as server:

        def cron(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "ccsync", "cron", *args],
                capture_output=True,
                text=True,
                env={
                    "PATH": os.environ["PATH"],
                    "COLUMNS": "200",
                    "CCSYNC_SERVER": server.url,
                    **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # this checkout
                },
                timeout=60,
            )

        assert "No jobs" in cron("list").stdout
        added = cron(
            "add", "mornings", "--warmup", "--reset-at", "07:00,12:00", "--timezone", "UTC"
        )
        assert added.returncode == 0, added.stderr
        assert "0 2,7 * * * (UTC), disabled" in added.stdout
        job_id = added.stdout.split()[1]

        bad = cron("add", "x", "61 * * * *", "ccusage blocks --json")
        assert bad.returncode == 1 and "e.g. '0 7 * * 1-5'" in bad.stderr

        listed = json.loads(cron("list", "--json").stdout)
        assert [job["id"] for job in listed] == [job_id]
        assert "mornings" in cron("list").stdout

        ran = cron("run", job_id)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith("succeeded")
        assert "window started (official, resets " in ran.stdout  # its rate_limit_event
        # The window the first run started (its official reading): skipped, not a failure.
        again = cron("run", job_id)
        assert (
            again.returncode == 0
            and again.stdout.startswith("skipped")
            and "already running" in again.stdout
        )

        runs = json.loads(cron("history", job_id, "--json").stdout)
        assert [run["status"] for run in runs] == ["skipped", "succeeded"]
        history = cron("history", job_id).stdout
        assert "manual" in history
        resets = runs[1]["windowStarted"]["resetsAt"]
        assert f"window started (official, resets {resets[11:16]}Z)" in history

        assert cron("enable", job_id).returncode == 0
        assert json.loads(cron("list", "--json").stdout)[0]["enabled"] is True
        assert cron("rm", job_id).returncode == 0
        missing = cron("run", job_id)
        assert missing.returncode == 1 and "404" in missing.stderr


@pytest.mark.parametrize(
    ("run", "said"),
    [
        ({"windowStarted": None}, None),
        (
            {"windowStarted": {"verified": True, "by": "official", "resetsAt": T}},
            "window started (official, resets 12:00Z)",
        ),
        (
            {
                "windowStarted": {
                    "verified": True,
                    "by": "usage",
                    "blockStart": T,
                    "firstRequest": T,
                }
            },
            "window started (usage, first request 12:00Z)",
        ),
        (
            {"windowStarted": {"verified": False, "reason": "no synced usage line of it"}},
            "window NOT verified: no synced usage line of it",
        ),
    ],
)
def test_what_history_says_of_a_warmup(run: dict[str, object], said: str | None) -> None:
    assert window_started(run) == said
