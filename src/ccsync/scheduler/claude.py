"""What the ``claude`` CLI prints, read: the headless result, the rate-limit readings of a
stream, and ``claude auth status`` (checked against Claude Code 2.1.332).

``claude -p … --output-format json`` prints one result object (``type: "result"``); with
``--verbose`` a JSON array of every message, the result last; ``stream-json`` (which needs
``--verbose``) prints one message per line, the result last. Failures inside a run arrive
as a result with ``is_error: true`` and exit code 1: a usage limit ("You've hit your
5-hour limit · resets 8:47am (UTC)", ``api_error_status: 429``), no login ("Not logged in
· Please run /login"), a rejected key (``api_error_status: 401``); a spent budget or turn
limit has no ``result`` text but ``errors`` and a ``subtype`` such as
``error_max_budget_usd``.

A subscriber's stream also carries ``rate_limit_event`` lines — Anthropic's own reading
of the account's windows, taken from the API's answer::

    {"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1795946002,
     "rateLimitType":"five_hour","unifiedWindows":{"five_hour":{"utilization":0.235,
     "resetsAt":1795946002},"seven_day":{"utilization":0.412,"resetsAt":1796338492}}}}

``rate_limits`` reads them as the status line's ``rate_limits`` (percentages, epoch
seconds); a ``"status": "rejected"`` one (or a result's 429) means the limit stopped the
run (``limit_reached``). ``claude auth status`` prints ``{"loggedIn": …, "authMethod":
…}`` (pretty printed) and exits 0 when logged in, 1 when not. ``claude doctor`` (no
terminal needed) prints a report whose "Invalid settings" section lists what claude
ignores in a settings file, hooks and status line included, and exits 0 all the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import msgspec

from ccsync.wire import RateLimit, RateLimits

_decode = msgspec.json.Decoder().decode

MODEL_USAGE_TOKENS = (
    "inputTokens",
    "outputTokens",
    "cacheReadInputTokens",
    "cacheCreationInputTokens",
)


@dataclass(frozen=True, slots=True)
class ClaudeResult:
    is_error: bool
    subtype: str | None = None
    result: str | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    num_turns: int | None = None
    duration_ms: int | None = None
    models: dict[str, int] = field(default_factory=dict)
    """Tokens per model (``modelUsage``: every model of the run, sub-agents included)."""
    api_error_status: int | None = None
    """The HTTP status of the API error that ended the run (429: a usage limit)."""
    errors: tuple[str, ...] = ()
    """What stopped a run that has no ``result`` text (a spent budget, the turn limit)."""

    @property
    def message(self) -> str | None:
        """What went wrong (or the answer), in claude's words."""
        if self.result:
            return self.result
        return "; ".join(self.errors) or None

    @property
    def tokens(self) -> int:
        return sum(self.models.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "isError": self.is_error,
            "subtype": self.subtype,
            "result": self.result,
            "costUSD": self.cost_usd,
            "sessionId": self.session_id,
            "numTurns": self.num_turns,
            "durationMs": self.duration_ms,
            "tokens": self.tokens,
            "models": self.models,
            "apiErrorStatus": self.api_error_status,
            "errors": list(self.errors),
        }


def messages(stdout: str) -> list[Any]:
    """The messages of a headless run's output, in order: the one object of ``json``, the
    array of ``json --verbose``, or the lines of ``stream-json`` (a line that is not JSON
    is passed over)."""
    text = stdout.strip()
    if not text:
        return []
    try:
        decoded = _decode(text)
    except msgspec.DecodeError:
        found = []
        for line in text.splitlines():  # stream-json: one message per line
            try:
                found.append(_decode(line))
            except msgspec.DecodeError:
                continue
        return found
    return decoded if isinstance(decoded, list) else [decoded]


def parse_result(stdout: str) -> ClaudeResult | None:
    """The result of a headless run from its output (the last ``result`` message), or
    ``None`` when there is none."""
    return result_of(messages(stdout))


def result_of(found: list[Any]) -> ClaudeResult | None:
    for message in reversed(found):
        if isinstance(message, dict) and message.get("type") == "result":
            return _result(message)
    return None


_WINDOWS = ("five_hour", "seven_day")
"""The windows of ``unifiedWindows`` (and ``rateLimitType``) that the status line shows too."""


def rate_limits(found: list[Any]) -> RateLimits | None:
    """The account's windows as the run's ``rate_limit_event`` lines reported them (the
    last one of each window), in the status line's terms: ``used_percentage`` from 0 to
    100, rounded to 0.1 as Claude Code rounds it, and ``resets_at`` in epoch seconds.
    ``None`` when the output has none (an API key rather than a subscription, or
    ``--output-format json``)."""
    windows: dict[str, RateLimit] = {}
    for message in found:
        if not isinstance(message, dict) or message.get("type") != "rate_limit_event":
            continue
        info = message.get("rate_limit_info")
        if not isinstance(info, dict):
            continue
        read: dict[str, RateLimit] = {}
        unified = info.get("unifiedWindows")
        if isinstance(unified, dict):
            for name in _WINDOWS:
                if (limit := _window(unified.get(name))) is not None:
                    read[name] = limit
        kind = info.get("rateLimitType")  # without unifiedWindows: the window it is about
        if kind in _WINDOWS and kind not in read and (limit := _window(info)) is not None:
            read[kind] = limit
        windows.update(read)
    if not windows:
        return None
    return RateLimits(five_hour=windows.get("five_hour"), seven_day=windows.get("seven_day"))


