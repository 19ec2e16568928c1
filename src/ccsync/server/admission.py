"""Who may act for a device: one set of rules for REST and the WebSocket.

- The device id follows ``wire.device_id_problem`` (pattern, reserved names).
- A device token speaks for its own device only, and for its device's account: the one
  the device was registered with (at token creation when an account was given, else by
  its first push). Moving a device to another account takes the admin token.
- A client that is not a device token registers at most ``new_devices_per_hour`` new
  devices per hour from one address (local mode accepts any device id, so this is what
  bounds a local process that invents them).

A refusal is a ``server.errors`` error: ``InvalidRequestError`` (a bad id),
``ForbiddenError`` (another device or account), ``TooManyRequestsError`` (new devices).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccsync.server.access import Principal
from ccsync.server.buckets import NewDeviceLimiter
from ccsync.server.errors import ForbiddenError, InvalidRequestError, TooManyRequestsError
from ccsync.storage.history.devices import Device, DeviceStore
from ccsync.wire import device_id_problem


@dataclass(frozen=True, slots=True)
class Admitted:
    device_id: str
    known: Device | None
    """The device as registered before this request (``None``: it is new)."""


def check_device(principal: Principal, device_id: object) -> str:
    """``device_id`` when it is one and ``principal`` may act for it (no store is read)."""
    problem = device_id_problem(device_id)
    if problem is not None:
        raise InvalidRequestError(problem)
    assert isinstance(device_id, str)
    if not principal.may_push_for(device_id):
        raise ForbiddenError(f"this token speaks for another device, not {device_id!r}")
    return device_id


class Admission:
    """The rules above over the known devices, with one new-device limiter per server."""

    def __init__(self, devices: DeviceStore, limiter: NewDeviceLimiter) -> None:
        self.devices = devices
        self.limiter = limiter

    async def admit(
        self, principal: Principal, device_id: object, account: str | None, client: str
    ) -> Admitted:
        """Check a request of ``client`` (an address) to act for ``device_id`` (naming
        ``account``, if any); a ``server.errors`` error when refused."""
        checked = check_device(principal, device_id)
        known = await self.devices.get_device(checked)
        if principal.kind == "device":
            if known is not None and account is not None and account != known.account:
                raise ForbiddenError(
                    f"this token's device belongs to account {known.account!r}, not "
                    f"{account!r}: a device changes account only with a token the admin "
                    "makes for that account"
                )
        elif known is None:
            wait = self.limiter.allow(client)
            if wait is not None:
                raise TooManyRequestsError(
                    f"too many new devices from this address (at most {self.limiter.per_hour} "
                    "an hour)",
                    retry_after=wait,
                )
        return Admitted(checked, known)
