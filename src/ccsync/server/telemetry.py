"""Prometheus metrics of one server instance (its own registry, so tests can build many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from ccsync import __version__
from ccsync.storage.history.jobs import RunRecord


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build = Info("ccsync_build", "Version of this server", registry=r)
        self.build.info({"version": __version__})
        self.http_requests = Counter(
            "ccsync_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "ccsync_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["route"],
            registry=r,
        )
        self.ingested = Counter(
            "ccsync_ingest_entries", "Usage lines received, by outcome", ["result"], registry=r
        )
        self.pushes = Counter(
            "ccsync_pushes", "Device pushes, by transport", ["transport"], registry=r
        )
        self.sockets = Gauge(
            "ccsync_websocket_connections", "Open WebSocket connections", registry=r
        )
        self.ws_messages = Counter(
            "ccsync_websocket_messages",
            "WebSocket messages received, by type",
            ["type"],
            registry=r,
        )
        self.events = Counter(
            "ccsync_events", "Events delivered to this instance, by type", ["type"], registry=r
        )

        self.cron_runs = Counter(
            "ccsync_cron_runs",
            "Cron job runs finished, by job kind, trigger and outcome",
            ["kind", "trigger", "status"],
            registry=r,
        )
        self.cron_seconds = Histogram(
            "ccsync_cron_run_duration_seconds",
            "How long cron job runs took",
            ["kind"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.cron_ticks = Counter(
            "ccsync_cron_ticks",
            "Fire times this instance tried to claim, by result (won or lost to a replica)",
            ["result"],
            registry=r,
        )
        self.task_restarts = Counter(
            "ccsync_task_restarts",
            "Background tasks (relay, scheduler, host agent, retention) restarted after a failure",
            ["task"],
            registry=r,
        )
        self.task_running = Gauge(
            "ccsync_task_running",
            "Whether a background task runs (1) or waits to be restarted (0)",
            ["task"],
            registry=r,
        )

    def task_state(self, name: str, running: bool) -> None:
        self.task_running.labels(name).set(1 if running else 0)
        self.task_restarts.labels(name)  # shown from the start, at 0

    def task_restarted(self, name: str) -> None:
        self.task_restarts.labels(name).inc()

    def run_finished(self, run: RunRecord) -> None:
        self.cron_runs.labels(run.job_kind, run.trigger, run.status).inc()
        if run.duration_ms is not None:
            self.cron_seconds.labels(run.job_kind).observe(run.duration_ms / 1000)

    def tick_taken(self, won: bool) -> None:
        self.cron_ticks.labels("won" if won else "lost").inc()

    def count_ingest(self, accepted: int, duplicate: int, rejected: int) -> None:
        for result, count in (
            ("accepted", accepted),
            ("duplicate", duplicate),
            ("rejected", rejected),
        ):
            if count:
                self.ingested.labels(result).inc(count)
