"""``ccsync agent --source ccusage``: push ``ccusage blocks --json`` instead of lines.

For devices that already run ccusage (a ``blocks`` push): its blocks are pushed only when
their output changed (SHA-256), and the server keeps the latest block per block id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ccsync.agent.state import AgentState
from ccsync.agent.transport import DeliveryError, HttpSink
from ccsync.process import run_process

HASH_KEY = "ccusage.sha256"
TIMEOUT = 120.0
MAX_OUTPUT = 64 * 1024 * 1024


class CcusageError(RuntimeError):
    """ccusage is missing, failed, timed out, or printed something that is not its JSON."""


@dataclass(frozen=True, slots=True)
class BlocksPush:
    changed: bool
    blocks: int


async def run_ccusage(argv: list[str], timeout: float = TIMEOUT) -> bytes:
    """Run ccusage (an argument vector, no shell) and return its stdout. On timeout its
    process tree is stopped (``ccsync.process``: SIGTERM then SIGKILL to its group, or on
    Windows CTRL_BREAK then ``taskkill /T /F``), whatever it started included."""
    result = await run_process(argv, timeout=timeout, keep_bytes=MAX_OUTPUT)
    if result.error is not None:
        raise CcusageError(result.error)
    if result.timed_out:
        raise CcusageError(f"{argv[0]} took longer than {timeout:.0f} s")
    if result.exit_code != 0:
        raise CcusageError(f"{argv[0]} failed ({result.exit_code}): {result.stderr[:300]}")
    if result.stdout_dropped:
        raise CcusageError(f"{argv[0]} printed more than {MAX_OUTPUT >> 20} MiB")
    return result.stdout.encode()


async def push_blocks(state: AgentState, http: HttpSink, argv: list[str]) -> BlocksPush:
    """Push ccusage's blocks if they differ from the last blocks the server acknowledged."""
    output = await run_ccusage(argv)
    digest = hashlib.sha256(output).hexdigest()
    if state.get(HASH_KEY) == digest:
        return BlocksPush(changed=False, blocks=0)
    try:
        parsed = json.loads(output)
    except ValueError:
        raise CcusageError("ccusage printed something that is not JSON") from None
    blocks = parsed.get("blocks") if isinstance(parsed, dict) else None
    if not isinstance(blocks, list):
        raise CcusageError(
            "ccusage's output has no 'blocks' list (is this `ccusage blocks --json`?)"
        )
    identity = http.identity
    ack = await http.post_json(
        f"/api/usage/{identity.device}",
        {"blocks": blocks, "account": identity.account, "device": {"hostname": identity.hostname}},
    )
    if not isinstance(ack, dict) or not ack.get("success"):
        raise DeliveryError("the server did not accept the blocks")
    state.put(HASH_KEY, digest)
    return BlocksPush(changed=True, blocks=len(blocks))
