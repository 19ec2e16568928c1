#!/usr/bin/env python3
"""Cold ``monthly`` report: ``ccsync report`` against ccusage, on the same corpus, in one run.

usage: python bench/bench_report.py [--corpus DIR] [--size-mb 350] [--devices 4] [--rounds 7]

"Cold" means a fresh process that reads every transcript (no server, no cache); the page
cache is warm for both programs alike. The two commands run alternately, ``--rounds``
times each, and the medians are compared. Both reports are checked to agree by the
parity rules before any time is reported. ccusage (20.0.24) is ``CCUSAGE``, else
``DEFAULT_CCUSAGE`` (a launcher kept beside the repository, not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CCUSAGE = REPO.parent / "shared" / "tools" / "ccusage"


def ensure_corpus(path: Path, size_mb: float, devices: int) -> list[Path]:
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_corpus.py"),
                str(path),
                "--size-mb",
                str(size_mb),
                "--devices",
                str(devices),
            ],
            check=True,
        )
    return sorted(p for p in path.iterdir() if (p / "projects").is_dir())


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    """Wall time and stdout of one run."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=True)
    return time.perf_counter() - start, done.stdout


def same_totals(ours: dict[str, object], theirs: dict[str, object]) -> bool:
    a, b = ours["totals"], theirs["totals"]
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    tokens = (
        "inputTokens",
        "outputTokens",
        "cacheCreationTokens",
        "cacheReadTokens",
        "totalTokens",
    )
    return all(a[k] == b[k] for k in tokens) and abs(a["totalCost"] - b["totalCost"]) < 1e-6


def server_report_times(
    roots: list[Path], report: str, rounds: int
) -> tuple[float, list[float], dict[str, Any]]:
    """The same report from the server's history once the corpus is ingested (SQLite):
    the first one (which loads the account's survivors into memory) and ``rounds`` more."""
    import asyncio

    from ccsync.clock import SystemClock
    from ccsync.server.reporting import Reporter
    from ccsync.storage.history import open_history_store
    from ccsync.storage.live.memory import MemoryValueStore
    from ccsync.usage import ReportKind, ReportOptions
    from ccsync.usage.loader import scan
    from ccsync.wire import WireEntry

    async def run(path: Path) -> tuple[float, list[float], dict[str, Any]]:
        store = await open_history_store(f"sqlite:///{path}")
        try:
            for root in roots:
                rows = [WireEntry.from_entry(e).to_entry(root.name) for e in scan([root]).entries]
                for start in range(0, len(rows), 5_000):
                    await store.entries.ingest("default", root.name, rows[start : start + 5_000], 0)
            reporter = Reporter(
                devices=store.devices,
                entries=store.entries,
                blocks=store.blocks,
                settings=store.settings,
                values=MemoryValueStore(),
                clock=SystemClock(),
            )
            kind, options = ReportKind(report), ReportOptions(timezone="UTC")
            started = time.perf_counter()
            result = await reporter.report(kind, "default", options)
            first = time.perf_counter() - started
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                result = await reporter.report(kind, "default", options)
                times.append(time.perf_counter() - started)
            return first, times, result
        finally:
            await store.aclose()

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(run(Path(tmp) / "history.db"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "ccsync-bench-corpus",
    )
    parser.add_argument("--size-mb", type=float, default=350)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--report", default="monthly")
    parser.add_argument(
        "--server",
        action="store_true",
        help="also time the report from the server's history once the corpus is ingested",
    )
    args = parser.parse_args()

    roots = ensure_corpus(args.corpus, args.size_mb, args.devices)
    size = sum(f.stat().st_size for root in roots for f in (root / "projects").rglob("*.jsonl"))
    ccusage = os.environ.get("CCUSAGE", str(DEFAULT_CCUSAGE))
    ccsync = shutil.which("ccsync") or "ccsync"
    env = {**os.environ, "TZ": "UTC", "CLAUDE_CONFIG_DIR": ",".join(map(str, roots))}
    theirs_argv = [ccusage, "claude", args.report, "--json", "--offline", "--timezone", "UTC"]
    ours_argv = [ccsync, "report", args.report, "--json", "--timezone", "UTC"]
    for root in roots:
        ours_argv += ["--claude-dir", str(root)]

    # Warm-up (installs ccusage on first use, fills the page cache) and the parity check.
    _, theirs_out = timed(theirs_argv, env)
    _, ours_out = timed(ours_argv, env)
    if not same_totals(json.loads(ours_out), json.loads(theirs_out)):
        sys.exit("the two reports differ: no timing is reported for different answers")

    ours_times, theirs_times = [], []
    for _ in range(args.rounds):
        theirs_times.append(timed(theirs_argv, env)[0])
        ours_times.append(timed(ours_argv, env)[0])
    ours_med, theirs_med = statistics.median(ours_times), statistics.median(theirs_times)
    print(f"corpus: {size / 1e6:,.0f} MB in {len(roots)} devices ({args.corpus})")
    print(f"{'':10} {'median':>8} {'min':>8} {'max':>8}")
    for name, times in (("ccusage", theirs_times), ("ccsync", ours_times)):
        print(f"{name:10} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s")
    print(f"ratio ccsync/ccusage (medians): {ours_med / theirs_med:.2f}")
    if args.server:
        first, warm, served = server_report_times(roots, args.report, args.rounds)
        if not same_totals(served, json.loads(theirs_out)):
            sys.exit("the server's report differs from ccusage's: no timing is reported")
        served_med = statistics.median(warm)
        print(
            f"from the server's history: first {first:.3f} s, then median {served_med:.3f} s "
            f"(min {min(warm):.3f}, max {max(warm):.3f}); "
            f"ratio to ccusage's cold median: {served_med / theirs_med:.3f}"
        )
    print("| corpus | rounds | ccusage median | ccsync median | ratio |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {size / 1e6:,.0f} MB, {len(roots)} devices | {args.rounds} | {theirs_med:.3f} s | {ours_med:.3f} s | {ours_med / theirs_med:.2f} |"
    )


if __name__ == "__main__":
    main()
