"""Reading what ``claude`` prints: the headless result in its three shapes, and auth status."""

from __future__ import annotations

import json

import pytest

from ccsync.scheduler.claude import parse_auth_status, parse_result

# The real capture of research/claude-code.md §4.2 (iterations elided there, dropped here).
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


def test_error_results() -> None:
    limit = {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "result": "You've hit your session limit · resets 3:45pm",
    }
    result = parse_result(json.dumps(limit))
    assert result is not None and result.is_error and result.result is not None
    assert result.cost_usd is None and result.models == {}


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
