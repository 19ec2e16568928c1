"""Runs orphaned by dead server processes: closed as lost; their process groups stopped only
when they are provably the run's (real processes, real SQLite)."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ccsync.scheduler import orphans
from ccsync.scheduler.definitions import JobSpec
from ccsync.scheduler.environment import RUN_TAG_VARIABLE
from ccsync.services import Services, build_services
from ccsync.settings import Settings
from ccsync.storage.history.jobs import RunRecord

pytestmark = pytest.mark.timeout(60)

SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(data_dir=tmp_path / "data", local_agent=False)
    async with build_services(settings, start_loops=False) as built:
        yield built


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def groups() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _group(started: list[subprocess.Popen[bytes]], tag: str | None) -> int:
    """A process group of its own that ignores SIGTERM, carrying ``tag`` (or not)."""
    env = dict(os.environ)
    if tag is not None:
        env[RUN_TAG_VARIABLE] = tag
    process = subprocess.Popen([sys.executable, "-c", SLEEPER], env=env, start_new_session=True)
    started.append(process)
    for _ in range(100):  # until the interpreter has set its handler
        if _ignores_term(process.pid):
            break
        time.sleep(0.02)
    return process.pid


def _ignores_term(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << 14))
    return False


async def _running(services: Services, instance: str, started_ms: int | None = None) -> RunRecord:
    job = await services.scheduler.create_job(
        JobSpec(name="long", schedule="0 7 * * *", command="claude -p hi")
    )
    run = await services.history.jobs.start_run(
        RunRecord(
            job_id=job.id,
            job_kind="command",
            trigger="manual",
            instance=instance,
            started_ms=started_ms or services.clock.now_ms(),
        )
    )
    assert run is not None
    return run


async def test_an_orphan_of_a_dead_process_is_stopped_and_lost(
    services: Services, dead_pid: int, groups: list[subprocess.Popen[bytes]]
) -> None:
    instance = f"{socket.gethostname()}:{dead_pid}:0a0b0c"
    run = await _running(services, instance)
    pgid = _group(groups, orphans.run_tag(instance, run.id))
    await services.history.jobs.set_run_process(run.id, pgid)

    [lost] = await services.scheduler.runner.close_orphans()
    assert lost.id == run.id and lost.status == "lost" and lost.process_group == pgid
    assert f"({instance}) died during the run" in (lost.error or "")
    assert "was stopped (SIGTERM, then SIGKILL)" in (lost.error or "")
    assert groups[0].wait(timeout=5) == -9
    job = await services.history.jobs.get_job(run.job_id)
    assert job is not None and job.status == "error"
    assert await services.scheduler.runner.close_orphans() == []  # closed once


async def test_a_reused_process_group_id_is_left_alone(
    services: Services, dead_pid: int, groups: list[subprocess.Popen[bytes]]
) -> None:
    instance = f"{socket.gethostname()}:{dead_pid}:0a0b0c"
    run = await _running(services, instance)
    stranger = _group(groups, tag=None)  # the recorded id now names someone else's group
    await services.history.jobs.set_run_process(run.id, stranger)
    [lost] = await services.scheduler.runner.close_orphans()
    assert (lost.error or "").endswith("died during the run; its processes had ended")
    assert groups[0].poll() is None


async def test_orphans_are_found_by_their_tag(
    services: Services, dead_pid: int, groups: list[subprocess.Popen[bytes]]
) -> None:
    """The server died before recording the group; or the run was closed already."""
    instance = f"{socket.gethostname()}:{dead_pid}:0a0b0c"
    unrecorded = await _running(services, instance)
    _group(groups, orphans.run_tag(instance, unrecorded.id))
    _group(groups, orphans.run_tag(instance, 999))  # a run closed elsewhere, or deleted
    alive = _group(groups, orphans.run_tag(services.scheduler.instance, 998))  # ours
    [lost] = await services.scheduler.runner.close_orphans()
    assert lost.id == unrecorded.id and lost.process_group is None
    assert "was stopped (SIGTERM, then SIGKILL)" in (lost.error or "")
    assert groups[0].wait(timeout=5) == -9 and groups[1].wait(timeout=5) == -9
    assert groups[2].poll() is None and groups[2].pid == alive


async def test_runs_of_live_or_distant_instances(services: Services) -> None:
    here = await services.scheduler.runner.close_orphans()
    assert here == []
    alive = await _running(services, f"{socket.gethostname()}:{os.getppid()}:0a0b0c")
    distant = await _running(services, "elsewhere:42:0a0b0c")
    assert await services.scheduler.runner.close_orphans() == []
    # Long past what its job can take: another host's run is closed, without signals.
    old = services.clock.now_ms() - orphans.longest_run_ms(None) - 1_000
    overdue = await _running(services, "elsewhere:43:0a0b0c", started_ms=old)
    await services.history.jobs.set_run_process(overdue.id, 1)
    [lost] = await services.scheduler.runner.close_orphans()
    assert lost.id == overdue.id and "did not finish it" in (lost.error or "")
    assert "process group" not in (lost.error or "")
    left = await services.history.jobs.runs(statuses=["running"])
    assert {r.id for r in left} == {alive.id, distant.id}


def test_an_instance_is_dead_when_its_pid_is_gone_reused_or_ours(dead_pid: int) -> None:
    host = socket.gethostname()
    now = int(time.time() * 1000)
    this = f"{host}:{os.getpid()}:aaaaaa"
    assert not orphans.instance_is_dead(this, this, now)
    assert orphans.instance_is_dead(f"{host}:{os.getpid()}:bbbbbb", this, now)  # restarted
    assert orphans.instance_is_dead(f"{host}:{dead_pid}:bbbbbb", this, now)
    parent = f"{host}:{os.getppid()}:bbbbbb"
    assert not orphans.instance_is_dead(parent, this, now)
    assert orphans.instance_is_dead(parent, this, 0)  # it started after the run: a reused pid
    assert not orphans.instance_is_dead(f"elsewhere:{dead_pid}:bbbbbb", this, now)
    assert not orphans.instance_is_dead("not-an-instance", this, now)


def test_the_longest_run_counts_the_timeout_and_the_warmup_waits() -> None:
    from ccsync.storage.history.jobs import JobRecord

    job = JobRecord(id="j", name="j", schedule="* * * * *", command="claude -p hi")
    assert orphans.longest_run_ms(job) == (300 + 5) * 1000 + orphans.MARGIN_MS
    warm = dataclasses.replace(job, kind="warmup", options={"maxWaitMinutes": 10})
    assert orphans.longest_run_ms(warm) == (120 + 600 + 20 + 5) * 1000 + orphans.MARGIN_MS
    checked = dataclasses.replace(warm, options={"maxWaitMinutes": 10, "verifySeconds": 60})
    assert orphans.longest_run_ms(checked) == (120 + 600 + 60 + 5) * 1000 + orphans.MARGIN_MS
