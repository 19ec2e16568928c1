"""The device side on Linux, macOS and Windows: every platform's branch that can run here.

Where things are (home, Claude's settings, the agent's state), how work is started
detached and stopped with its tree, the ``--once`` lock, file keys without inodes, and
Claude Code's hook command per platform. The Windows and macOS answers are computed by
the same pure functions the platforms run; the POSIX ones also run for real.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import platformdirs.macos
import platformdirs.unix
import platformdirs.windows
import pytest

from ccsync import platforms
from ccsync.agent import lock
from ccsync.agent.detach import (
    CREATE_BREAKAWAY_FROM_JOB,
    CREATE_NEW_PROCESS_GROUP,
    CREATE_NO_WINDOW,
    DETACHED_PROCESS,
    popen_options,
    spawn_detached,
)
from ccsync.agent.hook import ccsync_command, command_line, install, settings_path, windows_command
from ccsync.agent.service.task_scheduler import windows_split
from ccsync.agent.state import AgentState
from ccsync.agent.tail import Tailer, file_key
from ccsync.process import start_options, stop_steps, taskkill_argv
from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.discovery import attribute, resolve_data_dirs
from ccsync.usage.loader import scan
from fixtures.lines import assistant, dump, usage, write_transcript

pytestmark = pytest.mark.timeout(60)

WINDOWS_ENV = {
    "USERPROFILE": "C:\\Users\\me",
    "HOME": "/c/Users/me",  # what Git Bash sets: not where Claude Code looks
    "LOCALAPPDATA": "C:\\Users\\me\\AppData\\Local",
}


# -- where things are ------------------------------------------------------------------


def test_the_home_folder_is_userprofile_on_windows_and_home_elsewhere() -> None:
    assert platforms.home_dir(WINDOWS_ENV, "win32") == "C:\\Users\\me"
    drive = {"HOMEDRIVE": "D:", "HOMEPATH": "\\Users\\me"}
    assert platforms.home_dir(drive, "win32") == "D:\\Users\\me"
    assert platforms.home_dir({"HOME": "/Users/me"}, "darwin") == "/Users/me"
    assert platforms.home_dir({"HOME": "/home/me", "USERPROFILE": "x"}, "linux") == "/home/me"


def test_claude_settings_are_under_userprofile_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert str(settings_path(env=WINDOWS_ENV)).replace("/", "\\") == (
        "C:\\Users\\me\\.claude\\settings.json"
    )
    configured = settings_path(env={**WINDOWS_ENV, "CLAUDE_CONFIG_DIR": "D:\\claude"})
    assert str(configured).replace("/", "\\") == "D:\\claude\\settings.json"


def test_claude_data_is_found_under_userprofile_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "profile"
    (profile / ".claude" / "projects").mkdir(parents=True)
    (tmp_path / "msys-home" / ".claude" / "projects").mkdir(parents=True)
    monkeypatch.setattr(sys, "platform", "win32")
    env = {"USERPROFILE": str(profile), "HOME": str(tmp_path / "msys-home")}
    assert resolve_data_dirs(env=env) == [profile / ".claude"]


@pytest.mark.parametrize("xdg", [None, "/xdg/state"])
def test_the_state_dir_is_the_platforms_user_state_dir(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What platformdirs names, on each platform (its classes run anywhere)."""
    monkeypatch.setenv("HOME", "/home/me")
    env = {"HOME": "/home/me", **({"XDG_STATE_HOME": xdg} if xdg else {})}
    if xdg:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    else:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert platforms.state_dir(env, "linux") == platformdirs.unix.Unix("ccsync").user_state_dir
    mac = platformdirs.macos.MacOS("ccsync").user_state_dir
    assert platforms.state_dir(env, "darwin", exists=lambda _: False) == mac
    monkeypatch.setenv("LOCALAPPDATA", WINDOWS_ENV["LOCALAPPDATA"])
    monkeypatch.setattr(
        platformdirs.windows, "get_win_folder", platformdirs.windows.get_win_folder_from_env_vars
    )
    windows = platformdirs.windows.Windows("ccsync").user_state_dir.replace("/", "\\")
    assert platforms.state_dir(WINDOWS_ENV, "win32", exists=lambda _: False) == windows
    assert windows == "C:\\Users\\me\\AppData\\Local\\ccsync\\ccsync"


