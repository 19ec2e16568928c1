"""``ccsync agent install-service|uninstall-service|service-status`` on all three platforms.

Every definition is generated for real into a temporary home and checked against what its
platform reads: the systemd unit with ``systemd-analyze verify`` (its ExecStart must name
a program that exists, so the quoting is checked too), the launchd property list with
``plistlib`` and launchd's documented keys (``plutil -lint`` where there is one), the
Task Scheduler XML against the Task Scheduler schema's rules for every element it uses.

The platform tools cannot run here (no user systemd manager on this machine, no launchd,
no Task Scheduler), so ``systemctl``, ``launchctl`` and ``schtasks`` are doubles on PATH
that record their argv and keep the state a real one would (registered, running). Where a
user manager does answer, a test starts the generated program under it for real.
"""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ccsync.agent.service import definition, install, installed_program, read_status, uninstall
from ccsync.agent.service.systemd import systemd_exec, systemd_unsplit
from ccsync.agent.service.task_scheduler import TASK_NAMESPACE, windows_split

pytestmark = pytest.mark.timeout(120)

FAKE_TOOL = r'''#!{python}
"""A stand-in for {name}: records its argv, answers as the real one would."""
import json, os, sys
from pathlib import Path

name = Path(sys.argv[0]).name
args = sys.argv[1:]
folder = Path(os.environ["CCSYNC_FAKE_TOOLS"])
with (folder / "calls.jsonl").open("a") as log:
    log.write(json.dumps([name, *args]) + "\n")
state_file = folder / f"{{name}}.json"
state = json.loads(state_file.read_text()) if state_file.exists() else {{}}

def done(code=0, out=""):
    state_file.write_text(json.dumps(state))
    if out:
        print(out)
    sys.exit(code)

if name == "systemctl":
    assert args[0] == "--user", args
    verb = args[1]
    if verb == "daemon-reload":
        done()
    if verb == "enable":
        state["enabled"] = True; done()
    if verb == "restart":
        state["active"] = True; done()
    if verb == "disable":
        state["enabled"] = False
        if "--now" in args:
            state["active"] = False
        done()
    if verb == "is-enabled":
        done(0, "enabled") if state.get("enabled") else done(1, "disabled")
    if verb == "is-active":
        done(0, "active") if state.get("active") else done(3, "inactive")
if name == "launchctl":
    verb = args[0]
    if verb == "print":
        if state.get("loaded"):
            done(0, "gui/501/com.ccsync.agent = {{\n\tstate = running\n\tpid = 4242\n}}")
        done(113, "Could not find service")
    if verb == "bootout":
        if not state.get("loaded"):
            done(3, "Boot-out failed: 3: No such process")
        state["loaded"] = False; done()
    if verb == "enable":
        done()
    if verb == "bootstrap":
        assert Path(args[2]).is_file(), args
        state["loaded"] = True; done()
if name == "schtasks":
    verb = args[0]
    if verb == "/Query":
        if not state.get("exists"):
            done(1, "ERROR: The system cannot find the file specified.")
        done(0, '"\\ccsync-agent","N/A","' + ("Running" if state.get("running") else "Ready") + '"')
    if verb == "/Create":
        xml = Path(args[args.index("/XML") + 1]).read_bytes().decode("utf-16")
        assert "/F" in args
        state["exists"] = True; state["xml"] = xml; done(0, "SUCCESS")
    if verb == "/Run":
        if not state.get("exists"):
            done(1, "ERROR")
        state["running"] = True; done(0, "SUCCESS")
    if verb == "/End":
        if not state.get("running"):
            done(1, "ERROR: The task is not running.")
        state["running"] = False; done(0, "SUCCESS")
    if verb == "/Delete":
        state["exists"] = False; state["running"] = False; done(0, "SUCCESS")
done(2, f"unexpected: {{args}}")
'''


