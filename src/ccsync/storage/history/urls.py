"""History URLs to SQLAlchemy URLs and driver arguments.

``sqlite:///relative.db`` and ``sqlite:////absolute.db`` (aiosqlite);
``postgresql://…`` / ``postgres://…`` (asyncpg), where libpq-style parameters are
translated: ``?host=/socket/dir`` (a unix socket), ``port``, ``user``, ``password``,
``dbname``, ``sslmode``, ``connect_timeout``, ``application_name``, and ccsync's own
``schema`` (every table, and alembic's version table, in that PostgreSQL schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import URL, make_url

from ccsync.redaction import mask_url

Backend = Literal["sqlite", "postgresql"]

CONNECT_TIMEOUT_S = 3.0
"""How long opening the store waits for PostgreSQL to accept a connection."""


@dataclass(frozen=True, slots=True)
class HistoryTarget:
    """What a history URL turns into: the SQLAlchemy URL and driver arguments."""

    backend: Backend
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    sqlite_path: Path | None = None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one(name: str, value: str | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        raise ValueError(f"the URL parameter {name!r} is given more than once")
    return value


def _postgres_target(url: str, scheme: str, schema: str | None) -> HistoryTarget:
    """asyncpg arguments for a libpq-style URL (``?host=/dir`` is a unix socket directory)."""
    parsed = make_url("postgresql" + url[len(scheme) :])
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S}
    server_settings: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for name, raw in parsed.query.items():
        value = _one(name, raw)
        if name == "schema":
            schema = schema or value
        elif name == "host":
            hosts = value.split(",")
            connect_args["host"] = hosts[0] if len(hosts) == 1 else hosts
        elif name == "port":
            ports = [int(port) for port in value.split(",")]
            connect_args["port"] = ports[0] if len(ports) == 1 else ports
        elif name in ("user", "password"):
            changes["username" if name == "user" else name] = value
        elif name == "dbname":
            changes["database"] = value
        elif name == "sslmode":
            connect_args["ssl"] = value
        elif name == "connect_timeout":
            connect_args["timeout"] = float(value)
        elif name == "application_name":
            server_settings["application_name"] = value
        else:
            raise ValueError(f"unsupported PostgreSQL URL parameter {name!r}")
    if schema is not None:
        server_settings["search_path"] = quote_ident(schema)
    if server_settings:
        connect_args["server_settings"] = server_settings
    target_url = URL.create(
        "postgresql+asyncpg",
        username=changes.get("username", parsed.username),
        password=changes.get("password", parsed.password) or None,
        host=parsed.host,
        port=parsed.port,
        database=changes.get("database", parsed.database),
    )
    return HistoryTarget("postgresql", target_url, connect_args)


def parse_history_url(url: str, schema: str | None = None) -> HistoryTarget:
    """The backend and driver settings for a history URL; ``ValueError`` when unusable."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        if schema is not None:
            raise ValueError("a schema applies to PostgreSQL history stores only")
        parsed = make_url(url)
        if parsed.query:
            raise ValueError("SQLite history URLs take no parameters")
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the SQLite history store needs a file: sqlite:///path/to/file.db")
        path = Path(parsed.database)
        return HistoryTarget("sqlite", URL.create("sqlite+aiosqlite", database=str(path)), {}, path)
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return _postgres_target(url, scheme, schema)
    raise ValueError(
        f"unsupported history store URL {mask_url(url)!r}: "
        "use sqlite:///path/to/file.db or postgresql://user:password@host/database"
    )
