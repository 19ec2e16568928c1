"""Server settings: the only place the server's environment variables are read.

Precedence: command-line flags, then environment variables, then the embedded defaults
(127.0.0.1:3000, SQLite in the user data directory, the in-memory live store).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import platformdirs

from ccsync.redaction import mask_url

LIVE_TTL_SECONDS = 300.0
DEFAULT_PORT = 3000
DEFAULT_USAGE_API_URL = "https://api.anthropic.com/api/oauth/usage"
"""Where Claude Code reads the account's usage (``/usage``); the opt-in poller too."""
DEFAULT_HOST = "127.0.0.1"

Environment = Literal["development", "production"]
_HOST_PATTERN = re.compile(
    r"^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)$"
)


class SettingsError(ValueError):
    """A setting has a value that cannot work (a bad port, an unknown URL scheme)."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    redis_url: str | None = None
    """``redis://…`` for the Redis live store; ``None`` (or ``memory://``) for memory."""
    database_url: str | None = None
    """``sqlite:///path`` or ``postgresql://…``; ``None`` for SQLite in ``data_dir``."""
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("ccsync")))
    admin_token: str | None = None
    environment: Environment = "development"
    local_agent: bool = True
    """Ingest this host's own Claude data on start and on ``POST /api/usage/ccusage``."""
    claude_dirs: tuple[str, ...] = ()
    """Where the local agent reads (``--claude-dir``); empty for the usual discovery."""
    allow_commands: bool = False
    live_ttl: float = LIVE_TTL_SECONDS
    redis_prefix: str = ""
    """Prepended to every Redis key and channel (lets tests and tenants share a server)."""
    max_body_bytes: int = 16 * 1024 * 1024
    max_frame_bytes: int = 4 * 1024 * 1024
    live_max_value_bytes: int = 1024 * 1024
    """The largest value a client may keep at a live key (``POST /api/metrics``): else 413."""
    live_max_keys: int = 10_000
    """How many client live keys (not the server's own, ``live_keys``) may live at once."""
    live_max_bytes: int = 16 * 1024 * 1024
    """The total size of the client live keys' values."""
    initial_data_bytes: int = 1024 * 1024
    """The largest ``initial-data`` a WebSocket gets on connect (the rest is left out)."""
    push_rate: float = 20.0
    """Pushes per second allowed per device (a burst of ``push_burst`` on top)."""
    push_burst: int = 100
    allowed_hosts: tuple[str, ...] = ()
    """Names (besides loopback names and IP addresses) the server answers to: requests
    with another ``Host`` get 421, and pages of another origin may not change anything
    (``--allowed-host``, ``CCSYNC_ALLOWED_HOSTS``; ``*.example.com`` and ``*`` work)."""
    new_devices_per_hour: int = 100
    """Devices one client address may register per hour (a burst of as many at once);
    ``0`` for no limit (``CCSYNC_NEW_DEVICES_PER_HOUR``). Device tokens register only their
    own device and are not limited."""
    max_runs: int = 4
    """Cron runs at once in this server process (``CCSYNC_MAX_RUNS``, ``--max-runs``)."""
    secret_key: str | None = None
    """The key secrets are kept under in the database (``CCSYNC_SECRET_KEY``: a Fernet key).
    Without it, one derived from the admin token, else a key file in ``data_dir``."""
    usage_api_url: str = field(default_factory=lambda: DEFAULT_USAGE_API_URL)
    """The account usage endpoint the opt-in poller reads (``CCSYNC_USAGE_API_URL``)."""
    usage_poll_seconds: float = 300.0
    """How often the poller reads an account's usage (``CCSYNC_USAGE_POLL_SECONDS``, at
    least 60: the endpoint answers 429 to more)."""

    @property
    def live_url(self) -> str:
        return self.redis_url or "memory://"

    @property
    def history_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{quote(str(self.data_dir / 'ccsync.db'))}"

    @property
    def loopback(self) -> bool:
        """Bound to this machine only (where local mode needs no tokens)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def host_names(self) -> tuple[str, ...]:
        """The allowed names, with the bind address when it is a name (``--host box.lan``)."""
        bound = () if self.loopback or _is_address(self.host) else (self.host,)
        return (*self.allowed_hosts, *bound)

    @property
    def local_mode(self) -> bool:
        """Single-user mode: loopback and no admin token, so nothing asks for a token."""
        return self.loopback and self.admin_token is None

    def with_overrides(self, **overrides: Any) -> Settings:
        """These settings with the given fields replaced (``None`` values leave a field as is)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``PORT``, ``HOST``, ``REDIS_URL`` (or ``REDIS_HOST``/``REDIS_PORT``/
        ``REDIS_PASSWORD``/``REDIS_DB``), ``DATABASE_URL``, ``CCSYNC_ADMIN_TOKEN``,
        ``CCSYNC_DATA_DIR``, ``CCSYNC_ENV``, ``CCSYNC_REDIS_PREFIX``, ``CCSYNC_ALLOWED_HOSTS``
        (comma-separated), ``CCSYNC_NEW_DEVICES_PER_HOUR``, ``CCSYNC_MAX_RUNS``,
        ``CCSYNC_SECRET_KEY``, ``CCSYNC_USAGE_API_URL`` and ``CCSYNC_USAGE_POLL_SECONDS``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("HOST"):
            values["host"] = env["HOST"]
        if env.get("PORT"):
            values["port"] = _port(env["PORT"], "PORT")
        redis_url = env.get("REDIS_URL") or _redis_url_from_parts(env)
        if redis_url:
            values["redis_url"] = redis_url
        if env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if env.get("CCSYNC_ADMIN_TOKEN"):
            values["admin_token"] = env["CCSYNC_ADMIN_TOKEN"]
        if env.get("CCSYNC_REDIS_PREFIX"):
            values["redis_prefix"] = env["CCSYNC_REDIS_PREFIX"]
        if env.get("CCSYNC_DATA_DIR"):
            values["data_dir"] = Path(env["CCSYNC_DATA_DIR"]).expanduser()
        if env.get("CCSYNC_ALLOWED_HOSTS"):
            values["allowed_hosts"] = tuple(
                name.strip() for name in env["CCSYNC_ALLOWED_HOSTS"].split(",") if name.strip()
            )
        if env.get("CCSYNC_NEW_DEVICES_PER_HOUR"):
            values["new_devices_per_hour"] = _whole(
                env["CCSYNC_NEW_DEVICES_PER_HOUR"], "CCSYNC_NEW_DEVICES_PER_HOUR"
            )
        if env.get("CCSYNC_MAX_RUNS"):
            values["max_runs"] = _count(env["CCSYNC_MAX_RUNS"], "CCSYNC_MAX_RUNS")
        if env.get("CCSYNC_SECRET_KEY"):
            values["secret_key"] = env["CCSYNC_SECRET_KEY"]
        if env.get("CCSYNC_USAGE_API_URL"):
            values["usage_api_url"] = env["CCSYNC_USAGE_API_URL"]
        if env.get("CCSYNC_USAGE_POLL_SECONDS"):
            values["usage_poll_seconds"] = _seconds(
                env["CCSYNC_USAGE_POLL_SECONDS"], "CCSYNC_USAGE_POLL_SECONDS"
            )
        if env.get("CCSYNC_ENV"):
            environment = env["CCSYNC_ENV"]
            if environment not in ("development", "production"):
                raise SettingsError(
                    f"CCSYNC_ENV must be development or production, not {environment!r}"
                )
            values["environment"] = environment
        return cls(**values).validated()

    def validated(self) -> Settings:
        _port(str(self.port), "port")
        for name in self.allowed_hosts:
            if not _HOST_PATTERN.match(name):
                raise SettingsError(
                    f"allowed host {name!r} is not a host name (e.g. box.lan, *.example.com, *)"
                )
        _count(str(self.max_runs), "the most cron runs at once")
        if self.redis_url and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://", "memory://")
        ):
            raise SettingsError(
                f"REDIS_URL must be redis://, rediss:// or unix://, not {self.redis_url!r}"
            )
        if self.database_url and not self.database_url.startswith(
            ("sqlite:", "postgresql:", "postgres:")
        ):
            raise SettingsError(
                f"DATABASE_URL must be sqlite:///path or postgresql://…, not {mask_url(self.database_url)!r}"
            )
        return self


def _port(value: str, name: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
    if not 0 <= port <= 65535:
        raise SettingsError(f"{name} must be between 0 and 65535, not {port}")
    return port


def _seconds(value: str, name: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {value!r}") from None
    if not 60 <= seconds <= 86400:
        raise SettingsError(f"{name} must be between 60 and 86400, not {value}")
    return seconds


def _count(value: str, name: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {value!r}") from None
    if not 1 <= count <= 1000:
        raise SettingsError(f"{name} must be between 1 and 1000, not {count}")
    return count


def _whole(value: str, name: str) -> int:
    if not value.strip().isdigit():
        raise SettingsError(f"{name} must be a whole number ≥ 0, not {value!r}")
    return int(value)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _redis_url_from_parts(env: Mapping[str, str]) -> str | None:
    host = env.get("REDIS_HOST")
    if not host:
        return None
    port = _port(env.get("REDIS_PORT", "6379"), "REDIS_PORT")
    password = env.get("REDIS_PASSWORD")
    auth = f":{quote(password, safe='')}@" if password else ""
    db = env.get("REDIS_DB", "0")
    return f"redis://{auth}{host}:{port}/{db}"
