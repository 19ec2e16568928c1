"""The limits monitor: looks at an account's limits when they may have changed, tells the
WebSocket clients (``limits_update``) and the alerts.

It listens to the event channel (any replica's pushes and readings mark their account
changed) and looks at changed accounts within ``settle`` seconds, once however many pushes
came meanwhile; every ``sweep`` seconds it looks at every account, since limits also move
with the clock alone (a reading expires, a window resets, an alert's time comes).

A ``limits_update`` goes out when what it shows changed (``limit_views.fingerprint``);
every replica may compute it, one sends it (a claim on the account and fingerprint in the
live store). Alerts are claimed in the history's database (``alerts``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ccsync.clock import Clock
from ccsync.server import events
from ccsync.server.alerts import Alerts
from ccsync.server.limit_views import fingerprint, limits_view
from ccsync.server.limits import Limits
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.live.base import EventBus, ValueStore
from ccsync.usage.timestamps import iso_millis

log = logging.getLogger("ccsync.server.limits")

SETTLE_SECONDS = 1.0
SWEEP_SECONDS = 60.0
UPDATE_CLAIM_SECONDS = 300.0
_CHANGES = frozenset({events.TOKEN_USAGE_UPDATE, events.READINGS_KEPT})


class LimitMonitor:
    def __init__(
        self,
        *,
        devices: DeviceStore,
        values: ValueStore,
        bus: EventBus,
        limits: Limits,
        alerts: Alerts,
        clock: Clock,
        settle: float = SETTLE_SECONDS,
        sweep: float = SWEEP_SECONDS,
    ) -> None:
        self.devices = devices
        self.values = values
        self.bus = bus
        self.limits = limits
        self.alerts = alerts
        self.clock = clock
        self.settle = settle
        self.sweep = sweep
        self._changed: set[str] = set()
        self._wake = asyncio.Event()
        self._shown: dict[str, str] = {}
        """account → the fingerprint of the limits this process last looked at."""

    async def run(self) -> None:
        """Listen and look, for as long as the server runs (supervised)."""
        listener = asyncio.create_task(self._listen(), name="limits-listen")
        try:
            await self._look_forever(listener)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        while True:
            try:
                async with self.bus.subscribe() as stream:
                    async for event in stream:
                        if event.get("type") in _CHANGES:
                            account = event.get("account")
                            if isinstance(account, str):
                                self._changed.add(account)
                                self._wake.set()
            except StorageUnavailableError as exc:
                log.warning("limits.listen_lost", extra={"error": str(exc)})
            await asyncio.sleep(1.0)

    async def _look_forever(self, listener: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            if listener.done():
                listener.result()  # its failure is this loop's (the supervisor restarts both)
                raise RuntimeError("the limits listener ended")
            timeout = max(0.0, next_sweep - loop.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
                await asyncio.sleep(self.settle)  # let a burst of pushes land first
            except TimeoutError:
                pass
            self._wake.clear()
            if loop.time() >= next_sweep:
                accounts = set(await self.devices.accounts()) | self._changed
                next_sweep = loop.time() + self.sweep
            else:
                accounts = set(self._changed)
            self._changed.clear()
            for account in sorted(accounts):
                await self._guarded(account, self.look)

    async def _guarded(self, account: str, look: Callable[[str], Awaitable[None]]) -> None:
        try:
            await look(account)
        except StorageUnavailableError as exc:
            log.warning("limits.look_failed", extra={"account": account, "error": str(exc)})
            self._changed.add(account)  # look again next time

    async def look(self, account: str) -> None:
        """Look at ``account``'s limits now: tell the clients if they changed, and alert."""
        now = self.clock.now_ms()
        found = await self.limits.limits(account, now)
        view = limits_view(account, found, now)
        mark = fingerprint(view)
        if self._shown.get(account) != mark:
            self._shown[account] = mark
            if await self.values.claim(f"limits:update:{account}:{mark}", UPDATE_CLAIM_SECONDS):
                await events.publish(
                    self.bus, events.LimitsUpdate(limits=view, timestamp=iso_millis(now))
                )
        await self.alerts.evaluate(account, found)
