#!/usr/bin/env python3
"""Build ``src/ccsync/usage/prices.json`` from LiteLLM's published price list.

usage: update_prices.py LITELLM_JSON_OR_URL [--label TEXT] [--output PATH]

LITELLM_JSON_OR_URL is LiteLLM's ``model_prices_and_context_window.json``: a path, an
``https://`` URL, or ``litellm==X.Y.Z`` to read the copy inside an installed (or
downloaded) ``litellm`` wheel. The table keeps the Anthropic API's own model names
(``claude-*``) that have input and output prices, then applies the corrections
ccusage 20.0.24 builds in (``BUILTIN`` below), so that costs equal ccusage's.

The committed table was built with:  python scripts/update_prices.py litellm==1.93.0
and ``tests/unit/test_pricing.py`` checks every model against the prices measured
from ccusage 20.0.24 (``tests/parity/prices-ccusage-20.0.24.json``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[1] / "src" / "ccsync" / "usage" / "prices.json"
PER_MTOK = 1e-6

# ccusage's built-in table (research/ccusage.md section 4.3): it overwrites these names.
# (input, output, cache write, cache read) in USD per million tokens, then the optional
# >200k tier in the same order, then the context limit.
BUILTIN: dict[
    str, tuple[tuple[float, float, float, float], tuple[float, ...] | None, int | None]
] = {
    "claude-opus-4-5": ((5, 25, 6.25, 0.5), None, None),
    "claude-opus-4-6": ((5, 25, 6.25, 0.5), None, 1_000_000),
    "claude-opus-4-7": ((5, 25, 6.25, 0.5), None, 1_000_000),
    "claude-opus-4-8": ((5, 25, 6.25, 0.5), None, 1_000_000),
    "claude-haiku-4-5": ((1, 5, 1.25, 0.1), None, None),
    "claude-opus-4": ((15, 75, 18.75, 1.5), None, None),
    "claude-sonnet-4-6": ((3, 15, 3.75, 0.3), None, 1_000_000),
    "claude-sonnet-4": ((3, 15, 3.75, 0.3), (6, 22.5, 7.5, 0.6), None),
    "claude-3-5-haiku": ((0.8, 4, 1, 0.08), None, None),
    "claude-3-5-haiku-20241022": ((0.8, 4, 1, 0.08), None, None),
    "claude-3-opus": ((15, 75, 18.75, 1.5), None, None),
    "claude-3-sonnet": ((3, 15, 3.75, 0.3), None, None),
    "claude-3-haiku": ((0.25, 1.25, 0.3, 0.03), None, None),
}
# Models ccusage 20.0.24 still prices (its LiteLLM snapshot had them) that newer LiteLLM
# lists dropped. Added only when the source lacks them; same units as BUILTIN.
RETIRED: dict[
    str, tuple[tuple[float, float, float, float], tuple[float, ...] | None, int | None]
] = {
    "claude-3-5-sonnet-20241022": ((3, 15, 3.75, 0.3), None, None),
    "claude-3-5-sonnet-20240620": ((3, 15, 3.75, 0.3), None, None),
    "claude-3-5-sonnet": ((3, 15, 3.75, 0.3), None, None),
}
# ccusage's fast-mode multipliers for Claude models, by name prefix.
FAST_MULTIPLIERS = {"claude-opus-4-6": 6.0, "claude-opus-4-7": 6.0, "claude-opus-4-8": 2.0}


def load_litellm(spec: str) -> dict[str, Any]:
    if spec.startswith(("http://", "https://")):
        with urllib.request.urlopen(spec, timeout=30) as response:
            data: dict[str, Any] = json.load(response)
            return data
    if spec.startswith("litellm=="):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, spec],
                check=True,
            )
            wheel = next(Path(tmp).glob("litellm-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                name = next(
                    n
                    for n in archive.namelist()
                    if n.endswith("model_prices_and_context_window_backup.json")
                )
                loaded: dict[str, Any] = json.loads(archive.read(name))
                return loaded
    result: dict[str, Any] = json.loads(Path(spec).read_text())
    return result


def convert(key: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    inp = raw.get("input_cost_per_token")
    out = raw.get("output_cost_per_token")
    if not isinstance(inp, int | float) or not isinstance(out, int | float):
        return None
    price: dict[str, Any] = {
        "input": inp,
        "output": out,
        "cache_write": raw.get("cache_creation_input_token_cost", inp * 1.25),
        "cache_read": raw.get("cache_read_input_token_cost", inp * 0.1),
    }
    for ours, theirs in (
        ("input_above_200k", "input_cost_per_token_above_200k_tokens"),
        ("output_above_200k", "output_cost_per_token_above_200k_tokens"),
        ("cache_write_above_200k", "cache_creation_input_token_cost_above_200k_tokens"),
        ("cache_read_above_200k", "cache_read_input_token_cost_above_200k_tokens"),
    ):
        if isinstance(raw.get(theirs), int | float):
            price[ours] = raw[theirs]
    if isinstance(raw.get("max_input_tokens"), int):
        price["max_input_tokens"] = raw["max_input_tokens"]
    fast = (raw.get("provider_specific_entry") or {}).get("fast")
    if isinstance(fast, int | float):
        price["fast_multiplier"] = fast
    return price


def builtin(
    rates: tuple[float, ...], tier: tuple[float, ...] | None, context: int | None
) -> dict[str, Any]:
    price: dict[str, Any] = dict(
        zip(
            ("input", "output", "cache_write", "cache_read"),
            (round(r * PER_MTOK, 15) for r in rates),
            strict=True,
        )
    )
    if tier is not None:
        names = (
            "input_above_200k",
            "output_above_200k",
            "cache_write_above_200k",
            "cache_read_above_200k",
        )
        price.update(zip(names, (round(r * PER_MTOK, 15) for r in tier), strict=True))
    if context is not None:
        price["max_input_tokens"] = context
    return price


def build(litellm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for key, raw in litellm.items():
        if key.startswith("claude-") and isinstance(raw, dict):
            price = convert(key, raw)
            if price is not None:
                models[key] = price
    for key, (rates, tier, context) in RETIRED.items():
        models.setdefault(key, builtin(rates, tier, context))
    for key, (rates, tier, context) in BUILTIN.items():
        models[key] = builtin(rates, tier, context)
    for key, price in models.items():
        for prefix, multiplier in FAST_MULTIPLIERS.items():
            if key.startswith(prefix) and "fast_multiplier" not in price:
                price["fast_multiplier"] = multiplier
    return dict(sorted(models.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("litellm", help="path, https URL, or litellm==VERSION")
    parser.add_argument(
        "--label", help="how the source is named in the file (default: the argument)"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    models = build(load_litellm(args.litellm))
    document = {
        "source": f"LiteLLM model_prices_and_context_window.json ({args.label or args.litellm}), "
        "Claude models, with ccusage 20.0.24's built-in corrections",
        "models": models,
    }
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(models)} models to {args.output}")


if __name__ == "__main__":
    main()
