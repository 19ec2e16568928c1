"""Web pages are not clients (hostile review findings A14, A15, A16, A1, A17): Host, Origin,
content type, checked on the real server over real sockets, in local mode as in token mode."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from fixtures.server import RunningServer, backend_server

EVIL = "http://evil.example"
ADMIN = "ccs_admin-token-for-web-tests"
JOB = {
    "name": "pwn",
    "schedule": "* * * * *",
    "command": "claude -p hi --model haiku",
    "enabled": True,
}


def _host(server: RunningServer) -> str:
    return server.url.removeprefix("http://")


async def test_dns_rebinding_gets_421(server: RunningServer) -> None:
    """A15: a page whose name resolves to 127.0.0.1 sends its own name as Host."""
    rebound = {"Host": f"evil.example:{server.settings.port}"}
    async with server.client() as http:
        for method, path, body in (
            ("GET", "/api/window", None),
            ("GET", "/api/metrics", None),
            ("POST", "/api/tokens", {"kind": "admin"}),
            ("POST", "/api/cron", JOB),
            ("GET", "/", None),
        ):
            answer = await http.request(method, path, json=body, headers=rebound)
            assert answer.status_code == 421, (method, path, answer.text)
            assert "--allowed-host" in answer.json()["error"]
        assert (await http.get("/api/cron")).json()["jobs"] == []  # nothing was made
        for name in (_host(server), f"localhost:{server.settings.port}", "127.0.0.1"):
            assert (await http.get("/api/window", headers={"Host": name})).status_code == 200
    rebound_url = f"ws://evil.example:{server.settings.port}/ws"  # resolved to 127.0.0.1:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(rebound_url, host="127.0.0.1", port=server.settings.port):
            pass
    assert refused.value.response.status_code == 403


async def test_allowed_hosts_are_served(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A15: the operator names the hosts a proxy or LAN name reaches the server by."""
    async with (
        backend_server(
            request, "memory+sqlite", tmp_path, allowed_hosts=("box.lan", "*.example.org")
        ) as running,
        running.client() as http,
    ):
        for name, status in (
            ("box.lan", 200),
            ("dash.example.org:8443", 200),
            ("example.org", 421),
            ("evil.example", 421),
        ):
            assert (await http.get("/api/window", headers={"Host": name})).status_code == status
        # A page served under an allowed name may change things; the names it came from count.
        made = await http.post(
            "/api/usage/laptop", json={"tokens": 1}, headers={"Origin": "https://box.lan"}
        )
        assert made.status_code == 200


async def test_cross_site_requests_are_refused(server: RunningServer) -> None:
    """A14: simple requests (text/plain, or no body) from another site change nothing."""
    async with server.client() as http:
        job = (await http.post("/api/cron", json={**JOB, "enabled": False})).json()["job"]
        plain = {"Content-Type": "text/plain", "Origin": EVIL}
        for path, body in (
            ("/api/usage/victim", '{"tokens":123456789}'),
            ("/api/limits/victim", '{"five_hour":{"used_percentage":100,"resets_at":4102444800}}'),
            ("/api/metrics/x", '{"a":1}'),
        ):
            answer = await http.post(path, content=body, headers=plain)
            assert answer.status_code == 403, (path, answer.text)
            # Without an Origin (a form posted from a file, an old browser): still refused.
            answer = await http.post(path, content=body, headers={"Content-Type": "text/plain"})
            assert answer.status_code == 415, (path, answer.text)
            assert "application/json" in answer.json()["error"]
        for action in ("enable", "execute", "disable"):
            answer = await http.post(f"/api/cron/{job['id']}/{action}", headers={"Origin": EVIL})
            assert answer.status_code == 403, action
        assert (
            await http.delete(f"/api/cron/{job['id']}", headers={"Origin": "null"})
        ).status_code == 403
        after = (await http.get(f"/api/cron/{job['id']}")).json()["job"]
        assert after["enabled"] is False
        assert (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"] == []
        assert (await http.get("/api/usage/victim")).status_code == 404
        # The page's own origin (the dashboard) may; and programs send no Origin at all.
        own = {"Origin": server.url}
        assert (
            await http.post("/api/usage/mine", json={"tokens": 1}, headers=own)
        ).status_code == 200
        assert (await http.post("/api/usage/cli", json={"tokens": 1})).status_code == 200
        # Reading stays open to any origin's request; the browser keeps the answer from the page.
        read = await http.get("/api/window", headers={"Origin": EVIL})
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
        assert read.headers["x-content-type-options"] == "nosniff"


async def test_cross_site_websockets_are_refused(server: RunningServer) -> None:
    """A16: a page on another site opening ``ws://127.0.0.1:PORT/ws`` learns nothing."""
    for origin in (EVIL, "null", "http://localhost:1"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws_url, origin=origin):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
    async with connect(server.ws_url, origin=server.url) as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv())["type"] == "initial-data"


