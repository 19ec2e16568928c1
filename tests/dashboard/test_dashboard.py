"""The dashboard in a real browser (headless Chromium driven by Playwright) against a real
server: what it shows equals the API, it updates live, and it asks for a token off local mode."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from fixtures.doubles import Doubles
from fixtures.payloads import now_entry
from fixtures.server import RunningServer, backend_server

pytestmark = pytest.mark.timeout(120)

# The whole suite shares two cores: an assertion on the page may wait longer than the
# default 5 s before it fails (a push still has to show within its own bound where tested).
expect.set_options(timeout=20_000)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CCSYNC_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (CI installs it: .ci/run)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def local_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RunningServer]:
    async with backend_server(request, "memory+sqlite", tmp_path) as running:
        yield running


async def _push(
    http: httpx.AsyncClient, device_id: str, *entries: dict[str, object], **extra: object
) -> None:
    response = await http.post(f"/api/usage/{device_id}", json={"entries": list(entries), **extra})
    assert response.status_code == 200, response.text


async def _open(browser: Browser, url: str) -> Page:
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    await page.goto(url)
    page.problems = problems  # type: ignore[attr-defined]
    return page


async def test_the_board_shows_the_api_and_follows_it_live(
    browser: Browser, local_server: RunningServer
) -> None:
    now = int(time.time() * 1000)
    async with local_server.client() as http:
        await _push(http, "laptop", now_entry(now, 1, minutes_ago=40, tokens=100_000))
        await _push(
            http,
            "desk",
            now_entry(now, 2, minutes_ago=20, tokens=50_000, session="s2"),
            device={"name": "<img src=x onerror=alert(1)>"},
        )
        job = (
            await http.post(
                "/api/cron",
                json={
                    "name": "blocks",
                    "schedule": "0 4 * * *",
                    "command": "ccusage blocks --json",
                },
            )
        ).json()["job"]
        window = (await http.get("/api/window")).json()

        page = await _open(browser, local_server.url + "/dashboard")
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#window-tokens")).to_have_text(_compact(window["tokens"]))
        await expect(page.locator("#device-rows tr[data-device]")).to_have_count(2)
        # A device's name is text, never markup.
        assert await page.locator("#device-rows img").count() == 0
        await expect(page.locator("#device-rows")).to_contain_text("<img src=x onerror=alert(1)>")
        await expect(page.locator("#daily-chart g[data-date] rect")).not_to_have_count(0)
        await expect(page.locator("#blocks-chart rect[data-block]")).to_have_count(1)
        await expect(page.locator(f"#job-rows tr[data-job='{job['id']}']")).to_contain_text(
            "0 4 * * *"
        )
        # The window's start, then a point per 5-minute step with activity.
        points = str(1 + len(window["timeline"]))
        await expect(page.locator("#live-chart polyline")).to_have_attribute("data-points", points)

        # A push reaches the open page over the WebSocket: no reload.
        await _push(http, "laptop", now_entry(now, 3, minutes_ago=1, tokens=400_000))
        after = (await http.get("/api/window")).json()
        await expect(page.locator("#window-tokens")).to_have_text(_compact(after["tokens"]))
        points = str(1 + len(after["timeline"]))
        await expect(page.locator("#live-chart polyline")).to_have_attribute("data-points", points)
        assert after["timeline"][-1][1] == after["tokens"]

        # Running a job from the board records a run, and the row shows how it went
        # (no ccusage on this PATH: the run fails and the job is marked).
        row = page.locator(f"#job-rows tr[data-job='{job['id']}']")
        await expect(row.locator("td").nth(4)).to_have_text("never")
        await row.locator("button").click()
        await expect(row.locator("td").nth(5)).to_have_text("error")
        await expect(row.locator("td").nth(4)).to_have_text("just now")
        # Devices and reports follow pushes too (after the burst settles).
        laptop = page.locator("#device-rows tr[data-device='laptop'] td").nth(3)
        await expect(laptop).to_contain_text(_compact(150_000 + 600_000))
        await expect(page.locator("#daily-total")).to_contain_text(_compact(after["tokens"]))
        runs = (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"]
        assert [r["trigger"] for r in runs] == ["manual"]
    assert page.problems == []  # type: ignore[attr-defined]
    await page.screenshot(
        path=str(Path(local_server.settings.data_dir) / "dashboard.png"), full_page=True
    )


async def test_tokens_off_local_mode(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    admin = "ccs_admin-dashboard-test"
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=admin) as running:
        async with running.client(admin) as http:
            await _push(http, "laptop", now_entry(int(time.time() * 1000), 1))
        async with running.client() as plain:
            anonymous = await plain.get("/dashboard")
            with_token = await plain.get("/dashboard", params={"token": admin})
        assert anonymous.status_code == 401 and "<title>ccsync</title>" in anonymous.text
        assert "frame-ancestors 'none'" in anonymous.headers["content-security-policy"]
        assert with_token.status_code == 200

        page = await _open(browser, running.url + "/")
        await expect(page.locator("#login")).to_be_visible()
        await page.locator("#token-input").fill("wrong")
        await page.locator("#login-form button").click()
        await expect(page.locator("#login-error")).to_have_text("That token was not accepted.")
        await page.locator("#token-input").fill(admin)
        await page.locator("#login-form button").click()
        await expect(page.locator("#board")).to_be_visible()
        await expect(page.locator("#device-rows tr[data-device='laptop']")).to_have_count(1)
        await expect(page.locator("#connection")).to_have_text("live")

        # A token in the address is taken and removed from it (history, referrers).
        second = await _open(browser, f"{running.url}/dashboard?token={admin}")
        await expect(second.locator("#board")).to_be_visible()
        assert "token" not in second.url


async def test_a_warmup_row_says_whether_it_started_a_window(
    browser: Browser,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doubles.install(monkeypatch)  # the server's jobs find the claude double
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):
        job = (
            await http.post(
                "/api/cron",
                json={"name": "mornings", "kind": "warmup", "startAt": ["06:00"]},
            )
        ).json()["job"]
        run = (await http.post(f"/api/cron/{job['id']}/execute")).json()["run"]
        resets = run["windowStarted"]["resetsAt"]
        page = await _open(browser, running.url + "/dashboard")
        note = page.locator(f"#job-rows tr[data-job='{job['id']}'] [data-window-started]")
        await expect(note).to_have_text("window started (official)")
        await expect(note).to_have_attribute("data-window-started", "true")
        shown = await page.evaluate(
            "(iso) => new Date(iso).toLocaleString([], {dateStyle: 'short', timeStyle: 'short'})",
            resets,
        )
        await expect(note).to_have_attribute("title", f"resets {shown}")
    assert page.problems == []  # type: ignore[attr-defined]


async def test_costs_without_every_price_are_marked_partial(
    browser: Browser, local_server: RunningServer
) -> None:
    now = int(time.time() * 1000)
    async with local_server.client() as http:
        await _push(http, "laptop", now_entry(now, 1, minutes_ago=30, tokens=10_000))
        page = await _open(browser, local_server.url + "/dashboard")
        await expect(page.locator("#connection")).to_have_text("live")
        window = (await http.get("/api/window")).json()
        whole = f"${window['costUSD']:.2f}"
        await expect(page.locator("#window-cost")).to_have_text(whole)
        await expect(page.locator("#today")).not_to_contain_text("≥")

        await _push(http, "laptop", now_entry(now, 2, minutes_ago=5, model="claude-unreleased-9"))
        after = (await http.get("/api/window")).json()
        assert after["unpricedModels"] == ["claude-unreleased-9"]
        partial = f"≥ ${after['costUSD']:.2f} (1 model unpriced)"
        await expect(page.locator("#window-cost")).to_have_text(partial)
        await expect(page.locator("#window-cost")).to_have_attribute(
            "title", re.compile("claude-unreleased-9")
        )
        await expect(page.locator("#today")).to_contain_text("(1 model unpriced)")
        await expect(page.locator("#daily-total")).to_contain_text("(1 model unpriced)")
    assert page.problems == []  # type: ignore[attr-defined]


def _compact(n: int) -> str:
    """The page's own number format (``compact`` in index.html)."""
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return str(n)


