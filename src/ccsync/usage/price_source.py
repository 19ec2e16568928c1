"""Building the price table: LiteLLM's published list, with ccusage 20.0.24's prices kept.

Pure functions over already-loaded data (``ccsync.prices`` fetches the list and writes the
table). The table is built from two sources:

1. **ccusage's prices** (``pinned``): what ccusage 20.0.24 charges for every Claude model
   name it prices, measured from its binary (``tests/parity/prices-ccusage-20.0.24.json``,
   turned into prices by ``pinned_from_measurements``). They win over everything, so every
   cost ccusage computes, ccsync computes too. A packaged table lists them in ``ccusage``,
   and every later update keeps them.
2. **LiteLLM's list** for the rest: the Claude names (``claude-*``, ``anthropic.*``,
   ``anthropic/*`` and the regional ``{us,eu,global,jp,au}.anthropic.*``, as ccusage
   filters it) that ccusage does not price, converted by ``litellm_price``. A listed name
   that ccusage would resolve to one of its own names (``us.anthropic.claude-mythos-5``
   is ``claude-mythos-5`` to ccusage) keeps ccusage's price.

``litellm_price`` reads the list the way ccusage reads it (absent cache rates are 1.25x
and 0.1x the input rate; ``*_above_200k_tokens`` is a per-token-type tier; 1-hour cache
writes at ``cache_creation_input_token_cost_above_1hr``, else twice the input rate), and
the tiers ccusage does not read the way LiteLLM applies them (``*_above_Nk_tokens`` for
other N: the whole request at the higher rates once its prompt exceeds N tokens).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from ccsync.usage.pricing import TABLE_FORMAT, Price, PriceList, PriceTable, Tier

CLAUDE_PREFIXES = (
    "claude-",
    "anthropic.",
    "anthropic/",
    "us.anthropic.",
    "eu.anthropic.",
    "global.anthropic.",
    "jp.anthropic.",
    "au.anthropic.",
)
"""ccusage's filter of LiteLLM's list, narrowed to Claude models."""
CCUSAGE_TIER = 200_000
"""The only tier ccusage reads from LiteLLM's list (``*_above_200k_tokens``)."""
# ccusage 20.0.24's fast-mode multipliers by name (``fast-multiplier-overrides.json``).
FAST_MULTIPLIERS = {"claude-opus-4-6": 6.0, "claude-opus-4-7": 6.0, "claude-opus-4-8": 2.0}
_RATE_KEYS = (
    ("input", "input_cost_per_token"),
    ("output", "output_cost_per_token"),
    ("cache_write", "cache_creation_input_token_cost"),
    ("cache_write_1h", "cache_creation_input_token_cost_above_1hr"),
    ("cache_read", "cache_read_input_token_cost"),
)
_TIER_KEY = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_creation_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_read_input_token_cost)"
    r"_above_(\d+)(k?)_tokens$"
)
_RATE_NAME = {key: name for name, key in _RATE_KEYS}
_ROUND_DIGITS = 12


class MeasurementError(ValueError):
    """Measured figures that no price reproduces (an unexpected kind of tier)."""


def is_claude(name: str) -> bool:
    return name.startswith(CLAUDE_PREFIXES) and "claude" in name


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def litellm_price(name: str, raw: Mapping[str, Any]) -> Price | None:
    """One entry of LiteLLM's list as a price; ``None`` without input and output rates."""
    inp = _number(raw.get("input_cost_per_token"))
    out = _number(raw.get("output_cost_per_token"))
    if inp is None or out is None:
        return None
    cache_write = _number(raw.get("cache_creation_input_token_cost"))
    cache_read = _number(raw.get("cache_read_input_token_cost"))
    tiers: dict[int, dict[str, float]] = {}
    for key, value in raw.items():
        match = _TIER_KEY.match(key)
        rate = _number(value)
        if match is None or rate is None:
            continue
        above = int(match[2]) * (1000 if match[3] else 1)
        tiers.setdefault(above, {})[_RATE_NAME[match[1]]] = rate
    type_tier = None
    if CCUSAGE_TIER in tiers:
        rates = tiers.pop(CCUSAGE_TIER)
        type_tier = Tier(above=CCUSAGE_TIER, **rates)
    context = raw.get("max_input_tokens")
    special = raw.get("provider_specific_entry")
    fast = _number(special.get("fast")) if isinstance(special, Mapping) else None
    return _price(
        input=inp,
        output=out,
        cache_write=inp * 1.25 if cache_write is None else cache_write,
        cache_read=inp * 0.1 if cache_read is None else cache_read,
        cache_write_1h=_number(raw.get("cache_creation_input_token_cost_above_1hr")),
        type_tier=type_tier,
        prompt_tiers=tuple(Tier(above=above, **tiers[above]) for above in sorted(tiers)),
        max_input_tokens=context if isinstance(context, int) and context > 0 else None,
        fast_multiplier=fast if fast is not None else fast_multiplier_for(name),
    )


def fast_multiplier_for(name: str) -> float:
    """ccusage's fast-mode multiplier for a name LiteLLM gives none (by name part)."""
    normalized = name.replace(".", "-").replace("@", "-")
    for part in re.split(r"[/:]", normalized):
        for base, multiplier in FAST_MULTIPLIERS.items():
            index = part.rfind(base)
            if index != -1 and (len(part) == index + len(base) or part[index + len(base)] == "-"):
                return multiplier
    return 1.0


