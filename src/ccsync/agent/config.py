"""Where the agent, the status line and the hook find their server, token and identity.

Precedence: command-line flags, then ``CCSYNC_SERVER`` / ``CCSYNC_TOKEN`` /
``CCSYNC_DEVICE`` / ``CCSYNC_STATE_DIR``, then ``<state dir>/agent.json`` (written by
``ccsync hook install``; mode 0600, it may hold the token), then the defaults. Only the
standard library here: the status line imports this on every call.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ccsync.agent.paths import state_dir
from ccsync.private import private_dir

DEFAULT_SERVER = "http://127.0.0.1:3000"
CONFIG_FILE = "agent.json"


def default_state_dir(env: Mapping[str, str]) -> Path:
    """``CCSYNC_STATE_DIR``, else the user state directory (``$XDG_STATE_HOME/ccsync``)."""
    return Path(state_dir(env))


def default_device() -> str:
    """This machine's name, reduced to the characters device ids allow."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", socket.gethostname()).strip("-")
    return name or "device"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    server: str = DEFAULT_SERVER
    token: str | None = None
    device: str = field(default_factory=default_device)
    state_dir: Path = Path(".")
    claude_dirs: tuple[str, ...] = ()

    @property
    def config_path(self) -> Path:
        return self.state_dir / CONFIG_FILE


def load_config(
    env: Mapping[str, str] | None = None,
    *,
    server: str | None = None,
    token: str | None = None,
    device: str | None = None,
    state_dir: Path | None = None,
    claude_dirs: tuple[str, ...] = (),
) -> AgentConfig:
    env = os.environ if env is None else env
    directory = state_dir or default_state_dir(env)
    stored = read_stored(directory)
    stored_dirs = stored.get("claudeDirs")
    server = server or env.get("CCSYNC_SERVER") or _text(stored, "server") or DEFAULT_SERVER
    return AgentConfig(
        server=server.rstrip("/"),
        token=token or env.get("CCSYNC_TOKEN") or _text(stored, "token"),
        device=device or env.get("CCSYNC_DEVICE") or _text(stored, "device") or default_device(),
        state_dir=directory,
        claude_dirs=claude_dirs
        or tuple(
            d for d in (stored_dirs if isinstance(stored_dirs, list) else []) if isinstance(d, str)
        ),
    )


def _text(stored: dict[str, object], key: str) -> str | None:
    value = stored.get(key)
    return value if isinstance(value, str) and value else None


def read_stored(state_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((state_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def store_config(config: AgentConfig) -> Path:
    """Write ``agent.json`` (mode 0600: it may hold the token)."""
    private_dir(config.state_dir)
    body = {
        "server": config.server,
        "device": config.device,
        "claudeDirs": list(config.claude_dirs),
    }
    if config.token:
        body["token"] = config.token
    path = config.config_path
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle, indent=2)
    os.replace(tmp, path)
    return path
