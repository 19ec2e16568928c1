"""The names of live keys, and which of them the server owns.

The live store holds two kinds of keys (each stored at ``live:<key>``):

- **Server-owned keys**, written only by the server and read back by it: a device's live
  state ``device:<id>`` and its token counter ``device:<id>:tokens``, an account's window
  ``window:<account>`` and official limits ``limits:<account>``; the prefixes ``tokens:``,
  ``cron:``, ``alerts:`` and ``ccsync:`` are reserved for the server as well. Anyone may
  read them (``GET /api/metrics``, ``get-live-data``), nobody writes or deletes them
  through ``/api/metrics`` — neither a device token, nor the admin token, nor local mode:
  that answers 403. The server changes them only through its own paths (a push, a hello,
  a limits report), where a device token already speaks for its own device only.
- **Client keys**: every other key. Any token (or anyone, in local mode) may store and
  delete them through ``/api/metrics``, a store open to every client; they are capped in
  size, in number and in total bytes (``storage.live.base.LiveCaps``).

The rule is by name, so it holds on every replica and survives a restart; the writers in
``ingest``, ``reporting`` and the scheduler build their names here.
"""

from __future__ import annotations

from typing import Final

DEVICE_PREFIX: Final = "device:"
WINDOW_PREFIX: Final = "window:"
LIMITS_PREFIX: Final = "limits:"
TOKENS_SUFFIX: Final = ":tokens"

SERVER_OWNED_PREFIXES: Final = (
    DEVICE_PREFIX,
    WINDOW_PREFIX,
    LIMITS_PREFIX,
    "tokens:",
    "cron:",
    "alerts:",
    "ccsync:",
)
"""Key prefixes only the server writes; ``is_server_owned`` checks them."""


def device_key(device_id: str) -> str:
    """A device's live state: online, last seen, last push (``devices.DeviceView``)."""
    return f"{DEVICE_PREFIX}{device_id}"


def tokens_key(device_id: str) -> str:
    """The last ``{"tokens": N}`` counter a device pushed."""
    return f"{DEVICE_PREFIX}{device_id}{TOKENS_SUFFIX}"


def window_key(account: str) -> str:
    """An account's current 5-hour window, as ``/api/window`` last answered it."""
    return f"{WINDOW_PREFIX}{account}"


def official_limits_key(account: str) -> str:
    """The official percentages an account's devices reported, until they reset."""
    return f"{LIMITS_PREFIX}{account}"


def cron_claim(job_id: str, due_ms: int) -> str:
    """The claim of one tick of a cron job (``ValueStore.claim``, outside ``live:``)."""
    return f"cron:{job_id}:{due_ms}"


def is_server_owned(key: str) -> bool:
    """Whether only the server may write ``key`` (see the module doc)."""
    return key.startswith(SERVER_OWNED_PREFIXES)


def listing_rank(key: str) -> int:
    """Where ``key`` comes in a bounded listing (``initial-data``): the accounts' windows
    and limits first, then the server's other keys (devices), then client keys."""
    if key.startswith((WINDOW_PREFIX, LIMITS_PREFIX)):
        return 0
    return 1 if is_server_owned(key) else 2
