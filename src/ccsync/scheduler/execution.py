"""Running one job once: the program, what its output means, and the warm-up's decision.

- ``claude`` jobs run headless; a JSON result (``--output-format json`` or
  ``stream-json``) is read into the run (error, cost, tokens per model). A missing
  ``claude`` or one that is not logged in fails the run with a message that says what to
  do on the server host. The ``rate_limit_event`` of a stream (a subscriber's; warm-ups
  ask for one) is Anthropic's own reading of the account's 5-hour and weekly windows: it
  goes to the server as the host's official reading, as a status line's would.
- ``ccusage blocks --json`` jobs: the blocks are ingested as the server host's device.
- Warm-ups first decide (``warmup.decide``) whether the account's window needs starting;
  one that went out then checks that a window started (``warmup.window_started``): a new
  official reset, or its own usage line synced (the host agent ingests the transcript
  ``claude`` wrote), looked for during ``verifySeconds`` (20) at most.
- Anything else runs only on a server started with ``--allow-commands``.

Every program runs in the server's environment minus its secrets (``environment``), and
its command is checked again right before it runs (``commands.check_allowed``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

import msgspec

from ccsync.clock import Clock
from ccsync.private import private_dir
from ccsync.process import OnStart, ProcessResult, run_process
from ccsync.scheduler.claude import (
    AuthStatus,
    ClaudeResult,
    failure_message,
    limit_reached,
    messages,
    parse_auth_status,
    rate_limits,
    result_of,
)
from ccsync.scheduler.commands import (
    Command,
    CommandError,
    Program,
    check_allowed,
    parse_command,
)
from ccsync.scheduler.environment import child_environment
from ccsync.scheduler.warmup import (
    Decision,
    WarmupPolicy,
    WindowStarted,
    WindowView,
    current_command,
    decide,
    month_start_ms,
    window_started,
)
from ccsync.server.ingest import IngestError, IngestService
from ccsync.server.reporting import Reporter
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.jobs import JobRecord, JobStore, RunStatus
from ccsync.wire import RateLimits, decode_push

DEFAULT_TIMEOUT_SECONDS = 300.0
WARMUP_TIMEOUT_SECONDS = 120.0
AUTH_TIMEOUT_SECONDS = 15.0
VERIFY_POLL_SECONDS = 2.0
"""How often a sent warm-up looks for its window while it waits (``verifySeconds``)."""
OUTPUT_KEEP_CHARS = 65_536
"""Of stdout, kept in the run record (the rest is counted)."""
CAPTURE_BYTES = 64 << 20
"""Read at most this much of a program's output (``ccusage blocks --json`` can be large)."""
NOT_INSTALLED = (
    "claude is not installed on the server host (not on the server's PATH): install "
    "Claude Code there and log in with `claude auth login`"
)


@dataclass(frozen=True, slots=True)
class HostIdentity:
    """The device and account the server host's own usage belongs to."""

    device_id: str
    account: str


@dataclass(frozen=True, slots=True)
class Outcome:
    status: RunStatus
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


Sleep = Callable[[float], Awaitable[None]]


