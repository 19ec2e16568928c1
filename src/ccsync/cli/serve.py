"""``ccsync serve``: the server, on its embedded defaults unless told otherwise."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from ccsync.redaction import mask_url
from ccsync.settings import Settings, SettingsError


@click.command()
@click.option("--host", help="Address to bind (HOST; default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (PORT; default 3000).")
@click.option("--redis-url", help="Redis for live data and events (REDIS_URL; default in-memory).")
@click.option(
    "--database-url",
    help="sqlite:///path or postgresql://… (DATABASE_URL; default SQLite in the data dir).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the SQLite file and the admin token live (CCSYNC_DATA_DIR).",
)
@click.option("--no-local-agent", is_flag=True, help="Do not ingest this host's own Claude data.")
@click.option(
    "--claude-dir",
    "claude_dirs",
    multiple=True,
    metavar="DIR",
    help="The host's Claude data directories (repeatable).",
)
@click.option(
    "--allow-commands",
    is_flag=True,
    help="Let cron jobs run programs other than claude and ccusage.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A name (besides localhost and IP addresses) this server answers to, e.g. box.lan "
    "or *.example.com (repeatable; CCSYNC_ALLOWED_HOSTS).",
)
@click.option(
    "--max-runs",
    type=click.IntRange(1, 1000),
    help="Cron runs at once in this server process (CCSYNC_MAX_RUNS; default 4).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve(
    host: str | None,
    port: int | None,
    redis_url: str | None,
    database_url: str | None,
    data_dir: Path | None,
    no_local_agent: bool,
    claude_dirs: tuple[str, ...],
    allow_commands: bool,
    allowed_hosts: tuple[str, ...],
    max_runs: int | None,
    log_level: str,
) -> None:
    """Run the server: REST and WebSocket at http://HOST:PORT/ (OpenAPI at /docs)."""
    from ccsync.logs import configure_logging
    from ccsync.server.tokens import ensure_admin_token

    try:
        settings = (
            Settings.from_env()
            .with_overrides(
                host=host,
                port=port,
                redis_url=redis_url,
                database_url=database_url,
                data_dir=data_dir,
                claude_dirs=claude_dirs or None,
                local_agent=False if no_local_agent else None,
                allow_commands=True if allow_commands else None,
                allowed_hosts=allowed_hosts or None,
                max_runs=max_runs,
            )
            .validated()
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(log_level, as_json=settings.environment == "production")
    if not settings.loopback and settings.admin_token is None:
        token, created = ensure_admin_token(settings.data_dir)
        settings = settings.with_overrides(admin_token=token)
        if created:
            click.echo(
                f"Admin token (shown once; kept in {settings.data_dir / 'admin-token'}, mode 0600):\n  {token}",
                err=True,
            )
    code = asyncio.run(_run(settings, log_level))
    sys.exit(code)


async def _run(settings: Settings, log_level: str) -> int:
    import uvicorn

    from ccsync import gc_pause
    from ccsync.api.app import create_app
    from ccsync.services import build_services
    from ccsync.storage import StorageUnavailableError

    try:
        async with build_services(settings) as services:
            app = create_app(services)
            config = uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                ws_max_size=settings.max_frame_bytes,
                log_level=log_level,
                server_header=False,
                log_config=None,
            )
            click.echo(
                f"ccsync serving on http://{settings.host}:{settings.port} "
                f"(live: {mask_url(settings.live_url)}, history: {mask_url(settings.history_url)}, "
                f"{'local mode' if settings.local_mode else 'tokens required'})",
                err=True,
            )
            server = uvicorn.Server(config)
            gc_pause.settle()
            await server.serve()
            return 0 if server.started else 1
    except StorageUnavailableError as exc:
        click.echo(f"ccsync: {exc}", err=True)
        return 1
