"""Windows: the agent as a Task Scheduler task (pure).

A task ``ccsync-agent`` (its XML, UTF-16, kept in the state dir, then ``schtasks /Create
/XML``, ``schtasks /Run``): started at this user's logon, hidden, no time limit, on
batteries too, restarted every minute when it fails, run by ``pythonw.exe`` (no console
window), logging to ``<state dir>/agent-service.log``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

from ccsync import platforms
from ccsync.agent.detach import popen_options
from ccsync.agent.service.base import NAME, Definition, Probed, command

TASK = NAME
TASK_XML = f"{NAME}-task.xml"
SERVICE_LOG = "agent-service.log"
"""The task's log, in the state dir (launchd and systemd keep their own)."""
TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"


def windows_join(folder: str, name: str) -> str:
    return folder.rstrip("\\/") + "\\" + name


def task_xml(program: Sequence[str], user: str | None, description: str) -> str:
    """The Task Scheduler task (schema version 1.3): ``program`` at ``user``'s logon, as
    that user, hidden, without a time limit, on batteries too, restarted when it fails."""
    ElementTree.register_namespace("", TASK_NAMESPACE)

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{TASK_NAMESPACE}}}{tag}")
        if text is not None:
            element.text = text
        return element

    task = ElementTree.Element(f"{{{TASK_NAMESPACE}}}Task", {"version": "1.3"})
    info = sub(task, "RegistrationInfo")
    sub(info, "URI", "\\" + TASK)
    sub(info, "Description", description)
    logon = sub(sub(task, "Triggers"), "LogonTrigger")
    sub(logon, "Enabled", "true")
    if user:
        sub(logon, "UserId", user)
    principal = sub(sub(task, "Principals"), "Principal")
    principal.set("id", "Author")
    if user:
        sub(principal, "UserId", user)
    sub(principal, "LogonType", "InteractiveToken")
    sub(principal, "RunLevel", "LeastPrivilege")
    settings = sub(task, "Settings")
    for tag, text in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("AllowHardTerminate", "true"),
        ("StartWhenAvailable", "true"),
        ("RunOnlyIfNetworkAvailable", "false"),
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "true"),
        ("RunOnlyIfIdle", "false"),
        ("WakeToRun", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("Priority", "7"),
    ):
        sub(settings, tag, text)
    restart = sub(settings, "RestartOnFailure")
    sub(restart, "Interval", "PT1M")
    sub(restart, "Count", "255")
    actions = sub(task, "Actions")
    actions.set("Context", "Author")
    execute = sub(actions, "Exec")
    sub(execute, "Command", program[0])
    if len(program) > 1:
        sub(execute, "Arguments", subprocess.list2cmdline(list(program[1:])))
    ElementTree.indent(task)
    body = ElementTree.tostring(task, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + body + "\n"


def windows_split(arguments: str) -> list[str]:
    """A Windows command line's words, as the C runtime reads them (the inverse of
    ``subprocess.list2cmdline``)."""
    words: list[str] = []
    word: list[str] = []
    quoted = False
    started = False
    index = 0
    while index < len(arguments):
        char = arguments[index]
        if char == "\\":
            run = len(arguments[index:]) - len(arguments[index:].lstrip("\\"))
            if index + run < len(arguments) and arguments[index + run] == '"':
                word.append("\\" * (run // 2))
                if run % 2:
                    word.append('"')
                    index += run + 1
                else:
                    index += run
                started = True
                continue
            word.append("\\" * run)
            index += run
            started = True
            continue
        if char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(char)
            started = True
        index += 1
    if started:
        words.append("".join(word))
    return words


def definition(
    program: Sequence[str],
    state: str,
    env: Mapping[str, str],
    exists: Callable[[str], bool] = os.path.exists,
) -> Definition:
    """The task that runs ``program`` (``pythonw.exe`` for ``python.exe`` where ``exists``
    finds one) as this user (``USERDOMAIN\\USERNAME``), its XML kept in ``state``."""
    windowless, _ = popen_options(list(program), platforms.WINDOWS, exists)
    user = env.get("USERNAME")
    domain = env.get("USERDOMAIN")
    who = f"{domain}\\{user}" if user and domain else user
    xml = task_xml(windowless, who, "ccsync agent: pushes this device's Claude Code usage")
    query = ("schtasks", "/Query", "/TN", TASK, "/FO", "CSV", "/NH")
    return Definition(
        platforms.WINDOWS,
        Path(state) / TASK_XML,
        xml.encode("utf-16"),
        tuple(windowless),
        register=(
            command("schtasks", "/End", "/TN", TASK, may_fail=True),
            command("schtasks", "/Create", "/TN", TASK, "/XML", str(Path(state) / TASK_XML), "/F"),
            command("schtasks", "/Run", "/TN", TASK),
        ),
        unregister=(
            command("schtasks", "/End", "/TN", TASK, may_fail=True),
            command("schtasks", "/Delete", "/TN", TASK, "/F"),
        ),
        probes=(query,),
        start_hint=f"schtasks /Run /TN {TASK}",
        notes=(f"log: {windows_join(state, SERVICE_LOG)}",),
    )


def program_of(content: bytes) -> tuple[str, ...]:
    """What an installed task runs: its ``Exec`` action (empty when it has none)."""
    root = ElementTree.fromstring(content.decode("utf-16"))
    space = {"t": TASK_NAMESPACE}
    found = root.findtext("t:Actions/t:Exec/t:Command", "", space)
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", "", space)
    return (found, *windows_split(arguments)) if found else ()


def interpret(answers: list[tuple[int, str]]) -> Probed:
    """What ``schtasks /Query`` (CSV, no header) said."""
    code, out = answers[0]
    if code != 0:
        return False, False, "no task"
    fields = [f.strip('"') for f in out.splitlines()[0].split('","')] if out else []
    state = fields[-1] if fields else "?"
    return True, state.lower() == "running", f"task {TASK}: {state}"
