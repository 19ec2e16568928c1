"""Every parity case through ``ccsync report … --json``, compared by ``compare.py``'s rules.

The cases (``cases/``) are several devices of one account and ccusage 20.0.24's reports on
all of them together, copied unchanged from the parity set ccsync is held to; ``SHA256SUMS``
pins the copy.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.corpora import PARITY, ParityCase, case_names
from parity.compare import same

SHARED = PARITY.parents[2] / "shared" / "parity"
EXTENDED = {"prices-ccusage-20.0.24.json"}
"""Copies this checkout extends: every figure of the shared file is in ours, and more."""


def run_report(report: str, options: list[str], devices: list[Path]) -> dict[str, object]:
    argv = [sys.executable, "-m", "ccsync", "report", report, "--json", *options]
    for device in devices:
        argv += ["--claude-dir", str(device)]
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, env={"TZ": "UTC", "PATH": ""}
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def diffs(expected: dict[str, object], actual: dict[str, object]) -> list[str]:
    found: list[str] = []
    same(expected, actual, "$", found)
    return found


def checks() -> list[tuple[str, int]]:
    pairs = []
    for name in case_names():
        manifest = json.loads((PARITY / "cases" / name / "manifest.json").read_text())
        pairs += [(name, index) for index in range(len(manifest["cases"]))]
    return pairs


def check_id(value: object) -> str:
    return str(value)


@pytest.mark.parametrize(("case", "index"), checks())
def test_report_equals_ccusage(parity_cases: dict[str, ParityCase], case: str, index: int) -> None:
    parity = parity_cases[case]
    check = parity.checks[index]
    options = check["options"]
    assert isinstance(options, list)
    actual = run_report(str(check["report"]), options, parity.devices)
    assert diffs(parity.expected(check), actual) == []


@pytest.mark.parametrize("case", case_names())
def test_device_order_does_not_matter(parity_cases: dict[str, ParityCase], case: str) -> None:
    devices = parity_cases[case].devices
    forward = run_report("session", ["--timezone", "UTC"], devices)
    backward = run_report("session", ["--timezone", "UTC"], devices[::-1])
    assert forward == backward


@pytest.mark.parametrize("case", case_names())
def test_all_reports_of_a_case_share_one_total(
    parity_cases: dict[str, ParityCase], case: str
) -> None:
    parity = parity_cases[case]
    totals = [
        run_report(report, ["--timezone", "UTC"], parity.devices)["totals"]
        for report in ("daily", "weekly", "monthly", "session")
    ]
    blocks = run_report("blocks", ["--timezone", "UTC"], parity.devices)["blocks"]
    assert isinstance(blocks, list)
    token_keys = (
        "inputTokens",
        "outputTokens",
        "cacheCreationTokens",
        "cacheReadTokens",
        "totalTokens",
    )
    first = totals[0]
    assert isinstance(first, dict)
    for other in totals[1:]:
        assert isinstance(other, dict)
        assert {k: other[k] for k in token_keys} == {k: first[k] for k in token_keys}
        assert other["totalCost"] == pytest.approx(first["totalCost"], abs=1e-6)
    assert sum(b["totalTokens"] for b in blocks) == first["totalTokens"]
    assert sum(b["costUSD"] for b in blocks) == pytest.approx(first["totalCost"], abs=1e-6)
    # The expected files agree with each other too (ccusage's daily loader matched here).
    for check in parity.checks:
        expected = parity.expected(check)
        if "totals" in expected and check["options"] == ["--timezone", "UTC"]:
            assert expected["totals"]["totalTokens"] == first["totalTokens"]  # type: ignore[index]


def test_the_copied_cases_are_pinned() -> None:
    lines = (PARITY / "SHA256SUMS").read_text().splitlines()
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert listed, "SHA256SUMS lists the copied parity files"
    for name, digest in listed.items():
        assert hashlib.sha256((PARITY / name).read_bytes()).hexdigest() == digest, name
    if SHARED.is_dir():  # next to the shared contract: the copy must still equal it
        for name, digest in listed.items():
            shared_name = name.removeprefix("cases/")
            if name in EXTENDED:
                continue
            assert hashlib.sha256((SHARED / shared_name).read_bytes()).hexdigest() == digest, (
                shared_name
            )


def test_the_measured_prices_extend_the_shared_ones() -> None:
    """The price measurements hold every figure of the shared contract's copy, and more
    (``measure_ccusage_prices.py`` measures every model ccusage prices)."""
    if not SHARED.is_dir():
        pytest.skip("the shared contract is not next to this checkout")
    for name in EXTENDED:
        shared = json.loads((SHARED / name).read_text())["models"]
        ours = json.loads((PARITY / name).read_text())["models"]
        for model, figures in shared.items():
            for key, value in figures.items():
                assert ours[model][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (model, key)
