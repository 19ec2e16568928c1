"""The opt-in usage poller: reads an account's usage endpoint with a token its owner gives,
and keeps what it says as official readings (source ``usage_api``).

Claude Code asks ``GET /api/oauth/usage`` for ``/usage``; its answer holds every window
(model-scoped weeks too) with its reset (``usage.usage_response`` reads it). The endpoint
is rate-limited hard (429 for more than about one call a minute, sometimes for long), so:

- **One poller per account across replicas.** Each poll is claimed in the live store for
  the poll interval (default 5 minutes); the replica that wins polls, the others skip.
- **Backing off on 429.** ``Retry-After`` when given, else 5 minutes doubling up to an
  hour; also claimed, so no replica polls before it ends. 401/403 (an expired token, or
  one without the ``user:profile`` scope) stop polling for an hour, with the reason shown.
- **The token kept secret.** Stored sealed (``secrets.SecretBox``) in the runtime
  settings, never shown, never logged; ``GET /api/limits/poller`` tells only whether one
  is set and how polling goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import msgspec

from ccsync import __version__
from ccsync.clock import Clock
from ccsync.redaction import redact
from ccsync.server.errors import InvalidRequestError, NotFoundError
from ccsync.server.ingest import IngestError, IngestService
from ccsync.server.secrets import SecretBox, SecretError
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.live.base import ValueStore
from ccsync.usage.timestamps import iso_millis
from ccsync.usage.usage_response import UsageSnapshot, parse_usage_response
from ccsync.wire import RateLimit, RateLimits

log = logging.getLogger("ccsync.server.usage_poller")

SETTING_POLLER = "usagePoller"
POLLER_DEVICE = "usage-api"
"""The device the poller's readings are recorded as."""
SOURCE = "usage_api"
CHECK_SECONDS = 15.0
BACKOFF_FIRST_S = 300.0
BACKOFF_LIMIT_S = 3600.0
REJECTED_S = 3600.0
TIMEOUT_S = 10.0
MAX_BODY = 1 << 20

