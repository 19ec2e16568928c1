"""The golden corpus and ccusage 20.0.24's reports on it.

The corpus holds every awkward case at once: exact, cross-project and cross-device
duplicates, a sidechain replay, requestless duplicates, id-less lines, a >200k request,
1-hour cache writes, fast mode, an unknown model, ``<synthetic>``, an API error with a
reset time, malformed and invalid lines, and gaps longer than a block.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.loader import scan
from parity.compare import same

EXPECTED = Path(__file__).parent / "expected"
NOW = 1_893_456_000_000  # 2030: no block is active


def report(corpus: list[Path], kind: ReportKind, **options: object) -> dict[str, object]:
    entries = scan(corpus, workers=1).entries
    return build_report(kind, entries, ReportOptions(timezone="UTC", **options), NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [ReportKind.MONTHLY, ReportKind.SESSION, ReportKind.BLOCKS])
def test_report_equals_ccusage(golden_corpus: list[Path], kind: ReportKind) -> None:
    expected = json.loads((EXPECTED / f"{kind.value}.json").read_text())
    found: list[str] = []
    same(expected, report(golden_corpus, kind), "$", found)
    assert found == []


def test_weekly_is_one_row_in_either_week_start(golden_corpus: list[Path]) -> None:
    monthly = json.loads((EXPECTED / "monthly.json").read_text())["totals"]
    sunday = report(golden_corpus, ReportKind.WEEKLY)
    assert [row["week"] for row in sunday["weekly"]] == ["2025-08-31"]  # type: ignore[union-attr]
    assert sunday["totals"]["totalTokens"] == monthly["totalTokens"]  # type: ignore[index]


def test_daily_agrees_with_monthly_not_with_ccusages_second_loader(
    golden_corpus: list[Path],
) -> None:
    # ccusage's own `claude daily` totals 438,672 tokens here (another duplicate rule set);
    # ccsync's daily uses the same entries as every other report.
    daily = report(golden_corpus, ReportKind.DAILY)["totals"]
    assert daily["totalTokens"] == 530_395  # type: ignore[index]