def build_table(
    litellm: Mapping[str, Any], pinned: Mapping[str, Price], *, source: str, built: str
) -> PriceList:
    """The table: ``pinned`` (ccusage's prices) plus LiteLLM's Claude models it lacks."""
    models: dict[str, Price] = dict(pinned)
    ccusage = set(pinned)
    ccusage_lookup = PriceTable({k: p for k, p in pinned.items() if not p.exact_only})
    for name, raw in litellm.items():
        if name in models or not is_claude(name) or not isinstance(raw, Mapping):
            continue
        price = litellm_price(name, raw)
        if price is None:
            continue
        resolved = ccusage_lookup.find(name)
        if resolved is not None:  # ccusage prices this name (through one of its own)
            models[name] = msgspec.structs.replace(resolved, exact_only=True)
            ccusage.add(name)
        else:
            models[name] = price
    return PriceList(
        format=TABLE_FORMAT,
        source=source,
        built=built,
        models=dict(sorted(models.items())),
        ccusage=tuple(sorted(ccusage)),
    )


def pinned_from_table(table: PriceTable) -> dict[str, Price]:
    """The ccusage prices a table carries (what an update of it keeps)."""
    return {name: table.models[name] for name in table.ccusage if name in table.models}


def pinned_from_measurements(document: Mapping[str, Any]) -> dict[str, Price]:
    """ccusage's prices from its measured figures (``measure_ccusage_prices.py``).

    Names of ccusage's own table (``table_names``) are matched like LiteLLM's; the others
    (its fallback list, spellings, newer names it resolves) by their exact name only.
    """
    table_names = set(document["table_names"])
    prices = {}
    for name, figures in document["models"].items():
        if figures.get("missingPricing"):
            continue
        price = price_from_figures(name, figures)
        if name not in table_names:
            price = msgspec.structs.replace(price, exact_only=True)
        prices[name] = price
    return prices


def _round(value: float) -> float:
    return float(f"{value:.{_ROUND_DIGITS}g}")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)


def price_from_figures(name: str, f: Mapping[str, float]) -> Price:
    """A price that gives every measured figure of one model.

    The per-token rates are the one-token costs as measured. A tier shows as a 300k-token
    total above 300,000 times the rate: a per-type tier when 150k input plus 150k cache
    reads stay flat, a whole-prompt tier when they do not; either starts above 200,000.
    """
    inp, out = f["input"], f["output"]
    cache_write, cache_write_1h, cache_read = (
        f["cache_write_5m"],
        f["cache_write_1h"],
        f["cache_read"],
    )
    bases = {
        "input": (inp, "input_300k_total"),
        "output": (out, "output_300k_total"),
        "cache_write": (cache_write, "cache_write_5m_300k_total"),
        "cache_write_1h": (cache_write_1h, "cache_write_1h_300k_total"),
        "cache_read": (cache_read, "cache_read_300k_total"),
    }
    mixed_flat = 150_000 * inp + 150_000 * cache_read
    whole_prompt = not _close(f["input_and_cache_read_150k_total"], mixed_flat)
    tiered = [k for k, (base, total) in bases.items() if not _close(f[total], 300_000 * base)]
    type_tier = None
    prompt_tiers: tuple[Tier, ...] = ()
    if whole_prompt:
        if not _close(f["input_200k_total"], 200_000 * inp) or _close(
            f["input_200001_total"], 200_001 * inp
        ):
            raise MeasurementError(f"{name}: a whole-prompt tier that does not start at 200k")
        rates = {k: _round(f[total] / 300_000) for k, (_, total) in bases.items()}
        rates["output"] = _round(
            (f["output_with_300k_input_total"] - 300_000 * rates["input"]) / 100_000
        )
        if not _close(f["output_300k_total"], 300_000 * out):
            raise MeasurementError(f"{name}: output alone reached a whole-prompt tier")
        prompt_tiers = (Tier(above=CCUSAGE_TIER, **rates),)
    elif tiered:
        rates = {k: _round((f[bases[k][1]] - CCUSAGE_TIER * bases[k][0]) / 100_000) for k in tiered}
        if "input" in rates and "cache_write_1h" not in rates:
            rates["cache_write_1h"] = cache_write_1h  # not twice the tier's input rate
        type_tier = Tier(above=CCUSAGE_TIER, **rates)
    fast = _round(f["fast_output_1k_total"] / (1000 * out)) if out else 1.0
    context = f.get("max_input_tokens")
    return _price(
        input=inp,
        output=out,
        cache_write=cache_write,
        cache_read=cache_read,
        cache_write_1h=None if cache_write_1h == 2 * inp else cache_write_1h,
        type_tier=type_tier,
        prompt_tiers=prompt_tiers,
        max_input_tokens=int(context) if context else None,
        fast_multiplier=fast,
    )


def _price(fast_multiplier: float, **fields: Any) -> Price:
    """A price, its multiplier left out when 1 (so the file leaves it out too)."""
    if fast_multiplier != 1.0:
        fields["fast_multiplier"] = fast_multiplier
    return Price(**fields)


def claude_names(litellm: Mapping[str, Any]) -> Iterable[str]:
    """The Claude names of a LiteLLM list."""
    return (name for name in litellm if is_claude(name))
