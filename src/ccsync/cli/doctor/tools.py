"""The tools on this PATH (``claude``, ``ccusage``) and the Claude Code hook."""

from __future__ import annotations

import asyncio
import shutil

from ccsync.cli.doctor.check import Check

CLAUDE_VERSION_TIMEOUT = 15.0
CLAUDE_DOCTOR_TIMEOUT = 30.0
"""``claude doctor`` may test the API connection: bounded, and its process group stopped."""


def claude_checks() -> list[Check]:
    """The ``claude`` on this PATH: its version, and the settings ``claude doctor`` says it
    ignores (a hook or status line there never runs). Run through the one runner (process):
    no stdin, a timeout, the process group stopped after it."""
    from ccsync.process import run_process
    from ccsync.scheduler.claude import invalid_settings

    path = shutil.which("claude")
    if path is None:
        return [
            Check(
                False,
                "claude on PATH",
                "not found (only needed for scheduled prompts and the hook)",
                required=False,
            )
        ]
    version = asyncio.run(run_process(["claude", "--version"], timeout=CLAUDE_VERSION_TIMEOUT))
    said = version.stdout.strip().splitlines()[:1]
    if not version.ok or not said:
        why = "timed out" if version.timed_out else version.error or f"exit {version.exit_code}"
        return [
            Check(
                False,
                f"claude on PATH ({path})",
                f"`claude --version` failed ({why}): reinstall Claude Code",
                required=False,
            )
        ]
    checks = [Check(True, f"claude on PATH ({path}): {said[0][:100]}")]
    doctor = asyncio.run(run_process(["claude", "doctor"], timeout=CLAUDE_DOCTOR_TIMEOUT))
    if doctor.timed_out or doctor.error is not None:
        why = doctor.error or f"did not finish in {CLAUDE_DOCTOR_TIMEOUT:.0f} s"
        checks.append(Check(False, "claude doctor", f"{why}: run it yourself", required=False))
        return checks
    problems = invalid_settings(doctor.stdout)
    checks.extend(
        Check(
            False,
            f"Claude Code ignores a setting: {problem}",
            "fix that file (`claude doctor` says more)",
            required=False,
        )
        for problem in problems
    )
    if not problems:
        checks.append(Check(True, "claude doctor: no invalid settings"))
    return checks


def tools_and_hook() -> list[Check]:
    """``claude`` and ``ccusage`` on PATH, and the hook in Claude Code's settings."""
    from ccsync.agent.hook import ClaudeSettingsError, settings_path
    from ccsync.agent.hook import status as hook_status

    checks = claude_checks()
    for tool, use in (("ccusage", "--source ccusage"),):
        path = shutil.which(tool)
        checks.append(
            Check(
                path is not None,
                f"{tool} on PATH" + (f" ({path})" if path else ""),
                f"not found (only needed for {use})",
                required=False,
            )
        )
    try:
        hooked = hook_status(settings_path())
        checks.append(
            Check(
                hooked.installed,
                f"Claude Code hook and status line in {hooked.path}",
                "run `ccsync hook install`",
                required=False,
            )
        )
    except ClaudeSettingsError as exc:
        checks.append(Check(False, "Claude Code settings", str(exc), required=False))
    return checks
