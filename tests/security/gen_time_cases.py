#!/usr/bin/env python3
"""Write the far-instant transcripts of ``time_cases/`` and what ccusage prints for them.

    python tests/security/gen_time_cases.py [CCUSAGE]   (default: /work/shared/tools/ccusage)

Each case is ``time_cases/<case>/claude/projects/p1/s1.jsonl`` and ``expected.json``: for
each argument string (``claude <report> --json --offline`` is implied), ccusage 20.0.24's
output, run with ``TZ=UTC`` and ``CLAUDE_CONFIG_DIR`` = the case's ``claude`` folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "time_cases"
KINDS = ("daily", "weekly", "monthly", "session", "blocks")
ZONES = ("UTC", "Pacific/Kiritimati", "America/Los_Angeles")
EXTRA = (("--order", "desc"), ("--since", "20000101"), ("--until", "20261231"))


def line(ts: str, n: int, *, text: str = "ok", model: str = "claude-sonnet-4-20250514") -> str:
    record: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/p",
        "sessionId": "s1",
        "version": "2.1.112",
        "message": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "id": f"msg_{n}",
            "model": model,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 100 * n,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 50,
                "service_tier": "standard",
            },
        },
        "requestId": f"req_{n}",
        "type": "assistant",
        "uuid": f"u-{n}",
        "timestamp": ts,
    }
    if model == "<synthetic>":
        record["isApiErrorMessage"] = True
    return json.dumps(record, separators=(",", ":"))


def limit(ts: str, n: int, seconds: str) -> str:
    return line(ts, n, text=f"Claude AI usage limit reached|{seconds}", model="<synthetic>")


CASES = {
    # finding C3: one line in the last hour of year 9999; its block ends in year 10000
    "year-9999": [line("2026-11-01T10:00:00.000Z", 1), line("9999-12-31T23:30:00.000Z", 2)],
    # the far edges of what ccusage reads: years -1 and 10000 after the offset, a date
    # ccusage puts in UTC (after 9999-12-30T22:00Z), reset times up to year 292,278,994
    "far": [
        line("2026-11-01T10:00:00.000Z", 1),
        limit("2026-11-01T11:00:00.000Z", 2, "9223372036854775"),
        limit("2026-11-01T11:30:00.000Z", 3, "9223372036854776"),
        line("9999-12-30T22:00:00.500Z", 4),
        line("9999-12-31T12:00:00.000Z", 5),
        line("9999-12-31T23:59:59.999-23:59", 6),
        line("0000-01-01T00:00:00.000+23:59", 7),
        line("0001-01-01T02:00:00.000Z", 8),
    ],
}


def arguments(case: str) -> list[tuple[str, ...]]:
    runs = [(kind, "--timezone", zone) for kind in KINDS for zone in ZONES]
    if case == "far":
        runs += [(kind, "--timezone", "UTC", *extra) for kind in KINDS for extra in EXTRA]
    return runs


def main(ccusage: str) -> None:
    for case, lines in CASES.items():
        root = HERE / case / "claude"
        transcript = root / "projects" / "p1" / "s1.jsonl"
        transcript.parent.mkdir(parents=True, exist_ok=True)
        transcript.write_text("".join(f"{text}\n" for text in lines))
        expected = {}
        for args in arguments(case):
            done = subprocess.run(
                [ccusage, "claude", *args, "--json", "--offline"],
                env={**os.environ, "TZ": "UTC", "CLAUDE_CONFIG_DIR": str(root)},
                capture_output=True,
                text=True,
                check=True,
            )
            expected[" ".join(args)] = json.loads(done.stdout)
        (HERE / case / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/tools/ccusage")
