"""Devices: who they are, whether they are online, what they used (``/api/usage``).

The one home of presence. A device is online while its live state ``device:<id>``
(``DeviceView``, 300 s) says so: an agent's ``hello`` (or ``?deviceId=`` on connect) and its
heartbeats (``ping``) and pushes set it online, its socket closing sets it offline.
Which devices are online is read here only (``online``), for ``/api/status`` and for
``PUT /api/usage/sync``. Who may act for a device is ``server.admission``'s.
"""

from __future__ import annotations

import logging

import msgspec

from ccsync.clock import Clock
from ccsync.server import events
from ccsync.server.access import Principal
from ccsync.server.admission import Admission, check_device
from ccsync.server.errors import NotFoundError
from ccsync.server.frames import Welcome
from ccsync.server.live_keys import device_key
from ccsync.server.live_values import device_state
from ccsync.server.reporting import DEFAULT_ACCOUNT, Reporter
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.blocks import BlockStore
from ccsync.storage.history.devices import Device, DeviceStore
from ccsync.storage.history.entries import EntryStore
from ccsync.storage.live.base import EventBus, ValueStore
from ccsync.usage.timestamps import iso_millis

log = logging.getLogger("ccsync.server.devices")


class DeviceView(msgspec.Struct, rename="camel"):
    """A device and whether it is online: its live state (``device:<id>``)."""

    device_id: str
    name: str
    account: str
    hostname: str | None
    version: str | None
    online: bool
    last_seen: str | None
    last_push: str | None


class CurrentBlock(msgspec.Struct, rename="camel"):
    """A device's part of its account's current window."""

    start: str | None
    end: str | None
    tokens: int
    cost_usd: float = msgspec.field(name="costUSD")
    source: str
    """``entries`` (its lines) or ``ccusage`` (its own ``blocks --json``)."""


class DeviceTotals(msgspec.Struct, rename="camel"):
    tokens: int
    cost_usd: float = msgspec.field(name="costUSD")


class DeviceSummary(DeviceView):
    """A device as ``/api/usage`` shows it: with its current block and today's totals."""

    current_block: CurrentBlock | None
    today: DeviceTotals
    ccusage_blocks: int
    """Blocks it pushed as ccusage's ``blocks --json``."""


class DeviceList(msgspec.Struct):
    devices: list[DeviceSummary]
    timestamp: str


class SyncRequested(msgspec.Struct):
    success: bool
    requested: int
    """Online devices asked to push."""
    devices: list[str]


class StreamMarkView(msgspec.Struct, rename="camel"):
    """What the server holds of an agent's numbered lines."""

    history_id: str
    """Random, made with the database: a new one means a new, wiped or replaced database."""
    device_id: str
    stream: str
    mark: int
    """Every line of the stream numbered up to this is stored."""


def device_view(device: Device, online: bool) -> DeviceView:
    return DeviceView(*_device_fields(device, online))


_Fields = tuple[str, str, str, str | None, str | None, bool, str | None, str | None]


def _device_fields(device: Device, online: bool) -> _Fields:
    """``DeviceView``'s fields, in their order (a summary starts with them)."""
    return (
        device.id,
        device.name,
        device.account,
        device.hostname,
        device.version,
        online,
        None if device.last_seen_ms is None else iso_millis(device.last_seen_ms),
        None if device.last_push_ms is None else iso_millis(device.last_push_ms),
    )


async def account_of(devices: DeviceStore, device_id: str, requested: str | None) -> str:
    """The account a request for ``device_id`` is about: the one it names, else the
    device's, else ``default``."""
    if requested:
        return requested
    known = await devices.get_device(device_id)
    return known.account if known is not None else DEFAULT_ACCOUNT


async def record_presence(values: ValueStore, device: Device, online: bool) -> None:
    """Write the device's live state."""
    await values.set(device_key(device.id), msgspec.to_builtins(device_view(device, online)))


