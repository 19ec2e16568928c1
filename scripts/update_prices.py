#!/usr/bin/env python3
"""Build the packaged price table, ``src/ccsync/usage/prices.json``.

usage: update_prices.py [LITELLM] [--measured PATH] [--built YYYY-MM-DD] [--output PATH]

LITELLM is LiteLLM's ``model_prices_and_context_window.json``: a path, an ``https://``
URL, a ``litellm`` wheel, or ``litellm==X.Y.Z`` (downloaded with pip; the wheel carries
the list as ``model_prices_and_context_window_backup.json``). Default: LiteLLM's
published URL.

The table holds every price ccusage 20.0.24 charges, as it charges it (measured from its
binary into ``tests/parity/prices-ccusage-20.0.24.json`` by
``tests/parity/measure_ccusage_prices.py``), and LiteLLM's prices of the Claude models
ccusage does not price. The rules are ``ccsync.usage.price_source``'s, the same
``ccsync prices update`` applies to a user's installation.

The committed table was built with:

    python scripts/update_prices.py litellm==1.110.2 --built 2026-11-29

and ``tests/unit/test_pricing.py`` checks every model against the measured prices.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ccsync.prices import LITELLM_URL, PriceSourceError, load_litellm  # noqa: E402
from ccsync.usage.price_source import build_table, pinned_from_measurements  # noqa: E402

OUTPUT = ROOT / "src" / "ccsync" / "usage" / "prices.json"
MEASURED = ROOT / "tests" / "parity" / "prices-ccusage-20.0.24.json"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "litellm", nargs="?", default=LITELLM_URL, help="path, URL, wheel or litellm==VERSION"
    )
    parser.add_argument("--measured", type=Path, default=MEASURED)
    parser.add_argument("--built", default=datetime.now(UTC).date().isoformat())
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    try:
        litellm, label = load_litellm(args.litellm)
    except PriceSourceError as exc:
        sys.exit(f"update_prices: {exc}")
    pinned = pinned_from_measurements(json.loads(args.measured.read_text()))
    table = build_table(
        litellm,
        pinned,
        source=f"LiteLLM model_prices_and_context_window.json ({label}), Claude models, "
        "with the prices ccusage 20.0.24 charges kept (measured from its binary)",
        built=args.built,
    )
    args.output.write_bytes(msgspec.json.format(msgspec.json.encode(table), indent=1) + b"\n")
    newer = len(table.models) - len(table.ccusage)
    print(
        f"wrote {len(table.models)} models ({len(table.ccusage)} at ccusage's prices, "
        f"{newer} from LiteLLM) to {args.output}"
    )


if __name__ == "__main__":
    main()