async def test_every_window_is_shown_binding_first_and_follows_limits_updates(
    browser: Browser, local_server: RunningServer
) -> None:
    now = time.time()
    reading = {
        "five_hour": {"used_percentage": 42, "resets_at": now + 2 * 3600},
        "seven_day": {"used_percentage": 63, "resets_at": now + 3 * 86400},
        "windows": {"seven_day_opus": {"used_percentage": 20, "resets_at": now + 3 * 86400}},
        "source": "statusline",
    }
    async with local_server.client() as http:
        assert (await http.post("/api/limits/laptop", json=reading)).status_code == 200
        page = await _open(browser, local_server.url + "/dashboard")
        await expect(page.locator("#connection")).to_have_text("live")
        rows = page.locator("#limit-rows tr")
        await expect(rows).to_have_count(3)
        await expect(rows.first).to_have_attribute("data-window", "seven_day")  # binding first
        await expect(rows.first).to_contain_text("7-day ◆")
        await expect(rows.first.locator("td").nth(1)).to_have_text("63%")
        await expect(rows.first.locator("td").nth(2)).to_contain_text(
            "official: status line on laptop"
        )
        await expect(page.locator("#limits-headline")).to_have_text("binding: 7-day")
        # A newer reading reaches the open page (limits_update): the 5-hour window binds.
        reading["five_hour"]["used_percentage"] = 91
        assert (await http.post("/api/limits/desk", json=reading)).status_code == 200
        await expect(rows.first).to_have_attribute("data-window", "five_hour")
        await expect(rows.first.locator("td").nth(1)).to_have_text("91%")
        await expect(page.locator("#limits-empty")).to_be_hidden()
    assert page.problems == []  # type: ignore[attr-defined]
