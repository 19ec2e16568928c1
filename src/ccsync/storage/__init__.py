"""Storage behind small interfaces, chosen by URL.

- ``live``: short-lived shared state and events (``memory://``, ``redis://``);
- ``history``: what must last (``sqlite:///…``, ``postgresql://…``).

Backends import their drivers lazily, so a backend that is not used needs nothing installed.
"""

from __future__ import annotations


class StorageUnavailableError(RuntimeError):
    """A configured backend cannot be reached; the message says which and why, in one line."""
