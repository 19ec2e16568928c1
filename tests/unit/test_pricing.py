"""Prices and costs: every model checked against what ccusage 20.0.24 charges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccsync.usage.entry import UsageEntry
from ccsync.usage.pricing import (
    CostMode,
    Price,
    PriceTable,
    default_prices,
    price_entry,
    tokens_cost,
)

MEASURED = json.loads(
    (Path(__file__).parents[1] / "parity" / "prices-ccusage-20.0.24.json").read_text()
)["models"]


def entry(
    model: str | None = "claude-sonnet-4-20250514",
    *,
    inp: int = 0,
    out: int = 0,
    cc: int = 0,
    cc_1h: int = 0,
    cr: int = 0,
    fast: bool = False,
    cost: float | None = None,
) -> UsageEntry:
    return UsageEntry(
        0,
        inp,
        out,
        cc + cc_1h,
        cc_1h,
        cr,
        model,
        fast,
        fast,
        "m",
        "r",
        "s",
        cost,
        False,
        None,
        "p",
        "s",
        "p",
        "/x.jsonl",
        0,
    )


def cost(e: UsageEntry, mode: CostMode = CostMode.CALCULATE) -> float:
    return price_entry(e, mode, default_prices())[0]


@pytest.mark.parametrize("model", sorted(MEASURED))
def test_prices_equal_ccusage(model: str) -> None:
    measured = MEASURED[model]
    assert cost(entry(model, inp=1)) == pytest.approx(measured["input"], rel=1e-12, abs=1e-18)
    assert cost(entry(model, out=1)) == pytest.approx(measured["output"], rel=1e-12, abs=1e-18)
    assert cost(entry(model, cc=1)) == pytest.approx(
        measured["cache_write_5m"], rel=1e-12, abs=1e-18
    )
    assert cost(entry(model, cc_1h=1)) == pytest.approx(
        measured["cache_write_1h"], rel=1e-12, abs=1e-18
    )
    assert cost(entry(model, cr=1)) == pytest.approx(measured["cache_read"], rel=1e-12, abs=1e-18)
    assert cost(entry(model, inp=300_000)) == pytest.approx(
        measured["input_300k_total"], rel=1e-12, abs=1e-18
    )
    assert cost(entry(model, inp=300_000, out=100_000)) == pytest.approx(
        measured["output_with_300k_input_total"], rel=1e-12, abs=1e-18
    )


@pytest.mark.parametrize(
    ("model", "per_mtok"),
    [
        # research/ccusage.md §4.4: what ccusage 20.0.24 charges for these names (input, output).
        ("claude-sonnet-4-20250514", (3, 15)),
        ("claude-sonnet-4-5-20250929-thinking", (3, 15)),
        ("anthropic/claude-sonnet-4-5", (3, 15)),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", (3, 15)),
        ("claude-sonnet-4.5", (3, 15)),
        ("claude-opus-4-1", (15, 75)),
        ("claude-3-opus-20240229", (15, 75)),
        ("claude-opus-4-5-20251101", (5, 25)),
        ("claude-opus-4-6-20260101", (5, 25)),
        ("claude-opus-4-6[1m]", (5, 25)),
        ("claude-opus-4-8", (5, 25)),
        ("claude-haiku-4-5@20251001", (1, 5)),
        ("claude-3-5-haiku-20241022", (0.8, 4)),
        ("claude-3-5-sonnet", (3, 15)),
        ("claude-fable-5", (10, 50)),
        ("claude-opus-4-60", None),
        ("claude-sonnet-4-7", None),
        ("CLAUDE-SONNET-4-20250514", None),
        ("acme-llm-1", None),
        ("<synthetic>", None),
    ],
)
def test_model_names_resolve_like_ccusage(model: str, per_mtok: tuple[float, float] | None) -> None:
    price = default_prices().find(model)
    if per_mtok is None:
        assert price is None
    else:
        assert price is not None
        assert (price.input * 1e6, price.output * 1e6) == pytest.approx(per_mtok)


def test_sonnet_4_5_has_a_long_context_tier_per_token_type() -> None:
    # 150k input and 150k cache read stay at base price: each type is tiered on its own.
    assert cost(entry("claude-sonnet-4-5", inp=150_000, cr=150_000)) == pytest.approx(0.45 + 0.045)
    assert cost(entry("claude-sonnet-4-5", inp=250_000)) == pytest.approx(0.6 + 0.3)
    assert cost(entry("claude-sonnet-4-6", inp=250_000)) == pytest.approx(0.75)


def test_fast_mode_multiplies() -> None:
    assert cost(entry("claude-opus-4-6", out=1000, fast=True)) == pytest.approx(6 * 0.025)
    assert cost(entry("claude-sonnet-4-20250514", out=1000, fast=True)) == pytest.approx(0.015)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(CostMode.AUTO, 0.5), (CostMode.CALCULATE, 0.015), (CostMode.DISPLAY, 0.5)],
)
def test_cost_modes_with_cost_usd(mode: CostMode, expected: float) -> None:
    assert cost(entry(out=1000, cost=0.5), mode) == pytest.approx(expected)


def test_display_mode_without_cost_usd_is_zero() -> None:
    assert cost(entry(out=1000), CostMode.DISPLAY) == 0.0


def test_unknown_models_cost_nothing_and_are_listed() -> None:
    table = default_prices()
    assert price_entry(entry("acme-llm-1", out=5), CostMode.AUTO, table) == (0.0, "acme-llm-1")
    assert price_entry(entry("acme-llm-1", out=5, cost=1.0), CostMode.AUTO, table) == (1.0, None)
    assert price_entry(entry("acme-llm-1"), CostMode.AUTO, table) == (0.0, None)  # no tokens
    assert price_entry(entry("<synthetic>", out=5), CostMode.AUTO, table) == (0.0, None)
    assert price_entry(entry(None, out=5), CostMode.AUTO, table) == (0.0, None)


def test_missing_cache_prices_default_like_litellm() -> None:
    table = PriceTable(
        {"x-1": Price(input=1e-6, output=2e-6, cache_write=1.25e-6, cache_read=1e-7)}
    )
    price = table.find("x-1")
    assert price is not None
    assert tokens_cost(entry("x-1", cc=1_000_000), price) == pytest.approx(1.25)


def test_every_shipped_price_is_sane() -> None:
    table = default_prices()
    assert len(table) > 20
    for model in MEASURED:
        if MEASURED[model]["input"] > 0:
            assert model in table or table.match(model) is not None
