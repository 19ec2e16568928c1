"""``ccsync report`` as a user runs it: a real process, real files, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.corpora import ParityCase
from fixtures.lines import assistant, usage, write_transcript


def ccsync(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "TZ": "UTC", "COLUMNS": "160"}
    if home is not None:
        base["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "ccsync", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
    )


def test_daily_on_this_machines_real_data() -> None:
    done = ccsync("report", "daily", env={"HOME": os.environ.get("HOME", "/root")})
    assert done.returncode == 0, done.stderr
    done = ccsync("report", "daily", "--json", env={"HOME": os.environ.get("HOME", "/root")})
    assert done.returncode == 0, done.stderr
    assert "totals" in json.loads(done.stdout)


def test_no_data_is_an_empty_report(tmp_path: Path) -> None:
    done = ccsync("report", "daily", home=tmp_path)
    assert done.returncode == 0 and "No Claude usage data found." in done.stdout
    done = ccsync("report", "monthly", "--json", home=tmp_path)
    assert json.loads(done.stdout) == {
        "monthly": [],
        "totals": {
            "cacheCreationTokens": 0,
            "cacheReadTokens": 0,
            "inputTokens": 0,
            "outputTokens": 0,
            "totalCost": -0.0,
            "totalTokens": 0,
        },
    }


def test_claude_config_dir_is_read(tmp_path: Path) -> None:
    write_transcript(tmp_path / "a", "p/s1.jsonl", [assistant(u=usage(1000, 500))])
    write_transcript(
        tmp_path / "b",
        "p/s1.jsonl",
        [assistant(u=usage(1000, 500)), assistant(msg_id="m2", req_id="r2")],
    )
    done = ccsync(
        "report",
        "monthly",
        "--json",
        home=tmp_path,
        env={"CLAUDE_CONFIG_DIR": f"{tmp_path / 'a'},{tmp_path / 'b'}"},
    )
    assert json.loads(done.stdout)["totals"]["totalTokens"] == 1650  # the copy on b counts once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "daily", "--timezone", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["report", "daily", "--since", "2026/11/01"], "expected YYYY-MM-DD or YYYYMMDD"),
        (["report", "weekly", "--start-of-week", "someday"], "someday"),
        (["report", "blocks", "--token-limit", "lots"], "expected a number of tokens or 'max'"),
        (["report", "yearly"], "No such command 'yearly'"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = ccsync(*args, home=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_claude_config_dir_is_a_clear_error(tmp_path: Path) -> None:
    done = ccsync(
        "report", "daily", home=tmp_path, env={"CLAUDE_CONFIG_DIR": str(tmp_path / "missing")}
    )
    assert done.returncode == 2
    assert "No valid Claude data directories found in CLAUDE_CONFIG_DIR" in done.stderr


def test_tables(parity_cases: dict[str, ParityCase]) -> None:
    devices = parity_cases["case-resumed"].devices
    dirs = [arg for device in devices for arg in ("--claude-dir", str(device))]
    daily = ccsync("report", "daily", "--breakdown", *dirs)
    assert daily.returncode == 0, daily.stderr
    assert "2026-11-01" in daily.stdout and "Total" in daily.stdout and "└─" in daily.stdout
    assert "$59.26" in daily.stdout  # the case's total cost
    assert "claude-experimental-9-20990101" in daily.stdout  # listed as unpriced
    assert ccsync("report", "session", *dirs).stdout.count("-home-u") >= 10
    blocks = ccsync("report", "blocks", *dirs)
    assert "(gap)" in blocks.stdout and "5h" in blocks.stdout
    narrow = ccsync("report", "monthly", *dirs, env={"COLUMNS": "80"})
    assert "Cache Read" not in narrow.stdout and "Cost (USD)" in narrow.stdout


def test_output_to_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    for n in range(400):  # a report far larger than a pipe's buffer
        write_transcript(tmp_path, f"p/s{n}.jsonl", [assistant(session=f"s{n}", msg_id=f"m{n}")])
    shell = f"{sys.executable} -m ccsync report session --json --claude-dir {tmp_path} | head -c 10 >/dev/null"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_version() -> None:
    assert ccsync("--version").stdout.startswith("ccsync, version ")