def limit_reached(found: list[Any]) -> bool:
    """Whether a usage limit stopped the run: a ``rate_limit_event`` whose status is
    ``rejected``, or a result that ended on the API's 429."""
    for message in found:
        if not isinstance(message, dict):
            continue
        kind = message.get("type")
        info = message.get("rate_limit_info")
        if (
            kind == "rate_limit_event"
            and isinstance(info, dict)
            and info.get("status") == "rejected"
        ):
            return True
        if kind == "result" and message.get("api_error_status") == 429:
            return True
    return False


def _window(value: Any) -> RateLimit | None:
    if not isinstance(value, dict):
        return None
    utilization = value.get("utilization")
    if not _number(utilization) or not 0 <= utilization <= 10:
        return None
    resets = value.get("resetsAt")
    percent = min(math.floor(utilization * 1000 + 0.5) / 10, 100.0)
    return RateLimit(
        used_percentage=percent,
        resets_at=float(resets) if _number(resets) and resets > 0 else None,
    )


def _result(message: dict[str, Any]) -> ClaudeResult:
    models: dict[str, int] = {}
    model_usage = message.get("modelUsage")
    if isinstance(model_usage, dict):
        for model, usage in model_usage.items():
            if isinstance(usage, dict):
                models[str(model)] = sum(
                    value
                    for key in MODEL_USAGE_TOKENS
                    if isinstance(value := usage.get(key), int) and not isinstance(value, bool)
                )
    cost = message.get("total_cost_usd", message.get("total_cost"))
    result = message.get("result")
    errors = message.get("errors")
    return ClaudeResult(
        is_error=message.get("is_error") is True,
        subtype=_str(message.get("subtype")),
        result=result if isinstance(result, str) else None,
        cost_usd=float(cost)
        if isinstance(cost, int | float) and not isinstance(cost, bool)
        else None,
        session_id=_str(message.get("session_id")),
        num_turns=_int(message.get("num_turns")),
        duration_ms=_int(message.get("duration_ms")),
        models=models,
        api_error_status=_int(message.get("api_error_status")),
        errors=tuple(e for e in errors if isinstance(e, str))[:10]
        if isinstance(errors, list)
        else (),
    )


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """``claude auth status``: whether the CLI can make requests, and how (no email, no org)."""

    logged_in: bool
    auth_method: str | None = None
    api_provider: str | None = None
    subscription_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "loggedIn": self.logged_in,
            "authMethod": self.auth_method,
            "apiProvider": self.api_provider,
            "subscriptionType": self.subscription_type,
        }


def parse_auth_status(stdout: str, exit_code: int | None) -> AuthStatus | None:
    """The status ``claude auth status`` printed; ``None`` when it printed none (old CLIs)."""
    try:
        decoded = _decode(stdout.strip() or "null")
    except msgspec.DecodeError:
        decoded = None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("loggedIn"), bool):
        return None
    return AuthStatus(
        logged_in=decoded["loggedIn"] and exit_code == 0,
        auth_method=_str(decoded.get("authMethod")),
        api_provider=_str(decoded.get("apiProvider")),
        subscription_type=_str(decoded.get("subscriptionType")),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


INVALID_SETTINGS = "Invalid settings"


def invalid_settings(doctor_stdout: str) -> list[str]:
    """The items of ``claude doctor``'s "Invalid settings" section (none when it has none)::

    Invalid settings
    - /home/user/.claude/settings.json: Invalid or malformed JSON
    - <file> (a right-pointing quote) hooks.BogusEvent: Unknown hook event "BogusEvent" …
    """
    found: list[str] = []
    inside = False
    for line in doctor_stdout.splitlines():
        text = line.strip()
        if text == INVALID_SETTINGS:
            inside = True
        elif inside and text.startswith("- "):
            found.append(text[2:].strip())
        elif inside and text and found:
            found[-1] += f" {text}"  # an item wrapped onto the next line
        elif inside and not text:
            inside = False
    return found


ERROR_KEEP_CHARS = 4_096
NOT_LOGGED_IN = (
    "claude is not logged in on the server host: run `claude auth login` there "
    "(or give the server CLAUDE_CODE_OAUTH_TOKEN from `claude setup-token`)"
)
NOT_LOGGED_IN_RESULT = "Not logged in"
"""How claude's own result begins when it has no login (2.1.332: "Not logged in · Please
run /login")."""
BARE_LOGIN = "--bare reads only ANTHROPIC_API_KEY, never the subscription login"


def failure_message(
    argv: Sequence[str],
    is_claude: bool,
    stdout: str,
    stderr: str,
    exit_code: int | None,
    result: ClaudeResult | None,
    auth: AuthStatus | None,
) -> str:
    """Why a run failed, in words that say what to do: for ``claude``, its own message (the
    result's, or what text output printed), or that it is not logged in (``auth``: ``claude
    auth status``, ``None`` when unknown); else the program, its exit and stderr's end."""
    if is_claude:
        text = _tail(stdout, 500).strip()
        said = result.message if result is not None else None
        if result is None and not text.startswith(("{", "[")):
            said = text or None
        logged_out = said is not None and said.startswith(NOT_LOGGED_IN_RESULT)
        if (auth is not None and not auth.logged_in) or (auth is None and logged_out):
            return NOT_LOGGED_IN
        if said:
            if logged_out and "--bare" in argv:
                said += f" ({BARE_LOGIN})"
            return f"claude: {said}"[:ERROR_KEEP_CHARS]
    tail = _tail(stderr, ERROR_KEEP_CHARS).strip()
    described = (
        f"killed by signal {-exit_code}"
        if exit_code is not None and exit_code < 0
        else f"exit {exit_code}"
    )
    return f"{argv[0]} failed ({described})" + (f": {tail}" if tail else "")


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]
