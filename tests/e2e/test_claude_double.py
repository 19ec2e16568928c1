"""The ``claude`` double behaves like the real Claude Code 2.1.332: every check here runs
against both, the real one where it is installed (``fixtures/real_claude.py``), talking
to the stand-in API on loopback.

A login is one of: a subscriber (``CLAUDE_CODE_OAUTH_TOKEN``), an API key, none, or a
subscriber whose 5-hour limit is hit (the stand-in answers 429; the double is told so).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from fixtures.claude_double import project_folder
from fixtures.claude_mock_api import MockAPI
from fixtures.doubles import Doubles
from fixtures.real_claude import HAIKU, HAIKU_COST, STREAM, TOKENS, VERSION, claude_env

pytestmark = pytest.mark.timeout(180)

Login = Literal["subscriber", "key", "none", "limit"]
AUTH_KEYS = {
    "loggedIn",
    "authMethod",
    "apiProvider",
    "analyticsDisabled",
    "projectsDirectory",
    "configDirectory",
    "loginExpiresAt",
}


@dataclass
class Cli:
    """One ``claude``: the double or the real program, in a home of its own."""

    kind: str
    home: Path
    base: dict[str, str]
    api: MockAPI | None = None
    logins: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.home / ".claude"

    def run(
        self, *args: str, login: Login = "subscriber", cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        if self.api is not None:
            self.api.mode = "429" if login == "limit" else "ok"
        return subprocess.run(
            ["claude", *args],
            capture_output=True,
            text=True,
            env={**self.base, **self.logins[login]},
            cwd=cwd or self.home,
            timeout=120,
        )

    def json(self, *args: str, login: Login = "subscriber", cwd: Path | None = None) -> Any:
        done = self.run(*args, login=login, cwd=cwd)
        assert done.stdout, done.stderr
        return json.loads(done.stdout)

    def lines(self, *args: str, login: Login = "subscriber", cwd: Path | None = None) -> list[Any]:
        done = self.run(*args, login=login, cwd=cwd)
        return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(params=["double", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path, doubles: Doubles) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    base = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"), "TZ": "UTC"}
    if request.param == "double":
        oauth = {"CLAUDE_CODE_OAUTH_TOKEN": "made-up"}
        return Cli(
            "double",
            home,
            {**doubles.env, **base, "PATH": doubles.env["PATH"]},
            logins={
                "subscriber": oauth,
                "key": {"ANTHROPIC_API_KEY": "made-up"},
                "none": {"CLAUDE_DOUBLE_LOGGED_OUT": "1"},
                "limit": {**oauth, "CLAUDE_DOUBLE_LIMIT": "1"},
            },
        )
    real = request.getfixturevalue("real_claude")
    api = request.getfixturevalue("stand_in_api")
    env = claude_env(home, api, real, None)
    subscriber = claude_env(home, api, real, "oauth")
    return Cli(
        "real",
        home,
        {**env, **base},
        api,
        logins={
            "subscriber": subscriber,
            "key": claude_env(home, api, real, "key"),
            "none": {},
            "limit": subscriber,
        },
    )


def test_version(cli: Cli) -> None:
    done = cli.run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"{VERSION} (Claude Code)"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--print=true", "hi"), "error: unknown option '--print=true'"),
        (("-p", "hi", "--output-format", "stream-json"), "requires --verbose"),
        (("-p", "hi", "--output-format", "yaml"), "Allowed choices are text, json, stream-json"),
        (("-p", "hi", "--include-partial-messages"), "--include-partial-messages requires"),
        (("-p", "--output-format", "json"), "Input must be provided"),
        (("-p", "hi", "--max-budget-usd", "0"), "must be a number greater than 0"),
    ],
)
def test_what_claude_refuses(cli: Cli, args: tuple[str, ...], error: str) -> None:
    done = cli.run(*args)
    assert done.returncode == 1 and error in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("-p", "Hello", "--model", "haiku", "--output-format", "json"),
        ("-p", "--model", "haiku", "--output-format", "json", "Hello"),  # the prompt anywhere
        ("--model", "haiku", "Hello", "-p", "--output-format=json"),
    ],
)
def test_a_result(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli.json(*args)
    assert result["type"] == "result" and result["is_error"] is False
    assert result["result"] == "OK" and result["api_error_status"] is None
    assert list(result["modelUsage"]) == [HAIKU]  # the `haiku` of 2.1.332
    usage = result["modelUsage"][HAIKU]
    tokens = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens")
    assert sum(usage[k] for k in tokens) == TOKENS
    assert result["total_cost_usd"] == pytest.approx(HAIKU_COST)


def test_verbose_json_is_an_array(cli: Cli) -> None:
    found = cli.json("-p", "hi", "--model", "haiku", "--output-format", "json", "--verbose")
    kinds = [m["type"] for m in found]
    assert kinds == ["system", "assistant", "rate_limit_event", "result"]
    keyed = cli.json(
        "-p", "hi", "--model", "haiku", "--output-format", "json", "--verbose", login="key"
    )
    assert [m["type"] for m in keyed] == ["system", "assistant", "result"]  # no subscription


def test_a_stream_with_hooks_and_the_official_reading(cli: Cli) -> None:
    cli.config.mkdir(exist_ok=True)
    hook_input = cli.home / "hook-input.json"
    (cli.config / "settings.json").write_text(
        json.dumps(
            {
                "hooks": {
                    "SessionStart": [
                        {"hooks": [{"type": "command", "command": f"cat > '{hook_input}'"}]}
                    ]
                }
            }
        )
    )
    found = cli.lines("-p", "hi", "--model", "haiku", *STREAM)
    assert [(m["type"], m.get("subtype")) for m in found] == [
        ("system", "hook_started"),
        ("system", "hook_response"),
        ("system", "init"),
        ("assistant", None),
        ("rate_limit_event", None),
        ("result", "success"),
    ]
    assert (found[1]["hook_event"], found[1]["exit_code"], found[1]["outcome"]) == (
        "SessionStart",
        0,
        "success",
    )
    stdin = json.loads(hook_input.read_text())
    assert stdin["hook_event_name"] == "SessionStart" and stdin["source"] == "startup"
    assert stdin["session_id"] == found[-1]["session_id"]
    info = found[4]["rate_limit_info"]
    assert info["status"] == "allowed" and info["rateLimitType"] == "five_hour"
    windows = info["unifiedWindows"]
    assert (windows["five_hour"]["utilization"], windows["seven_day"]["utilization"]) == (
        0.235,
        0.412,
    )
    assert found[5]["model_usage_since_last_result"] == found[5]["modelUsage"]


def test_not_logged_in(cli: Cli) -> None:
    done = cli.run("-p", "hi", "--output-format", "json", login="none")
    result = json.loads(done.stdout)
    assert done.returncode == 1 and result["is_error"] is True
    assert result["result"] == "Not logged in · Please run /login"
    assert result["api_error_status"] is None and result["terminal_reason"] == "api_error"
    assert result["total_cost_usd"] == 0 and result["modelUsage"] == {}
    assert result["usage"]["input_tokens"] == 0 and result["usage"]["output_tokens"] == 0
    text = cli.run("-p", "hi", login="none")
    assert text.returncode == 1 and text.stdout.strip() == "Not logged in · Please run /login"


def test_the_five_hour_limit(cli: Cli) -> None:
    done = cli.run("-p", "hi", "--model", "haiku", "--output-format", "json", login="limit")
    result = json.loads(done.stdout)
    assert done.returncode == 1 and result["is_error"] is True
    assert result["result"].startswith("You've hit your 5-hour limit · resets ")
    assert result["result"].endswith("(UTC)")
    assert result["api_error_status"] == 429 and result["api_error"] == "usage_limit_reached"
    assert result["total_cost_usd"] == 0 and result["modelUsage"] == {}
    found = cli.lines("-p", "hi", "--model", "haiku", *STREAM, login="limit")
    assert [m["type"] for m in found] == ["system", "rate_limit_event", "assistant", "result"]
    event = found[1]["rate_limit_info"]
    assert (
        event["status"] == "rejected" and event["unifiedWindows"]["five_hour"]["utilization"] == 1
    )
    assert found[2]["message"]["model"] == "<synthetic>" and found[2]["error"] == "rate_limit"


def test_auth_status(cli: Cli) -> None:
    for login, code, method in (("subscriber", 0, "oauth_token"), ("none", 1, "none")):
        done = cli.run("auth", "status", login=login)
        assert done.returncode == code and done.stdout.startswith("{\n  ")  # pretty printed
        status = json.loads(done.stdout)
        assert set(status) >= AUTH_KEYS and status["authMethod"] == method
        assert status["loggedIn"] is (code == 0)
        assert status["configDirectory"] == str(cli.config)
        assert status["projectsDirectory"] == str(cli.config / "projects")
    keyed = json.loads(cli.run("auth", "status", "--json", login="key").stdout)
    assert keyed["authMethod"] == "api_key" and keyed["apiKeySource"] == "ANTHROPIC_API_KEY"


def test_the_transcript_folder(cli: Cli, tmp_path: Path) -> None:
    """Every character outside [a-zA-Z0-9] becomes "-"; a name over 200 is cut and hashed."""
    short = tmp_path / "my_project.v2 (copy)"
    long = tmp_path / ("deep_folder." * 12) / ("another one" * 10)
    for cwd in (short, long):
        cwd.mkdir(parents=True)
        result = cli.json("-p", "hi", "--model", "haiku", "--output-format", "json", cwd=cwd)
        folder = cli.config / "projects" / project_folder(str(cwd))
        transcript = folder / f"{result['session_id']}.jsonl"
        assert transcript.exists(), sorted(p.name for p in (cli.config / "projects").iterdir())
        lines = [json.loads(line) for line in transcript.read_text().splitlines()]
        [assistant] = [line for line in lines if line.get("type") == "assistant"]
        assert assistant["message"]["model"] == HAIKU
        assert assistant["message"]["usage"]["cache_creation"] == {
            "ephemeral_1h_input_tokens": 2000,
            "ephemeral_5m_input_tokens": 1000,
        }
        [cost] = [line for line in lines if line.get("type") == "cost-state"]
        assert cost["totalCostUSD"] == pytest.approx(HAIKU_COST)
    assert len(project_folder(str(long))) > 200


def test_doctor_names_the_settings_claude_ignores(cli: Cli) -> None:
    cli.config.mkdir(exist_ok=True)
    settings = cli.config / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "hooks": {
                    "BogusEvent": [{"hooks": [{"type": "command", "command": "x"}]}],
                    "Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": "15"}]}],
                },
                "statusLine": {"type": "command"},
            }
        )
    )
    done = cli.run("doctor")
    assert done.returncode == 0
    section = done.stdout.split("Invalid settings\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(": ", 1)[0] for line in section] == [
        f"- {settings} \u203a hooks.BogusEvent",
        f"- {settings} \u203a hooks.Stop.0.hooks.0",
        f"- {settings} \u203a statusLine.command",
    ]
    assert 'Unknown hook event "BogusEvent" was ignored' in section[0]
    assert "expected number, received string" in section[1]
    settings.write_text("{")
    done = cli.run("doctor")
    assert f"Invalid settings\n- {settings}: Invalid or malformed JSON\n" in done.stdout