class Executor:
    def __init__(
        self,
        *,
        jobs: JobStore,
        reporter: Reporter,
        ingest: IngestService,
        clock: Clock,
        host: HostIdentity,
        allow_commands: bool,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.jobs = jobs
        self.reporter = reporter
        self.ingest = ingest
        self.clock = clock
        self.host = host
        self.allow_commands = allow_commands
        self.workdir = workdir
        self.env = env
        """The server's environment jobs start from (``None``: this process's, when they run)."""
        self.sleep = sleep

    async def run(
        self,
        job: JobRecord,
        zone: tzinfo,
        on_start: OnStart | None = None,
        run_tag: str | None = None,
    ) -> Outcome:
        """Run ``job`` once; ``on_start`` is told its process group id when it starts, and
        the program's environment carries ``run_tag`` (``CCSYNC_RUN``)."""
        try:
            text = (
                current_command(job.command, job.options) if job.kind == "warmup" else job.command
            )
            command = parse_command(text)
            check_allowed(command, self.allow_commands)
        except CommandError as exc:
            return Outcome("failed", error=str(exc))
        details: dict[str, Any] = {"argv": list(command.argv)}
        before: WindowView | None = None
        if job.kind == "warmup":
            decision, before = await self._warmup_decision(job, zone)
            details["warmup"] = decision.to_json()
            if decision.action != "send":
                return Outcome("skipped", output=decision.reason, details=details)
        timeout = float(
            job.options.get(
                "timeoutSeconds",
                WARMUP_TIMEOUT_SECONDS if job.kind == "warmup" else DEFAULT_TIMEOUT_SECONDS,
            )
        )
        sent_ms = self.clock.now_ms()
        result = await self._run(command, timeout, on_start, run_tag)
        if job.kind == "warmup":
            details["sent"] = result.exit_code is not None or result.timed_out
        outcome = await self._interpret(command, result, details, self._account(job))
        if before is None or not details.get("sent"):
            return outcome
        # Only a run that went through waits for its line; a failed one is looked at once.
        wait_ms = WarmupPolicy.from_options(job.options).verify_ms
        started = await self._window_started(
            self._account(job),
            before,
            sent_ms,
            limit=bool(outcome.details.get("limitReached")),
            wait_ms=wait_ms if outcome.status == "succeeded" else 0,
        )
        return dataclasses.replace(
            outcome, details={**outcome.details, "windowStarted": started.to_json()}
        )

    async def claude_auth(self) -> AuthStatus | None:
        """``claude auth status`` on the server host (``None``: not installed, or too old)."""
        result = await run_process(
            ["claude", "auth", "status", "--json"],
            timeout=AUTH_TIMEOUT_SECONDS,
            env=self.environment("claude"),
            keep_bytes=65_536,
        )
        if result.error is not None or result.timed_out:
            return None
        return parse_auth_status(result.stdout, result.exit_code)

    def environment(self, program: Program, run_tag: str | None = None) -> dict[str, str]:
        """What a job running ``program`` gets: the server's environment minus its secrets."""
        return child_environment(os.environ if self.env is None else self.env, program, run_tag)

    # -- running -------------------------------------------------------------------------
    async def _run(
        self, command: Command, timeout: float, on_start: OnStart | None, run_tag: str | None
    ) -> ProcessResult:
        private_dir(self.workdir)
        return await run_process(
            command.argv,
            timeout=timeout,
            cwd=self.workdir,
            env=self.environment(command.program, run_tag),
            keep_bytes=CAPTURE_BYTES,
            on_start=on_start,
        )

    def _account(self, job: JobRecord) -> str:
        """The account the job's usage belongs to (a warm-up may name one)."""
        return str(job.options.get("account") or self.host.account)

    async def _interpret(
        self, command: Command, result: ProcessResult, details: dict[str, Any], account: str
    ) -> Outcome:
        details["durationMs"] = result.duration_ms
        if result.stdout_dropped:
            details["stdoutDroppedBytes"] = result.stdout_dropped
        output = _keep(result.stdout, OUTPUT_KEEP_CHARS)
        if result.error is not None:
            message = NOT_INSTALLED if command.program == "claude" else result.error
            return Outcome("failed", error=message, details=details)
        if result.timed_out:
            return Outcome(
                "timeout",
                exit_code=result.exit_code,
                output=output,
                error="timed out: the process group was stopped (SIGTERM, then SIGKILL)",
                details=details,
            )
        found = messages(result.stdout) if command.program == "claude" else []
        claude = result_of(found)
        if claude is not None:
            details["claude"] = claude.to_json()
        limits = rate_limits(found)
        if limits is not None:  # also from a run the limit stopped: that is a reading too
            details["rateLimits"] = await self._report_limits(limits, account)
        if limit_reached(found):
            details["limitReached"] = True
        if not result.ok or (claude is not None and claude.is_error):
            error = await self._failure(command, result, claude)
            return Outcome(
                "failed", exit_code=result.exit_code, output=output, error=error, details=details
            )
        if command.is_ccusage_blocks_json:
            try:
                details["ingest"] = await self._ingest_blocks(result.stdout)
            except ValueError as exc:
                return Outcome(
                    "failed",
                    exit_code=result.exit_code,
                    output=output,
                    error=f"ccusage printed no blocks to ingest: {exc}",
                    details=details,
                )
        return Outcome("succeeded", exit_code=result.exit_code, output=output, details=details)

    async def _failure(
        self, command: Command, result: ProcessResult, claude: ClaudeResult | None
    ) -> str:
        auth = await self.claude_auth() if command.program == "claude" else None
        return failure_message(
            command.argv,
            command.program == "claude",
            result.stdout,
            result.stderr,
            result.exit_code,
            claude,
            auth,
        )

    async def _report_limits(self, limits: RateLimits, account: str) -> dict[str, Any]:
        """Hand a stream's official reading to the server as the host's (``ingest``, the
        path of ``POST /api/limits/{deviceId}``); the run's record says what it read and
        whether the server took it (a reading the server refuses never fails the run)."""
        reading: dict[str, Any] = msgspec.to_builtins(limits)
        try:
            await self.ingest.report_limits(
                self.host.device_id,
                msgspec.structs.replace(limits, account=account, source="warmup"),
            )
        except (IngestError, StorageUnavailableError) as exc:
            return {**reading, "reported": False, "error": str(exc)}
        return {**reading, "reported": True, "deviceId": self.host.device_id}

    async def _ingest_blocks(self, stdout: str) -> dict[str, Any]:
        try:
            push, rejected, errors = decode_push(stdout.encode())
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ValueError(str(exc)) from None
        if push.blocks is None:
            raise ValueError("the output has no 'blocks'")
        blocks = len(push.blocks)
        push = msgspec.structs.replace(push, account=self.host.account)
        ack = await self.ingest.push(self.host.device_id, push, rejected, errors)
        return {
            "deviceId": ack.device_id,
            "blocks": blocks,
            "accepted": ack.accepted,
            "rejected": ack.rejected,
        }

    # -- warm-up -------------------------------------------------------------------------
    async def _warmup_decision(self, job: JobRecord, zone: tzinfo) -> tuple[Decision, WindowView]:
        """The decision, and the window as it was judged (what a sent warm-up compares to)."""
        policy = WarmupPolicy.from_options(job.options)
        account = self._account(job)
        decision, view = await self._decide(account, policy, zone, may_wait=True)
        if decision.action == "wait" and decision.until_ms is not None:
            await self.sleep(max(0.0, (decision.until_ms - self.clock.now_ms()) / 1000))
            decision, view = await self._decide(account, policy, zone, may_wait=False)
        return decision, view

    async def _decide(
        self, account: str, policy: WarmupPolicy, zone: tzinfo, *, may_wait: bool
    ) -> tuple[Decision, WindowView]:
        now = self.clock.now_ms()
        since = month_start_ms(now, zone)
        sent = [
            run.started_ms
            for run in await self.jobs.runs(job_kind="warmup", since_ms=since, limit=10_000)
            if run.details.get("sent")
        ]
        view = await self.window_view(account)
        decision = decide(
            now,
            view,
            policy,
            last_sent_ms=max(sent, default=None),
            sent_this_month=len(sent),
            may_wait=may_wait,
        )
        return decision, view

    async def _window_started(
        self, account: str, before: WindowView, sent_ms: int, *, limit: bool, wait_ms: int
    ) -> WindowStarted:
        """Whether the warm-up sent at ``sent_ms`` started a window: looked at now, and
        every ``VERIFY_POLL_SECONDS`` until ``wait_ms`` passed (its usage line arrives
        through the host agent, or a device's reading tells)."""
        first = self.clock.now_ms()
        while True:
            try:
                after = await self.window_view(account)
            except StorageUnavailableError as exc:
                return WindowStarted(False, reason=f"the window could not be read: {exc}")
            now = self.clock.now_ms()
            found = window_started(
                sent_ms, before, after, limit_reached=limit, waited_ms=now - first
            )
            if found.verified or limit or now - first >= wait_ms:
                return found
            await self.sleep(min(VERIFY_POLL_SECONDS, (wait_ms - (now - first)) / 1000))

    async def window_view(self, account: str) -> WindowView:
        window = await self.reporter.current_window(account)
        now = window.now_ms
        ends = [d.end_ms for d in window.devices if d.end_ms is not None and d.end_ms > now]
        block = window.block
        if block is not None:
            ends.append(block.end_ms)
        official = window.official.get("fiveHour")
        first = block.entries[0].entry.timestamp_ms if block is not None and block.entries else None
        return WindowView(
            synced_active=bool(ends),
            synced_end_ms=max(ends, default=None),
            last_activity_ms=None if block is None else block.last_ms,
            official_resets_at_ms=None if official is None else official.resets_at_ms,
            official_observed_ms=None
            if official is None
            else (official.reported_ms if official.observed_ms is None else official.observed_ms),
            first_activity_ms=first,
            block_start_ms=None if block is None else block.start_ms,
        )


def _keep(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters not kept)"
