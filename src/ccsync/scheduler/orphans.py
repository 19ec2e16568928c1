"""Runs orphaned by a server process that died mid-run: found, closed as ``lost``, stopped.

A run records the instance that started it (``host:pid:suffix``) and, once its program
runs, the program's process group. When a server process is killed (SIGKILL, OOM, power),
its runs stay ``running`` and their programs run on without it. Every scheduler looks for
such runs when it starts (before its first tick) and every ``SWEEP_SECONDS`` after:

- a run of an instance on this host whose process is gone (no such pid, or the pid now
  belongs to a process that started after the run, or to this very process: a container
  restarted) is *orphaned*: its process group is stopped (SIGTERM, then SIGKILL after a
  grace period) and the run closed as ``lost``;
- a run of an instance on another host is closed as ``lost`` once it has been running
  longer than its job could (timeout, warm-up waits and grace): that host's next server
  stops its process group when it starts;
- a run of a live instance is that instance's business.

Processes are found by their tag, not by a recorded id: every program a run starts
carries ``CCSYNC_RUN=<instance>/<run id>`` in its environment (children inherit it), so
a pid or group id reused after a reboot is never taken for an orphan, and an orphan is
found even when its server died before recording its process group. The same sweep stops
tagged processes of dead instances on this host whose runs were closed already (by a
replica on another host, say). Finding them reads ``/proc``; where there is none, orphans
are closed but not signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ccsync.scheduler.environment import RUN_TAG_VARIABLE
from ccsync.scheduler.execution import DEFAULT_TIMEOUT_SECONDS, WARMUP_TIMEOUT_SECONDS
from ccsync.scheduler.warmup import DEFAULT_MAX_WAIT_MINUTES, DEFAULT_VERIFY_SECONDS
from ccsync.storage.history.jobs import JobRecord, RunRecord

SWEEP_SECONDS: Final = 60.0
STOP_GRACE_SECONDS: Final = 5.0
MARGIN_MS: Final = 120_000
"""Added to a job's longest run before another host's run counts as lost."""
PROC = Path("/proc")


def run_tag(instance: str, run_id: int) -> str:
    """The value of ``CCSYNC_RUN`` in a run's environment."""
    return f"{instance}/{run_id}"


def instance_host_pid(instance: str) -> tuple[str, int] | None:
    """The host and pid of an instance id (``host:pid:suffix``); ``None`` if not one."""
    parts = instance.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def instance_is_dead(instance: str, this_instance: str, since_ms: int) -> bool:
    """Whether the process behind ``instance`` is known to be gone (``False``: alive, on
    another host, or not known). ``since_ms``: when it was last known to run (a run start)."""
    if instance == this_instance:
        return False
    place = instance_host_pid(instance)
    if place is None or place[0] != socket.gethostname():
        return False
    pid = place[1]
    if pid == os.getpid():
        return True  # an earlier process with this pid: a restarted container
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user: not ours, but it could be a reused pid
    started = process_started_ms(pid)
    return started is not None and started > since_ms + 1_000


def orphaned_because(
    run: RunRecord, job: JobRecord | None, this_instance: str, now_ms: int
) -> str | None:
    """Why ``run`` (still ``running``) is lost, or ``None`` when it is not (see the module doc)."""
    if run.instance == this_instance:
        return None
    if instance_is_dead(run.instance, this_instance, run.started_ms):
        return f"the server process that ran it ({run.instance}) died during the run"
    if on_this_host(run.instance):
        return None  # a live server process on this host: its own run
    if now_ms - run.started_ms > longest_run_ms(job):
        return (
            f"the server process that ran it ({run.instance}) did not finish it in the "
            "longest time the job can take"
        )
    return None


def on_this_host(instance: str) -> bool:
    place = instance_host_pid(instance)
    return place is not None and place[0] == socket.gethostname()


def longest_run_ms(job: JobRecord | None) -> int:
    """How long a run of ``job`` can last at most, with its warm-up's waits (for a running
    window to end, for its own line to arrive) and grace."""
    warmup = job is not None and job.kind == "warmup"
    options = {} if job is None else job.options
    timeout = float(
        options.get("timeoutSeconds", WARMUP_TIMEOUT_SECONDS if warmup else DEFAULT_TIMEOUT_SECONDS)
    )
    wait = 0.0
    if warmup:
        wait = float(options.get("maxWaitMinutes", DEFAULT_MAX_WAIT_MINUTES)) * 60
        wait += float(options.get("verifySeconds", DEFAULT_VERIFY_SECONDS))
    return int((timeout + wait + STOP_GRACE_SECONDS) * 1000) + MARGIN_MS


def process_started_ms(pid: int) -> int | None:
    """When process ``pid`` started (epoch ms, to about a second); ``None`` if not known."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
        boot = next(
            int(line.split()[1])
            for line in (PROC / "stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    # fields[0] is the state (field 3 of stat); starttime is field 22.
    return boot * 1000 + int(fields[19]) * 1000 // ticks


@dataclass(frozen=True, slots=True)
class TaggedGroup:
    """A process group on this host whose processes were started for a run."""

    pgid: int
    started_ms: int | None
    """When its oldest tagged process started (``None``: not known)."""


def tagged_groups() -> dict[str, list[TaggedGroup]] | None:
    """This host's live processes started for runs (``CCSYNC_RUN``), by run tag, as their
    process groups; ``None`` without ``/proc``. Only this user's processes can be read."""
    if not (PROC / "self" / "environ").exists():
        return None
    found: dict[str, dict[int, int | None]] = {}
    prefix = f"{RUN_TAG_VARIABLE}=".encode()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # another user's, or it ended meanwhile
        tags = [v[len(prefix) :] for v in environ.split(b"\0") if v.startswith(prefix)]
        if not tags or len(fields) < 3 or fields[0] == "Z":
            continue
        groups = found.setdefault(tags[0].decode(errors="replace"), {})
        pgid, started = int(fields[2]), process_started_ms(int(entry.name))
        earlier = groups.get(pgid, started)
        groups[pgid] = started if earlier is None or started is None else min(earlier, started)
    return {
        tag: [TaggedGroup(pgid, started) for pgid, started in groups.items()]
        for tag, groups in found.items()
    }


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of group ``pgid``."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


def abandoned(groups: dict[str, list[TaggedGroup]], this_instance: str, now_ms: int) -> list[str]:
    """The run tags in ``groups`` whose server process is dead (their processes orphans)."""
    tags = []
    for tag, found in groups.items():
        instance = tag.rpartition("/")[0]
        starts = [group.started_ms for group in found if group.started_ms is not None]
        if instance_is_dead(instance, this_instance, min(starts, default=now_ms)):
            tags.append(tag)
    return tags


async def stop_groups(pgids: list[int], grace: float = STOP_GRACE_SECONDS) -> str:
    """SIGTERM to each group, SIGKILL to those still there after ``grace``; in words."""
    names = ", ".join(str(pgid) for pgid in pgids)
    for pgid in pgids:
        _signal(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while await _alive(pgids) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if not await _alive(pgids):
        return f"its process group {names} was stopped (SIGTERM)"
    for pgid in pgids:
        _signal(pgid, signal.SIGKILL)
    for _ in range(20):
        if not await _alive(pgids):
            break
        await asyncio.sleep(0.1)
    return f"its process group {names} was stopped (SIGTERM, then SIGKILL)"


async def _alive(pgids: list[int]) -> bool:
    return any(await asyncio.to_thread(lambda: [bool(group_members(p)) for p in pgids]))


def _signal(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
