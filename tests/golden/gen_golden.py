#!/usr/bin/env python3
"""Deterministic synthetic Claude Code JSONL corpus for ccusage parity tests.

Layout produced under ROOT (default ./golden):
  claude/projects/-home-dev-alpha/11111111-aaaa-4000-8000-000000000001.jsonl            (session A1)
  claude/projects/-home-dev-alpha/11111111-aaaa-4000-8000-000000000001/subagents/agent-7f3a.jsonl  (subagent of A1)
  claude/projects/-home-dev-alpha/22222222-aaaa-4000-8000-000000000002.jsonl            (session A2)
  claude/projects/-home-dev-beta/33333333-bbbb-4000-8000-000000000003.jsonl             (session B1)
  claude2/projects/-home-dev-beta/33333333-bbbb-4000-8000-000000000003.jsonl            (same session B1 copied from a 2nd machine)
  home/                                                                                  (empty HOME so no other agent is detected)

Run ccusage with:  HOME=$ROOT/home CLAUDE_CONFIG_DIR=$ROOT/claude,$ROOT/claude2 TZ=UTC ccusage ... --offline --timezone UTC
JSON is written compactly (separators=(',', ':')) exactly like Claude Code does: ccusage (v20) only
considers lines that contain the literal bytes  "usage":{
"""

import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "./golden"
SESS_A1 = "11111111-aaaa-4000-8000-000000000001"
SESS_A2 = "22222222-aaaa-4000-8000-000000000002"
SESS_B1 = "33333333-bbbb-4000-8000-000000000003"

SONNET4 = "claude-sonnet-4-20250514"
OPUS41 = "claude-opus-4-1-20250805"
HAIKU45 = "claude-haiku-4-5-20251001"
SONNET45 = "claude-sonnet-4-5-20250929"
OPUS46 = "claude-opus-4-6"


def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def usage(inp, out, cc=0, cr=0, **extra):
    u = {
        "input_tokens": inp,
        "cache_creation_input_tokens": cc,
        "cache_read_input_tokens": cr,
        "output_tokens": out,
        "service_tier": "standard",
    }
    u.update(extra)
    return u


def assistant(
    ts,
    session,
    msg_id,
    req_id,
    model,
    u,
    cwd,
    version="1.0.98",
    cost=None,
    sidechain=False,
    drop=(),
):
    line = {
        "parentUuid": "p-" + (msg_id or "none"),
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": version,
        "gitBranch": "main",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "usage": u,
        },
        "requestId": req_id,
        "type": "assistant",
        "uuid": "u-" + (msg_id or "none") + "-" + ts,
        "timestamp": ts,
    }
    if cost is not None:
        line["costUSD"] = cost
    for key in drop:
        if key == "message.id":
            del line["message"]["id"]
        else:
            del line[key]
    return dump(line)


def user(ts, session, cwd):
    return dump(
        {
            "parentUuid": None,
            "isSidechain": False,
            "userType": "external",
            "cwd": cwd,
            "sessionId": session,
            "version": "1.0.98",
            "type": "user",
            "message": {"role": "user", "content": "hello"},
            "uuid": "user-" + ts,
            "timestamp": ts,
        }
    )


CWD_A = "/home/dev/alpha"
CWD_B = "/home/dev/beta"

files = {}

