"""The history has an identity (hostile review finding D8) and a transcript replaced by a copy of
itself is the same transcript (D10): real servers, real agents, real files.

D8: a server whose database is wiped, replaced, restored from an older backup, or that is
another server altogether, gets every device's history back from the agents by itself
(within a minute of their next contact), with nothing counted twice.
D10: ``cp f f.tmp; (append); mv f.tmp f`` gives the file a new inode; its lines without
``message.id`` are not counted again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from fixtures.corpora import ParityCase, parity_differences, report_params
from fixtures.lines import assistant, dump, usage, user
from fixtures.processes import ServerProcess, agent_env, agent_once, wait_for
from fixtures.server import backend_server
from parity.compare import same

CASE = "case-basic"  # three devices
BACK_WITHIN = 60.0
"""A server whose history was lost has the totals back within a minute of the agents' next
contact (each agent re-reads from 0; nothing counts twice)."""


def fetch_from(url: str) -> Callable[[str, dict[str, str]], object]:
    def fetch(report: str, params: dict[str, str]) -> object:
        return httpx.get(f"{url}/api/reports/{report}", params=params, timeout=30).json()

    return fetch


def seconds_until_parity(parity: ParityCase, url: str, timeout: float = BACK_WITHIN) -> float:
    """How long until every report equals ccusage's (fails after ``timeout``)."""
    started = time.monotonic()
    fetch = fetch_from(url)
    wait_for(lambda: parity_differences(parity, fetch) == [], timeout=timeout, step=0.25)
    return time.monotonic() - started


@contextmanager
def following(devices: list[Path], server: str, states: Path) -> Iterator[list[Path]]:
    """One following agent per device (``ccsync agent``), each with its own state; yields
    their log files."""
    logs = []
    with ExitStack() as stack:
        for device in devices:
            state = states / device.name
            state.mkdir(parents=True, exist_ok=True)
            log = state / "agent.log"
            handle = stack.enter_context(log.open("w"))
            argv = ["agent", "--device", device.name, "--claude-dir", str(device)]
            process = subprocess.Popen(
                [sys.executable, "-m", "ccsync", *argv],
                env=agent_env(state, state, server),
                stderr=handle,
                text=True,
            )
            stack.callback(stop, process)
            logs.append(log)
        yield logs


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def resyncs(logs: list[Path]) -> list[str]:
    return [line for log in logs for line in log.read_text().splitlines() if "agent.resync" in line]


def database_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("ccsync.db*"))


def wipe(data_dir: Path) -> None:
    for path in database_files(data_dir):
        path.unlink()