class Tools:
    """The doubles' folder: what they were asked, and what they keep."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def state(self, name: str) -> dict[str, object]:
        path = self.folder / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def clear(self) -> None:
        (self.folder / "calls.jsonl").unlink(missing_ok=True)


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tools:
    folder = tmp_path / "fake-tools"
    folder.mkdir()
    for name in ("systemctl", "launchctl", "schtasks"):
        script = folder / name
        script.write_text(FAKE_TOOL.format(python=sys.executable, name=name))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CCSYNC_FAKE_TOOLS", str(folder))
    return Tools(folder)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return home


# -- Linux: a systemd user unit --------------------------------------------------------

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_systemd_analyze
def test_the_generated_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """A program path with a space, ``%`` and ``$``: verify fails unless ExecStart, as
    systemd unquotes it, names that very file."""
    home = _home(tmp_path)
    program = tmp_path / "py 100% $HOME" / "python3"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    state = tmp_path / "state dir"
    spec = definition("linux", {"HOME": str(home)}, str(program), str(state))
    spec.path.parent.mkdir(parents=True)
    spec.path.write_bytes(spec.content)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    done = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(spec.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr
    assert installed_program("linux", spec.content) == spec.program
    assert spec.program == (str(program), "-m", "ccsync", "agent", "--state-dir", str(state))
    broken = spec.content.replace(b'"', b"")
    spec.path.write_bytes(broken)
    refused = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(spec.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 or refused.stderr.strip()  # the check can fail


def test_linux_install_is_idempotent_and_uninstall_reverses_it(
    tmp_path: Path, tools: Tools
) -> None:
    home = _home(tmp_path)
    env = {"HOME": str(home), "CLAUDE_CONFIG_DIR": "/data/claude-a, /data/claude-b"}
    spec = definition("linux", env, "/usr/bin/python3", str(tmp_path / "state"))
    assert spec.path == home / ".config" / "systemd" / "user" / "ccsync-agent.service"
    assert spec.program[-4:] == ("--claude-dir", "/data/claude-a", "--claude-dir", "/data/claude-b")

    first = install(spec)
    assert first.ok and first.changed
    assert spec.path.read_bytes() == spec.content
    commands = [c for c in tools.calls() if c[2] not in ("is-enabled", "is-active")]
    assert commands == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "ccsync-agent.service"],
        ["systemctl", "--user", "restart", "ccsync-agent.service"],
    ]
    assert f"Wrote {spec.path}" in first.lines
    assert "$ systemctl --user restart ccsync-agent.service" in first.lines
    assert read_status(spec).running

    tools.clear()
    again = install(spec)
    assert again.ok and not again.changed
    assert "nothing changed" in again.lines[0]
    assert all(c[2] in ("is-enabled", "is-active") for c in tools.calls())

    tools.clear()
    removed = uninstall(spec)
    assert removed.ok and not spec.path.exists()
    assert tools.calls()[-2:] == [
        ["systemctl", "--user", "disable", "--now", "ccsync-agent.service"],
        ["systemctl", "--user", "daemon-reload"],
    ]
    assert not read_status(spec).running
    assert "nothing to remove" in uninstall(spec).lines[0]


def test_a_changed_definition_is_rewritten_and_restarted(tmp_path: Path, tools: Tools) -> None:
    home = _home(tmp_path)
    old = definition("linux", {"HOME": str(home)}, "/usr/bin/python3.11", str(tmp_path / "s"))
    install(old)
    new = definition("linux", {"HOME": str(home)}, "/usr/bin/python3.12", str(tmp_path / "s"))
    status = read_status(new)
    assert status.installed and not status.current and status.program == old.program
    tools.clear()
    outcome = install(new)
    assert outcome.changed and f"Updated {new.path}" in outcome.lines
    assert ["systemctl", "--user", "restart", "ccsync-agent.service"] in tools.calls()
    assert new.path.read_bytes() == new.content


def _user_manager() -> bool:
    if shutil.which("systemctl") is None or shutil.which("systemd-run") is None:
        return False
    done = subprocess.run(
        ["systemctl", "--user", "is-system-running"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() in ("running", "degraded")


@pytest.mark.skipif(not _user_manager(), reason="no systemd user manager on this machine")
def test_the_generated_program_runs_under_a_real_user_manager(tmp_path: Path) -> None:
    """``systemd-run --user``: the unit's program, started by systemd in a unit of its own
    (a transient name, never the user's real ccsync-agent), stays up."""
    spec = definition("linux", dict(os.environ), sys.executable, str(tmp_path / "state"))
    unit = f"ccsync-test-{uuid.uuid4().hex[:8]}"
    env_args = [
        f"--setenv={k}={os.environ[k]}" for k in ("PYTHONPATH", "CCSYNC_SERVER") if k in os.environ
    ]
    subprocess.run(
        ["systemd-run", "--user", f"--unit={unit}", "--collect", *env_args, *spec.program],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        time.sleep(3)
        active = subprocess.run(
            ["systemctl", "--user", "is-active", unit], capture_output=True, text=True
        )
        assert active.stdout.strip() == "active"
    finally:
        subprocess.run(["systemctl", "--user", "stop", unit], capture_output=True, timeout=60)


# -- macOS: a launchd agent ------------------------------------------------------------


def test_macos_agent_is_a_valid_launchd_plist_registered_with_launchctl(
    tmp_path: Path, tools: Tools
) -> None:
    from deploy.test_units import LAUNCHD_KEYS

    home = _home(tmp_path)
    python = "/Users/me/.local/pipx/venvs/ccsync/bin/python"
    spec = definition("darwin", {"HOME": str(home)}, python, None, uid=501)
    assert spec.path == home / "Library" / "LaunchAgents" / "com.ccsync.agent.plist"
    outcome = install(spec)
    assert outcome.ok, outcome.lines
    if shutil.which("plutil"):
        lint = subprocess.run(["plutil", "-lint", str(spec.path)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout
    agent = plistlib.loads(spec.path.read_bytes())
    assert set(agent) <= set(LAUNCHD_KEYS)
    for key, value in agent.items():
        assert isinstance(value, LAUNCHD_KEYS[key]), key
    state = str(home / "Library" / "Application Support" / "ccsync")
    assert agent["ProgramArguments"] == [python, "-m", "ccsync", "agent", "--state-dir", state]
    assert agent["StandardOutPath"] == str(home / "Library" / "Logs" / "ccsync-agent.log")
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is True
    target = "gui/501/com.ccsync.agent"
    assert [c for c in tools.calls() if c[1] != "print"] == [
        ["launchctl", "bootout", target],  # not loaded yet: its failure is expected
        ["launchctl", "enable", target],
        ["launchctl", "bootstrap", "gui/501", str(spec.path)],
    ]
    status = read_status(spec)
    assert status.running and status.detail == "loaded, running (pid 4242)"
    tools.clear()
    assert "nothing changed" in install(spec).lines[0]
    assert uninstall(spec).ok and not spec.path.exists()
    assert ["launchctl", "bootout", target] in tools.calls()
    assert tools.state("launchctl")["loaded"] is False


# -- Windows: a Task Scheduler task ----------------------------------------------------

PYTHON_W = "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\\python.exe"
WINDOWS = {
    "USERPROFILE": "C:\\Users\\me",
    "USERNAME": "me",
    "USERDOMAIN": "LAPTOP",
    "LOCALAPPDATA": "C:\\Users\\me\\AppData\\Local",
    "CLAUDE_CONFIG_DIR": "D:\\Claude Data",
}

# The Task Scheduler schema (learn.microsoft.com, "Task Scheduler Schema": taskType,
# registrationInfoType, triggersType/logonTriggerType (triggerBaseType's sequence first),
# principalsType/principalType, settingsType, restartType, actionsType/execType): for each
# element this task uses, the children it may have, whether their order is fixed
# (xs:sequence) or free (xs:all), which are required, and the simple types of the leaves.
BOOLEAN = {"true", "false"}
SCHEMA: dict[str, tuple[str, list[str], set[str]]] = {
    "Task": (
        "all",
        ["RegistrationInfo", "Triggers", "Settings", "Data", "Principals", "Actions"],
        {"Actions"},
    ),
    "RegistrationInfo": (
        "all",
        [
            "URI",
            "SecurityDescriptor",
            "Source",
            "Date",
            "Author",
            "Version",
            "Description",
            "Documentation",
        ],
        set(),
    ),
    "Triggers": (
        "choice",
        [
            "BootTrigger",
            "RegistrationTrigger",
            "IdleTrigger",
            "TimeTrigger",
            "EventTrigger",
            "LogonTrigger",
            "SessionStateChangeTrigger",
            "CalendarTrigger",
        ],
        set(),
    ),
    "LogonTrigger": (
        "sequence",
        [
            "Enabled",
            "StartBoundary",
            "EndBoundary",
            "Repetition",
            "ExecutionTimeLimit",
            "UserId",
            "Delay",
        ],
        set(),
    ),
    "Principals": ("choice", ["Principal"], {"Principal"}),
    "Principal": (
        "all",
        [
            "UserId",
            "LogonType",
            "GroupId",
            "DisplayName",
            "RunLevel",
            "ProcessTokenSidType",
            "RequiredPrivileges",
        ],
        set(),
    ),
    "Settings": (
        "all",
        [
            "AllowStartOnDemand",
            "RestartOnFailure",
            "MultipleInstancesPolicy",
            "DisallowStartIfOnBatteries",
            "StopIfGoingOnBatteries",
            "AllowHardTerminate",
            "StartWhenAvailable",
            "NetworkProfileName",
            "RunOnlyIfNetworkAvailable",
            "WakeToRun",
            "Enabled",
            "Hidden",
            "DeleteExpiredTaskAfter",
            "IdleSettings",
            "NetworkSettings",
            "ExecutionTimeLimit",
            "Priority",
            "RunOnlyIfIdle",
            "UseUnifiedSchedulingEngine",
            "DisallowStartOnRemoteAppSession",
        ],
        set(),
    ),
    "RestartOnFailure": ("all", ["Interval", "Count"], {"Interval", "Count"}),
    "Actions": ("choice", ["Exec", "ComHandler", "SendEmail", "ShowMessage"], set()),
    "Exec": ("all", ["Command", "Arguments", "WorkingDirectory"], {"Command"}),
}
LEAVES = {
    "Enabled": BOOLEAN,
    "Hidden": BOOLEAN,
    "AllowStartOnDemand": BOOLEAN,
    "DisallowStartIfOnBatteries": BOOLEAN,
    "StopIfGoingOnBatteries": BOOLEAN,
    "AllowHardTerminate": BOOLEAN,
    "StartWhenAvailable": BOOLEAN,
    "RunOnlyIfNetworkAvailable": BOOLEAN,
    "WakeToRun": BOOLEAN,
    "RunOnlyIfIdle": BOOLEAN,
    "MultipleInstancesPolicy": {"Parallel", "Queue", "IgnoreNew", "StopExisting"},
    "LogonType": {
        "S4U",
        "Password",
        "InteractiveToken",
        "InteractiveTokenOrPassword",
        "Group",
        "ServiceAccount",
    },
    "RunLevel": {"LeastPrivilege", "HighestAvailable"},
}


def _check_against_schema(element: ElementTree.Element) -> None:
    tag = element.tag.removeprefix(f"{{{TASK_NAMESPACE}}}")
    assert element.tag == f"{{{TASK_NAMESPACE}}}{tag}", f"{element.tag}: not in the task namespace"
    children = [c.tag.removeprefix(f"{{{TASK_NAMESPACE}}}") for c in element]
    if tag not in SCHEMA:
        assert not children, f"{tag} is a leaf"
        text = element.text or ""
        if tag in LEAVES:
            assert text in LEAVES[tag], (tag, text)
        elif tag == "Priority":
            assert 0 <= int(text) <= 10
        elif tag == "Count":  # restartType: unsignedByte, at least 1
            assert 1 <= int(text) <= 255
        elif tag in ("Interval", "ExecutionTimeLimit", "Delay"):
            assert text.startswith("P") and "T" in text, (tag, text)
        else:
            assert text.strip(), f"{tag} is empty"
        return
    kind, allowed, required = SCHEMA[tag]
    assert set(children) <= set(allowed), (tag, set(children) - set(allowed))
    assert required <= set(children), (tag, required - set(children))
    if kind != "choice":
        assert len(children) == len(set(children)), f"{tag}: an element twice"
    if kind == "sequence":
        assert children == sorted(children, key=allowed.index), f"{tag}: out of order"
    for child in element:
        _check_against_schema(child)


def test_the_windows_task_follows_the_task_scheduler_schema(tmp_path: Path) -> None:
    state = tmp_path / "state"
    spec = definition(
        "win32", WINDOWS, PYTHON_W, str(state), exists=lambda p: p.endswith("pythonw.exe")
    )
    assert spec.path == state / "ccsync-agent-task.xml"
    assert spec.content.startswith(b"\xff\xfe")  # UTF-16 with its byte order mark
    text = spec.content.decode("utf-16")
    assert text.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    root = ElementTree.fromstring(text)
    assert root.tag == f"{{{TASK_NAMESPACE}}}Task" and root.get("version") == "1.3"
    _check_against_schema(root)
    ns = {"t": TASK_NAMESPACE}
    assert root.findtext("t:Triggers/t:LogonTrigger/t:UserId", None, ns) == "LAPTOP\\me"
    assert root.findtext("t:Principals/t:Principal/t:LogonType", None, ns) == "InteractiveToken"
    assert root.find("t:Principals/t:Principal", ns).get("id") == root.find("t:Actions", ns).get(
        "Context"
    )  # type: ignore[union-attr]
    settings = {c.tag.split("}")[1]: c.text for c in root.find("t:Settings", ns)}  # type: ignore[union-attr]
    assert settings["Hidden"] == "true" and settings["ExecutionTimeLimit"] == "PT0S"
    assert settings["DisallowStartIfOnBatteries"] == settings["StopIfGoingOnBatteries"] == "false"
    assert root.findtext("t:Settings/t:RestartOnFailure/t:Interval", None, ns) == "PT1M"
    command = root.findtext("t:Actions/t:Exec/t:Command", None, ns)
    assert command == PYTHON_W.replace("python.exe", "pythonw.exe")  # no console window
    arguments = windows_split(root.findtext("t:Actions/t:Exec/t:Arguments", "", ns))
    assert arguments == [
        "-m", "ccsync", "agent", "--state-dir", str(state),
        "--claude-dir", "D:\\Claude Data",
        "--log-file", f"{state}\\agent-service.log",
    ]  # fmt: skip
    assert installed_program("win32", spec.content) == (command, *arguments)


def test_windows_install_registers_runs_and_removes_the_task(tmp_path: Path, tools: Tools) -> None:
    state = tmp_path / "state"
    spec = definition("win32", WINDOWS, PYTHON_W, str(state), exists=lambda _: False)
    outcome = install(spec)
    assert outcome.ok, outcome.lines
    xml = str(state / "ccsync-agent-task.xml")
    assert [c for c in tools.calls() if c[1] != "/Query"] == [
        ["schtasks", "/End", "/TN", "ccsync-agent"],  # nothing running yet: may fail
        ["schtasks", "/Create", "/TN", "ccsync-agent", "/XML", xml, "/F"],
        ["schtasks", "/Run", "/TN", "ccsync-agent"],
    ]
    assert tools.state("schtasks")["xml"] == spec.content.decode("utf-16")
    assert read_status(spec).running
    assert "Service: task ccsync-agent: Running" in outcome.lines
    tools.clear()
    assert "nothing changed" in install(spec).lines[0]
    assert uninstall(spec).ok and not Path(xml).exists()
    assert tools.calls()[-2:] == [
        ["schtasks", "/End", "/TN", "ccsync-agent"],
        ["schtasks", "/Delete", "/TN", "ccsync-agent", "/F"],
    ]
    assert tools.state("schtasks")["exists"] is False


@pytest.mark.parametrize(
    "words",
    [
        ["-m", "ccsync", "agent"],
        ["--state-dir", "C:\\Users\\me\\AppData\\Local\\ccsync\\ccsync"],
        ["a b", 'say "hi"', "trailing\\", 'back\\\\slashes\\\\"', ""],
    ],
)
def test_windows_split_reads_what_list2cmdline_writes(words: list[str]) -> None:
    assert windows_split(subprocess.list2cmdline(words)) == words


def test_systemd_quoting_reads_back() -> None:
    words = ["/opt/my tools/$py", "100%", "$HOME", 'a"b', "back\\slash"]
    line = systemd_exec(words)
    assert "%%" in line and "$$HOME" in line
    assert systemd_unsplit(line) == words


# -- the command line ------------------------------------------------------------------


def test_the_cli_saves_the_token_in_agent_json_only(tmp_path: Path, tools: Tools) -> None:
    home = _home(tmp_path)
    state = tmp_path / "state"
    env = {**os.environ, "HOME": str(home), "CCSYNC_STATE_DIR": str(state)}
    env.pop("XDG_CONFIG_HOME", None)

    def ccsync(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ccsync", "agent", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert ccsync("service-status").returncode == 3
    secret = "ccs_" + uuid.uuid4().hex
    done = ccsync("install-service", "--server", "http://sync.example:3000", "--token", secret)
    assert done.returncode == 0, done.stdout + done.stderr
    unit = home / ".config" / "systemd" / "user" / "ccsync-agent.service"
    assert f"Wrote {unit}" in done.stdout and "$ systemctl --user restart" in done.stdout
    stored = json.loads((state / "agent.json").read_text())
    assert stored["token"] == secret and stored["server"] == "http://sync.example:3000"
    assert oct((state / "agent.json").stat().st_mode & 0o777) == "0o600"
    assert secret not in unit.read_text()
    assert all(secret not in " ".join(call) for call in tools.calls())
    assert f"--state-dir {state}" in unit.read_text()
    status = ccsync("service-status")
    assert status.returncode == 0 and "running: enabled, active" in status.stdout
    assert "nothing changed" in ccsync("install-service").stdout
    assert ccsync("uninstall-service").returncode == 0 and not unit.exists()
    assert (state / "agent.json").exists()  # the hook's settings too: kept


def test_doctor_checks_the_service_and_where_it_pushes(tmp_path: Path, tools: Tools) -> None:
    home = _home(tmp_path)
    state = tmp_path / "state"
    env = {**os.environ, "HOME": str(home), "CCSYNC_STATE_DIR": str(state)}
    env.pop("XDG_CONFIG_HOME", None)
    subprocess.run(
        [sys.executable, "-m", "ccsync", "agent", "install-service", "--server", "http://a:1"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )

    def doctor(**extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ccsync", "doctor"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    out = doctor(CCSYNC_SERVER="http://a:1")
    assert "ok  agent service: enabled, active" in out
    assert f"ok  agent service pushes to http://a:1 (settings: {state / 'agent.json'})" in out
    elsewhere = doctor(CCSYNC_SERVER="http://b:2")
    assert "fix agent service pushes to http://a:1" in elsewhere
    assert "this shell uses http://b:2" in elsewhere
    subprocess.run(
        ["systemctl", "--user", "disable", "--now", "ccsync-agent.service"], env=env, check=True
    )
    assert "fix agent service: disabled, inactive" in doctor(CCSYNC_SERVER="http://a:1")
