"""Prices and costs: every model checked against what ccusage 20.0.24 charges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccsync.usage.entry import UsageEntry
from ccsync.usage.price_source import (
    build_table,
    litellm_price,
    pinned_from_measurements,
    pinned_from_table,
)
from ccsync.usage.pricing import (
    CostMode,
    Price,
    PriceTable,
    PriceTableError,
    Tier,
    default_prices,
    price_entry,
    tokens_cost,
)
from factories import entry

MEASUREMENTS = json.loads(
    (Path(__file__).parents[1] / "parity" / "prices-ccusage-20.0.24.json").read_text()
)
MEASURED: dict[str, dict[str, Any]] = MEASUREMENTS["models"]
PRICED = sorted(name for name, figures in MEASURED.items() if not figures.get("missingPricing"))
UNPRICED = sorted(name for name, figures in MEASURED.items() if figures.get("missingPricing"))
PROBES: dict[str, dict[str, Any]] = MEASUREMENTS["probes"]


def cost(e: UsageEntry, mode: CostMode = CostMode.CALCULATE) -> float:
    return price_entry(e, mode, default_prices())[0]


def probe_entry(model: str, probe: dict[str, Any]) -> UsageEntry:
    return entry(
        model=model,
        inp=probe.get("input", 0),
        out=probe.get("output", 0),
        cc=probe.get("cc5m", 0),
        cc_1h=probe.get("cc1h", 0),
        cr=probe.get("cr", 0),
        fast=probe.get("fast", False),
    )


@pytest.mark.parametrize("model", PRICED)
def test_prices_equal_ccusage(model: str) -> None:
    """Every probe ccusage 20.0.24 priced for this name (one token of each type, requests
    above 200k tokens of each type and of the prompt, fast mode) costs the same here."""
    measured = MEASURED[model]
    for name, probe in PROBES.items():
        ours = cost(probe_entry(model, probe))
        assert ours == pytest.approx(measured[name], rel=1e-12, abs=1e-15), name
        assert abs(ours - measured[name]) <= 1e-6


@pytest.mark.parametrize("model", UNPRICED)
def test_names_ccusage_does_not_price(model: str) -> None:
    """ccusage prices none of these: here they are unpriced too, unless LiteLLM's newer
    list prices them (the table records those as not ccusage's)."""
    table = default_prices()
    e = probe_entry(model, {"output": 1000})
    found = table.find(model)
    if found is None:
        assert price_entry(e, CostMode.AUTO, table) == (
            0.0,
            None if model == "<synthetic>" else model,
        )
    else:
        assert model not in table.ccusage
        assert table.match(model) not in table.ccusage
        assert "5-5" in model  # the only Claude models newer than ccusage's table


@pytest.mark.parametrize(
    ("model", "per_mtok"),
    [
        # What ccusage 20.0.24 charges for these names (input, output), per million tokens.
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
    below = entry(model="claude-sonnet-4-5", inp=150_000, cr=150_000)
    assert cost(below) == pytest.approx(0.45 + 0.045)
    assert cost(entry(model="claude-sonnet-4-5", inp=250_000)) == pytest.approx(0.6 + 0.3)
    assert cost(entry(model="claude-sonnet-4-6", inp=250_000)) == pytest.approx(0.75)


def test_fast_mode_multiplies() -> None:
    assert cost(entry(model="claude-opus-4-6", out=1000, fast=True)) == pytest.approx(6 * 0.025)
    sonnet = entry(model="claude-sonnet-4-20250514", out=1000, fast=True)
    assert cost(sonnet) == pytest.approx(0.015)


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
    unknown = entry(model="acme-llm-1", out=5)
    assert price_entry(unknown, CostMode.AUTO, table) == (0.0, "acme-llm-1")
    recorded = entry(model="acme-llm-1", out=5, cost=1.0)
    assert price_entry(recorded, CostMode.AUTO, table) == (1.0, None)
    assert price_entry(entry(model="acme-llm-1"), CostMode.AUTO, table) == (0.0, None)  # no tokens
    assert price_entry(entry(model="<synthetic>", out=5), CostMode.AUTO, table) == (0.0, None)
    assert price_entry(entry(model=None, out=5), CostMode.AUTO, table) == (0.0, None)


def test_a_price_without_tiers_is_tokens_times_rates() -> None:
    price = Price(input=1e-6, output=2e-6, cache_write=1.25e-6, cache_read=1e-7)
    table = PriceTable({"x-1": price})
    found = table.find("x-1")
    assert found is price
    assert tokens_cost(entry(model="x-1", cc=1_000_000), price) == pytest.approx(1.25)
    assert tokens_cost(entry(model="x-1", cc_1h=1_000_000), price) == pytest.approx(2.0)  # 2x input
    assert tokens_cost(entry(model="x-1", inp=10**6, out=10**6), price) == pytest.approx(3.0)


# LiteLLM 1.110.2's published prices (model_prices_and_context_window_backup.json in the
# litellm wheel), USD per token: input, output, 5-minute and 1-hour cache writes, cache read.
PUBLISHED = {
    "claude-opus-5-5": (4e-6, 2e-5, 5e-6, 8e-6, 2e-7),
    "claude-sonnet-5-5": (2e-6, 1e-5, 2.5e-6, 4e-6, 1e-7),
    "claude-haiku-5-5": (1e-7, 5e-7, 1.25e-7, 2e-7, 1e-8),
}
HAIKU_5_5_ABOVE_100K = (5e-7, 2.5e-6, 6.25e-7, 1e-6, 5e-8)


@pytest.mark.parametrize("model", sorted(PUBLISHED))
def test_claude_code_models_cost_what_litellm_publishes(model: str) -> None:
    inp, out, cache_5m, cache_1h, cache_read = PUBLISHED[model]
    assert cost(entry(model=model, inp=1)) == inp
    assert cost(entry(model=model, out=1)) == out
    assert cost(entry(model=model, cc=1)) == cache_5m
    assert cost(entry(model=model, cc_1h=1)) == cache_1h
    assert cost(entry(model=model, cr=1)) == cache_read
    both = entry(model=model, inp=1000, out=100, cc=1000, cc_1h=1000, cr=10_000)
    assert cost(both) == pytest.approx(
        1000 * inp + 100 * out + 1000 * cache_5m + 1000 * cache_1h + 10_000 * cache_read
    )
    assert model not in default_prices().ccusage  # ccusage 20.0.24 prices none of them


@pytest.mark.parametrize(
    ("model", "usage", "claude_code_cost"),
    [
        # The real Claude Code 2.1.332's own costUSD for these tokens (the cost-state lines of
        # tests/fixtures/claude-code-2.1.332/projects/…/00089db4-….jsonl and 9217d85e-….jsonl).
        (
            "claude-haiku-5-5",
            {"inp": 12, "out": 5, "cc": 1000, "cc_1h": 2000, "cr": 20_000},
            0.0007287,
        ),
        (
            "claude-sonnet-5-5",
            {"inp": 24, "out": 10, "cc": 2000, "cc_1h": 4000, "cr": 40_000},
            0.025148,
        ),
    ],
)
def test_claude_code_agrees_with_these_prices(
    model: str, usage: dict[str, int], claude_code_cost: float
) -> None:
    assert cost(entry(model=model, **usage)) == pytest.approx(claude_code_cost, rel=1e-12)


def test_haiku_5_5_tier_is_litellms_whole_prompt_rule() -> None:
    """LiteLLM's ``*_above_100k_tokens``: once input + cache writes + cache reads of one
    request exceed 100,000, every token of it (output too) costs the higher rate."""
    base, above = PUBLISHED["claude-haiku-5-5"], HAIKU_5_5_ABOVE_100K
    model = "claude-haiku-5-5"
    # Exactly 100,000 is not above: base rates.
    assert cost(entry(model=model, inp=100_000, out=1000)) == pytest.approx(
        100_000 * base[0] + 1000 * base[1]
    )
    # 100,001: all of it at the tier's rates, not only the one token above.
    assert cost(entry(model=model, inp=100_001, out=1000)) == pytest.approx(
        100_001 * above[0] + 1000 * above[1]
    )
    # The prompt counts every input type together: 40k + 30k + 20k + 20k > 100k.
    mixed = entry(model=model, inp=40_000, out=10, cc=30_000, cc_1h=20_000, cr=20_000)
    assert cost(mixed) == pytest.approx(
        40_000 * above[0]
        + 10 * above[1]
        + 30_000 * above[2]
        + 20_000 * above[3]
        + 20_000 * above[4]
    )
    # Output is not prompt: 300k output alone stays at the base rate.
    assert cost(entry(model=model, out=300_000)) == pytest.approx(300_000 * base[1])


def test_sonnet_4_keeps_ccusages_per_type_tier() -> None:
    # ccusage's >200k rule: each type on its own, only the tokens above 200k cost more.
    assert cost(entry(model="claude-sonnet-4-20250514", inp=150_000, cr=150_000)) == pytest.approx(
        0.45 + 0.045
    )
    assert cost(entry(model="claude-sonnet-4-20250514", out=300_000)) == pytest.approx(3.0 + 2.25)


def test_a_tier_price_reads_both_rules() -> None:
    price = Price(
        input=1e-6,
        output=1e-5,
        cache_write=1e-6,
        cache_read=1e-7,
        type_tier=Tier(above=200_000, input=2e-6),
        prompt_tiers=(
            Tier(above=300_000, input=3e-6, output=3e-5),
            Tier(above=100_000, output=2e-5),
        ),
    )
    # below every threshold
    assert tokens_cost(entry(model="m", inp=50_000, out=10), price) == pytest.approx(0.05 + 1e-4)
    # the 100k prompt tier: output dearer, input at its base rate (the tier leaves it)
    assert tokens_cost(entry(model="m", inp=150_000, out=10), price) == pytest.approx(0.15 + 2e-4)
    # the highest prompt tier crossed wins
    assert tokens_cost(entry(model="m", inp=300_001, out=10), price) == pytest.approx(
        300_001 * 3e-6 + 3e-4
    )
    # 1-hour writes cost twice the tier's input rate (the model's are twice its input)...
    assert tokens_cost(entry(model="m", inp=150_000, cc_1h=200_000), price) == pytest.approx(
        150_000 * 3e-6 + 200_000 * 6e-6
    )
    # ...or the model's own when the tier gives no input rate
    assert tokens_cost(entry(model="m", inp=50_000, cc_1h=60_000), price) == pytest.approx(
        0.05 + 60_000 * 2e-6
    )
    # output is no prompt: only ccusage's per-type tier could apply (it has no output rate)
    assert tokens_cost(entry(model="m", out=250_000), price) == pytest.approx(2.5)


def test_litellm_entries_are_read_like_ccusage_and_litellm() -> None:
    raw = {
        "input_cost_per_token": 1e-6,
        "output_cost_per_token": 5e-6,
        "cache_creation_input_token_cost_above_1hr": 2e-6,
        "input_cost_per_token_above_200k_tokens": 2e-6,
        "output_cost_per_token_above_128k_tokens": 6e-6,
        "cache_creation_input_token_cost_above_1hr_above_128k_tokens": 3e-6,
        "input_cost_per_token_above_128k_tokens_batches": 1e-9,  # batch rates: not ours
        "max_input_tokens": 500_000,
        "provider_specific_entry": {"us": 1.1, "fast": 3},
    }
    price = litellm_price("claude-new-1", raw)
    assert price == Price(
        input=1e-6,
        output=5e-6,
        cache_write=1e-6 * 1.25,  # absent: 1.25x input, as ccusage
        cache_read=1e-6 * 0.1,  # absent: 0.1x input, as ccusage
        cache_write_1h=2e-6,
        type_tier=Tier(above=200_000, input=2e-6),
        prompt_tiers=(Tier(above=128_000, output=6e-6, cache_write_1h=3e-6),),
        max_input_tokens=500_000,
        fast_multiplier=3.0,
    )
    assert litellm_price("claude-x", {"input_cost_per_token": 1e-6}) is None
    assert (
        litellm_price(
            "claude-opus-4-6-v1", {"input_cost_per_token": 1, "output_cost_per_token": 1}
        ).fast_multiplier
        == 6.0
    )  # type: ignore[union-attr]


def test_an_update_keeps_ccusages_prices_and_adds_newer_models() -> None:
    pinned = pinned_from_table(default_prices())
    assert set(pinned) == set(default_prices().ccusage)
    litellm = {
        "claude-sonnet-4-5": {"input_cost_per_token": 9e-6, "output_cost_per_token": 9e-6},
        "us.anthropic.claude-mythos-5": {
            "input_cost_per_token": 1.1e-5,
            "output_cost_per_token": 5.5e-5,
        },
        "claude-new-7": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
        "gpt-9": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
        "claude-free-text": {"mode": "chat"},
    }
    built = build_table(litellm, pinned, source="test", built="2026-11-29")
    table = PriceTable.from_list(built)
    assert table.find("claude-sonnet-4-5") == default_prices().find("claude-sonnet-4-5")
    # ccusage resolves this name to claude-mythos-5: it keeps ccusage's price.
    mythos = table.find("us.anthropic.claude-mythos-5")
    assert mythos is not None and mythos.input == 1e-5
    assert "us.anthropic.claude-mythos-5" in built.ccusage
    new = table.find("claude-new-7-20270101")  # a newer model, matched like any other
    assert new is not None and new.output == 2e-6
    assert "claude-new-7" not in built.ccusage
    assert table.find("gpt-9") is None and table.find("claude-free-text") is None


def test_the_packaged_table_is_this_measurement_plus_litellm() -> None:
    table = default_prices()
    assert table.built and "litellm==1.110.2" in table.source
    assert pinned_from_table(table) == pinned_from_measurements(MEASUREMENTS)
    assert set(PRICED) <= set(table.ccusage)


def test_fallback_names_match_only_exactly() -> None:
    # claude-opus-4-6-think is a name of ccusage's models.dev fallback (whole-prompt tier);
    # a longer name is claude-opus-4-6's, as in ccusage, not the fallback name's.
    table = default_prices()
    assert table.match("claude-opus-4-6-think") == "claude-opus-4-6-think"
    assert table.match("claude-opus-4-6-think-x") == "claude-opus-4-6"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": 1, "source": "", "models": {}}',
        b'{"format": 2}',
        b'{"format": 2, "source": "", "built": "", "models": {"m": {"input": "x"}}}',
    ],
)
def test_unusable_tables_are_refused(data: bytes) -> None:
    with pytest.raises(PriceTableError):
        PriceTable.from_json(data)
