"""The live store, chosen by URL: ``memory://`` (the default) or Redis.

A ``LiveStore`` is two roles of one backend: ``values`` (``ValueStore``: short-lived
values and claims) and ``events`` (``EventBus``: one pub/sub channel).

``open_live_store`` only builds the store; call ``ping`` to know it answers. Backends
import their drivers when chosen, so ``memory://`` needs nothing beyond the standard
library and Redis needs ``ccsync[redis]``.
"""

from __future__ import annotations

from ccsync.redaction import mask_url
from ccsync.storage.live.base import LIVE_PREFIX, EventBus, LiveCaps, LiveStore, ValueStore

__all__ = ["LIVE_PREFIX", "EventBus", "LiveCaps", "LiveStore", "ValueStore", "open_live_store"]

REDIS_SCHEMES = ("redis", "rediss", "unix")


def open_live_store(
    url: str, default_ttl: float = 300.0, prefix: str = "", caps: LiveCaps | None = None
) -> LiveStore:
    """The live store at ``url``; ``prefix`` starts every Redis key and channel name;
    ``caps`` limit the client keys (``LiveCaps()`` when ``None``).

    ``memory://`` or an empty URL: this process only. ``redis://``, ``rediss://``,
    ``unix://``: a Redis shared by every replica. Anything else is a ``ValueError``.
    """
    scheme, separator, _ = url.partition("://")
    if not url or (separator and scheme.lower() == "memory"):
        from ccsync.storage.live.memory import MemoryLiveStore

        return MemoryLiveStore(default_ttl, caps=caps)
    if separator and scheme.lower() in REDIS_SCHEMES:
        from ccsync.storage.live.redis import RedisLiveStore

        return RedisLiveStore(url, default_ttl, prefix, caps=caps)
    raise ValueError(
        f"unsupported live store URL {mask_url(url)!r}: "
        "use memory:// or redis://, rediss://, unix://"
    )
