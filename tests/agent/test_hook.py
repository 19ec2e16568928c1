"""``ccsync hook``: merged into existing settings, idempotent, backed up, cleanly removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccsync.agent.hook import (
    REFRESH_SECONDS,
    ClaudeSettingsError,
    install,
    settings_path,
    status,
    uninstall,
)

EXISTING = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git status)"]},
    "hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "~/bin/notify.sh"}]}],
        "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "say done"}]}],
    },
    "statusLine": {"type": "command", "command": "~/bin/my-status.sh"},
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    settings = tmp_path / "home" / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(EXISTING, indent=4))
    return tmp_path / "home"


def test_install_merges_and_uninstall_restores(home: Path, tmp_path: Path) -> None:
    path = settings_path(env={"HOME": str(home)})
    state = tmp_path / "state"
    backup = install(path, state, command="/opt/ccsync")
    assert backup is not None and backup.exists() and json.loads(backup.read_text()) == EXISTING
    settings = json.loads(path.read_text())
    assert settings["model"] == "opus" and settings["permissions"] == EXISTING["permissions"]
    prompt_hooks = settings["hooks"]["UserPromptSubmit"]
    assert prompt_hooks[0] == EXISTING["hooks"]["UserPromptSubmit"][0]  # the user's, untouched
    assert prompt_hooks[1]["hooks"][0] == {
        "type": "command",
        "command": "/opt/ccsync agent --once --quiet",
        "timeout": 15,
    }
    assert settings["hooks"]["SessionStart"][0]["matcher"] == "startup|resume"
    assert settings["hooks"]["Stop"] == EXISTING["hooks"]["Stop"]
    assert settings["statusLine"] == {
        "type": "command",
        "command": "/opt/ccsync statusline",
        "padding": 0,
        "refreshInterval": 30,  # seconds: re-run while idle
    }
    assert status(path).installed and status(path).refresh_interval == 30

    assert install(path, state, command="/opt/ccsync") is None  # twice: nothing changes
    assert json.loads(path.read_text()) == settings

    assert uninstall(path, state) is not None
    assert json.loads(path.read_text()) == EXISTING  # exactly what was there
    assert not status(path).installed
    assert uninstall(path, state) is None


def test_refresh_interval_is_added_once_and_a_users_own_is_kept(tmp_path: Path) -> None:
    """Claude Code's schema: ``refreshInterval`` a number of seconds, at least 1."""
    assert isinstance(REFRESH_SECONDS, int) and REFRESH_SECONDS >= 1
    path = tmp_path / "settings.json"
    state = tmp_path / "state"
    # A status line an earlier ccsync installed (no refreshInterval): install adds it only.
    earlier = {
        "statusLine": {"type": "command", "command": "/opt/ccsync statusline", "padding": 0},
        "theme": "dark",
    }
    path.write_text(json.dumps(earlier))
    assert status(path).installed is False and status(path).refresh_interval is None
    assert install(path, state, command="/opt/ccsync") is not None
    settings = json.loads(path.read_text())
    assert settings["statusLine"] == {**earlier["statusLine"], "refreshInterval": REFRESH_SECONDS}
    assert settings["theme"] == "dark"
    assert install(path, state, command="/opt/ccsync") is None  # idempotent
    # The user's own interval on our status line stays as it is.
    settings["statusLine"]["refreshInterval"] = 5
    path.write_text(json.dumps(settings))
    assert install(path, state, command="/opt/ccsync") is None
    assert status(path).refresh_interval == 5
    # Uninstall removes what install added: our status line, with its interval.
    assert uninstall(path, state) is not None
    assert json.loads(path.read_text()) == {"theme": "dark"}


def test_a_status_line_left_alone_gets_no_refresh_interval(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(EXISTING))
    install(path, tmp_path / "state", command="/opt/ccsync", statusline=False)
    assert json.loads(path.read_text())["statusLine"] == EXISTING["statusLine"]
    assert status(path).refresh_interval is None


def test_install_into_a_missing_file_and_uninstall_leaves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "project" / ".claude" / "settings.json"
    assert install(path, tmp_path / "state", command="ccsync") == path
    assert status(path).installed
    uninstall(path, tmp_path / "state")
    assert json.loads(path.read_text()) == {}


def test_a_broken_settings_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    with pytest.raises(ClaudeSettingsError, match="not valid JSON"):
        install(path, tmp_path / "state")
    assert path.read_text() == "{ not json"


def test_settings_paths(tmp_path: Path) -> None:
    assert settings_path(env={"HOME": "/h"}) == Path("/h/.claude/settings.json")
    assert settings_path(env={"HOME": "/h", "CLAUDE_CONFIG_DIR": "/c"}) == Path("/c/settings.json")
    assert settings_path(project=True, cwd=tmp_path) == tmp_path / ".claude" / "settings.json"


def test_the_cli_on_a_temporary_home(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(home), "CCSYNC_STATE_DIR": str(tmp_path / "state")}
    env.pop("CLAUDE_CONFIG_DIR", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ccsync", "hook", *args], env=env, capture_output=True, text=True
        )

    assert run("status").returncode == 1
    installed = run("install", "--server", "http://127.0.0.1:9", "--device", "laptop")
    assert installed.returncode == 0, installed.stderr
    assert "Installed" in installed.stdout
    assert run("status").returncode == 0
    stored = json.loads((tmp_path / "state" / "agent.json").read_text())
    assert stored["server"] == "http://127.0.0.1:9" and stored["device"] == "laptop"
    assert oct((tmp_path / "state" / "agent.json").stat().st_mode & 0o777) == "0o600"
    assert "Already installed" in run("install").stdout
    assert "ok  status line (refreshed every 30 s while idle)" in run("status").stdout
    assert run("uninstall").returncode == 0
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings == EXISTING


def test_the_hook_command_prints_nothing_and_exits_0(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "CCSYNC_STATE_DIR": str(tmp_path / "state"),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ccsync", "agent", "--once", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        input='{"prompt": "secret"}',
        timeout=10,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
