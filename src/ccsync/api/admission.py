"""Who may push for a device: one set of rules for REST and the WebSocket (SPEC §5, §6).

- The device id follows ``wire.device_id_problem`` (pattern, reserved names).
- A device token speaks for its own device only, and for its device's account: the one
  the device was registered with (at token creation when an account was given, else by
  its first push). Moving a device to another account takes the admin token.
- A client that is not a device token registers at most ``new_devices_per_hour`` new
  devices per hour from one address (local mode accepts any device id, so this is what
  bounds a local process that invents them).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccsync.api.errors import ApiError
from ccsync.server.access import Principal
from ccsync.server.buckets import NewDeviceLimiter
from ccsync.storage.history.base import Device, HistoryStore
from ccsync.wire import device_id_problem


@dataclass(frozen=True, slots=True)
class Admitted:
    device_id: str
    known: Device | None
    """The device as registered before this request (``None``: it is new)."""


async def admit(
    history: HistoryStore,
    limiter: NewDeviceLimiter,
    principal: Principal,
    device_id: object,
    account: str | None,
    client: str,
) -> Admitted:
    """Check a request to act for ``device_id`` (naming ``account``, if any); ``ApiError``
    (400 bad id, 403 another device or account, 429 too many new devices) otherwise."""
    problem = device_id_problem(device_id)
    if problem is not None:
        raise ApiError(400, problem)
    assert isinstance(device_id, str)
    if not principal.may_push_for(device_id):
        raise ApiError(403, f"this token speaks for another device, not {device_id!r}")
    known = await history.get_device(device_id)
    if principal.kind == "device":
        if known is not None and account is not None and account != known.account:
            raise ApiError(
                403,
                f"this token's device belongs to account {known.account!r}, not {account!r}: "
                "a device changes account only with a token the admin makes for that account",
            )
    elif known is None:
        wait = limiter.allow(client)
        if wait is not None:
            raise ApiError(
                429,
                f"too many new devices from this address (at most {limiter.per_hour} an hour)",
                retryAfter=round(wait, 2),
                headers={"Retry-After": str(max(1, round(wait)))},
            )
    return Admitted(device_id, known)
