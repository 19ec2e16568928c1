"""The garbage collector, paused around bulk work that makes no reference cycles.

Building a report makes a few hundred thousand short-lived containers (and reads a scan's
worth more); the collector would only walk them, and everything the server holds, again
and again. Nothing here creates cycles, so pausing it loses nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Collection off for the block (restored as it was)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle() -> None:
    """Move every object alive now (modules, metadata, prices: what a server builds at
    start-up) out of the collector's reach for good (``gc.freeze``).

    A full collection walks every tracked object; with start-up's tens of thousands of
    them in the oldest generation, one took 150 ms in the middle of delivering an event
    to 1,000 sockets. Frozen, they are never walked again (they live as long as the
    process anyway).
    """
    gc.collect()
    gc.freeze()
