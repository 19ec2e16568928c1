#!/usr/bin/env python3
"""Measure what ccusage 20.0.24 charges per token for every Claude model it prices.

usage: measure_ccusage_prices.py [--ccusage CMD] [--binary ELF] [--names-from JSON] [--output PATH]

Writes ``prices-ccusage-20.0.24.json`` beside this script. The figures come from the
reference binary alone: for every model name, one-entry transcripts with known token
counts of one type each (and requests above 200k tokens, and fast mode) are priced by
``ccusage claude session --json --offline --mode auto``, and the per-token rates are read
back from its costs.

The names measured:
- every Claude name in the LiteLLM snapshot the binary embeds (read from the binary:
  a raw deflate stream of the filtered list, ``--binary``);
- the names of ccusage's built-in table (``BUILTIN``);
- the Claude names of the models.dev snapshot the binary embeds (its fallback), kept only
  when ccusage prices them;
- ``VARIANTS``: names with date suffixes, provider prefixes, ``@`` and ``.`` spellings,
  and today's Claude Code models, priced or not;
- with ``--names-from``, the Claude names of a newer LiteLLM list (``price_source`` keeps
  ccusage's price for every one of them ccusage prices).

A name ccusage does not price has ``"missingPricing": true`` (and figures of 0). The file
extends the price measurements of the parity set ccsync is held to: every figure there is here.
The committed file was made with:

    python tests/parity/measure_ccusage_prices.py --ccusage <ccusage 20.0.24> \
        --names-from model_prices_and_context_window_backup.json   # of litellm 1.110.2

``--ccusage`` is the command that runs ccusage 20.0.24 (default: ``$CCUSAGE``, else
``ccusage``); ``--binary`` is its executable (default: where ``tools/ccusage`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "prices-ccusage-20.0.24.json"
DEFAULT_BINARY = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "ccsync-ccusage-20.0.24/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"
)
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
# The Claude names of ccusage 20.0.24's built-in price table.
BUILTIN = (
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-haiku-4-5",
    "claude-opus-4",
    "claude-sonnet-4-6",
    "claude-sonnet-4",
    "claude-3-5-haiku",
    "claude-3-5-haiku-20241022",
    "claude-3-opus",
    "claude-3-sonnet",
    "claude-3-haiku",
)
VARIANTS = (
    "claude-sonnet-4-5-20250929-thinking",
    "claude-sonnet-4.5",
    "claude-sonnet-4-5@20250929",
    "anthropic/claude-sonnet-4-5",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4-6-20260101",
    "claude-opus-4-6[1m]",
    "claude-opus-5-20260101",
    "claude-opus-5[1m]",
    "claude-haiku-4-5@20251001",
    "claude-3-5-sonnet",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-sonnet-20240620",
    "claude-3-7-sonnet",
    "claude-opus-4-6-v1",
    "claude-opus-4-7-20260416",
    "claude-fable-5-20260101",
    "claude-mythos-5-1-20260101",
    # not priced by ccusage 20.0.24
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-opus-4-60",
    "claude-sonnet-4-7",
    "CLAUDE-SONNET-4-20250514",
    "claude-experimental-9-20990101",
    "acme-llm-1",
    "<synthetic>",
)
# Probes: token counts of one request; the total each gives is read back from ccusage.
PROBES: dict[str, dict[str, Any]] = {
    "input": {"input": 1},
    "output": {"output": 1},
    "cache_write_5m": {"cc5m": 1},
    "cache_write_1h": {"cc1h": 1},
    "cache_read": {"cr": 1},
    "input_300k_total": {"input": 300_000},
    "output_with_300k_input_total": {"input": 300_000, "output": 100_000},
    "output_300k_total": {"output": 300_000},
    "cache_write_5m_300k_total": {"cc5m": 300_000},
    "cache_write_1h_300k_total": {"cc1h": 300_000},
    "cache_read_300k_total": {"cr": 300_000},
    "input_and_cache_read_150k_total": {"input": 150_000, "cr": 150_000},
    "input_200k_total": {"input": 200_000},
    "input_200001_total": {"input": 200_001},
    "fast_output_1k_total": {"output": 1000, "fast": True},
}


def embedded_json(binary: Path, want: str) -> dict[str, Any]:
    """The first raw-deflate JSON object in ``binary`` whose text starts with ``want``."""
    data = binary.read_bytes()
    head = want.encode()
    for start in range(len(data) - 16):
        if data[start] & 0x06 == 0x06:  # BTYPE 11 is reserved: never a deflate stream
            continue
        try:
            probe = zlib.decompressobj(-15).decompress(data[start : start + 1024], len(head))
        except zlib.error:
            continue
        if probe == head:
            text = zlib.decompressobj(-15).decompress(data[start:])
            loaded: dict[str, Any] = json.loads(text)
            return loaded
    raise SystemExit(f"no embedded JSON starting with {want!r} in {binary}")


def is_claude(name: str) -> bool:
    return name.startswith(CLAUDE_PREFIXES) and "claude" in name


def names_to_measure(binary: Path) -> tuple[list[str], list[str], dict[str, int]]:
    """(LiteLLM-snapshot and built-in names, models.dev names, context limits)."""
    litellm = embedded_json(binary, '{"anthropic.')
    models_dev = embedded_json(binary, '{"@cf/')
    primary = sorted({k for k in litellm if is_claude(k)} | set(BUILTIN))
    fallback = sorted(k for k in models_dev if "claude" in k.lower() and k not in primary)
    limits = {k: v["ctx"] for k, v in litellm.items() if k in primary and "ctx" in v}
    for name in ("claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-4-6"):
        limits[name] = 1_000_000  # set by the built-in table
    return primary, fallback, limits


def line(model: str, session: str, index: int, probe: dict[str, Any]) -> str:
    usage: dict[str, Any] = {
        "input_tokens": probe.get("input", 0),
        "output_tokens": probe.get("output", 0),
        "cache_creation_input_tokens": probe.get("cc5m", 0) + probe.get("cc1h", 0),
        "cache_read_input_tokens": probe.get("cr", 0),
        "cache_creation": {
            "ephemeral_5m_input_tokens": probe.get("cc5m", 0),
            "ephemeral_1h_input_tokens": probe.get("cc1h", 0),
        },
        "speed": "fast" if probe.get("fast") else "standard",
    }
    record = {
        "type": "assistant",
        "timestamp": "2026-01-15T12:00:00.000Z",
        "sessionId": session,
        "version": "2.1.0",
        "cwd": "/home/dev/prices",
        "requestId": f"req_{index:06d}",
        "message": {"id": f"msg_{index:06d}", "role": "assistant", "model": model, "usage": usage},
    }
    return json.dumps(record, separators=(",", ":"))


def measure(ccusage: list[str], models: list[str]) -> dict[str, dict[str, Any]]:
    """Each model's cost of each probe, as ccusage prints it, or that it has no price."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp, "claude", "projects", "-home-dev-prices")
        project.mkdir(parents=True)
        Path(tmp, "home").mkdir()
        sessions: dict[str, tuple[str, str]] = {}
        index = 0
        for model in models:
            for probe_name, probe in PROBES.items():
                index += 1
                session = f"00000000-0000-4000-8000-{index:012d}"
                sessions[session] = (model, probe_name)
                (project / f"{session}.jsonl").write_text(line(model, session, index, probe) + "\n")
        env = {
            **os.environ,
            "HOME": str(Path(tmp, "home")),
            "CLAUDE_CONFIG_DIR": str(Path(tmp, "claude")),
            "TZ": "UTC",
        }
        output = subprocess.run(
            [*ccusage, "claude", "session", "--json", "--offline", "--mode", "auto"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    measured: dict[str, dict[str, Any]] = {model: {} for model in models}
    unpriced: set[str] = set()
    for row in json.loads(output)["sessions"]:
        model, probe_name = sessions[row["sessionId"]]
        measured[model][probe_name] = row["totalCost"]
        if not row["modelBreakdowns"] or row["modelBreakdowns"][0].get("missingPricing"):
            unpriced.add(model)  # <synthetic> has no breakdown: never priced
    for model, figures in measured.items():
        missing = set(PROBES) - set(figures)
        if missing:
            raise SystemExit(f"ccusage gave no row for {model}: {sorted(missing)}")
        if model in unpriced:
            if any(figures.values()):
                raise SystemExit(f"{model} is flagged unpriced but costs something: {figures}")
            figures["missingPricing"] = True
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ccusage", default=os.environ.get("CCUSAGE", "ccusage"))
    parser.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    parser.add_argument(
        "--names-from", type=Path, help="a LiteLLM price list whose Claude names to measure too"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    ccusage = shlex.split(args.ccusage)
    version = subprocess.run(
        [*ccusage, "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if "20.0.24" not in version:
        sys.exit(f"expected ccusage 20.0.24, {args.ccusage} is {version!r}")
    primary, fallback, limits = names_to_measure(args.binary)
    newer: list[str] = []
    if args.names_from is not None:
        listed = json.loads(args.names_from.read_text())
        newer = sorted(k for k in listed if is_claude(k) and k not in primary)
    names = list(dict.fromkeys([*primary, *VARIANTS, *newer, *fallback]))
    measured = measure(ccusage, names)
    models = {
        name: measured[name]
        for name in names
        if name not in fallback or "missingPricing" not in measured[name]
    }
    for name, limit in limits.items():
        if "missingPricing" not in models[name]:
            models[name]["max_input_tokens"] = limit
    document = {
        "source": "measured from ccusage 20.0.24 (claude session --json --offline --mode auto) "
        "by tests/parity/measure_ccusage_prices.py: one-entry transcripts per model and probe",
        "unit": "USD per token for input, output, cache_write_5m, cache_write_1h, cache_read; "
        "USD for the *_total probes (token counts in PROBES of the script)",
        "tier_note": "two kinds of tier: ccusage's LiteLLM >200k tier charges the tokens of one "
        "type beyond the first 200,000 of one request at the higher rate (each type on its "
        "own: input_and_cache_read_150k_total stays flat); its models.dev context tier "
        "charges every token of a request (output too) at the higher rate once input + cache "
        "writes + cache reads exceed 200,000 (input_200k_total flat, input_200001_total not)",
        "max_input_tokens_note": "from the LiteLLM snapshot and built-in table in the binary",
        "probes": PROBES,
        "table_names": primary,
        "newer_names_from": None if args.names_from is None else args.names_from.name,
        "models": models,
    }
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    priced = sum(1 for figures in models.values() if "missingPricing" not in figures)
    print(f"wrote {len(models)} names ({priced} priced) to {args.output}")


if __name__ == "__main__":
    main()
