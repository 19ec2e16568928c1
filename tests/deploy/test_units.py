"""The service definitions in deploy/: systemd units (``systemd-analyze verify``, plus the
options they promise) and the launchd agent (``plutil -lint`` where it exists, else a
structural check of the property list against launchd's documented keys)."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVER_UNIT = DEPLOY / "systemd" / "ccsync.service"
AGENT_UNIT = DEPLOY / "systemd" / "ccsync-agent.service"
PLIST = DEPLOY / "launchd" / "com.ccsync.agent.plist"
SERVER_PROGRAM = "/opt/ccsync/bin/ccsync"

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _unit(path: Path) -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(path)
    return parser


def _stub_program(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


def _verify(unit: Path, *, user: bool, env: dict[str, str]) -> None:
    """``systemd-analyze verify`` must pass and print nothing: it only warns (exit 0) on
    unknown keys and bad values, so any output counts as a failure."""
    argv = ["systemd-analyze", *(["--user"] if user else []), "verify", str(unit)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 and not output, output


@needs_systemd_analyze
def test_server_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at a stand-in of the
    # documented install path, and verify everything else as written.
    program = tmp_path / SERVER_PROGRAM.lstrip("/")
    _stub_program(program)
    unit = tmp_path / SERVER_UNIT.name
    unit.write_text(SERVER_UNIT.read_text().replace(SERVER_PROGRAM, str(program)))
    _verify(unit, user=False, env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})


@needs_systemd_analyze
def test_agent_user_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _stub_program(home / ".local" / "bin" / "ccsync")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    _verify(AGENT_UNIT, user=True, env=env)


def test_server_unit_runs_serve_unprivileged_and_sandboxed() -> None:
    unit = _unit(SERVER_UNIT)
    service = unit["Service"]
    assert service["ExecStart"].split()[:2] == [SERVER_PROGRAM, "serve"]
    assert service["User"] == "ccsync"
    assert service["Restart"] == "on-failure"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "StateDirectory": "ccsync",
    }.items():
        assert service[key] == value, key
    assert "MemoryDenyWriteExecute" not in service  # Claude Code's JavaScript engine needs it off
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_agent_unit_restarts_forever_and_is_sandboxed() -> None:
    unit = _unit(AGENT_UNIT)
    service = unit["Service"]
    assert service["ExecStart"] == "%h/.local/bin/ccsync agent"
    assert service["Restart"] == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    for key in ("NoNewPrivileges", "RestrictSUIDSGID", "LockPersonality", "RestrictNamespaces"):
        assert service[key] == "yes", key
    assert service["SystemCallFilter"] == "@system-service"
    assert unit["Install"]["WantedBy"] == "default.target"  # a user unit


# launchd.plist(5): the keys this agent may use, with their types.
LAUNCHD_KEYS: dict[str, type | tuple[type, ...]] = {
    "Label": str,
    "Program": str,
    "ProgramArguments": list,
    "EnvironmentVariables": dict,
    "RunAtLoad": bool,
    "KeepAlive": (bool, dict),
    "ThrottleInterval": int,
    "ProcessType": str,
    "LowPriorityIO": bool,
    "LowPriorityBackgroundIO": bool,
    "Nice": int,
    "Umask": int,
    "WorkingDirectory": str,
    "StandardOutPath": str,
    "StandardErrorPath": str,
    "StartInterval": int,
    "Disabled": bool,
}


def test_launchd_agent_is_a_valid_property_list() -> None:
    if shutil.which("plutil"):
        done = subprocess.run(["plutil", "-lint", str(PLIST)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    with PLIST.open("rb") as handle:
        agent = plistlib.load(handle)
    assert isinstance(agent, dict)
    unknown = set(agent) - set(LAUNCHD_KEYS)
    assert not unknown, f"keys launchd does not know: {unknown}"
    for key, value in agent.items():
        assert isinstance(value, LAUNCHD_KEYS[key]), (key, value)
    assert agent["Label"] == PLIST.name.removesuffix(".plist")
    arguments = agent["ProgramArguments"]
    assert arguments and all(isinstance(word, str) for word in arguments)
    assert arguments[0].startswith("/")  # launchd does not search PATH for the program
    assert any("ccsync" in word and " agent" in word for word in arguments)
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is True
    assert agent["ProcessType"] in ("Background", "Standard", "Adaptive", "Interactive")
    assert agent["Umask"] == 0o077
    assert all(isinstance(v, str) for v in agent["EnvironmentVariables"].values())