class Devices:
    def __init__(
        self,
        *,
        devices: DeviceStore,
        entries: EntryStore,
        blocks: BlockStore,
        values: ValueStore,
        bus: EventBus,
        reporter: Reporter,
        admission: Admission,
        clock: Clock,
    ) -> None:
        self.devices = devices
        self.entries = entries
        self.blocks = blocks
        self.values = values
        self.bus = bus
        self.reporter = reporter
        self.admission = admission
        self.clock = clock

    # -- presence ------------------------------------------------------------------------
    async def hello(
        self,
        principal: Principal,
        client: str,
        device_id: object,
        *,
        account: str | None = None,
        name: str | None = None,
        hostname: str | None = None,
        version: str | None = None,
        stream: str | None = None,
        announce: bool = True,
    ) -> Welcome:
        """An agent names its device (admitted first): it is online from now on, and
        ``device_connected`` is published when ``announce``."""
        admitted = await self.admission.admit(principal, device_id, account, client)
        now = self.clock.now_ms()
        device_id = admitted.device_id
        account = await account_of(self.devices, device_id, account)
        device = await self.devices.register_device(
            device_id, account, now, name=name, hostname=hostname, version=version
        )
        welcome = Welcome(
            device_id=device_id, account=account, history_id=await self.entries.history_id()
        )
        if stream is not None:
            welcome.mark = await self.entries.device_mark(device_id, stream)
        await record_presence(self.values, device, online=True)
        if announce:
            await events.publish(
                self.bus, events.DeviceConnected(device_id=device_id, timestamp=iso_millis(now))
            )
        return welcome

    async def heartbeat(self, device_id: str) -> None:
        """An agent's socket is alive: its device stays online."""
        device = await self.devices.register_device(
            device_id, await account_of(self.devices, device_id, None), self.clock.now_ms()
        )
        await record_presence(self.values, device, online=True)

    async def offline(self, device_id: str) -> None:
        """An agent's socket closed: its device is offline (not recorded when a store is
        down: the live state then expires by itself)."""
        try:
            now = self.clock.now_ms()
            device = await self.devices.get_device(device_id)
            if device is not None:
                await record_presence(self.values, device, online=False)
            await events.publish(
                self.bus,
                events.DeviceDisconnected(device_id=device_id, timestamp=iso_millis(now)),
            )
        except StorageUnavailableError:
            log.warning("ws.offline_not_recorded", extra={"device": device_id})

    async def online(self) -> list[str]:
        """The known devices whose live state says online, sorted (one read of each store)."""
        keys = [device_key(device.id) for device in await self.devices.list_devices()]
        states = zip(keys, await self.values.get_many(keys), strict=True)
        found = (device_state(key, value) for key, value in states)
        return sorted(state.device_id for state in found if state is not None and state.online)

    async def request_sync(self) -> SyncRequested:
        """Ask every connected agent to push now (``sync_request``, then ``sync_status``)."""
        now = self.clock.now_ms()
        online = await self.online()
        stamp = iso_millis(now)
        await events.publish(self.bus, events.SyncRequest(timestamp=stamp))
        await events.publish(self.bus, events.SyncStatus(requested=len(online), timestamp=stamp))
        return SyncRequested(success=True, requested=len(online), devices=online)

    # -- summaries -----------------------------------------------------------------------
    async def summaries(self, account: str | None = None) -> DeviceList:
        """Every device (of ``account``), by account and id."""
        by_account: dict[str, list[Device]] = {}
        for device in await self.devices.list_devices(account or None):
            by_account.setdefault(device.account, []).append(device)
        summaries: list[DeviceSummary] = []
        for name in sorted(by_account):
            summaries += await self._summarise(name, by_account[name])
        return DeviceList(devices=summaries, timestamp=iso_millis(self.clock.now_ms()))

    async def summary(self, device_id: str) -> DeviceSummary:
        device = await self.devices.get_device(device_id)
        if device is None:
            raise NotFoundError(f"unknown device {device_id!r}")
        (summary,) = await self._summarise(device.account, [device])
        return summary

    async def mark(self, principal: Principal, device_id: str, stream: str) -> StreamMarkView:
        """The history id and what is held of ``stream``, for the device's own agent."""
        check_device(principal, device_id)
        return StreamMarkView(
            history_id=await self.entries.history_id(),
            device_id=device_id,
            stream=stream,
            mark=await self.entries.device_mark(device_id, stream),
        )

    async def _summarise(self, account: str, devices: list[Device]) -> list[DeviceSummary]:
        """``devices`` (all of ``account``) in a fixed number of queries however many there
        are: the window, today, the block counts, the live states."""
        window = await self.reporter.window(account)
        today = await self.reporter.today_by_device(account)
        blocks = await self.blocks.block_counts(account)
        keys = [device_key(device.id) for device in devices]
        states = dict(zip(keys, await self.values.get_many(keys), strict=True))
        shares = {share.device_id: share for share in window.devices}
        summaries = []
        for device, key in zip(devices, keys, strict=True):
            state = device_state(key, states[key])
            share = shares.get(device.id)
            totals = today.get(device.id)
            summaries.append(
                DeviceSummary(
                    *_device_fields(device, state is not None and state.online),
                    current_block=None
                    if share is None
                    else CurrentBlock(
                        start=window.start,
                        end=window.end,
                        tokens=share.tokens,
                        cost_usd=share.cost_usd,
                        source=share.source,
                    ),
                    today=DeviceTotals(0, 0.0)
                    if totals is None
                    else DeviceTotals(int(totals["tokens"]), totals["costUSD"]),
                    ccusage_blocks=blocks.get(device.id, 0),
                )
            )
        return summaries
