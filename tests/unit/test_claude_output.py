"""Reading what ``claude`` prints: the headless result in its three shapes, the rate-limit
readings of a stream, and auth status — from Claude Code 2.1.332's own output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccsync.scheduler.claude import (
    limit_reached,
    messages,
    parse_auth_status,
    parse_result,
    rate_limits,
)
from ccsync.wire import RateLimit, RateLimits

OUTPUT = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332" / "output"

# A real ``result`` of ``claude -p``, as Claude Code printed it (its ``iterations`` dropped here).
CAPTURE = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "api_error_status": None,
    "duration_ms": 7113,
    "duration_api_ms": 1631,
    "num_turns": 1,
    "result": "OK",
    "stop_reason": "end_turn",
    "session_id": "a9989f29-c3a6-4ceb-9cfd-ad101a6bf9d8",
    "total_cost_usd": 0.099144,
    "usage": {
        "input_tokens": 2,
        "cache_creation_input_tokens": 8870,
        "cache_read_input_tokens": 20668,
        "output_tokens": 4,
    },
    "modelUsage": {
        "claude-opus-5": {
            "inputTokens": 2,
            "outputTokens": 4,
            "cacheReadInputTokens": 20668,
            "cacheCreationInputTokens": 8870,
            "webSearchRequests": 0,
            "costUSD": 0.099144,
            "contextWindow": 1000000,
            "maxOutputTokens": 64000,
        }
    },
    "permission_denials": [],
    "terminal_reason": "completed",
    "uuid": "859305be-2597-4b6e-86b1-a5bb5d451522",
}


def test_json_result() -> None:
    result = parse_result(json.dumps(CAPTURE))
    assert result is not None
    assert (result.is_error, result.result, result.cost_usd, result.num_turns) == (
        False,
        "OK",
        0.099144,
        1,
    )
    assert result.models == {"claude-opus-5": 2 + 4 + 20668 + 8870}
    assert result.to_json()["tokens"] == 29544


def test_verbose_json_array_and_stream_json_take_the_last_result() -> None:
    init = {"type": "system", "subtype": "init", "session_id": "s"}
    array = json.dumps([init, {"type": "assistant"}, CAPTURE])
    stream = "\n".join(json.dumps(m) for m in (init, {"type": "assistant"}, CAPTURE))
    for text in (array, stream, stream + "\nnot json"):
        result = parse_result(text)
        assert result is not None and result.session_id == CAPTURE["session_id"]


def test_real_results() -> None:
    ok = parse_result((OUTPUT / "result-ok.json").read_text())
    assert ok is not None and not ok.is_error and ok.api_error_status is None
    assert ok.cost_usd == pytest.approx(0.0007287) and ok.models == {"claude-haiku-5-5": 23017}
    limit = parse_result((OUTPUT / "result-limit-429.json").read_text())
    assert limit is not None and limit.is_error and limit.api_error_status == 429
    assert limit.message == "You've hit your 5-hour limit · resets 8:47am (UTC)"
    assert limit.cost_usd == 0 and limit.models == {}
    key = parse_result((OUTPUT / "result-bad-key-401.json").read_text())
    assert key is not None and key.is_error and key.api_error_status == 401
    assert key.message == "Invalid API key · Fix external API key"


def test_the_verbose_json_array_of_the_real_cli() -> None:
    text = (OUTPUT / "json-verbose-array.json").read_text()
    assert [m["type"] for m in messages(text)] == ["system", "assistant", "result"]
    result = parse_result(text)
    assert result is not None and result.models == {"claude-haiku-5-5": 23017}
    assert rate_limits(messages(text)) is None  # an API key: no reading


def test_a_result_without_text_says_what_stopped_it() -> None:
    """2.1.332 with --max-budget-usd spent: no ``result``, the reason in ``errors``."""
    budget = {
        "type": "result",
        "subtype": "error_max_budget_usd",
        "is_error": True,
        "total_cost_usd": 0.025148,
        "terminal_reason": "budget_exhausted",
        "errors": ["Reached maximum budget ($0.00001)"],
    }
    result = parse_result(json.dumps(budget))
    assert result is not None and result.result is None
    assert result.message == "Reached maximum budget ($0.00001)"
    assert result.to_json()["errors"] == ["Reached maximum budget ($0.00001)"]


def test_the_warmup_stream_carries_the_official_reading() -> None:
    text = (OUTPUT / "warmup-stream-json.jsonl").read_text()
    found = messages(text)
    assert [m["type"] for m in found] == ["system", "assistant", "rate_limit_event", "result"]
    result = parse_result(text)
    assert result is not None and not result.is_error
    assert result.models == {"claude-haiku-5-5": 23017}
    assert rate_limits(found) == RateLimits(
        five_hour=RateLimit(used_percentage=23.5, resets_at=1795955754),
        seven_day=RateLimit(used_percentage=41.2, resets_at=1796348554),
    )
    assert not limit_reached(found)


def test_a_limit_hit_is_a_reading_too() -> None:
    text = (OUTPUT / "warmup-limit-429-stream-json.jsonl").read_text()
    result = parse_result(text)
    assert result is not None and result.is_error and result.api_error_status == 429
    assert result.message is not None and result.message.startswith(
        "You've hit your 5-hour limit · resets "
    )
    limits = rate_limits(messages(text))
    assert limits is not None and limits.seven_day is None
    assert limits.five_hour == RateLimit(used_percentage=100.0, resets_at=1795952154)
    assert limit_reached(messages(text))


def test_what_says_the_limit_stopped_a_run() -> None:
    rejected = {"type": "rate_limit_event", "rate_limit_info": {"status": "rejected"}}
    allowed = {"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}}
    assert limit_reached([allowed, rejected])
    assert limit_reached([{"type": "result", "api_error_status": 429}])
    assert not limit_reached([allowed, {"type": "result", "api_error_status": 401}])
    assert not limit_reached([None, "x", {"type": "rate_limit_event", "rate_limit_info": 1}])


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        # no unifiedWindows: the window rateLimitType names, with its utilization
        (
            {"status": "allowed", "rateLimitType": "seven_day", "utilization": 0.5, "resetsAt": 9},
            {"seven_day": RateLimit(used_percentage=50.0, resets_at=9)},
        ),
        # rounded as Claude Code rounds (Math.round(u * 1000) / 10), capped at 100
        (
            {"unifiedWindows": {"five_hour": {"utilization": 0.2225}}},
            {"five_hour": RateLimit(used_percentage=22.3, resets_at=None)},
        ),
        (
            {"unifiedWindows": {"five_hour": {"utilization": 1.7, "resetsAt": 5}}},
            {"five_hour": RateLimit(used_percentage=100.0, resets_at=5)},
        ),
        # nothing to read: no utilization, odd types, another window
        ({"status": "allowed", "rateLimitType": "five_hour", "resetsAt": 9}, None),
        ({"unifiedWindows": {"five_hour": {"utilization": "0.5"}}}, None),
        ({"unifiedWindows": {"five_hour": {"utilization": True}}}, None),
        ({"unifiedWindows": {"seven_day_opus": {"utilization": 0.5}}}, None),
        ({"unifiedWindows": []}, None),
        ("allowed", None),
    ],
)
def test_rate_limit_events(info: object, expected: dict[str, RateLimit] | None) -> None:
    limits = rate_limits([{"type": "rate_limit_event", "rate_limit_info": info}])
    if expected is None:
        assert limits is None
    else:
        assert limits is not None
        assert {"five_hour": limits.five_hour, "seven_day": limits.seven_day} == {
            "five_hour": expected.get("five_hour"),
            "seven_day": expected.get("seven_day"),
        }


def test_the_last_event_of_each_window_wins() -> None:
    first = {
        "unifiedWindows": {"five_hour": {"utilization": 0.1}, "seven_day": {"utilization": 0.2}}
    }
    second = {"rateLimitType": "five_hour", "utilization": 0.3}
    limits = rate_limits(
        [{"type": "rate_limit_event", "rate_limit_info": info} for info in (first, second)]
    )
    assert limits is not None and limits.five_hour is not None and limits.seven_day is not None
    assert (limits.five_hour.used_percentage, limits.seven_day.used_percentage) == (30.0, 20.0)


def test_old_cost_field_name() -> None:
    result = parse_result(json.dumps({"type": "result", "is_error": False, "total_cost": 0.5}))
    assert result is not None and result.cost_usd == 0.5


@pytest.mark.parametrize(
    "text",
    [
        "",
        "OK",
        "{",
        "[]",
        "null",
        '{"type": "assistant"}',
        '{"type": "result", "is_error": "yes", "total_cost_usd": true, "modelUsage": {"m": 3}}',
    ],
)
def test_no_result_or_odd_types_never_raise(text: str) -> None:
    result = parse_result(text)
    if result is not None:
        assert result.is_error is False and result.cost_usd is None and result.models == {}


def test_the_real_auth_status() -> None:
    """2.1.332 pretty-prints it, with keys ccsync does not need (paths) left out."""
    logged_out = json.dumps(
        {
            "loggedIn": False,
            "authMethod": "none",
            "apiProvider": "firstParty",
            "analyticsDisabled": True,
            "projectsDirectory": "/home/user/.claude/projects",
            "configDirectory": "/home/user/.claude",
            "loginExpiresAt": None,
            "consoleProfileSignInOffered": True,
        },
        indent=2,
    )
    status = parse_auth_status(logged_out, 1)
    assert status is not None and not status.logged_in and status.auth_method == "none"
    token = logged_out.replace("false", "true").replace('"none"', '"oauth_token"')
    status = parse_auth_status(token, 0)
    assert status is not None and status.logged_in and status.auth_method == "oauth_token"


def test_auth_status() -> None:
    logged_in = '{"loggedIn":true,"authMethod":"claude.ai","apiProvider":"firstParty","email":"a@b.c","orgId":"o","orgName":"n","subscriptionType":"max"}'
    status = parse_auth_status(logged_in, 0)
    assert status is not None and status.logged_in
    assert status.to_json() == {
        "loggedIn": True,
        "authMethod": "claude.ai",
        "apiProvider": "firstParty",
        "subscriptionType": "max",
    }  # no email, no organisation
    out = parse_auth_status('{"loggedIn":false,"authMethod":"none","apiProvider":"firstParty"}', 1)
    assert out is not None and not out.logged_in
    assert parse_auth_status("Logged in as a@b.c", 0) is None  # text output: unknown
    assert parse_auth_status("", 1) is None