def test_an_earlier_versions_state_dir_is_kept_on_macos_and_windows(tmp_path: Path) -> None:
    legacy = tmp_path / ".local" / "state" / "ccsync"
    legacy.mkdir(parents=True)
    assert platforms.state_dir({"HOME": str(tmp_path)}, "darwin") == str(legacy)
    windows = {"USERPROFILE": str(tmp_path)}
    seen: list[str] = []
    kept = platforms.state_dir(windows, "win32", exists=lambda p: seen.append(p) or True)
    assert kept == seen[0] == f"{tmp_path}\\.local\\state\\ccsync"
    assert platforms.state_dir({**windows, "CCSYNC_STATE_DIR": "~\\s"}, "win32") == f"{tmp_path}\\s"


# -- detached starts -------------------------------------------------------------------


def test_detached_start_options_per_platform() -> None:
    argv = ["/usr/bin/python3", "-m", "ccsync", "agent"]
    for platform in ("linux", "darwin"):
        assert popen_options(argv, platform) == (
            argv,
            {"start_new_session": True, "close_fds": True},
        )
    python = "C:\\Program Files\\Python312\\python.exe"
    found = {"C:\\Program Files\\Python312\\pythonw.exe"}
    windows, options = popen_options([python, "-m", "ccsync"], "win32", found.__contains__)
    assert windows == ["C:\\Program Files\\Python312\\pythonw.exe", "-m", "ccsync"]
    # WinBase.h: the documented values (the subprocess module has them on Windows only)
    assert (DETACHED_PROCESS, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW) == (
        0x8,
        0x200,
        0x8000000,
    )
    assert options == {
        "creationflags": DETACHED_PROCESS
        | CREATE_NEW_PROCESS_GROUP
        | CREATE_NO_WINDOW
        | CREATE_BREAKAWAY_FROM_JOB,
        "close_fds": True,
    }
    without_pythonw, _ = popen_options([python, "-m", "ccsync"], "win32", lambda _: False)
    assert without_pythonw[0] == python
    if sys.platform == "win32":  # pragma: no cover - only where the constants exist
        assert subprocess.CREATE_NEW_PROCESS_GROUP == CREATE_NEW_PROCESS_GROUP
        assert subprocess.DETACHED_PROCESS == DETACHED_PROCESS


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX sessions")
def test_a_detached_program_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    out = tmp_path / "facts.json"
    log = tmp_path / "child.log"
    code = (
        "import json, os, sys, time; "
        f"json.dump({{'pid': os.getpid(), 'sid': os.getsid(0), 'stdin': sys.stdin.read()}}, "
        f"open({str(out)!r}, 'w')); print('to the log'); time.sleep(0.2)"
    )
    started = time.monotonic()
    assert spawn_detached([sys.executable, "-c", code], str(log))
    assert time.monotonic() - started < 2  # returns at once
    deadline = time.monotonic() + 20
    while not (out.exists() and log.exists() and log.read_text()):
        assert time.monotonic() < deadline, "the detached program did not run"
        time.sleep(0.05)
    facts = json.loads(out.read_text())
    assert facts["sid"] == facts["pid"] != os.getsid(0)  # its own session, its own group
    assert facts["stdin"] == ""
    assert log.read_text() == "to the log\n"
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_a_program_that_cannot_start_is_reported(tmp_path: Path) -> None:
    assert not spawn_detached([str(tmp_path / "missing")])


# -- process trees ---------------------------------------------------------------------


def test_process_trees_per_platform() -> None:
    assert start_options("linux") == start_options("darwin") == {"start_new_session": True}
    assert start_options("win32") == {"creationflags": 0x200 | 0x8000000}
    assert stop_steps(42, "linux") == ("SIGTERM to group 42", "SIGKILL to group 42")
    assert stop_steps(42, "win32") == ("CTRL_BREAK_EVENT to group 42", "taskkill /T /F /PID 42")
    assert taskkill_argv(7) == ["taskkill", "/T", "/F", "/PID", "7"]


# -- the --once lock -------------------------------------------------------------------