async def test_docs_need_a_token_off_local_mode(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A1: the API's description is not public in token mode (only /health is)."""
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=ADMIN) as running:
        async with running.client() as anonymous:
            for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
                assert (await anonymous.get(path)).status_code in (401, 404), path
            assert (await anonymous.get("/openapi.json")).status_code == 401
            assert (await anonymous.get("/health")).status_code == 200
            page = await anonymous.get("/docs", params={"token": ADMIN})
            assert page.status_code == 200 and "/openapi.json?token=" in page.text
            schema = await anonymous.get("/openapi.json", params={"token": ADMIN})
            assert schema.status_code == 200 and "/api/window" in schema.json()["paths"]
        async with running.client(ADMIN) as admin:
            assert (await admin.get("/openapi.json")).status_code == 200
            assert (await admin.get("/redoc")).status_code == 200


async def test_the_dashboard_still_works_same_origin(server: RunningServer) -> None:
    """The page's own requests carry its origin and JSON: nothing it does is refused."""
    async with server.client() as http:
        own = {"Origin": server.url}
        page = await http.get("/", headers=own)
        assert page.status_code == 200
        job = (await http.post("/api/cron", json=JOB, headers=own)).json()["job"]
        ran = await http.post(f"/api/cron/{job['id']}/disable", headers=own)
        assert ran.status_code == 200


def test_host_policy_parses_hosts() -> None:
    from ccsync.api.guard import HostPolicy, same_origin, split_host

    policy = HostPolicy.of(["Box.LAN", "*.example.org"])
    assert all(
        policy.allows(n)
        for n in (
            "localhost",
            "a.localhost",
            "127.0.0.1",
            "::1",
            "10.0.0.5",
            "box.lan",
            "x.example.org",
        )
    )
    assert not any(
        policy.allows(n) for n in ("evil.example", "example.org", "localhost.evil.example", "")
    )
    assert split_host("[::1]:3000") == ("::1", 3000) and split_host("a:b:c") is None
    assert split_host("h:99999") is None and split_host("h") == ("h", None)
    assert same_origin("http://127.0.0.1:3000", "127.0.0.1:3000")
    assert same_origin("https://box.lan", "box.lan") and same_origin("http://[::1]:80", "[::1]")
    assert not same_origin("http://127.0.0.1:3001", "127.0.0.1:3000")
    assert not same_origin("null", "127.0.0.1:3000") and not same_origin("http://x:bad", "x")


async def test_httpx_against_a_wrong_host_is_a_clear_error(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers={"Host": "attacker.test"}) as http:
        answer = await http.post("/api/usage/x", json={"tokens": 1})
    assert answer.status_code == 421 and answer.headers["content-type"] == "application/json"


async def test_the_page_runs_only_its_own_files(server: RunningServer) -> None:
    """The dashboard's script and style are files of the package; the policy forbids inline
    code, so markup injected into the page could not run."""
    async with server.client() as http:
        page = await http.get("/")
        policy = page.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy
        assert "<script>" not in page.text and "<style>" not in page.text
        for path, kind in (("/static/app.js", "javascript"), ("/static/app.css", "text/css")):
            asset = await http.get(path)
            assert asset.status_code == 200 and kind in asset.headers["content-type"]
        assert (await http.get("/static/../app.py")).status_code == 404
