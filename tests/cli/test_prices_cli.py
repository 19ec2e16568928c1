"""``ccsync prices update`` and the table it writes, as a user runs them: real processes.

Reports, ``doctor`` and ``status`` read the table in the data directory when it is there
and valid, else the packaged one; a model no table prices is listed, never silently $0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ccsync.usage.pricing import default_prices
from fixtures.lines import assistant, usage, write_transcript
from fixtures.server import free_port

REAL = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332"
"""Two real Claude Code 2.1.332 transcripts (claude-haiku-5-5, claude-sonnet-5-5)."""
HAIKU_SESSION = "00089db4-4401-407d-ac64-3c8a71172d86"
SONNET_SESSION = "9217d85e-f8e8-4c06-bf95-b4cfb2672923"

# A LiteLLM list in its published format: a newer model, a ccusage-priced one with another
# price (ccusage's is kept), one without prices, and a non-Claude one (left out).
LITELLM: dict[str, Any] = {
    "sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0},
    "claude-lark-6": {
        "input_cost_per_token": 2e-6,
        "output_cost_per_token": 8e-6,
        "cache_creation_input_token_cost": 2.5e-6,
        "cache_read_input_token_cost": 2e-7,
        "input_cost_per_token_above_100k_tokens": 4e-6,
        "output_cost_per_token_above_100k_tokens": 1.6e-5,
        "litellm_provider": "anthropic",
        "mode": "chat",
    },
    "claude-sonnet-4-5": {"input_cost_per_token": 1.0, "output_cost_per_token": 1.0},
    "claude-lark-latest": {"litellm_provider": "anthropic", "mode": "chat"},
    "gpt-9": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6},
}


def ccsync(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "TZ": "UTC", "COLUMNS": "200"}
    if "PYTHONPATH" in os.environ:  # the checkout's code, in the child too
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "ccsync", *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "CCSYNC_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def litellm_file(tmp_path: Path) -> Path:
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(LITELLM))
    return path


def lark_corpus(root: Path) -> Path:
    write_transcript(
        root,
        "p/s1.jsonl",
        [
            assistant(model="claude-lark-6", u=usage(1000, 500)),
            assistant(
                "2026-11-01T10:05:00.000Z",
                msg_id="msg_2",
                req_id="req_2",
                model="claude-sonnet-4-5",
                u=usage(1000, 500),
            ),
        ],
    )
    return root


def report(kind: str, claude_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    done = ccsync("report", kind, "--json", "--claude-dir", str(claude_dir), env=env)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_an_update_from_a_file_prices_newer_models_in_reports(
    tmp_path: Path, env: dict[str, str], litellm_file: Path
) -> None:
    corpus = lark_corpus(tmp_path / "claude")
    before = report("daily", corpus, env)
    assert before["totals"]["unpricedModels"] == ["claude-lark-6"]
    sonnet = 1000 * 3e-6 + 500 * 1.5e-5

    done = ccsync("prices", "update", "--from", str(litellm_file), env=env)
    assert done.returncode == 0, done.stderr
    table_path = Path(env["CCSYNC_DATA_DIR"]) / "prices.json"
    assert str(table_path) in done.stdout
    assert "newly priced: claude-lark-6" in done.stdout
    written = json.loads(table_path.read_text())
    assert written["format"] == 2 and "model_prices_and_context_window.json" in written["source"]
    assert "gpt-9" not in written["models"] and "claude-lark-latest" not in written["models"]
    # Every price ccusage 20.0.24 charges is kept: the update never breaks parity.
    assert set(written["ccusage"]) == set(default_prices().ccusage)

    after = report("daily", corpus, env)
    assert "unpricedModels" not in after["totals"]
    lark = 1000 * 2e-6 + 500 * 8e-6
    assert after["totals"]["totalCost"] == pytest.approx(lark + sonnet, abs=1e-12)
    costs = {m["modelName"]: m["cost"] for m in after["daily"][0]["modelBreakdowns"]}
    assert costs == pytest.approx({"claude-lark-6": lark, "claude-sonnet-4-5": sonnet})


def test_a_corrupt_table_falls_back_to_the_packaged_one(
    tmp_path: Path, env: dict[str, str]
) -> None:
    corpus = lark_corpus(tmp_path / "claude")
    table_path = Path(env["CCSYNC_DATA_DIR"]) / "prices.json"
    table_path.parent.mkdir(parents=True)
    expected = report("daily", corpus, env)
    for broken in ('{"format": 2, "models": ', '{"format": 99, "models": {}}'):
        table_path.write_text(broken)
        done = ccsync("report", "daily", "--json", "--claude-dir", str(corpus), env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == expected
        warning = [line for line in done.stderr.splitlines() if line]
        assert len(warning) == 1 and str(table_path) in warning[0]
        assert warning[0].endswith("using the packaged prices")
        doctor = ccsync("doctor", "--claude-dir", str(corpus), env=env)
        assert f"fix your price table: {table_path}" in doctor.stdout
        assert "ok  prices: packaged, built" in doctor.stdout


def test_a_wheel_is_a_source(tmp_path: Path, env: dict[str, str]) -> None:
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("litellm/model_prices_and_context_window_backup.json", json.dumps(LITELLM))
    done = ccsync("prices", "update", "--from", str(wheel), env=env)
    assert done.returncode == 0, done.stderr
    written = json.loads((Path(env["CCSYNC_DATA_DIR"]) / "prices.json").read_text())
    assert "litellm==9.9.9" in written["source"]
    assert written["models"]["claude-lark-6"]["prompt_tiers"] == [
        {"above": 100_000, "input": 4e-6, "output": 1.6e-5}
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://127.0.0.1:{port}/prices.json", "cannot fetch http://127.0.0.1:{port}/prices.json"),
        ("{tmp}/missing.json", "cannot read {tmp}/missing.json"),
        ("{tmp}/not-json.json", "not-json.json is not JSON"),
        ("{tmp}/no-claude.json", "no-claude.json: no Claude model with a price in it"),
    ],
)
def test_a_source_that_fails_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], source: str, message: str
) -> None:
    (tmp_path / "not-json.json").write_text("<html>")
    (tmp_path / "no-claude.json").write_text(json.dumps({"gpt-9": LITELLM["gpt-9"]}))
    port = free_port()
    source, message = (s.format(port=port, tmp=tmp_path) for s in (source, message))
    done = ccsync("prices", "update", "--from", source, env=env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"Error: {message}")
    assert not (Path(env["CCSYNC_DATA_DIR"]) / "prices.json").exists()


def test_the_default_source_is_litellms_published_list(env: dict[str, str]) -> None:
    done = ccsync("prices", "update", "--help", env=env)
    assert "LiteLLM's published list" in done.stdout


def real_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "claude"
    shutil.copytree(REAL, corpus)
    return corpus


def test_claude_codes_own_cost_is_offered_for_models_without_a_price(
    tmp_path: Path, env: dict[str, str], litellm_file: Path
) -> None:
    corpus = real_corpus(tmp_path)
    # The packaged table prices Claude Code 2.1.332's models (from LiteLLM's newer list).
    packaged = report("session", corpus, env)
    assert "unpricedModels" not in packaged["totals"]
    assert packaged["totals"]["totalCost"] == pytest.approx(
        0.0007287 + (12 * 2e-6 + 5 * 1e-5 + 20_000 * 1e-7 + 1000 * 2.5e-6 + 2000 * 4e-6)
    )

    # A table that does not know them (built from a list without them): their cost is not
    # made up, and Claude Code's own record of it is offered beside ccusage's numbers.
    assert ccsync("prices", "update", "--from", str(litellm_file), env=env).returncode == 0
    result = report("session", corpus, env)
    totals = result["totals"]
    assert totals["unpricedModels"] == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    assert totals["totalCost"] == 0.0
    assert totals["claudeCodeCostUSD"] == {
        "claude-haiku-5-5": pytest.approx(0.0007287),
        "claude-sonnet-5-5": pytest.approx(0.025148),
    }
    rows = {row["sessionId"]: row for row in result["sessions"]}
    (haiku,) = rows[HAIKU_SESSION]["modelBreakdowns"]
    assert haiku["missingPricing"] is True and haiku["cost"] == 0.0
    assert haiku["claudeCodeCostUSD"] == pytest.approx(0.0007287)
    daily = report("daily", corpus, env)
    assert daily["totals"]["claudeCodeCostUSD"] == totals["claudeCodeCostUSD"]
    # Rows of days may hold parts of sessions: Claude Code's session totals stay out of them.
    assert all(
        "claudeCodeCostUSD" not in item for row in daily["daily"] for item in row["modelBreakdowns"]
    )

    table = ccsync("report", "session", "--claude-dir", str(corpus), env=env)
    assert table.returncode == 0, table.stderr
    assert "No price known for claude-haiku-5-5, claude-sonnet-5-5" in table.stdout
    assert "Claude Code itself recorded: claude-haiku-5-5 $0.0007, claude-sonnet-5-5 $0.0251" in (
        " ".join(table.stdout.split())
    )

    doctor = ccsync("doctor", "--claude-dir", str(corpus), env=env)
    assert "ok  prices: yours, " in doctor.stdout
    assert (
        "fix no price for claude-haiku-5-5 (1 entries, Claude Code recorded $0.0007), "
        "claude-sonnet-5-5 (1 entries, Claude Code recorded $0.0251)"
    ) in doctor.stdout


def test_doctor_says_which_table_and_how_old(tmp_path: Path, env: dict[str, str]) -> None:
    corpus = real_corpus(tmp_path)
    done = ccsync("doctor", "--claude-dir", str(corpus), env=env)
    table = default_prices()
    assert f"ok  prices: packaged, built {table.built}, " in done.stdout
    assert f"days old, {len(table)} models" in done.stdout
    assert f"ok  prices from {table.source}" in done.stdout
    assert "ok  every model in your transcripts has a price" in done.stdout


async def test_the_server_prices_with_the_table_in_its_data_dir(
    request: pytest.FixtureRequest, tmp_path: Path, litellm_file: Path
) -> None:
    from ccsync.prices import update_prices
    from fixtures.payloads import now_entry
    from fixtures.server import backend_server

    update_prices(str(litellm_file), tmp_path / "data")
    now = int(time.time() * 1000)
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):
        entries = [
            now_entry(now, 1, model="claude-lark-6", tokens=1000),
            now_entry(now, 2, model="claude-unreleased-9", tokens=1000),
        ]
        pushed = await http.post("/api/usage/laptop", json={"entries": entries})
        assert pushed.status_code == 200, pushed.text
        daily = (await http.get("/api/reports/daily")).json()
        window = (await http.get("/api/window")).json()
    assert daily["totals"]["unpricedModels"] == ["claude-unreleased-9"]
    assert daily["totals"]["totalCost"] == pytest.approx(1000 * 2e-6 + 500 * 8e-6)
    assert window["unpricedModels"] == ["claude-unreleased-9"]
    assert window["costUSD"] == pytest.approx(1000 * 2e-6 + 500 * 8e-6)


def test_a_table_older_than_the_packaged_one_gives_way(
    tmp_path: Path, env: dict[str, str], litellm_file: Path
) -> None:
    """After an upgrade of ccsync, a table updated before it is older than the one the
    new version ships: the packaged one is used until the next update."""
    assert ccsync("prices", "update", "--from", str(litellm_file), env=env).returncode == 0
    table_path = Path(env["CCSYNC_DATA_DIR"]) / "prices.json"
    written = json.loads(table_path.read_text())
    written["built"] = "2000-01-01"
    table_path.write_text(json.dumps(written))
    corpus = lark_corpus(tmp_path / "claude")
    assert report("daily", corpus, env)["totals"]["unpricedModels"] == ["claude-lark-6"]
    doctor = ccsync("doctor", "--claude-dir", str(corpus), env=env)
    assert f"ok  prices: packaged (newer than yours, {table_path}), built" in doctor.stdout
