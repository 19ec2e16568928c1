"""This device's agent: its state (what it follows, what waits to be sent) and its service."""

from __future__ import annotations

import time
from pathlib import Path

from ccsync.agent.config import AgentConfig, load_config
from ccsync.cli.doctor.check import Check


def agent_checks(state_dir: str) -> list[Check]:
    """What the agent follows and what waits to be sent; when it last read all again."""
    from ccsync.agent.state import AgentState

    path = Path(state_dir) / "agent.db"
    if not path.exists():
        return [
            Check(
                False,
                "agent state",
                "the agent has not run here yet: `ccsync agent` (or `ccsync hook install`)",
                required=False,
            )
        ]
    from ccsync.agent.identity import last_resync

    state = AgentState(path)
    try:
        waiting = state.outbox_size()
        followed = len(state.files())
        resync = last_resync(state)
    finally:
        state.close()
    advice = "" if not waiting else "lines wait for the server: is it reachable (see below)?"
    checks = [
        Check(
            waiting == 0,
            f"agent: following {followed} files, {waiting} lines waiting to be sent",
            advice,
        )
    ]
    if resync is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(resync.get("at") or 0)))
        checks.append(Check(True, f"agent read everything again on {when}: {resync.get('reason')}"))
    return checks


def service_checks(config: AgentConfig) -> list[Check]:
    """The agent's service (``ccsync agent install-service``): installed, running, and
    pushing where this shell pushes (it reads agent.json in its own ``--state-dir``)."""
    from ccsync.agent.service import definition, read_status, state_dir_of

    try:
        spec = definition(state_dir=str(config.state_dir))
    except ValueError as exc:
        return [Check(False, "agent service", str(exc), required=False)]
    found = read_status(spec)
    if not found.installed and not found.registered:
        return [
            Check(
                False,
                "agent service",
                "not installed: `ccsync agent install-service` keeps the agent running "
                "(the hook pushes only while Claude Code is used)",
                required=False,
            )
        ]
    checks = [
        Check(
            bool(found.running),
            f"agent service: {found.detail} ({spec.path})",
            f"not running: `{spec.start_hint}`, or `ccsync agent install-service` again",
            required=False,
        )
    ]
    if found.installed and not found.current:
        checks.append(
            Check(
                False,
                "agent service definition",
                "not what this ccsync would install (another interpreter or state dir): "
                "`ccsync agent install-service` updates it",
                required=False,
            )
        )
    where = state_dir_of(found.program)
    if where is not None:
        theirs = load_config(env={}, state_dir=Path(where))
        checks.append(
            Check(
                theirs.server == config.server,
                f"agent service pushes to {theirs.server} (settings: {theirs.config_path})",
                f"this shell uses {config.server}: "
                f"`ccsync agent install-service --server {config.server}`",
                required=False,
            )
        )
    return checks
