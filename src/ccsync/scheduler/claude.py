"""What the ``claude`` CLI prints, read: the headless result and ``claude auth status``.

``claude -p … --output-format json`` prints one result object (``type: "result"``); with
``--verbose`` a JSON array of every message, the result last; ``stream-json`` prints one
message per line, the result last. Failures inside a run (a usage limit, missing auth)
arrive as a result with ``is_error: true`` and exit code 1. ``claude auth status`` prints
``{"loggedIn": …, "authMethod": …}`` and exits 0 when logged in, 1 when not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

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
        }


def parse_result(stdout: str) -> ClaudeResult | None:
    """The result of a headless run from its output, or ``None`` when there is none."""
    text = stdout.strip()
    if not text:
        return None
    candidates: list[Any] = []
    try:
        decoded = _decode(text)
        candidates = decoded if isinstance(decoded, list) else [decoded]
    except msgspec.DecodeError:
        for line in text.splitlines():  # stream-json: one message per line
            try:
                candidates.append(_decode(line))
            except msgspec.DecodeError:
                continue
    for message in reversed(candidates):
        if isinstance(message, dict) and message.get("type") == "result":
            return _result(message)
    return None


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
