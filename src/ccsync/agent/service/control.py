"""Installing, uninstalling and asking about the service: the thin I/O around a
``Definition`` (write its file, run the platform's tool). Installing what is installed and
running changes nothing and says so; uninstalling removes the definition and its
registration, nothing else (``agent.json`` is the hook's too)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ccsync import platforms
from ccsync.agent.service.base import Definition, ServiceStatus
from ccsync.agent.service.definitions import installed_program, interpret

TOOL_SECONDS = 60.0

Runner = Callable[[Sequence[str]], tuple[int, str]]


def run_tool(argv: Sequence[str]) -> tuple[int, str]:
    """Run a service tool: its exit status and output (127 when it is not there)."""
    program = shutil.which(argv[0])
    if program is None:
        return 127, f"{argv[0]}: not found"
    try:
        done = subprocess.run(
            [program, *argv[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TOOL_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 126, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


@dataclass(slots=True)
class Outcome:
    """What install or uninstall did, line by line, and whether it all went well."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True
    changed: bool = False

    def say(self, line: str) -> None:
        self.lines.append(line)


def read_status(spec: Definition, run: Runner = run_tool) -> ServiceStatus:
    """Whether the service is installed, registered and running."""
    try:
        content = spec.path.read_bytes()
    except OSError:
        content = None
    installed = content is not None
    program = installed_program(spec.platform, content) if content is not None else ()
    current = content == spec.content
    answers = [run(probe) for probe in spec.probes]
    if any(code in (126, 127) for code, _ in answers):
        why = next(out for code, out in answers if code in (126, 127))
        return ServiceStatus(
            installed, current, None, None, f"cannot ask: {why}", spec.path, program
        )
    registered, running, detail = interpret(spec.platform, answers)
    if not installed and registered:
        detail += " (its definition file is gone)"
    return ServiceStatus(installed, current, registered, running, detail, spec.path, program)


def install(spec: Definition, run: Runner = run_tool) -> Outcome:
    """Write the definition and register it; nothing when it is installed and running."""
    outcome = Outcome()
    before = read_status(spec, run)
    if before.installed and before.current and before.registered and before.running:
        outcome.say(
            f"Already installed and running: {spec.path} ({before.detail}); nothing changed."
        )
        return outcome
    if not (before.installed and before.current):
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = spec.path.with_name(f".{spec.path.name}.tmp")
        tmp.write_bytes(spec.content)
        os.replace(tmp, spec.path)
        outcome.changed = True
        outcome.say(("Updated " if before.installed else "Wrote ") + str(spec.path))
    else:
        outcome.say(f"{spec.path} is up to date; registering it again ({before.detail})")
    lint = _lint(spec, run)
    if lint is not None:
        outcome.say(lint)
        outcome.ok = False
        return outcome
    for command in spec.register:
        code, out = run(command.argv)
        outcome.say(f"$ {_shown(command.argv)}" + (f"  → exit {code}" if code else ""))
        if code and not command.may_fail:
            if out:
                outcome.say(f"  {out}")
            outcome.ok = False
            break
        outcome.changed = True
    after = read_status(spec, run)
    outcome.say(f"Service: {after.detail}")
    outcome.lines.extend(spec.notes)
    return outcome


def _lint(spec: Definition, run: Runner) -> str | None:
    """macOS: ``plutil -lint`` the property list where ``plutil`` exists."""
    if spec.platform != platforms.MACOS or shutil.which("plutil") is None:
        return None
    code, out = run(("plutil", "-lint", str(spec.path)))
    return None if code == 0 else f"plutil -lint refused {spec.path}: {out}"


def uninstall(spec: Definition, run: Runner = run_tool) -> Outcome:
    """Stop and unregister the service, remove its definition; nothing when there is none."""
    outcome = Outcome()
    before = read_status(spec, run)
    if not before.installed and not before.registered:
        outcome.say(f"Not installed ({spec.path} does not exist); nothing to remove.")
        return outcome
    for command in spec.unregister:
        code, out = run(command.argv)
        outcome.say(f"$ {_shown(command.argv)}" + (f"  → exit {code}" if code else ""))
        if code and not command.may_fail:
            outcome.say(f"  {out}")
            outcome.ok = False
    if before.installed:
        spec.path.unlink(missing_ok=True)
        outcome.say(f"Removed {spec.path}")
    if spec.platform == platforms.LINUX:
        code, out = run(("systemctl", "--user", "daemon-reload"))
        outcome.say("$ systemctl --user daemon-reload" + (f"  → exit {code}" if code else ""))
    outcome.changed = True
    return outcome


def _shown(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(word) for word in argv)
