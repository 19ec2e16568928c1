"""Where the agent keeps its state (standard library only: the status line needs it)."""

from __future__ import annotations

import os
from collections.abc import Mapping


def state_dir(env: Mapping[str, str]) -> str:
    """``CCSYNC_STATE_DIR``, else the user state directory (``$XDG_STATE_HOME/ccsync``)."""
    configured = env.get("CCSYNC_STATE_DIR")
    if configured:
        return os.path.expanduser(configured)
    base = env.get("XDG_STATE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "ccsync")
