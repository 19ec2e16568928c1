"""OTLP/HTTP ingest: ``/v1/logs`` and ``/v1/metrics`` from Claude Code's own exporter.

One export: authenticated by its bearer token (``OTEL_EXPORTER_OTLP_HEADERS=
"Authorization=Bearer …"``), inflated and decoded (``decode``), its records grouped by the
device they are of, each device rate-limited and admitted as a push is
(``IngestService``), then kept: ``api_request`` events as entries (through the one ingest
path: history, survivors, live window, events), retention sweeps and the token and cost
metric points in the telemetry store. Records that cannot be kept are counted in the
answer's ``partial_success``; a request that cannot be taken at all is refused
(``server.errors``; the API answers it as a ``google.rpc.Status``).

The device: a device token's own (a ``ccsync.device`` attribute naming another is
refused), else the ``ccsync.device`` attribute (``OTEL_RESOURCE_ATTRIBUTES``; Claude Code
copies resource attributes onto every record). The account: ``ccsync.account``, else
Claude Code's ``user.account_uuid`` (the agent's account for the same login), else the
device's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from ccsync.clock import Clock
from ccsync.server.access import Authenticator, Principal
from ccsync.server.buckets import RateLimiter
from ccsync.server.errors import (
    ForbiddenError,
    InvalidRequestError,
    TooManyRequestsError,
    UnauthenticatedError,
)
from ccsync.server.ingest import IngestService
from ccsync.server.otlp import decode, mapping
from ccsync.server.otlp.decode import Attributes, Encoding
from ccsync.server.otlp.model import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
    ExportMetricsPartialSuccess,
    ExportMetricsServiceResponse,
)
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.telemetry import MetricPoint, RetentionSweep, TelemetryStore
from ccsync.usage.entry import UsageEntry
from ccsync.wire import device_id_problem

log = logging.getLogger("ccsync.server.otlp")

Signal = Literal["logs", "metrics"]
MAX_SHOWN_ERRORS = 5


@dataclass
class _Batch:
    """What one export holds for one device and account."""

    entries: list[UsageEntry] = field(default_factory=list)
    sweeps: list[RetentionSweep] = field(default_factory=list)
    points: list[MetricPoint] = field(default_factory=list)


@dataclass
class _Tally:
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def refuse(self, why: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_SHOWN_ERRORS:
            self.errors.append(why)

    def message(self) -> str:
        more = self.rejected - len(self.errors)
        return "; ".join(self.errors) + (f"; and {more} more" if more > 0 else "")


class OtlpService:
    def __init__(
        self,
        *,
        auth: Authenticator,
        ingest: IngestService,
        devices: DeviceStore,
        telemetry: TelemetryStore,
        limiter: RateLimiter,
        clock: Clock,
        max_body_bytes: int,
    ) -> None:
        self.auth = auth
        self.ingest = ingest
        self.devices = devices
        self.telemetry = telemetry
        self.limiter = limiter
        self.clock = clock
        self.max_body_bytes = max_body_bytes

    async def export_logs(
        self,
        token: str | None,
        client: str,
        content_type: str | None,
        content_encoding: str | None,
        body: bytes,
    ) -> ExportLogsServiceResponse:
        """Take an ``ExportLogsServiceRequest``."""
        principal, encoding = await self._open(token, content_type)
        try:
            records = decode.log_records(self._inflate(body, content_encoding), encoding)
        except decode.OtlpBodyError as exc:
            raise InvalidRequestError(str(exc)) from None
        now = self.clock.now_ms()
        tally = _Tally()
        batches: dict[tuple[str, str | None], _Batch] = defaultdict(_Batch)
        for record in records:
            name = mapping.event_name(record)
            if name not in (mapping.API_REQUEST, mapping.RETENTION_SWEEP):
                continue
            target = self._target(principal, record.attributes)
            device_id = target[0]
            try:
                if name == mapping.API_REQUEST:
                    entry = mapping.usage_entry(record, device_id, now)
                    if entry is not None:
                        batches[target].entries.append(entry)
                else:
                    sweep = mapping.retention_sweep(record, "", device_id, now)
                    batches[target].sweeps.append(sweep)
            except mapping.RecordError as exc:
                tally.refuse(str(exc))
        await self._keep(principal, client, batches)
        partial = None
        if tally.rejected:
            partial = ExportLogsPartialSuccess(str(tally.rejected), tally.message())
        return ExportLogsServiceResponse(partial_success=partial)

    async def export_metrics(
        self,
        token: str | None,
        client: str,
        content_type: str | None,
        content_encoding: str | None,
        body: bytes,
    ) -> ExportMetricsServiceResponse:
        """Take an ``ExportMetricsServiceRequest`` (token and cost sums are kept)."""
        principal, encoding = await self._open(token, content_type)
        try:
            points = decode.metric_points(self._inflate(body, content_encoding), encoding)
        except decode.OtlpBodyError as exc:
            raise InvalidRequestError(str(exc)) from None
        now = self.clock.now_ms()
        tally = _Tally()
        batches: dict[tuple[str, str | None], _Batch] = defaultdict(_Batch)
        for point in points:
            if point.metric not in (mapping.TOKEN_USAGE, mapping.COST_USAGE):
                continue
            target = self._target(principal, point.attributes)
            try:
                kept = mapping.metric_point(point, "", target[0], now)
            except mapping.RecordError as exc:
                tally.refuse(str(exc))
                continue
            if kept is not None:
                batches[target].points.append(kept)
        await self._keep(principal, client, batches)
        partial = None
        if tally.rejected:
            partial = ExportMetricsPartialSuccess(str(tally.rejected), tally.message())
        return ExportMetricsServiceResponse(partial_success=partial)

    async def _open(
        self, token: str | None, content_type: str | None
    ) -> tuple[Principal, Encoding]:
        principal = await self.auth.authenticate(token)
        if principal is None:
            raise UnauthenticatedError(
                "authentication required: set OTEL_EXPORTER_OTLP_HEADERS="
                '"Authorization=Bearer <token>" (ccsync otel-env prints it)'
            )
        try:
            return principal, decode.encoding_of(content_type)
        except decode.OtlpMediaError as exc:
            raise InvalidRequestError(str(exc)) from None

    def _inflate(self, body: bytes, content_encoding: str | None) -> bytes:
        try:
            return decode.inflate(body, content_encoding, self.max_body_bytes)
        except (decode.OtlpBodyError, decode.OtlpMediaError) as exc:
            raise InvalidRequestError(str(exc)) from None

    def _target(self, principal: Principal, attributes: Attributes) -> tuple[str, str | None]:
        """The device and account (``None``: the device's) a record is of."""
        named = attributes.get(mapping.DEVICE_ATTRIBUTE)
        if principal.kind == "device":
            assert principal.device_id is not None
            if named is not None and named != principal.device_id:
                raise ForbiddenError(
                    f"this token speaks for device {principal.device_id!r}, not {named!r}"
                )
            device_id = principal.device_id
        elif named is None:
            raise InvalidRequestError(
                "which device is this? Use a device token, or set OTEL_RESOURCE_ATTRIBUTES="
                f'"{mapping.DEVICE_ATTRIBUTE}=<device id>"'
            )
        else:
            problem = device_id_problem(named)
            if problem is not None:
                raise InvalidRequestError(f"{mapping.DEVICE_ATTRIBUTE}: {problem}")
            assert isinstance(named, str)
            device_id = named
        account = mapping.text(attributes, mapping.ACCOUNT_ATTRIBUTE) or mapping.text(
            attributes, mapping.CLAUDE_ACCOUNT_ATTRIBUTE
        )
        return device_id, account

    async def _keep(
        self, principal: Principal, client: str, batches: dict[tuple[str, str | None], _Batch]
    ) -> None:
        for device_id in sorted({device for device, _ in batches}):
            wait = self.limiter.allow(device_id)
            if wait is not None:
                raise TooManyRequestsError("too many exports for this device", retry_after=wait)
        for (device_id, named), batch in sorted(batches.items(), key=lambda kv: str(kv[0])):
            if batch.entries:  # admitted, and the device registered, as a push is
                ack = await self.ingest.receive_entries(
                    principal, client, device_id, named, batch.entries
                )
                account = ack.account
            else:
                account = await self.ingest.admit(principal, device_id, named, client)
                await self.devices.register_device(device_id, account, self.clock.now_ms())
            telemetry = self.telemetry
            if batch.points:
                await telemetry.add_points([_in(p, account) for p in batch.points])
            if batch.sweeps:
                await telemetry.add_sweeps([_in(s, account) for s in batch.sweeps])
                deleted = sum(s.transcripts_deleted or 0 for s in batch.sweeps)
                log.info(
                    "otlp.retention_sweep",
                    extra={"device": device_id, "account": account, "deleted": deleted},
                )


_Kept = TypeVar("_Kept", MetricPoint, RetentionSweep)


def _in(value: _Kept, account: str) -> _Kept:
    """``value`` in ``account`` (made before the account was known)."""
    return replace(value, account=account)
