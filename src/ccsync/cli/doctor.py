"""``ccsync doctor``: is everything in place? One line per check: ok, or what to do."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import click
import httpx

from ccsync.agent.config import AgentConfig, load_config

if TYPE_CHECKING:
    from ccsync.usage.loader import Scan


CLAUDE_VERSION_TIMEOUT = 15.0
CLAUDE_DOCTOR_TIMEOUT = 30.0
"""``claude doctor`` may test the API connection: bounded, and its process group stopped."""


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    what: str
    advice: str = ""
    required: bool = True


def _data_checks(claude_dirs: tuple[str, ...]) -> tuple[list[Check], Scan | None]:
    from ccsync.usage.discovery import NoDataDirsError, find_transcripts, resolve_data_dirs
    from ccsync.usage.loader import scan

    try:
        roots = resolve_data_dirs(claude_dirs)
    except NoDataDirsError as exc:
        return [Check(False, "Claude data directories", str(exc))], None
    if not roots:
        return [
            Check(
                False,
                "Claude data directories",
                "none found: use Claude Code once, or set CLAUDE_CONFIG_DIR / --claude-dir",
            )
        ], None
    files = find_transcripts(roots)
    found = scan(roots, count_lines=True)
    stats = found.stats
    checks = [
        Check(True, f"Claude data: {', '.join(map(str, roots))}"),
        Check(
            True,
            f"{len(files):,} transcripts, {stats.lines:,} lines, {stats.entries:,} usage entries",
        ),
    ]
    if stats.malformed or stats.invalid:
        checks.append(
            Check(
                True,
                f"{stats.malformed + stats.invalid:,} lines with usage skipped ({dict(sorted(stats.by_reason.items()))})",
            )
        )
    return checks, found


def _price_checks(found: Scan | None, today: date) -> list[Check]:
    """Which price table is in use, how old it is, and the models it cannot price."""
    from ccsync.prices import installed_prices
    from ccsync.usage.entry import SYNTHETIC_MODEL
    from ccsync.usage.loader import read_cost_states

    installed = installed_prices()
    table = installed.table
    checks = []
    if installed.problem:
        checks.append(
            Check(
                False,
                "your price table",
                f"{installed.problem}; the packaged one is used (`ccsync prices update` "
                "writes a new one)",
                required=False,
            )
        )
    where = "packaged" if installed.origin == "packaged" else f"yours, {installed.path}"
    if installed.older:
        where += f" (newer than yours, {installed.path})"
    try:
        age = f", {(today - date.fromisoformat(table.built)).days} days old"
    except ValueError:
        age = ""
    checks.append(
        Check(True, f"prices: {where}, built {table.built or '?'}{age}, {len(table)} models")
    )
    checks.append(Check(True, f"prices from {table.source}"))
    if found is None:
        return checks
    counts: dict[str, int] = {}
    sources: set[str] = set()
    for entry in found.entries:
        model = entry.model
        if model is None or model == SYNTHETIC_MODEL or entry.total_tokens == 0:
            continue
        if table.find(model) is None:
            counts[model] = counts.get(model, 0) + 1
            sources.add(entry.source)
    if not counts:
        checks.append(Check(True, "every model in your transcripts has a price"))
        return checks
    recorded: dict[str, float] = {}
    for models in read_cost_states(sorted(sources)).values():
        for model, cost in models.items():
            if model in counts:
                recorded[model] = recorded.get(model, 0.0) + cost
    described = ", ".join(
        f"{model} ({count:,} entries"
        + (f", Claude Code recorded ${recorded[model]:,.4f}" if model in recorded else "")
        + ")"
        for model, count in sorted(counts.items())
    )
    checks.append(
        Check(
            False,
            f"no price for {described}",
            "their cost counts as $0 in reports; `ccsync prices update` may know them",
            required=False,
        )
    )
    return checks


def _agent_checks(state_dir: str) -> list[Check]:
    from pathlib import Path

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


def _server_checks(server: str, token: str | None) -> list[Check]:
    checks = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        health = httpx.get(f"{server}/health", timeout=5)
    except httpx.HTTPError as exc:
        return [
            Check(
                False,
                f"server {server}",
                f"unreachable ({exc}): start `ccsync serve`, or set CCSYNC_SERVER",
            )
        ]
    body = (
        health.json()
        if health.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    checks.append(
        Check(
            health.status_code == 200,
            f"server {server} answers",
            f"unhealthy: {body.get('error', health.status_code)}",
        )
    )
    status = httpx.get(f"{server}/api/status", headers=headers, timeout=5)
    if status.status_code == 401:
        checks.append(
            Check(
                False,
                "authenticated",
                "the server wants a token: set CCSYNC_TOKEN (ask its admin: `ccsync device add NAME`)",
            )
        )
        return checks
    checks.append(
        Check(status.status_code == 200, "authenticated", f"server answered {status.status_code}")
    )
    if status.status_code == 200:
        info = status.json()
        for part in ("live", "history"):
            state = info[part].get("state")
            checks.append(
                Check(state == "ok", f"server {part} store: {info[part]['backend']}", f"{state}")
            )
        checks.extend(_scheduler_checks(info))
    return checks


def _scheduler_checks(info: dict[str, Any]) -> list[Check]:
    """The server's scheduler and the ``claude`` its jobs run (on the server's host)."""
    scheduler = info.get("scheduler") or {}
    checks = [
        Check(
            bool(scheduler.get("available")),
            f"server scheduler: {scheduler.get('jobs', 0)} jobs, "
            f"{scheduler.get('enabledJobs', 0)} enabled",
            str(scheduler.get("error", "unavailable")),
            required=False,
        )
    ]
    claude = (info.get("tools") or {}).get("claude") or {}
    auth = claude.get("auth") or {}
    if not claude.get("found"):
        advice = "not installed there (only needed for scheduled prompts and warm-ups)"
    else:
        advice = "not logged in: run `claude auth login` there (scheduled prompts fail until then)"
    logged_in = bool(claude.get("found")) and bool(auth.get("loggedIn"))
    how = ", ".join(str(auth[key]) for key in ("authMethod", "subscriptionType") if auth.get(key))
    checks.append(
        Check(
            logged_in,
            "claude on the server host" + (f": logged in ({how})" if logged_in else ""),
            advice,
            required=False,
        )
    )
    return checks


def _claude_checks() -> list[Check]:
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


def _tools_and_hook() -> list[Check]:
    from ccsync.agent.hook import ClaudeSettingsError, settings_path
    from ccsync.agent.hook import status as hook_status

    checks = _claude_checks()
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


def _service_checks(config: AgentConfig) -> list[Check]:
    """The agent's service (``ccsync agent install-service``): installed, running, and
    pushing where this shell pushes (it reads agent.json in its own ``--state-dir``)."""
    from pathlib import Path

    from ccsync.agent.config import load_config
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


@click.command()
@click.option(
    "--server", envvar="CCSYNC_SERVER", help="The server (CCSYNC_SERVER, else agent.json)."
)
@click.option("--token", envvar="CCSYNC_TOKEN", help="Token (CCSYNC_TOKEN, else agent.json).")
@click.option("--claude-dir", "claude_dirs", multiple=True, metavar="DIR")
def doctor(server: str | None, token: str | None, claude_dirs: tuple[str, ...]) -> None:
    """Check the Claude data, the agent, the server, the tools and the hook."""
    config = load_config(server=server, token=token, claude_dirs=claude_dirs)
    data, found = _data_checks(config.claude_dirs)
    checks = [
        *data,
        *_price_checks(found, datetime.now(UTC).date()),
        *_agent_checks(str(config.state_dir)),
        *_server_checks(config.server, config.token),
        *_tools_and_hook(),
        *_service_checks(config),
    ]
    for check in checks:
        mark = (
            click.style("ok  ", fg="green")
            if check.ok
            else click.style("fix ", fg="red" if check.required else "yellow")
        )
        click.echo(
            f"{mark}{check.what}" + ("" if check.ok or not check.advice else f": {check.advice}")
        )
    if any(not c.ok and c.required for c in checks):
        raise SystemExit(1)
