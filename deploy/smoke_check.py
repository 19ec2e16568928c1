"""Cross-replica check for deploy/smoke.sh, run by a replica's own Python (httpx, websockets).

    python smoke_check.py http://ccsync-a:3000 ws://ccsync-b:3000/ws DEVICE

Opens a WebSocket on replica B, pushes ``{"tokens": N}`` for DEVICE through replica A's
REST API, and waits for B to deliver the ``token_usage_update`` event (Redis pub/sub
carries it between replicas). Both are reached by their compose service names, so the
names in CCSYNC_ALLOWED_HOSTS are exercised too; a foreign Host must get 421. The admin
token comes from CCSYNC_ADMIN_TOKEN. Prints one JSON line; exits non-zero on failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import httpx
from websockets.asyncio.client import connect

TIMEOUT = 15.0


async def main(rest_a: str, ws_b: str, device: str) -> dict[str, object]:
    auth = {"Authorization": f"Bearer {os.environ['CCSYNC_ADMIN_TOKEN']}"}
    tokens = int(time.time()) % 100_000 + 1
    async with connect(ws_b, additional_headers=auth, open_timeout=TIMEOUT) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        if first.get("type") != "initial-data":
            raise SystemExit(
                f"replica B's first message is {first.get('type')!r}, not initial-data"
            )
        async with httpx.AsyncClient(base_url=rest_a, headers=auth, timeout=TIMEOUT) as client:
            foreign = await client.get("/api/status", headers={"Host": "rebound.example"})
            if foreign.status_code != 421:
                raise SystemExit(f"a foreign Host got {foreign.status_code}, not 421")
            pushed = await client.post(f"/api/usage/{device}", json={"tokens": tokens})
            if pushed.status_code != 200:
                raise SystemExit(
                    f"push through replica A: {pushed.status_code} {pushed.text[:300]}"
                )
        started = time.monotonic()
        while True:
            remaining = TIMEOUT - (time.monotonic() - started)
            if remaining <= 0:
                raise SystemExit(f"no token_usage_update for {device} on replica B in {TIMEOUT} s")
            event = json.loads(await asyncio.wait_for(socket.recv(), remaining))
            if event.get("type") == "token_usage_update" and event.get("deviceId") == device:
                return {
                    "pushed_to": rest_a,
                    "received_on": ws_b,
                    "device": device,
                    "tokens": tokens,
                    "event_ms": round((time.monotonic() - started) * 1000),
                }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:4]))))