def halve(devices: list[Path], into: Path) -> list[tuple[Path, str]]:
    """Copies of ``devices`` with the first half of each transcript; the rest to append."""
    rest = []
    for device in devices:
        copy = into / device.name
        shutil.copytree(device, copy)
        for path in sorted((copy / "projects").rglob("*.jsonl")):
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(lines[: len(lines) // 2]))
            rest.append((path, "".join(lines[len(lines) // 2 :])))
    return rest


def stored_lines(devices: list[Path]) -> int:
    """The usage lines in the devices' files: what a complete server stores."""
    from ccsync.usage.loader import scan

    return sum(len(scan([device], workers=1).entries) for device in devices)


def test_a_wiped_database_gets_every_history_back(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    """D8: three following agents, a populated server, then a new empty database under
    them: the totals equal ccusage's again, with no manual step, within a minute."""
    parity = parity_cases[CASE]
    server = ServerProcess(tmp_path / "server").start()
    try:
        with following(parity.devices, server.url, tmp_path / "agents") as logs:
            seconds_until_parity(parity, server.url)
            stored = server.entries()
            server.stop()
            wipe(server.data_dir)
            server.start()
            took = seconds_until_parity(parity, server.url)
            assert server.entries() == stored  # every line once
            assert len(resyncs(logs)) == 3  # each agent said why, once
            print(f"\nD8 wipe (SQLite): totals back {took:.1f} s after the restart")
    finally:
        server.stop()


def test_a_database_restored_from_an_older_backup_gets_the_rest_back(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    """D8: a backup taken after the first half of every transcript was pushed, restored
    after the second half was: the agents send what it lacks, within a minute."""
    parity = parity_cases[CASE]
    devices = [tmp_path / "devices" / d.name for d in parity.devices]
    rest = halve(parity.devices, tmp_path / "devices")
    half = stored_lines(devices)
    server = ServerProcess(tmp_path / "server").start()
    backup = tmp_path / "backup"
    try:
        with following(devices, server.url, tmp_path / "agents") as logs:
            wait_for(lambda: server.entries() == half, timeout=60, step=0.2)
            server.stop()
            backup.mkdir()
            for path in database_files(server.data_dir):
                shutil.copy2(path, backup / path.name)
            server.start()
            for path, lines in rest:
                with path.open("a") as handle:
                    handle.write(lines)
            seconds_until_parity(parity, server.url)
            stored = server.entries()
            assert stored > half
            server.stop()
            wipe(server.data_dir)
            for path in backup.iterdir():
                shutil.copy2(path, server.data_dir / path.name)
            server.start()
            assert server.entries() == half  # the backup's content
            took = seconds_until_parity(parity, server.url)
            assert server.entries() == stored
            assert len(resyncs(logs)) == 3 and all("backup" in line for line in resyncs(logs))
            print(f"\nD8 restore (SQLite): totals back {took:.1f} s after the restart")
    finally:
        server.stop()


@pytest.mark.services
def _in_schema(database_url: str, schema: str) -> str:
    """``database_url`` with ``schema=``: the bundled PostgreSQL's URL already has a query
    (``?host=<socket dir>``)."""
    return f"{database_url}{'&' if '?' in database_url else '?'}schema={schema}"


def test_a_new_postgresql_database_gets_every_history_back(
    parity_cases: dict[str, ParityCase], tmp_path: Path, database_url: str, pg_schema: str
) -> None:
    """D8 on PostgreSQL: the server restarted on a new, empty schema."""
    import psycopg

    parity = parity_cases[CASE]
    fresh = pg_schema + "_new"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{fresh}"')
    server = ServerProcess(tmp_path / "server", DATABASE_URL=_in_schema(database_url, pg_schema))
    server.start()
    try:
        with following(parity.devices, server.url, tmp_path / "agents") as logs:
            seconds_until_parity(parity, server.url)
            stored = server.entries()
            server.stop()
            server.env["DATABASE_URL"] = _in_schema(database_url, fresh)
            server.start()
            took = seconds_until_parity(parity, server.url)
            assert server.entries() == stored
            assert len(resyncs(logs)) == 3
            print(f"\nD8 wipe (PostgreSQL): totals back {took:.1f} s after the restart")
    finally:
        server.stop()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')


def test_agents_switched_to_another_server_fill_it(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    """D8: the same agents (same state) pointed at another server send it everything,
    once; pointed back, the first server is not sent anything again."""
    parity = parity_cases[CASE]
    states = tmp_path / "agents"

    def push_all(url: str) -> list[str]:
        outputs = []
        for device in parity.devices:
            done = agent_once(device, device.name, url, states / device.name)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stderr)
        return outputs

    first = ServerProcess(tmp_path / "first").start()
    second = ServerProcess(tmp_path / "second").start()
    try:
        push_all(first.url)
        assert parity_differences(parity, fetch_from(first.url)) == []
        stored = first.entries()
        outputs = push_all(second.url)
        assert parity_differences(parity, fetch_from(second.url)) == []
        assert second.entries() == stored
        assert all("read everything again" in output for output in outputs)
        again = push_all(second.url)  # settled: nothing is read or sent again
        assert all("read 0 new entries" in out and "again" not in out for out in again)
        push_all(first.url)  # another history again: re-sent, and all duplicates there
        assert first.entries() == stored
        assert parity_differences(parity, fetch_from(first.url)) == []
    finally:
        first.stop()
        second.stop()


async def test_the_servers_own_agent_refills_a_new_database(
    parity_cases: dict[str, ParityCase], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """D8: the server following its own host (state in its data directory), started on a
    new database: it reads its host's history again."""
    parity = parity_cases[CASE]
    dirs = tuple(str(device) for device in parity.devices)
    for database in ("first.db", "second.db"):
        serving = backend_server(
            request,
            "memory+sqlite",
            tmp_path,
            local_agent=True,
            claude_dirs=dirs,
            database_url=f"sqlite:///{tmp_path / database}",
        )
        async with serving as running, running.client() as http:
            synced = (await http.post("/api/usage/ccusage")).json()
            assert synced["success"] is True
            found: list[str] = []
            for check in parity.checks:
                options = check["options"]
                assert isinstance(options, list)
                answer = await http.get(
                    f"/api/reports/{check['report']}", params=report_params(options)
                )
                same(parity.expected(check), answer.json(), str(check["expected"]), found)
            assert found == [], (database, found[:5])


# -- D10: a transcript replaced by a copy of itself -----------------------------------


def no_id_lines(start: int, count: int) -> list[str]:
    """Assistant lines without ``message.id`` (and without ``requestId``): ccusage counts
    each one, wherever it is."""
    lines = []
    for n in range(start, start + count):
        stamp = f"2026-11-0{1 + n % 3}T1{n % 10}:{n % 60:02d}:00.000Z"
        lines.append(dump(user(stamp, session="s-noid")))
        lines.append(
            dump(
                assistant(
                    stamp, session="s-noid", msg_id=None, req_id=None, u=usage(1000 + n, 10 * n)
                )
            )
        )
    return lines


def local_report(report: str, device: Path) -> object:
    """ccsync's own report of the device's final files: the engine whose output equals
    ccusage's on every parity case (tests/parity)."""
    argv = ["report", report, "--json", "--timezone", "UTC", "--claude-dir", str(device)]
    done = subprocess.run(
        [sys.executable, "-m", "ccsync", *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    )
    return json.loads(done.stdout)


def replace_by_copy(path: Path, appended: str) -> None:
    """``cp f f.tmp; cat more >> f.tmp; mv f.tmp f``: the same content and more, new inode."""
    before = path.stat().st_ino
    temporary = path.with_name(path.name + ".tmp")
    shutil.copyfile(path, temporary)
    with temporary.open("a") as handle:
        handle.write(appended)
    os.replace(temporary, path)
    assert path.stat().st_ino != before


def test_a_transcript_replaced_by_a_copy_of_itself_is_not_counted_twice(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    """D10: every transcript replaced with cp+mv (with lines appended), some lines without
    ``message.id``: the server's reports equal those of the final files read once."""
    source = parity_cases[CASE].devices[0]
    device = tmp_path / "devices" / source.name
    rest = halve([source], tmp_path / "devices")
    noid = device / "projects" / "-home-dev-noid" / "s-noid.jsonl"
    noid.parent.mkdir(parents=True)
    noid.write_text("\n".join(no_id_lines(0, 6)) + "\n")
    rest.append((noid, "\n".join(no_id_lines(6, 3)) + "\n"))
    server = ServerProcess(tmp_path / "server").start()
    try:
        first = agent_once(device, "laptop", server.url, tmp_path / "agent")
        assert first.returncode == 0, first.stderr
        for path, lines in rest:
            replace_by_copy(path, lines)
        second = agent_once(device, "laptop", server.url, tmp_path / "agent")
        assert second.returncode == 0, second.stderr
        for report in ("daily", "monthly", "session"):
            found: list[str] = []
            actual = httpx.get(f"{server.url}/api/reports/{report}", params={"timezone": "UTC"})
            same(local_report(report, device), actual.json(), report, found)
            assert found == [], found[:5]
        assert server.entries() == stored_lines([device])
    finally:
        server.stop()
