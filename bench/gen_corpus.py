#!/usr/bin/env python3
"""Generate a synthetic multi-device Claude Code corpus shaped like real ``~/.claude`` data.

usage: python bench/gen_corpus.py OUT [--size-mb 350] [--devices 4] [--seed 7]

(``--size-mb`` counts 10^6 bytes; the corpus ends a little above it.)

Writes ``OUT/device1 … OUT/deviceN``, each a Claude data directory
(``projects/<project>/<session>.jsonl``, sub-agents under ``<session>/subagents/``).
What makes it realistic, so that benchmarks measure what users run into:

- most bytes are tool output in ``user`` lines (tool results of a few KB, sometimes
  hundreds of KB), assistant lines are 0.5-3 KB;
- a response is written as one line per content block, each repeating the usage, and
  streamed: the first copies carry a placeholder ``output_tokens``;
- sub-agent files with sidechain lines, some replaying a parent message;
- some lines without ``requestId`` (gateways), some ``<synthetic>`` API errors,
  malformed and blank lines;
- devices share some sessions (a synced or copied ``~/.claude``), so merging must
  deduplicate across devices.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = (
    ["claude-sonnet-4-5-20250929"] * 5
    + ["claude-opus-4-5-20251101"] * 3
    + ["claude-haiku-4-5-20251001"] * 2
    + ["claude-sonnet-4-20250514", "claude-opus-4-1-20250805", "claude-opus-4-6"]
)
PROJECTS = ["api", "web", "infra", "notes", "cli", "docs", "data", "ml", "mobile", "ops"]
WORDS = [
    *[
        "def",
        "return",
        "import",
        "class",
        "self",
        "value",
        "result",
        "error",
        "file",
        "path",
        "line",
        "test",
        "data",
        "config",
    ],
    *[
        "request",
        "response",
        "token",
        "usage",
        "model",
        "cache",
        "read",
        "write",
        "session",
        "project",
        "device",
        "sync",
    ],
    *[
        "the",
        "a",
        "of",
        "to",
        "in",
        "for",
        "with",
        "on",
        "is",
        "that",
        "this",
        "it",
        "be",
        "as",
        "by",
        "from",
        "at",
        "or",
        "an",
        "are",
    ],
]


class Corpus:
    def __init__(self, out: Path, devices: int, size_mb: float, seed: int, end: datetime) -> None:
        self.out = out
        self.devices = devices
        self.target = int(size_mb * 1_000_000)
        self.rnd = random.Random(seed)
        self.end = end
        self.written = 0
        self.files = 0
        # One long text to slice tool output from: cheap to produce, compresses like code.
        self.blob = " ".join(self.rnd.choice(WORDS) for _ in range(400_000))
        self.shared: list[tuple[str, str, list[str]]] = []

    def text(self, size: int) -> str:
        start = self.rnd.randrange(0, len(self.blob) - size - 1)
        return self.blob[start : start + size]

    def tool_output_size(self) -> int:
        # Heavy-tailed: median ~2.5 KB, a few hundred KB now and then.
        return min(int(self.rnd.lognormvariate(7.8, 1.2)), 400_000)

    def write(self, device: int, rel: str, lines: list[str]) -> None:
        path = self.out / f"device{device}" / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "\n".join(lines) + "\n"
        path.write_text(data)
        self.written += len(data)
        self.files += 1

    def session(self, device: int) -> tuple[str, str, list[str], list[str]]:
        rnd = self.rnd
        project = f"-home-u{device}-{rnd.choice(PROJECTS)}{rnd.randint(1, 3)}"
        cwd = project.replace("-", "/")
        sid = (
            f"{rnd.getrandbits(32):08x}-{rnd.getrandbits(16):04x}-4{rnd.getrandbits(12):03x}"
            f"-8{rnd.getrandbits(12):03x}-{rnd.getrandbits(48):012x}"
        )
        ts = self.end - timedelta(minutes=rnd.randint(0, 60 * 24 * 45))
        version = rnd.choice(["2.1.112", "2.1.218", "2.0.77", "1.0.98"])
        base = {
            "userType": "external",
            "cwd": cwd,
            "sessionId": sid,
            "version": version,
            "gitBranch": "main",
        }
        lines: list[str] = []
        sub: list[str] = []
        model = rnd.choice(MODELS)
        gateway = rnd.random() < 0.05
        for turn in range(rnd.randint(20, 250)):
            ts += timedelta(seconds=rnd.randint(3, 240))
            lines.append(
                _user(
                    base,
                    ts,
                    {"role": "user", "content": self.text(rnd.randint(40, 900))},
                    f"{sid}-u{turn}",
                )
            )
            if rnd.random() < 0.01:
                lines.append(self._api_error(base, ts, turn))
                continue
            mid = f"msg_{rnd.getrandbits(64):016x}"
            rid = None if gateway else f"req_{rnd.getrandbits(64):016x}"
            usage = self._usage()
            blocks = rnd.randint(1, 4)
            for block in range(blocks):
                ts += timedelta(milliseconds=rnd.randint(50, 3000))
                placeholder = block < blocks - 1 and rnd.random() < 0.5
                u = dict(usage, output_tokens=rnd.randint(1, 20)) if placeholder else usage
                content = (
                    [
                        {
                            "type": "tool_use",
                            "id": f"toolu_{turn}_{block}",
                            "name": "Bash",
                            "input": {"command": self.text(rnd.randint(20, 400))},
                        }
                    ]
                    if block == blocks - 1
                    else [{"type": "text", "text": self.text(rnd.randint(100, 2500))}]
                )
                lines.append(_assistant(base, ts, mid, rid, model, u, content, f"{mid}-{block}"))
            lines.append(
                _user(
                    base,
                    ts,
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": f"toolu_{turn}",
                                "content": self.text(self.tool_output_size()),
                            }
                        ],
                    },
                    f"{sid}-t{turn}",
                )
            )
            if rnd.random() < 0.06:
                sub.extend(self._subagent(base, ts, mid, model, usage))
            if rnd.random() < 0.002:
                lines.append(
                    '{"type":"assistant","message":{"usage":{' + self.text(30)
                )  # cut off mid-write
            if rnd.random() < 0.002:
                lines.append("")
        return project, sid, lines, sub

    def _usage(self) -> dict[str, object]:
        rnd = self.rnd
        cache_write = rnd.choice([0, 0, rnd.randint(100, 30000)])
        one_hour = cache_write if rnd.random() < 0.2 else 0
        return {
            "input_tokens": rnd.randint(1, 3000)
            if rnd.random() < 0.97
            else rnd.randint(200_001, 400_000),
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": rnd.randint(0, 180_000),
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache_write - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            },
            "output_tokens": rnd.randint(20, 6000),
            "service_tier": "standard",
        }

    def _subagent(
        self,
        base: dict[str, object],
        ts: datetime,
        parent_mid: str,
        model: str,
        usage: dict[str, object],
    ) -> list[str]:
        rnd = self.rnd
        side = dict(base, isSidechain=True)
        lines = []
        if rnd.random() < 0.3:  # a /btw-style replay of the parent message with a new request id
            lines.append(
                _assistant(
                    side,
                    ts,
                    parent_mid,
                    f"req_{rnd.getrandbits(64):016x}",
                    model,
                    usage,
                    [{"type": "text", "text": "ok"}],
                    f"{parent_mid}-replay",
                )
            )
        for _ in range(rnd.randint(1, 6)):
            ts += timedelta(seconds=rnd.randint(1, 30))
            mid = f"msg_{rnd.getrandbits(64):016x}"
            u = self._usage()
            lines.append(
                _assistant(
                    side,
                    ts,
                    mid,
                    f"req_{rnd.getrandbits(64):016x}",
                    "claude-haiku-4-5-20251001",
                    u,
                    [{"type": "text", "text": self.text(rnd.randint(100, 1500))}],
                    mid,
                )
            )
            lines.append(
                _user(
                    side,
                    ts,
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": self.text(self.tool_output_size()),
                            }
                        ],
                    },
                    mid + "-r",
                )
            )
        return lines

    def _api_error(self, base: dict[str, object], ts: datetime, turn: int) -> str:
        reset = int((ts + timedelta(hours=2)).timestamp())
        line = dict(
            base,
            isApiErrorMessage=True,
            type="assistant",
            uuid=f"err-{turn}-{ts.timestamp()}",
            timestamp=_iso(ts),
            message={
                "id": f"err_{self.rnd.getrandbits(64):016x}",
                "model": "<synthetic>",
                "role": "assistant",
                "type": "message",
                "content": [{"type": "text", "text": f"Claude AI usage limit reached|{reset}"}],
                "usage": {
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                },
            },
        )
        return _dump(line)

    def generate(self) -> None:
        per_device = self.target // self.devices
        for device in range(1, self.devices + 1):
            device_start = self.written
            # A synced copy of some sessions of the previous device shows up on this one.
            for project, sid, lines in self.shared[-6:] if device > 1 else []:
                self.write(device, f"{project}/{sid}.jsonl", lines)
            while self.written - device_start < per_device:
                project, sid, lines, sub = self.session(device)
                self.write(device, f"{project}/{sid}.jsonl", lines)
                if sub:
                    self.write(
                        device,
                        f"{project}/{sid}/subagents/agent-{self.rnd.getrandbits(32):08x}.jsonl",
                        sub,
                    )
                if self.rnd.random() < 0.08:
                    self.shared.append((project, sid, lines))


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _dump(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _user(base: dict[str, object], ts: datetime, message: dict[str, object], uuid: str) -> str:
    return _dump(
        {
            "parentUuid": None,
            "isSidechain": False,
            **base,
            "type": "user",
            "message": message,
            "uuid": uuid,
            "timestamp": _iso(ts),
        }
    )


def _assistant(
    base: dict[str, object],
    ts: datetime,
    mid: str,
    rid: str | None,
    model: str,
    usage: dict[str, object],
    content: list[object],
    uuid: str,
) -> str:
    line: dict[str, object] = {
        "parentUuid": None,
        "isSidechain": False,
        **base,
        "message": {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": usage,
        },
        "type": "assistant",
        "uuid": uuid,
        "timestamp": _iso(ts),
    }
    if rid is not None:
        line["requestId"] = rid
    return _dump(line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=350)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--end", default="2026-11-20T12:00:00+00:00", help="latest session start (ISO 8601)"
    )
    args = parser.parse_args()
    corpus = Corpus(
        args.out,
        args.devices,
        args.size_mb,
        args.seed,
        datetime.fromisoformat(args.end).astimezone(UTC),
    )
    corpus.generate()
    print(f"wrote {corpus.written:,} bytes in {corpus.files} files under {args.out}")


if __name__ == "__main__":
    main()
