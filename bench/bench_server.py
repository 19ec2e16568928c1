#!/usr/bin/env python3
"""Server benchmarks: ingest throughput into SQLite and PostgreSQL, and WebSocket fan-out.

usage: python bench/bench_server.py [--corpus DIR] [--database-url postgresql://…] [--subscribers 1000]

- ingest: the entries of a generated corpus (``bench/gen_corpus.py``), pushed through the
  history store in batches of 5,000, as the server's ingest does; entries per second.
- fan-out: a ``ccsync serve`` process on loopback, ``--subscribers`` WebSocket clients,
  then ``--events`` ``POST /api/metrics/k``; the time from sending each POST to each
  subscriber receiving the event, p50 and p99 over every (event, subscriber) pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ccsync.usage.entry import UsageEntry

HERE = Path(__file__).resolve().parent
BATCH = 5_000


async def bench_ingest(url: str, by_device: dict[str, list[UsageEntry]], label: str) -> float:
    """Entries per second through ``EntryStore.ingest`` (survivors decided as they arrive)."""
    from ccsync.storage.history import open_history_store

    store = await open_history_store(url)
    try:
        started = time.perf_counter()
        count = 0
        for device, rows in by_device.items():
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                await store.entries.ingest("default", device, batch, 0)
                count += len(batch)
        elapsed = time.perf_counter() - started
        rate = count / elapsed
        print(f"ingest {label:11} {count:,} entries in {elapsed:.2f} s: {rate:,.0f} entries/s")
        return rate
    finally:
        await store.aclose()


async def bench_fanout(subscribers: int, events: int) -> tuple[float, float]:
    import httpx
    from websockets.asyncio.client import connect

    sys.path.insert(0, str(HERE.parent / "tests"))
    from fixtures.server import free_port

    port = free_port()
    data = tempfile.mkdtemp(prefix="ccsync-fanout-")
    env = {**os.environ, "PORT": str(port), "CCSYNC_DATA_DIR": data, "HOME": data}
    for name in ("REDIS_URL", "DATABASE_URL", "CCSYNC_ADMIN_TOKEN", "HOST"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "ccsync", "serve", "--no-local-agent", "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        sockets = []
        for _ in range(subscribers):
            ws = await connect(f"ws://127.0.0.1:{port}/ws", max_size=None)
            await ws.recv()  # initial-data
            await ws.send(json.dumps({"type": "subscribe", "channel": "metrics"}))
            await ws.recv()
            sockets.append(ws)
        sent: dict[int, float] = {}
        latencies: list[float] = []
        everyone = asyncio.Event()
        received = 0

        async def listen(ws: Any) -> None:
            nonlocal received
            async for raw in ws:
                arrived = time.perf_counter()
                n = json.loads(raw)["data"]["n"]
                latencies.append((arrived - sent[n]) * 1000)
                received += 1
                if received == subscribers * events:
                    everyone.set()

        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        async with httpx.AsyncClient(base_url=base) as http:
            for n in range(events):
                sent[n] = time.perf_counter()
                await http.post("/api/metrics/k", json={"n": n})
                await asyncio.sleep(0.05)  # one event at a time: measure latency, not queueing
        await asyncio.wait_for(everyone.wait(), timeout=60)
        for task in listeners:
            task.cancel()
        for ws in sockets:
            await ws.close()
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"fan-out to {subscribers} subscribers, {events} events: p50 {p50:.1f} ms, p99 {p99:.1f} ms (POST sent → received)"
        )
        return p50, p99
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(tempfile.gettempdir()) / "ccsync-bench-corpus-100"
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()

    if not args.skip_ingest:
        run_ingest(args)
    if not args.skip_fanout:
        asyncio.run(bench_fanout(args.subscribers, args.events))


def run_ingest(args: argparse.Namespace) -> None:
    from ccsync.usage.loader import scan
    from ccsync.wire import WireEntry

    if not args.corpus.exists():
        subprocess.run(
            [sys.executable, str(HERE / "gen_corpus.py"), str(args.corpus), "--size-mb", "100"],
            check=True,
        )
    roots = sorted(p for p in args.corpus.iterdir() if (p / "projects").is_dir())
    # As the server stores them: each device's lines, their sources qualified by the device
    # (checked against the bounds of time at this moment, as the server's clock would).
    now = int(time.time() * 1000)
    entries = {
        root.name: [WireEntry.from_entry(e).to_entry(root.name, now) for e in scan([root]).entries]
        for root in roots
    }
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench_ingest(f"sqlite:///{tmp}/bench.db", entries, "SQLite"))
    if args.database_url:
        import psycopg

        schema = f"bench_{os.getpid()}"
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in args.database_url else "?"
            asyncio.run(
                bench_ingest(f"{args.database_url}{sep}schema={schema}", entries, "PostgreSQL")
            )
        finally:
            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
