"""The command line as a client of a ccsync server (``--server``/``CCSYNC_SERVER``, ``--token``/``CCSYNC_TOKEN``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import httpx

DEFAULT_SERVER = "http://127.0.0.1:3000"
F = TypeVar("F", bound=Callable[..., Any])


def server_options(function: F) -> F:
    function = click.option(
        "--token",
        envvar="CCSYNC_TOKEN",
        help="Bearer token (CCSYNC_TOKEN); not needed in local mode.",
    )(function)
    return click.option(
        "--server",
        envvar="CCSYNC_SERVER",
        default=DEFAULT_SERVER,
        show_default=True,
        help="The ccsync server (CCSYNC_SERVER).",
    )(function)


def request(method: str, server: str, path: str, token: str | None, **kwargs: Any) -> Any:
    """One call to the server; a clear one-line error (exit 1) on any failure."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = server.rstrip("/") + path
    try:
        response = httpx.request(method, url, headers=headers, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the server at {server}: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text[:200]
        raise click.ClickException(f"{response.status_code}: {message}")
    return response.json()
