"""Where the agent keeps its state (standard library only: the status line needs it)."""

from __future__ import annotations

from ccsync import platforms

TYPE_CHECKING = False  # not typing's: importing typing costs the status line 3 ms
if TYPE_CHECKING:
    from collections.abc import Mapping


def state_dir(env: Mapping[str, str]) -> str:
    """``CCSYNC_STATE_DIR``, else this platform's user state directory
    (``ccsync.platforms.state_dir``: ``~/.local/state/ccsync`` on Linux)."""
    return platforms.state_dir(env)
