"""The composition root: every long-lived object of the server, built from ``Settings``.

``build_services`` is the one place stores are opened, services wired together (each
given only the store roles it uses: ``history.devices``, ``history.entries``…,
``live.values``, ``live.events``) and the background loops started (under the
``Supervisor``: the scheduler, retention, the host agent; the app adds its event relay).
The CLI and the tests call it, then hand the result to ``api.app.create_app``; a
half-started system unwinds through the exit stack: the loops stop first, then what was
opened closes, in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from ccsync.clock import Clock, SystemClock
from ccsync.prices import installed_prices
from ccsync.private import private_dir
from ccsync.scheduler.execution import Executor, HostIdentity
from ccsync.scheduler.service import Scheduler
from ccsync.server.access import Authenticator
from ccsync.server.admission import Admission
from ccsync.server.alerts import Alerts
from ccsync.server.buckets import NewDeviceLimiter, RateLimiter
from ccsync.server.configuration import Configuration
from ccsync.server.devices import Devices
from ccsync.server.host_agent import HostAgent, host_device_id
from ccsync.server.ingest import IngestService
from ccsync.server.limit_monitor import LimitMonitor
from ccsync.server.limits import Limits
from ccsync.server.live_data import LiveData
from ccsync.server.live_keys import is_server_owned
from ccsync.server.otlp.checks import TelemetryChecks
from ccsync.server.otlp.service import OtlpService
from ccsync.server.reporting import DEFAULT_ACCOUNT, Reporter
from ccsync.server.retention import prune_forever
from ccsync.server.runtime_config import RuntimeSettings
from ccsync.server.secrets import SecretBox
from ccsync.server.status import SystemStatus
from ccsync.server.supervisor import Supervisor
from ccsync.server.telemetry import Telemetry
from ccsync.server.tokens import Tokens
from ccsync.server.usage_poller import UsagePoller
from ccsync.settings import Settings
from ccsync.storage.history import open_history_store
from ccsync.storage.history.base import HistoryStore
from ccsync.storage.live import LiveCaps, open_live_store
from ccsync.storage.live.base import LiveStore
from ccsync.storage.live.switchable import SwitchableLiveStore
from ccsync.usage.discovery import claude_account

log = logging.getLogger("ccsync.services")


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    live: LiveStore
    """Its ``values`` and ``events``; switchable (``PUT /api/config/redis``)."""
    history: HistoryStore
    """Its roles: ``devices``, ``entries``, ``blocks``, ``tokens``, ``settings``, ``jobs``."""
    reporter: Reporter
    ingest: IngestService
    auth: Authenticator
    host_agent: HostAgent | None
    scheduler: Scheduler
    telemetry: Telemetry
    supervisor: Supervisor
    """Owns the background loops (``start`` one more; ``states`` for ``/api/status``)."""
    push_limiter: RateLimiter
    """Pushes per second per device."""
    new_devices: NewDeviceLimiter
    """New devices per hour per client address (``admission`` applies it)."""
    started_ms: int
    devices: Devices
    configuration: Configuration
    tokens: Tokens
    live_data: LiveData
    status: SystemStatus
    limits: Limits
    alerts: Alerts
    limit_monitor: LimitMonitor
    """Looks at the limits when they change (``limits_update``, alerts): a supervised loop."""
    usage_poller: UsagePoller
    """Reads the account usage endpoint for accounts whose owner gave a token (opt-in)."""
    otlp: OtlpService
    """``/v1/logs`` and ``/v1/metrics``: Claude Code's own telemetry."""
    otlp_checks: TelemetryChecks


