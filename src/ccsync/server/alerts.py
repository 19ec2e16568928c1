"""Alerts: the rules and channels an admin configures, which alerts are due after each
look at the limits, one claim per alert across every replica, delivery, and the history.

The configuration is a runtime setting (``alerts``: channel URLs, sealed like every
secret the server keeps (``secrets.SecretBox``), and rules; without rules
``alert_rules.DEFAULT_RULES``). ``evaluate`` is called by the limits monitor with an
account's fresh limits: due alerts (``alert_rules.due_alerts``) are claimed in the
history's database (``LimitStore.claim_alert``: one row per account, window, rule and
period) and only the winner of a claim sends it, so two replicas never send one twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec

from ccsync.clock import Clock
from ccsync.server import events
from ccsync.server.alert_channels import Delivery, check_channels, masked, send
from ccsync.server.alert_rules import DEFAULT_RULES, AlertRule, DueAlert, due_alerts
from ccsync.server.errors import InvalidRequestError, UnprocessableError
from ccsync.server.secrets import SecretBox, SecretError
from ccsync.storage.history.limits import AlertRecord, AlertStatus, LimitStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.live.base import EventBus
from ccsync.usage.limits import Limit
from ccsync.usage.timestamps import iso_millis

log = logging.getLogger("ccsync.server.alerts")

SETTING_ALERTS = "alerts"
MAX_RULES = 64
HISTORY_LIMIT = 500


class AlertConfig(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """``PUT /api/alerts``: where alerts go and when (``rules`` null: the defaults)."""

    channels: list[str] = msgspec.field(default_factory=list)
    rules: list[AlertRule] | None = None


class AlertConfigView(msgspec.Struct, rename="camel"):
    """The configuration as shown: channels masked, the rules in force."""

    channels: list[str]
    """Apprise URLs with their secrets cut."""
    rules: list[AlertRule]
    defaults: bool
    """Whether ``rules`` are the defaults (none configured)."""


class AlertView(msgspec.Struct, rename="camel"):
    """One fired alert."""

    account: str
    window: str
    rule: str
    period: str
    """The window's reset (ISO 8601) this alert was about."""
    fired_at: str
    title: str
    body: str
    status: str
    """``sending``, ``sent`` or ``failed``."""
    error: str | None


class TestResult(msgspec.Struct, rename="camel"):
    success: bool
    channels: int
    error: str | None


def alert_view(record: AlertRecord) -> AlertView:
    period = record.period
    if period.isdigit():
        period = iso_millis(int(period))
    return AlertView(
        account=record.account,
        window=record.window,
        rule=record.rule,
        period=period,
        fired_at=iso_millis(record.fired_ms),
        title=record.title,
        body=record.body,
        status=record.status,
        error=record.error,
    )


def _config_of(stored: Any) -> AlertConfig:
    """The stored configuration (one that does not check out reads as none)."""
    try:
        return msgspec.convert(stored, AlertConfig) if stored is not None else AlertConfig()
    except (msgspec.ValidationError, ValueError):
        log.warning("alerts: the stored configuration does not check out; none is in force")
        return AlertConfig()


class Alerts:
    def __init__(
        self,
        *,
        limits: LimitStore,
        settings: SettingsStore,
        bus: EventBus,
        clock: Clock,
        box: SecretBox,
    ) -> None:
        self.store = limits
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.box = box
        """Channel URLs hold secrets (webhook tokens, passwords): they are stored sealed."""

    async def stored(self) -> AlertConfig:
        config = _config_of((await self.settings.get_settings()).get(SETTING_ALERTS))
        opened = []
        for sealed in config.channels:
            try:
                opened.append(self.box.open(sealed))
            except SecretError as exc:
                log.warning("alerts: a channel cannot be read (%s); it is left out", exc)
        return AlertConfig(channels=opened, rules=config.rules)

    async def config(self) -> AlertConfigView:
        stored = await self.stored()
        return AlertConfigView(
            channels=[masked(url) for url in stored.channels],
            rules=list(DEFAULT_RULES if stored.rules is None else stored.rules),
            defaults=stored.rules is None,
        )

    async def configure(self, config: AlertConfig) -> AlertConfigView:
        """Store ``config`` (``InvalidRequestError`` naming a channel Apprise cannot use)."""
        check_channels(config.channels)
        if config.rules is not None and len(config.rules) > MAX_RULES:
            raise InvalidRequestError(f"at most {MAX_RULES} rules")
        sealed = AlertConfig([self.box.seal(url) for url in config.channels], config.rules)
        await self.settings.put_settings({SETTING_ALERTS: msgspec.to_builtins(sealed)})
        log.info("alerts.configured", extra={"channels": len(config.channels)})
        return await self.config()

    async def test(self) -> TestResult:
        """Send a test message to every channel."""
        stored = await self.stored()
        if not stored.channels:
            raise UnprocessableError("no channels configured: PUT /api/alerts first")
        delivery = await send(
            stored.channels,
            "ccsync test alert",
            "This is a test: alerts from ccsync reach this channel.",
        )
        return TestResult(delivery.ok, len(stored.channels), delivery.error)

    async def alerts(self, account: str | None = None, limit: int = 100) -> list[AlertView]:
        limit = min(max(limit, 1), HISTORY_LIMIT)
        return [alert_view(a) for a in await self.store.alerts(account, limit)]

    async def evaluate(self, account: str, limits: Sequence[Limit]) -> list[AlertRecord]:
        """Claim and send the alerts due for ``limits``; answers those this process sent."""
        now = self.clock.now_ms()
        stored = await self.stored()
        if not stored.channels:
            return []
        rules = DEFAULT_RULES if stored.rules is None else stored.rules
        warned = frozenset((a.window, a.period) for a in await self.store.alerts(account, 200))
        # The periods alerts were about end at their reset: those are the resets to announce.
        past = [(window, int(period)) for window, period in warned if period.isdigit()]
        fired: list[AlertRecord] = []
        for due in due_alerts(limits, rules, now, warned_periods=warned, past_resets=past):
            record = await self._claim(account, due, now)
            if record is None:
                continue
            delivery = await send(stored.channels, due.title, due.body)
            await self._finish(record, delivery)
            fired.append(record)
        return fired

    async def _claim(self, account: str, due: DueAlert, now: int) -> AlertRecord | None:
        return await self.store.claim_alert(
            AlertRecord(
                account=account,
                window=due.window,
                rule=due.rule,
                period=due.period,
                fired_ms=now,
                title=due.title,
                body=due.body,
            )
        )

    async def _finish(self, record: AlertRecord, delivery: Delivery) -> None:
        assert record.id is not None
        status: AlertStatus = "sent" if delivery.ok else "failed"
        await self.store.finish_alert(record.id, status, delivery.error)
        log.info(
            "alert.fired",
            extra={
                "account": record.account,
                "window": record.window,
                "rule": record.rule,
                "status": status,
            },
        )
        await events.publish(
            self.bus,
            events.AlertFired(
                account=record.account,
                window=record.window,
                rule=record.rule,
                title=record.title,
                body=record.body,
                delivered=delivery.ok,
                timestamp=iso_millis(self.clock.now_ms()),
            ),
        )
