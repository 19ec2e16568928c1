"""Every parity case through the server's ``/api/reports``: scanned by the server itself,
and pushed device by device (as its own device, in any order)."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from fixtures.corpora import ParityCase, case_names
from fixtures.payloads import device_entries, entry_push
from fixtures.server import BACKENDS, backend_server
from parity.compare import same

QUERY = {
    "--timezone": "timezone",
    "--since": "since",
    "--until": "until",
    "--start-of-week": "start_of_week",
}


def params(options: list[str]) -> dict[str, str]:
    return {QUERY[options[i]]: options[i + 1] for i in range(0, len(options), 2)}


async def assert_parity(http: httpx.AsyncClient, case: ParityCase) -> None:
    for check in case.checks:
        options = check["options"]
        assert isinstance(options, list)
        response = await http.get(f"/api/reports/{check['report']}", params=params(options))
        assert response.status_code == 200, response.text
        found: list[str] = []
        same(case.expected(check), response.json(), "$", found)
        assert found == [], (check["expected"], found[:5])


@pytest.mark.parametrize("case", case_names())
async def test_server_scanning_the_devices_itself(
    case: str, parity_cases: dict[str, ParityCase], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    parity = parity_cases[case]
    dirs = tuple(str(d) for d in parity.devices)
    scanning = backend_server(
        request, "memory+sqlite", tmp_path, local_agent=True, claude_dirs=dirs
    )
    async with scanning as running, running.client() as http:
        assert (await http.post("/api/usage/ccusage")).json()["success"] is True
        await assert_parity(http, parity)


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
@pytest.mark.parametrize("backends", BACKENDS)
@pytest.mark.parametrize("case", case_names())
async def test_devices_pushing_in_any_order(
    case: str,
    backends: str,
    order: str,
    parity_cases: dict[str, ParityCase],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    parity = parity_cases[case]
    batches = []
    for device in parity.devices:
        entries = device_entries(device)
        batches += [
            (device.name, entries[start : start + 97]) for start in range(0, len(entries), 97)
        ]
    rnd = random.Random(len(batches))
    ordered = batches[::-1] if order == "reversed" else rnd.sample(batches, len(batches))
    async with backend_server(request, backends, tmp_path) as running, running.client() as http:
        for device_name, entries in ordered:
            ack = (await http.post(f"/api/usage/{device_name}", json=entry_push(entries))).json()
            assert ack["rejected"] == 0
        await assert_parity(http, parity)
        again = [
            (await http.post(f"/api/usage/{name}", json=entry_push(e))).json()["accepted"]
            for name, e in batches
        ]
        assert sum(again) == 0  # pushing everything again changes nothing
        await assert_parity(http, parity)
