"""Where alerts go: Apprise URLs (``json://host/path``, ``ntfy://``, ``slack://``,
``discord://``, ``mailto://``… over a hundred services), checked when configured, shown
only masked, and sent without blocking the server.

A channel URL is a secret (webhook tokens live in its path, passwords in its user part):
it is stored as given, and everything that shows it — the API, the CLI, logs, error
messages — shows ``masked(url)``: Apprise's privacy form (tokens cut to their first and
last character, passwords ``****``) without its query, then ``redaction.redact``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ccsync.redaction import redact
from ccsync.server.errors import InvalidRequestError

log = logging.getLogger("ccsync.server.alerts")

MAX_CHANNELS = 16
MAX_URL_LENGTH = 2048
SEND_TIMEOUT_S = 30.0
"""However many channels, one alert's delivery gives up after this long."""


def _instantiate(url: str) -> object | None:
    import apprise  # a few hundred plugins: loaded only where alerts are configured or sent

    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:
        return None


def check_channels(urls: Sequence[str]) -> list[str]:
    """``urls`` when Apprise can send to each; ``InvalidRequestError`` naming the first that
    it cannot (by position and scheme: the URL itself may hold a secret)."""
    if len(urls) > MAX_CHANNELS:
        raise InvalidRequestError(f"at most {MAX_CHANNELS} channels")
    for index, url in enumerate(urls):
        scheme = url.partition("://")[0] if "://" in url else ""
        if len(url) > MAX_URL_LENGTH:
            raise InvalidRequestError(f"channels[{index}]: longer than {MAX_URL_LENGTH}")
        if _instantiate(url) is None:
            shown = f"'{scheme}://…'" if scheme.isalnum() and len(scheme) < 20 else "it"
            raise InvalidRequestError(
                f"channels[{index}]: Apprise cannot send to {shown}; see the Apprise URL "
                "formats (json://host/path, ntfy://topic, slack://…, mailto://…)",
                channel=index,
            )
    return list(urls)


def masked(url: str) -> str:
    """``url`` as it may be shown: secrets cut (Apprise's privacy form), no query."""
    plugin = _instantiate(url)
    if plugin is None:
        scheme = url.partition("://")[0]
        return f"{scheme}://***" if scheme.isalnum() else "***"
    private: str = plugin.url(privacy=True)  # type: ignore[attr-defined]
    return redact(private.partition("?")[0])


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one alert: sent to every channel, or the reason it was not."""

    ok: bool
    error: str | None = None


async def send(urls: Sequence[str], title: str, body: str) -> Delivery:
    """Send ``title``/``body`` to every channel (at once; ``SEND_TIMEOUT_S`` in all)."""
    if not urls:
        return Delivery(False, "no channels configured")
    import apprise

    notifier = apprise.Apprise()
    for url in urls:
        notifier.add(url)
    try:
        ok = await asyncio.wait_for(
            notifier.async_notify(body=body, title=title), timeout=SEND_TIMEOUT_S
        )
    except TimeoutError:
        return Delivery(False, f"no answer within {SEND_TIMEOUT_S:.0f} s")
    except Exception as exc:
        log.warning("alert delivery failed: %s", redact(str(exc)))
        return Delivery(False, redact(f"{type(exc).__name__}: {exc}"))
    if ok:
        return Delivery(True)
    shown = ", ".join(masked(url) for url in urls)
    return Delivery(False, f"not every channel took it ({shown}); the server log says why")
