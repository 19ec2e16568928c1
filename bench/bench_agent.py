#!/usr/bin/env python3
"""Agent benchmarks: a line appended to a transcript → a WebSocket subscriber, and the status line.

usage: python bench/bench_agent.py [--lines 40] [--calls 40] [--corpus DIR]

- append → WebSocket: a ``ccsync serve`` process and a ``ccsync agent`` following one
  device; a subscriber on ``/ws``; ``--lines`` lines appended one by one (every 300 ms);
  time from the write to the ``token_usage_update`` that reports it.
- statusline: ``ccsync statusline`` run ``--calls`` times as Claude Code runs it (a new
  process, JSON on stdin), with a fresh cache and with the server down; next to it
  ``ccusage statusline`` on the same machine (``--corpus``, uncached and cached), in the
  same run.
- agent memory (with ``--corpus``): ``ccsync agent`` importing the corpus's first device
  and then tailing it; peak and settled resident set size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CCUSAGE = os.environ.get("CCUSAGE", str(REPO.parent / "shared" / "tools" / "ccusage"))
sys.path.insert(0, str(REPO / "tests"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def append_latency(lines: int) -> tuple[float, float]:
    from websockets.asyncio.client import connect

    from fixtures.processes import agent_process, server_process, wait_for

    work = Path(tempfile.mkdtemp(prefix="ccsync-bench-agent-"))
    transcript = work / "device" / "projects" / "-home-u-bench" / "session.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_text(_line(0) + "\n")
    latencies: list[float] = []
    with (
        server_process(work / "server") as server,
        agent_process(work / "device", "bench", server.url, work / "agent"),
    ):
        wait_for(lambda: server.entries() > 0)
        async with connect(server.url.replace("http", "ws") + "/ws") as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "channel": "usage"}))
            await ws.recv()
            for n in range(1, lines + 1):
                with transcript.open("a") as handle:
                    handle.write(_line(n) + "\n")
                    written = time.perf_counter()
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if message.get("type") == "token_usage_update" and message.get("accepted"):
                        break
                latencies.append((time.perf_counter() - written) * 1000)
                await asyncio.sleep(0.3)
    shutil.rmtree(work, ignore_errors=True)
    return statistics.median(latencies), percentile(latencies, 0.99)


def _line(n: int) -> str:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return json.dumps(
        {
            "parentUuid": None,
            "isSidechain": False,
            "type": "assistant",
            "sessionId": "session",
            "version": "2.1.218",
            "requestId": f"req_{n}_{time.time_ns()}",
            "uuid": f"u{n}",
            "timestamp": now,
            "message": {
                "id": f"msg_{n}_{time.time_ns()}",
                "model": "claude-sonnet-4-5-20250929",
                "role": "assistant",
                "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 1000},
            },
        },
        separators=(",", ":"),
    )


def time_calls(argv: list[str], stdin: str, env: dict[str, str], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def statusline_latency(calls: int, corpus: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="ccsync-bench-statusline-"))
    hook = {
        "session_id": "bench",
        "transcript_path": "/dev/null",
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"},
        "rate_limits": {"five_hour": {"used_percentage": 12.5, "resets_at": time.time() + 3600}},
    }
    env = {
        **os.environ,
        "HOME": str(work),
        "CCSYNC_STATE_DIR": str(work),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
    }
    window = {
        "active": True,
        "tokens": 1_234_567,
        "end": "2099-01-01T00:00:00.000Z",
        "devices": [],
        "today": {"costUSD": 1.0},
    }
    ccsync = [sys.executable, "-m", "ccsync", "statusline"]
    script = shutil.which("ccsync")
    if script:
        ccsync = [script, "statusline"]
    (work / "statusline.json").write_text(
        json.dumps({"window": window, "fetched": time.time() + 3600})
    )
    fresh = time_calls(
        ccsync, json.dumps({k: v for k, v in hook.items() if k != "rate_limits"}), env, calls
    )
    (work / "statusline.json").write_text(json.dumps({"window": window, "fetched": 0}))
    down = time_calls(
        ccsync, json.dumps(hook), env, calls
    )  # stale cache, refresher started, server down
    print(
        f"ccsync statusline, fresh cache:  p50 {statistics.median(fresh):.1f} ms, p99 {percentile(fresh, 0.99):.1f} ms ({calls} calls)"
    )
    print(
        f"ccsync statusline, server down:  p50 {statistics.median(down):.1f} ms, p99 {percentile(down, 0.99):.1f} ms"
    )
    if corpus is not None and Path(CCUSAGE).exists():
        roots = sorted(p for p in corpus.iterdir() if (p / "projects").is_dir())
        transcript = next((roots[0] / "projects").rglob("*.jsonl"))
        ccusage_hook = {**hook, "session_id": transcript.stem, "transcript_path": str(transcript)}
        cc_env = {**env, "CLAUDE_CONFIG_DIR": ",".join(map(str, roots)), "TMPDIR": str(work)}
        uncached = time_calls(
            [CCUSAGE, "statusline", "--offline", "--no-cache"], json.dumps(ccusage_hook), cc_env, 3
        )
        cached = time_calls(
            [CCUSAGE, "statusline", "--offline"], json.dumps(ccusage_hook), cc_env, calls
        )
        size = sum(f.stat().st_size for r in roots for f in (r / "projects").rglob("*.jsonl")) / 1e6
        print(
            f"ccusage statusline ({size:.0f} MB): uncached p50 {statistics.median(uncached):.1f} ms, cached p50 {statistics.median(cached):.1f} ms"
        )
        print(
            f"ratio ccsync (fresh cache) / ccusage (cached): {statistics.median(fresh) / statistics.median(cached):.2f}"
        )
    shutil.rmtree(work, ignore_errors=True)


def agent_memory(device: Path) -> tuple[float, float, int]:
    """Peak and settled RSS (MB) of ``ccsync agent`` importing ``device`` and then tailing it."""
    from fixtures.processes import agent_process, server_process

    work = Path(tempfile.mkdtemp(prefix="ccsync-bench-rss-"))
    with (
        server_process(work / "server") as server,
        agent_process(device, "bench", server.url, work / "agent") as agent,
    ):
        seen, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 5:  # imported: nothing new for 5 s
            time.sleep(0.5)
            count = server.entries()
            if count != seen:
                seen, stable_since = count, time.monotonic()
        time.sleep(5)  # tailing, idle
        status = Path(f"/proc/{agent.pid}/status").read_text()
    shutil.rmtree(work, ignore_errors=True)
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    peak, now = (int(fields[name].split()[0]) / 1024 for name in ("VmHWM", "VmRSS"))
    return peak, now, seen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument(
        "--corpus", type=Path, default=None, help="a bench corpus, for ccusage statusline"
    )
    args = parser.parse_args()
    p50, p99 = asyncio.run(append_latency(args.lines))
    print(
        f"line appended → WebSocket subscriber: p50 {p50:.0f} ms, p99 {p99:.0f} ms ({args.lines} lines)"
    )
    statusline_latency(args.calls, args.corpus)
    if args.corpus is not None:
        device = sorted(p for p in args.corpus.iterdir() if (p / "projects").is_dir())[0]
        size = sum(f.stat().st_size for f in (device / "projects").rglob("*.jsonl"))
        peak, settled, entries = agent_memory(device)
        print(
            f"agent RSS importing {size / 1e6:,.0f} MB ({entries:,} lines) then tailing: "
            f"peak {peak:.1f} MB, settled {settled:.1f} MB"
        )


if __name__ == "__main__":
    main()