def test_the_once_lock_is_held_until_its_process_ends(tmp_path: Path) -> None:
    path = tmp_path / "agent-once.lock"
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from ccsync.agent.lock import try_lock;"
            f" print(try_lock(Path({str(path)!r})), flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
            assert not lock.try_lock(path)
        finally:
            holder.kill()
    assert lock.try_lock(path)
    lock.release_all()


# -- file keys -------------------------------------------------------------------------


class _Stat:
    """``os.stat``'s answer with the file number a volume without file ids gives (0)."""

    def __init__(self, real: os.stat_result, ino: int) -> None:
        self._real = real
        self.st_ino = ino

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def test_file_keys_without_inodes_and_with_wide_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("x\n")
    real = os.stat(path)
    assert file_key(real, path) == (real.st_dev, real.st_ino)
    dev, ino = file_key(_Stat(real, 0), path)  # type: ignore[arg-type]
    assert dev == real.st_dev and ino < 0
    assert file_key(_Stat(real, 0), path) == (dev, ino)  # type: ignore[arg-type]
    assert file_key(_Stat(real, 0), tmp_path / "b.jsonl")[1] != ino  # type: ignore[arg-type]
    wide = file_key(_Stat(real, (5 << 64) | 9), path)[1]  # type: ignore[arg-type]
    assert 0 < wide < 2**63


def test_a_renamed_file_without_an_inode_is_known_by_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_stat = os.stat
    monkeypatch.setattr(
        "ccsync.agent.tail.os.stat", lambda p, *a, **k: _Stat(real_stat(p, *a, **k), 0)
    )
    root = tmp_path / "claude"
    lines = [
        assistant(f"2026-11-01T10:0{n}:00.000Z", msg_id=f"m{n}", req_id=f"r{n}") for n in range(3)
    ]
    path = write_transcript(root, "C--Users-me-proj/s.jsonl", lines)
    state = AgentState(tmp_path / "state" / "agent.db")
    try:
        tailer = Tailer(state, [root])
        assert tailer.scan().entries == 3
        moved = path.with_name("t.jsonl")
        path.rename(moved)
        with moved.open("a") as handle:
            handle.write(
                dump(assistant("2026-11-01T10:09:00.000Z", msg_id="m9", req_id="r9")) + "\n"
            )
        assert tailer.scan().entries == 1  # only the appended line: not read again
        sources = {json.loads(row)["source"] for _, row in state.pending(100)}
        assert sources == {str(path)}
    finally:
        state.close()


# -- transcripts from Windows ----------------------------------------------------------

WINDOWS_CWD = "C:\\Users\\me\\proj"


def test_a_windows_transcript_reports_by_its_folder_name(tmp_path: Path) -> None:
    """Claude Code on Windows writes ``C:\\Users\\me\\proj``'s sessions to
    ``projects/C--Users-me-proj``; ccusage reports that folder name, and the ``cwd`` of
    its lines is neither decoded nor needed."""
    root = tmp_path / "claude"
    lines = [
        assistant("2026-11-01T10:00:00.000Z", msg_id="m1", req_id="r1", cwd=WINDOWS_CWD),
        assistant("2026-11-01T10:05:00.000Z", msg_id="m2", req_id="r2", cwd=WINDOWS_CWD),
    ]
    write_transcript(root, "C--Users-me-proj/0d3c.jsonl", lines)
    raw = (root / "projects" / "C--Users-me-proj" / "0d3c.jsonl").read_text()
    assert '"cwd":"C:\\\\Users\\\\me\\\\proj"' in raw  # as Claude Code writes it
    found = scan([root])
    assert found.stats.entries == 2 and not found.stats.malformed
    report = build_report(ReportKind.SESSION, found.entries, ReportOptions(), now_ms=0)
    (session,) = report["sessions"]
    assert session["sessionId"] == "0d3c"
    assert session["projectPath"] == "C--Users-me-proj"
    assert session["inputTokens"] == 2 * usage()["input_tokens"]


def test_nested_project_paths_join_with_the_platforms_separator() -> None:
    parts = ["C--Users-me-proj", "old", "sess", "chat.jsonl"]
    assert attribute(parts, "x", sep="\\").project_path == "C--Users-me-proj\\old"
    assert attribute(parts, "x", sep="/").project_path == "C--Users-me-proj/old"


