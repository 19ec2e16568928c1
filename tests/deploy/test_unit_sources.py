"""One source of truth for the agent's service definitions: the deploy files in deploy/
are what ``ccsync agent install-service`` generates, with the program a manual install
runs (``~/.local/bin/ccsync``, where pipx and ``pip install --user`` put it)."""

from __future__ import annotations

import plistlib
from pathlib import Path

from ccsync.agent.service.launchd import launchd_agent
from ccsync.agent.service.systemd import SYSTEMD_UNIT, systemd_unit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DEPLOY_EXEC_START = "%h/.local/bin/ccsync agent"
DEPLOY_PROGRAM = [
    "/bin/sh",
    "-c",
    'exec "$HOME/.local/bin/ccsync" agent >>"$HOME/Library/Logs/ccsync-agent.log" 2>&1',
]


def _without_leading_comments(text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    return "".join(lines[:cut]), "".join(lines[cut:])


def test_the_deploy_unit_is_the_generated_unit() -> None:
    header, body = _without_leading_comments(
        (DEPLOY / "systemd" / "ccsync-agent.service").read_text()
    )
    assert body == SYSTEMD_UNIT.format(exec_start=DEPLOY_EXEC_START)
    assert (
        systemd_unit(DEPLOY_EXEC_START, header)
        == (DEPLOY / "systemd" / "ccsync-agent.service").read_text()
    )


def test_the_deploy_plist_is_the_generated_agent() -> None:
    with (DEPLOY / "launchd" / "com.ccsync.agent.plist").open("rb") as handle:
        deployed = plistlib.load(handle)
    assert deployed == launchd_agent(DEPLOY_PROGRAM, log=None)
