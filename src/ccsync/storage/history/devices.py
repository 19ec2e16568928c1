"""Devices and their accounts: which device pushes for which account, and when it was seen.

Backends: ``sql_devices.SqlDeviceStore``; every backend passes
``tests/contract/test_device_store.py``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    account: str
    name: str
    hostname: str | None = None
    version: str | None = None
    created_ms: int = 0
    last_seen_ms: int | None = None
    """Last contact of any kind (a push, a socket, a heartbeat)."""
    last_push_ms: int | None = None
    """Last time it sent usage."""


class DeviceStore(abc.ABC):
    @abc.abstractmethod
    async def register_device(
        self,
        device_id: str,
        account: str,
        now_ms: int,
        name: str | None = None,
        hostname: str | None = None,
        version: str | None = None,
    ) -> Device:
        """Create the device, or update it: ``account`` always, the others when given.

        Sets ``last_seen_ms`` to ``now_ms``. A new device's name defaults to its id.
        """

    @abc.abstractmethod
    async def get_device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    async def list_devices(self, account: str | None = None) -> list[Device]:
        """Devices (of one account, or all), by id."""

    @abc.abstractmethod
    async def accounts(self) -> list[str]:
        """Accounts that have at least one device, sorted."""