# -- the hook command ------------------------------------------------------------------


def _windows_args(command: str) -> list[str]:
    return windows_split(command)


WINDOWS_PYTHONS = [
    "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\\python.exe",
    "C:\\Program Files\\Python 3.12\\python.exe",
    "D:\\tools\\py(x86)\\python.exe",
]


@pytest.mark.parametrize("python", WINDOWS_PYTHONS)
def test_the_windows_hook_command_reads_back_alike_in_cmd_and_git_bash(python: str) -> None:
    command = ccsync_command(python, "win32") + " agent --once --quiet"
    argv = [python, "-m", "ccsync", "agent", "--once", "--quiet"]
    assert command.startswith(f'"{python}" ')  # the program always quoted
    assert _windows_args(command) == argv  # the C runtime's (and cmd.exe's) reading
    assert subprocess.list2cmdline(argv[1:]) in command
    done = subprocess.run(  # Git Bash's reading: bash's own, run for real
        ["bash", "-c", "printf '%s\\n' " + command], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == argv
    assert "&&" not in command and "$" not in command


@pytest.mark.parametrize(
    "word", ["C:\\a%PATH%\\python.exe", "C:\\$x\\python.exe", '"q"', "\\\\server\\share\\py.exe"]
)
def test_a_windows_path_no_shell_reads_alike_is_refused(word: str) -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        windows_command([word, "-m", "ccsync"])


def test_the_posix_hook_command_is_the_interpreter_quoted_for_sh(tmp_path: Path) -> None:
    spaced = tmp_path / "my tools" / "py'thon"
    spaced.parent.mkdir()
    spaced.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    spaced.chmod(0o755)
    command = ccsync_command(str(spaced), "linux")
    assert shlex.split(command) == [str(spaced), "-m", "ccsync"]
    assert command_line(["/usr/bin/python3", "-m", "ccsync"], "darwin") == (
        "/usr/bin/python3 -m ccsync"
    )
    settings = tmp_path / "settings.json"
    install(settings, tmp_path / "state", command=command)
    written = json.loads(settings.read_text())
    hook = written["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    env = {**os.environ, "CCSYNC_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(  # as Claude Code runs it: sh -c
        ["/bin/sh", "-c", hook],
        input="{}",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    line = subprocess.run(
        ["/bin/sh", "-c", written["statusLine"]["command"]],
        input="{}",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert line.returncode == 0 and line.stdout.startswith("ccsync: no data yet")


def test_install_moves_the_hooks_to_this_interpreter(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    install(settings, tmp_path / "state", command="'/old/ccsync'")
    install(settings, tmp_path / "state", command='"C:\\Python312\\python.exe" -m ccsync')
    written = json.loads(settings.read_text())
    commands = [
        h["command"] for group in written["hooks"].values() for g in group for h in g["hooks"]
    ]
    assert commands == ['"C:\\Python312\\python.exe" -m ccsync agent --once --quiet'] * 2
    assert written["statusLine"]["command"] == '"C:\\Python312\\python.exe" -m ccsync statusline'
    assert (
        install(settings, tmp_path / "state", command='"C:\\Python312\\python.exe" -m ccsync')
        is None
    )


def test_the_windows_service_logs_to_a_file(tmp_path: Path) -> None:
    """``pythonw.exe`` has no console: ``--log-file`` takes what the agent prints."""
    log = tmp_path / "logs" / "agent-service.log"
    (tmp_path / "claude" / "projects").mkdir(parents=True)
    env = {**os.environ, "CCSYNC_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccsync",
            "agent",
            "--once",
            "--claude-dir",
            str(tmp_path / "claude"),
            "--log-file",
            str(log),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr == ""
    assert "read 0 new entries from 0 files" in log.read_text()


def test_hook_install_refuses_an_interpreter_path_no_windows_shell_reads_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from ccsync.cli.hook import hook

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", "C:\\100%\\python.exe")
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setenv("CCSYNC_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(hook, ["install"])
    assert result.exit_code == 1 and "cannot be written" in result.output
    assert not (tmp_path / ".claude" / "settings.json").exists()