@asynccontextmanager
async def build_services(
    settings: Settings,
    clock: Clock | None = None,
    *,
    live: LiveStore | None = None,
    history: HistoryStore | None = None,
    start_loops: bool = True,
) -> AsyncIterator[Services]:
    """Open the stores (checking they answer), wire the services, start the background
    loops; on exit stop the loops and close all.

    A configured store that cannot be reached raises ``StorageUnavailableError`` with a
    one-line message. ``live``/``history`` replace the stores the settings would open;
    ``start_loops=False`` leaves the loops to the caller (tests that drive the scheduler).
    """
    clock = clock or SystemClock()
    telemetry = Telemetry()
    async with AsyncExitStack() as stack:
        if history is None:
            history = await open_history_store(settings.history_url)
            stack.push_async_callback(history.aclose)
        await history.ping()
        owns_live = live is None
        if live is None:
            live = open_live_store(
                await _live_url(settings, history),
                settings.live_ttl,
                settings.redis_prefix,
                LiveCaps(
                    settings.live_max_value_bytes,
                    settings.live_max_keys,
                    settings.live_max_bytes,
                    exempt=is_server_owned,
                ),
            )
        switchable = SwitchableLiveStore(live)
        if owns_live:
            # Closes whichever backend is current then (PUT /api/config/redis may switch it).
            stack.push_async_callback(switchable.aclose)
        await switchable.ping()
        live = switchable
        installed = installed_prices(settings.data_dir)
        if installed.problem:
            log.warning("%s; using the packaged prices", installed.problem)
        values, bus = live.values, live.events
        reporter = Reporter(
            devices=history.devices,
            entries=history.entries,
            blocks=history.blocks,
            settings=history.settings,
            values=values,
            clock=clock,
            prices=installed.table,
        )
        new_devices = NewDeviceLimiter(settings.new_devices_per_hour)
        admission = Admission(history.devices, new_devices)
        ingest = IngestService(
            devices=history.devices,
            entries=history.entries,
            blocks=history.blocks,
            values=values,
            bus=bus,
            reporter=reporter,
            clock=clock,
            admission=admission,
            limits=history.limits,
        )
        devices = Devices(
            devices=history.devices,
            entries=history.entries,
            blocks=history.blocks,
            values=values,
            bus=bus,
            reporter=reporter,
            admission=admission,
            clock=clock,
        )
        auth = Authenticator(history.tokens, clock, settings.admin_token, settings.local_mode)
        host_agent = None
        if settings.local_agent:
            private_dir(settings.data_dir)
            host_agent = HostAgent(
                ingest,
                history.entries,
                settings.data_dir / "host-agent.db",
                settings.claude_dirs,
            )
            stack.callback(host_agent.close)
        host = (
            HostIdentity(host_agent.device_id, host_agent.account)
            if host_agent is not None
            else HostIdentity(host_device_id(), claude_account() or DEFAULT_ACCOUNT)
        )
        executor = Executor(
            jobs=history.jobs,
            reporter=reporter,
            ingest=ingest,
            clock=clock,
            host=host,
            allow_commands=settings.allow_commands,
            workdir=settings.data_dir / "cron",
        )
        scheduler = Scheduler(
            jobs=history.jobs,
            settings=history.settings,
            values=values,
            bus=bus,
            executor=executor,
            clock=clock,
            allow_commands=settings.allow_commands,
            max_runs=settings.max_runs,
            observer=telemetry,
        )
        stack.push_async_callback(scheduler.aclose)
        limits = Limits(
            readings=history.limits, settings=history.settings, reporter=reporter, clock=clock
        )
        box = SecretBox.of(settings.secret_key, settings.data_dir, settings.admin_token)
        alerts = Alerts(
            limits=history.limits, settings=history.settings, bus=bus, clock=clock, box=box
        )
        monitor = LimitMonitor(
            devices=history.devices,
            values=values,
            bus=bus,
            limits=limits,
            alerts=alerts,
            clock=clock,
        )
        poller = UsagePoller(
            settings=history.settings,
            values=values,
            ingest=ingest,
            clock=clock,
            box=box,
            url=settings.usage_api_url,
            interval=settings.usage_poll_seconds,
        )
        supervisor = Supervisor(clock, observer=telemetry)
        stack.push_async_callback(supervisor.aclose)  # the loops stop before what they use
        if start_loops:
            supervisor.start("scheduler", scheduler.run)
            supervisor.start(
                "retention",
                lambda: prune_forever(
                    history.entries, history.telemetry, history.settings, history.limits, clock
                ),
            )
            supervisor.start("limits", monitor.run)
            supervisor.start("usage-poller", poller.run)
            if host_agent is not None:
                supervisor.start("host-agent", host_agent.follow)
        started_ms = clock.now_ms()
        push_limiter = RateLimiter(settings.push_rate, settings.push_burst)
        yield Services(
            settings=settings,
            clock=clock,
            live=live,
            history=history,
            reporter=reporter,
            ingest=ingest,
            auth=auth,
            host_agent=host_agent,
            scheduler=scheduler,
            telemetry=telemetry,
            supervisor=supervisor,
            push_limiter=push_limiter,
            new_devices=new_devices,
            started_ms=started_ms,
            devices=devices,
            configuration=Configuration(
                jobs=history.jobs,
                entries=history.entries,
                telemetry=history.telemetry,
                settings_store=history.settings,
                live=live,
                settings=settings,
                clock=clock,
            ),
            tokens=Tokens(tokens=history.tokens, devices=history.devices, bus=bus, clock=clock),
            live_data=LiveData(values, bus, clock),
            status=SystemStatus(
                values,
                history,
                devices,
                clock,
                started_ms=started_ms,
                local_mode=settings.local_mode,
                host_device=None if host_agent is None else host_agent.device_id,
            ),
            limits=limits,
            alerts=alerts,
            limit_monitor=monitor,
            usage_poller=poller,
            otlp=OtlpService(
                auth=auth,
                ingest=ingest,
                devices=history.devices,
                telemetry=history.telemetry,
                limiter=push_limiter,
                clock=clock,
                max_body_bytes=settings.max_body_bytes,
            ),
            otlp_checks=TelemetryChecks(
                telemetry=history.telemetry, reporter=reporter, clock=clock
            ),
        )


async def _live_url(settings: Settings, history: HistoryStore) -> str:
    """The configured Redis (flag or env), else one set at runtime (``PUT /api/config/redis``)."""
    if settings.redis_url:
        return settings.redis_url
    return await RuntimeSettings(history.settings).redis_url() or settings.live_url