# ---------------- session A1 (project alpha), 2025-09-01 ----------------
a1 = [
    user("2025-09-01T08:10:00.000Z", SESS_A1, CWD_A),  # no usage -> ignored
    assistant(
        "2025-09-01T08:15:00.000Z",
        SESS_A1,
        "msg_a1_1",
        "req_a1_1",
        SONNET4,
        usage(1200, 350, 5000, 0),
        CWD_A,
    ),
    # exact duplicate (streaming/resume duplicate) -> deduped
    assistant(
        "2025-09-01T08:15:01.000Z",
        SESS_A1,
        "msg_a1_1",
        "req_a1_1",
        SONNET4,
        usage(1200, 350, 5000, 0),
        CWD_A,
    ),
    # has costUSD: auto mode uses 0.5, calculate mode recomputes
    assistant(
        "2025-09-01T08:47:30.500Z",
        SESS_A1,
        "msg_a1_2",
        "req_a1_2",
        OPUS41,
        usage(800, 1200, 0, 15000),
        CWD_A,
        cost=0.5,
    ),
    # >200k input tokens in one request -> tiered pricing for sonnet-4
    assistant(
        "2025-09-01T09:30:00.000Z",
        SESS_A1,
        "msg_a1_3",
        "req_a1_3",
        SONNET4,
        usage(250000, 1000, 0, 0),
        CWD_A,
    ),
    # cache_creation breakdown: 5m tokens at cache-write rate, 1h tokens at 2x input rate
    assistant(
        "2025-09-01T10:40:00.000Z",
        SESS_A1,
        "msg_a1_4",
        "req_a1_4",
        HAIKU45,
        usage(
            100,
            50,
            3000,
            0,
            cache_creation={"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        ),
        CWD_A,
    ),
    # <synthetic> model: tokens counted in totals, model name never listed
    assistant(
        "2025-09-01T10:41:00.000Z",
        SESS_A1,
        "msg_a1_5",
        "req_a1_5",
        "<synthetic>",
        usage(10, 5),
        CWD_A,
    ),
    '{"timestamp": broken json',  # malformed -> skipped
    assistant(
        "2025-09-01T10:42:00.000Z",
        SESS_A1,
        "msg_bad_ver",
        "req_bad_ver",
        SONNET4,
        usage(999, 999),
        CWD_A,
        version="not-semver",
    ),
    # costUSD:null -> whole line rejected (null in a schema field)
    assistant(
        "2025-09-01T10:43:00.000Z",
        SESS_A1,
        "msg_null_cost",
        "req_null_cost",
        SONNET4,
        usage(777, 777),
        CWD_A,
    ).replace('"requestId"', '"costUSD":null,"requestId"'),
    # microsecond timestamp -> rejected by v20 (timestamp must be ...SS[.mmm](Z|+HH:MM))
    assistant(
        "2025-09-01T10:45:00.123456Z",
        SESS_A1,
        "msg_usec",
        "req_usec",
        SONNET4,
        usage(555, 555),
        CWD_A,
    ),
    # API error line carrying the usage-limit reset epoch -> blocks.usageLimitResetTime
    dump(
        {
            "parentUuid": None,
            "isSidechain": False,
            "cwd": CWD_A,
            "sessionId": SESS_A1,
            "version": "1.0.98",
            "type": "assistant",
            "isApiErrorMessage": True,
            "requestId": "req_err_1",
            "timestamp": "2025-09-01T10:50:00.000Z",
            "uuid": "err-1",
            "message": {
                "id": "msg_err_1",
                "model": "<synthetic>",
                "role": "assistant",
                "type": "message",
                "content": [{"type": "text", "text": "Claude AI usage limit reached|1756738800"}],
                "usage": usage(0, 0),
            },
        }
    ),
    # > 5h after 10:50 -> new block + gap block
    assistant(
        "2025-09-01T16:05:00.000Z",
        SESS_A1,
        "msg_a1_6",
        "req_a1_6",
        SONNET4,
        usage(3000, 700, 2000, 40000),
        CWD_A,
    ),
    # message.id without requestId, written twice with growing output: v20 keeps the larger one only
    assistant(
        "2025-09-01T16:20:00.000Z",
        SESS_A1,
        "msg_a1_7",
        None,
        SONNET4,
        usage(100, 100),
        CWD_A,
        drop=("requestId",),
    ),
    assistant(
        "2025-09-01T16:20:02.000Z",
        SESS_A1,
        "msg_a1_7",
        None,
        SONNET4,
        usage(100, 300),
        CWD_A,
        drop=("requestId",),
    ),
    # no message.id -> never deduplicated (both lines counted)
    assistant(
        "2025-09-01T16:30:00.000Z",
        SESS_A1,
        None,
        "req_noid",
        SONNET4,
        usage(10, 10),
        CWD_A,
        drop=("message.id",),
    ),
    assistant(
        "2025-09-01T16:30:00.000Z",
        SESS_A1,
        None,
        "req_noid",
        SONNET4,
        usage(10, 10),
        CWD_A,
        drop=("message.id",),
    ),
]
files[f"claude/projects/-home-dev-alpha/{SESS_A1}.jsonl"] = a1

# ---------------- subagent of A1 ----------------
sub = [
    # sidechain replay of parent msg_a1_2 with a new requestId and inflated cache reads -> dropped in v20
    assistant(
        "2025-09-01T08:47:31.000Z",
        SESS_A1,
        "msg_a1_2",
        "req_side_replay",
        OPUS41,
        usage(800, 1200, 0, 90000),
        CWD_A,
        sidechain=True,
    ),
    # genuine sidechain answer -> counted (session A1)
    assistant(
        "2025-09-01T08:50:00.000Z",
        SESS_A1,
        "msg_sub_1",
        "req_sub_1",
        HAIKU45,
        usage(300, 40, 0, 2000),
        CWD_A,
        sidechain=True,
    ),
    # exact duplicate of parent line msg_a1_2/req_a1_2 -> deduped
    assistant(
        "2025-09-01T08:47:30.500Z",
        SESS_A1,
        "msg_a1_2",
        "req_a1_2",
        OPUS41,
        usage(800, 1200, 0, 15000),
        CWD_A,
        cost=0.5,
    ),
]
files[f"claude/projects/-home-dev-alpha/{SESS_A1}/subagents/agent-7f3a.jsonl"] = sub

# ---------------- session A2 (project alpha), crosses UTC midnight ----------------
a2 = [
    # fast mode -> model shown as claude-opus-4-6-fast, cost x fast multiplier
    assistant(
        "2025-09-01T23:30:00.000Z",
        SESS_A2,
        "msg_a2_1",
        "req_a2_1",
        OPUS46,
        usage(500, 800, 1000, 4000, speed="fast"),
        CWD_A,
    ),
    # unknown model -> cost 0 (+ WARN on the table output)
    assistant(
        "2025-09-02T00:10:00.000Z",
        SESS_A2,
        "msg_a2_2",
        "req_a2_2",
        "acme-llm-1",
        usage(1000, 1000),
        CWD_A,
    ),
    # costUSD present
    assistant(
        "2025-09-02T01:00:00.000Z",
        SESS_A2,
        "msg_a2_3",
        "req_a2_3",
        SONNET45,
        usage(3000, 2000, 0, 10000),
        CWD_A,
        cost=0.123,
    ),
    # agent "progress" line (nested data.message.message.usage), not duplicated anywhere
    dump(
        {
            "parentUuid": "p",
            "isSidechain": False,
            "cwd": CWD_A,
            "sessionId": SESS_A2,
            "version": "1.0.98",
            "type": "progress",
            "data": {
                "message": {
                    "type": "assistant",
                    "timestamp": "2025-09-02T01:05:00.000Z",
                    "requestId": "req_prog_1",
                    "message": {
                        "id": "msg_prog_1",
                        "type": "message",
                        "role": "assistant",
                        "model": HAIKU45,
                        "content": [],
                        "usage": usage(70, 7),
                    },
                }
            },
            "uuid": "prog-1",
            "timestamp": "2025-09-02T01:05:00.001Z",
        }
    ),
]
files[f"claude/projects/-home-dev-alpha/{SESS_A2}.jsonl"] = a2

# ---------------- session B1 (project beta) ----------------
b1 = [
    assistant(
        "2025-09-02T09:00:00.000Z",
        SESS_B1,
        "msg_b1_1",
        "req_b1_1",
        SONNET4,
        usage(2000, 600, 8000, 20000),
        CWD_B,
    ),
    assistant(
        "2025-09-02T09:30:00.000Z",
        SESS_B1,
        "msg_b1_2",
        "req_b1_2",
        OPUS41,
        usage(400, 900, 0, 30000),
        CWD_B,
    ),
    # cross-project duplicate of A1's msg_a1_6 -> deduped, the copy in the path-sorted-first file wins
    assistant(
        "2025-09-01T16:05:00.000Z",
        SESS_A1,
        "msg_a1_6",
        "req_a1_6",
        SONNET4,
        usage(3000, 700, 2000, 40000),
        CWD_A,
    ),
]
files[f"claude/projects/-home-dev-beta/{SESS_B1}.jsonl"] = b1

# ---------------- second config dir (another machine's copy of session B1) ----------------
b1_copy = [
    b1[0],  # duplicate
    b1[1],  # duplicate
    assistant(
        "2025-09-02T10:00:00.000Z",
        SESS_B1,
        "msg_b1_3",
        "req_b1_3",
        SONNET4,
        usage(1500, 500, 0, 25000),
        CWD_B,
    ),
]
files[f"claude2/projects/-home-dev-beta/{SESS_B1}.jsonl"] = b1_copy

for rel, lines in files.items():
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
os.makedirs(os.path.join(ROOT, "home"), exist_ok=True)
print("wrote", len(files), "files under", ROOT)
