"""Where things are on each platform the device side runs on: Linux, macOS and Windows.

Pure functions of an environment and a platform name (``sys.platform``'s spelling:
``linux``, ``darwin``, ``win32``; any other POSIX system counts as ``linux``), so every
platform's answer can be computed and tested anywhere. Standard library only: the status
line imports this on every call.

- The home folder is where Claude Code looks (Node's ``os.homedir()``; ccusage's too): on
  Windows ``%USERPROFILE%`` (a ``HOME`` set by Git Bash or MSYS is not it), elsewhere
  ``$HOME``.
- The agent's state (offsets, outbox, caches, ``agent.json``) is in the user state
  directory that ``platformdirs`` names: ``$XDG_STATE_HOME/ccsync`` or
  ``~/.local/state/ccsync`` on Linux, ``~/Library/Application Support/ccsync`` on macOS
  (``$XDG_STATE_HOME/ccsync`` when set, as platformdirs has it),
  ``%LOCALAPPDATA%\\ccsync\\ccsync`` on Windows. Earlier versions used the Linux folder on
  every platform: where that folder exists on macOS or Windows, it is kept (it holds the
  outbox and the token ``hook install`` saved).
"""

from __future__ import annotations

import os
import posixpath
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs the status line 3 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

APP = "ccsync"
WINDOWS = "win32"
MACOS = "darwin"
LINUX = "linux"


def current() -> str:
    """This machine's platform, as the functions here take it."""
    return normalize(sys.platform)


def normalize(platform: str) -> str:
    if platform in (WINDOWS, MACOS):
        return platform
    return LINUX


def home_dir(env: Mapping[str, str], platform: str | None = None) -> str:
    """The user's home folder, as Claude Code (and ccusage) find it."""
    platform = normalize(platform or sys.platform)
    if platform == WINDOWS:
        home = env.get("USERPROFILE") or ""
        if not home and env.get("HOMEDRIVE") and env.get("HOMEPATH"):
            home = env["HOMEDRIVE"] + env["HOMEPATH"]
    else:
        home = env.get("HOME") or ""
    return home or os.path.expanduser("~")


def state_dir(
    env: Mapping[str, str],
    platform: str | None = None,
    exists: Callable[[str], bool] = os.path.isdir,
) -> str:
    """``CCSYNC_STATE_DIR``, else the platform's user state directory (see above)."""
    platform = normalize(platform or sys.platform)
    configured = env.get("CCSYNC_STATE_DIR")
    if configured:
        if configured == "~" or configured[:2] in ("~/", "~\\"):
            configured = home_dir(env, platform) + configured[1:]
        return configured
    home = home_dir(env, platform)
    xdg = (env.get("XDG_STATE_HOME") or "").strip()
    if platform != WINDOWS:
        legacy = posixpath.join(xdg or posixpath.join(home, ".local", "state"), APP)
        if platform == LINUX or xdg or exists(legacy):
            return legacy  # on macOS: XDG_STATE_HOME, or an earlier version's state
        return posixpath.join(home, "Library", "Application Support", APP)
    import ntpath  # only here: the status line on Linux and macOS does without it

    legacy = ntpath.join(xdg or ntpath.join(home, ".local", "state"), APP)
    if exists(legacy):
        return legacy  # an earlier version's state, kept where it is
    local = env.get("LOCALAPPDATA") or ntpath.join(home, "AppData", "Local")
    return ntpath.join(local, APP, APP)
