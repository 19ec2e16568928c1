"""``ccsync cron list|add|rm|run|history|enable|disable``: the scheduler, through its REST API."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ccsync.cli.client import request, server_options


@click.group()
def cron() -> None:
    """Scheduled jobs on the server: claude prompts, window warm-ups, ccusage runs.

    Changing jobs needs the admin token when the server is not in local mode.
    """


def _when(value: str | None) -> str:
    return "-" if not value else value.replace("T", " ").replace(".000Z", "Z")


def _clock(value: str) -> str:
    """``2027-03-10T11:00:00.000Z`` as ``11:00Z``."""
    return value[11:16] + "Z" if len(value) >= 16 else value


def window_started(run: dict[str, Any]) -> str | None:
    """Whether a warm-up that went out started a window, in a few words (else ``None``)."""
    started = run.get("windowStarted")
    if not isinstance(started, dict):
        return None
    if not started.get("verified"):
        return f"window NOT verified: {started.get('reason') or 'no reason given'}"
    if started.get("by") == "official" and started.get("resetsAt"):
        return f"window started (official, resets {_clock(started['resetsAt'])})"
    if started.get("firstRequest"):
        return f"window started (usage, first request {_clock(started['firstRequest'])})"
    return "window started"


def _caught_up(run: dict[str, Any]) -> str | None:
    late = (run.get("details") or {}).get("catchUp")
    if not isinstance(late, dict) or not isinstance(late.get("lateSeconds"), int):
        return None
    return f"caught up {round(late['lateSeconds'] / 60)} min late"


@cron.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@server_options
def list_jobs(as_json: bool, server: str, token: str | None) -> None:
    """Every job with its schedule, state and next run."""
    jobs: list[dict[str, Any]] = request("GET", server, "/api/cron", token)["jobs"]
    if as_json:
        click.echo(json.dumps(jobs, indent=2))
        return
    if not jobs:
        click.echo("No jobs. Add one with: ccsync cron add NAME SCHEDULE COMMAND")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "name", "kind", "schedule", "zone", "state", "next run", "last run"):
        table.add_column(column)
    for job in jobs:
        state = job["status"] + (f" ({job['errorMessage']})" if job["errorMessage"] else "")
        table.add_row(
            job["id"],
            job["name"],
            job["kind"],
            job["schedule"],
            job["timezone"],
            state,
            _when(job["nextRun"]),
            _when(job["lastRun"]),
        )
    Console().print(table)


@cron.command()
@click.argument("name")
@click.argument("schedule", required=False)
@click.argument("command", required=False)
@click.option("--timezone", "zone", help="IANA zone of the schedule (default: the server's).")
@click.option("--enable/--disable", "enabled", default=None, help="Start enabled or not.")
@click.option(
    "--warmup",
    is_flag=True,
    help="A window warm-up: a minimal prompt, sent only when no 5-hour window runs.",
)
@click.option(
    "--reset-at",
    "reset_at",
    help="Warm-up: times the window should reset, e.g. 07:00,12:00,17:00,22:00.",
)
@click.option("--start-at", "start_at", help="Warm-up: times the window should start.")
@click.option("--model", help="Warm-up: the model (default haiku).")
@click.option("--timeout", "timeout_seconds", type=int, help="Seconds before the run is stopped.")
@click.option(
    "--catch-up",
    "catch_up_minutes",
    type=click.IntRange(0, 24 * 60),
    help="Run a tick missed while no server ran if at most this late (warm-ups: 30).",
)
@server_options
def add(
    name: str,
    schedule: str | None,
    command: str | None,
    zone: str | None,
    enabled: bool | None,
    warmup: bool,
    reset_at: str | None,
    start_at: str | None,
    model: str | None,
    timeout_seconds: int | None,
    catch_up_minutes: int | None,
    server: str,
    token: str | None,
) -> None:
    """Add a job: NAME, SCHEDULE (cron, 5 or 6 fields) and COMMAND (claude, ccusage).

    \b
    ccsync cron add blocks '*/10 * * * *' 'ccusage blocks --json'
    ccsync cron add mornings --warmup --reset-at 07:00,12:00,17:00 --enable
    """
    body: dict[str, Any] = {"name": name}
    fields = {
        "schedule": schedule,
        "command": command,
        "timezone": zone,
        "enabled": enabled,
        "model": model,
        "timeoutSeconds": timeout_seconds,
        "catchUpMinutes": catch_up_minutes,
        "resetAt": _times(reset_at),
        "startAt": _times(start_at),
    }
    body.update({key: value for key, value in fields.items() if value is not None})
    if warmup or reset_at or start_at:
        body["kind"] = "warmup"
    job = request("POST", server, "/api/cron", token, json=body)["job"]
    state = (
        "enabled"
        if job["enabled"]
        else "disabled (enable with: ccsync cron enable " + job["id"] + ")"
    )
    click.echo(
        f"Added {job['id']} '{job['name']}': {job['schedule']} ({job['timezone']}), {state}."
    )
    if job["nextRun"]:
        click.echo(f"Next run: {_when(job['nextRun'])}")


def _times(value: str | None) -> list[str] | None:
    return None if value is None else [part.strip() for part in value.split(",") if part.strip()]


@cron.command()
@click.argument("job_id")
@server_options
def rm(job_id: str, server: str, token: str | None) -> None:
    """Delete the job JOB_ID and its run history."""
    request("DELETE", server, f"/api/cron/{job_id}", token)
    click.echo(f"Deleted {job_id}.")


@cron.command()
@click.argument("job_id")
@server_options
def enable(job_id: str, server: str, token: str | None) -> None:
    """Enable JOB_ID."""
    job = request("POST", server, f"/api/cron/{job_id}/enable", token)["job"]
    click.echo(f"Enabled {job_id}; next run {_when(job['nextRun'])}.")


@cron.command()
@click.argument("job_id")
@server_options
def disable(job_id: str, server: str, token: str | None) -> None:
    """Disable JOB_ID."""
    request("POST", server, f"/api/cron/{job_id}/disable", token)
    click.echo(f"Disabled {job_id}.")


@cron.command()
@click.argument("job_id")
@server_options
def run(job_id: str, server: str, token: str | None) -> None:
    """Run JOB_ID now and show how it went (exit 1 if it did not succeed)."""
    answer = request("POST", server, f"/api/cron/{job_id}/execute", token)
    run_record = answer["run"]
    click.echo(
        f"{run_record['status']} in {run_record['durationMs']} ms"
        + (f", exit {run_record['exitCode']}" if run_record["exitCode"] is not None else "")
    )
    if answer["output"]:
        click.echo(answer["output"].rstrip("\n"))
    if answer["error"]:
        click.echo(f"error: {answer['error']}", err=True)
    if (started := window_started(run_record)) is not None:
        click.echo(started)
    if run_record["status"] not in ("succeeded", "skipped"):
        raise click.exceptions.Exit(1)


@cron.command()
@click.argument("job_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@server_options
def history(job_id: str, limit: int, as_json: bool, server: str, token: str | None) -> None:
    """The latest runs of JOB_ID, newest first."""
    runs: list[dict[str, Any]] = request(
        "GET", server, f"/api/cron/{job_id}/runs", token, params={"limit": limit}
    )["runs"]
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        click.echo("No runs yet.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("started", "trigger", "status", "exit", "ms", "instance", "note"):
        table.add_column(column)
    for record in runs:
        said = record["error"] or (record["output"] if record["status"] == "skipped" else "")
        notes = [said.splitlines()[0][:80]] if said else []
        notes += [n for n in (window_started(record), _caught_up(record)) if n is not None]
        table.add_row(
            _when(record["startedAt"]),
            record["trigger"],
            record["status"],
            "-" if record["exitCode"] is None else str(record["exitCode"]),
            "-" if record["durationMs"] is None else str(record["durationMs"]),
            record["instance"],
            "\n".join(notes),
        )
    Console().print(table)