Token = Annotated[str, msgspec.Meta(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")]


class PollerChange(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/limits/poller``: the account's OAuth access token (``user:profile`` scope)."""

    token: Token
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None


class PollerAccountView(msgspec.Struct, rename="camel"):
    account: str
    token_set: bool
    last_poll_at: str | None
    last_success_at: str | None
    last_error: str | None
    next_poll_at: str | None


class PollerView(msgspec.Struct, rename="camel"):
    interval_seconds: float
    accounts: list[PollerAccountView]


class _State(msgspec.Struct, rename="camel", omit_defaults=True):
    last_poll_ms: int | None = None
    last_success_ms: int | None = None
    last_error: str | None = None
    next_poll_ms: int | None = None
    failures: int = 0


def _state_key(account: str) -> str:
    return f"ccsync:poller:{account}"


class UsagePoller:
    def __init__(
        self,
        *,
        settings: SettingsStore,
        values: ValueStore,
        ingest: IngestService,
        clock: Clock,
        box: SecretBox,
        url: str,
        interval: float,
        client: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.settings = settings
        self.values = values
        self.ingest = ingest
        self.clock = clock
        self.box = box
        self.url = url
        self.interval = interval
        self._client = client or (lambda: httpx.AsyncClient(timeout=TIMEOUT_S))
        self.check_seconds = CHECK_SECONDS
        """How often the loop looks whether an account's turn has come."""

    # -- configuration -------------------------------------------------------------------
    async def _tokens(self) -> dict[str, Any]:
        stored = (await self.settings.get_settings()).get(SETTING_POLLER)
        return dict(stored) if isinstance(stored, dict) else {}

    async def set_token(self, change: PollerChange) -> PollerView:
        account = await self.ingest.reporter.resolve_account(change.account)
        tokens = await self._tokens()
        tokens[account] = {"token": self.box.seal(change.token), "setMs": self.clock.now_ms()}
        await self.settings.put_settings({SETTING_POLLER: tokens})
        await self.values.delete(_state_key(account))  # poll a new token soon
        log.info("poller.token_set", extra={"account": account})
        return await self.view()

    async def remove(self, account: str | None) -> PollerView:
        tokens = await self._tokens()
        name = account or (next(iter(tokens)) if len(tokens) == 1 else None)
        if name is None:
            raise InvalidRequestError("several accounts have a token: pass ?account=")
        if tokens.pop(name, None) is None:
            raise NotFoundError(f"no poller token for account {name!r}")
        await self.settings.put_settings({SETTING_POLLER: tokens or None})
        await self.values.delete(_state_key(name))
        return await self.view()

    async def view(self) -> PollerView:
        accounts = []
        for account in sorted(await self._tokens()):
            state = await self._state(account)
            accounts.append(
                PollerAccountView(
                    account=account,
                    token_set=True,
                    last_poll_at=_iso(state.last_poll_ms),
                    last_success_at=_iso(state.last_success_ms),
                    last_error=state.last_error,
                    next_poll_at=_iso(state.next_poll_ms),
                )
            )
        return PollerView(interval_seconds=self.interval, accounts=accounts)

    # -- polling ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Poll every account with a token when its turn comes, for as long as the server
        runs (supervised)."""
        while True:
            try:
                for account in sorted(await self._tokens()):
                    await self.poll_if_due(account)
            except StorageUnavailableError as exc:
                log.warning("poller.store_unavailable", extra={"error": str(exc)})
            await asyncio.sleep(self.check_seconds)

    async def poll_if_due(self, account: str) -> bool:
        """Poll ``account`` when no replica did within the interval and no backoff holds."""
        state = await self._state(account)
        now = self.clock.now_ms()
        if state.next_poll_ms is not None and now < state.next_poll_ms:
            return False
        if not await self.values.claim(f"poller:{account}", self.interval):
            return False
        await self.poll(account, state)
        return True

    async def poll(self, account: str, state: _State | None = None) -> _State:
        """One poll of ``account``'s usage; the state after it."""
        state = state or await self._state(account)
        now = self.clock.now_ms()
        state.last_poll_ms = now
        try:
            token = self.box.open(str((await self._tokens())[account]["token"]))
        except (KeyError, TypeError, SecretError) as exc:
            return await self._failed(account, state, f"no usable token: {exc}", REJECTED_S)
        headers = {
            "Authorization": f"Bearer {token}",
            "anthropic-beta": "oauth-2025-04-20",
            "Content-Type": "application/json",
            "User-Agent": f"ccsync/{__version__}",
        }
        try:
            async with self._client() as http:
                answer = await http.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            return await self._failed(account, state, f"unreachable: {type(exc).__name__}", None)
        if answer.status_code == 429:
            wait = _retry_after(answer.headers.get("retry-after"))
            return await self._failed(account, state, "rate limited (429)", wait)
        if answer.status_code in (401, 403):
            reason = (
                "token rejected (401)"
                if answer.status_code == 401
                else ("token lacks the user:profile scope (403)")
            )
            return await self._failed(account, state, reason, REJECTED_S)
        if answer.status_code != 200 or len(answer.content) > MAX_BODY:
            return await self._failed(account, state, f"answered {answer.status_code}", None)
        snapshot = parse_usage_response(answer.content)
        if snapshot is None or not snapshot.readings:
            return await self._failed(account, state, "an answer without usage windows", None)
        try:
            await self.ingest.report_limits(POLLER_DEVICE, _limits(snapshot, account, now))
        except IngestError as exc:  # an instant out of bounds: the answer is not believed
            return await self._failed(account, state, str(exc), None)
        state.last_success_ms, state.last_error, state.failures = now, None, 0
        state.next_poll_ms = now + int(self.interval * 1000)
        await self._save(account, state)
        log.info("poller.polled", extra={"account": account, "windows": len(snapshot.readings)})
        return state

    async def _failed(
        self, account: str, state: _State, reason: str, wait_s: float | None
    ) -> _State:
        state.failures += 1
        if wait_s is None:
            wait_s = min(BACKOFF_LIMIT_S, BACKOFF_FIRST_S * 2 ** (state.failures - 1))
        wait_s = max(wait_s, self.interval)
        state.last_error = redact(reason)
        state.next_poll_ms = self.clock.now_ms() + int(wait_s * 1000)
        await self._save(account, state)
        log.warning(
            "poller.failed", extra={"account": account, "error": state.last_error, "wait": wait_s}
        )
        return state

    async def _state(self, account: str) -> _State:
        raw = await self.values.get(_state_key(account))
        try:
            return msgspec.convert(raw, _State) if raw is not None else _State()
        except msgspec.ValidationError:
            return _State()

    async def _save(self, account: str, state: _State) -> None:
        await self.values.set(_state_key(account), msgspec.to_builtins(state), ttl=7 * 86400)


def _limits(snapshot: UsageSnapshot, account: str, now_ms: int) -> RateLimits:
    named = {
        reading.window: RateLimit(
            used_percentage=reading.used_percentage,
            resets_at=reading.resets_at_ms / 1000,
            observed_at=now_ms / 1000,
        )
        for reading in snapshot.readings
        if reading.resets_at_ms is not None and reading.resets_at_ms > now_ms
    }
    scoped = {name: limit for name, limit in named.items() if name.startswith("seven_day_")}
    return RateLimits(
        five_hour=named.get("five_hour"),
        seven_day=named.get("seven_day"),
        account=account,
        source=SOURCE,
        windows=scoped or None,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else min(BACKOFF_LIMIT_S, max(0.0, float(value)))
    except ValueError:
        return None


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms)
