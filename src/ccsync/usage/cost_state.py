"""Claude Code's own cost of a session, from the ``cost-state`` lines of its transcripts.

Claude Code 2.1.332 writes lines like::

    {"type":"cost-state","sessionId":"…","totalCostUSD":0.0007287,
     "modelUsage":{"claude-haiku-5-5":{"inputTokens":12,…,"costUSD":0.0007287}},…}

with the session's running totals by model. They are not usage entries (ccusage's rules
for tokens and duplicates do not see them); this pass reads them beside the token rules,
so that where ccsync has no price for a model, a report can offer the cost Claude Code
recorded for it, labelled as Claude Code's and never added to ccusage's ``totalCost``.

Per session the newest line (the last in the file) holds the running totals. Pure: bytes
in, readings out (``loader.read_cost_states`` reads the files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

import msgspec

COST_STATE_MARKER = b'"type":"cost-state"'
MAX_COST_USD = 1e9

Cost = Annotated[float, msgspec.Meta(ge=0, le=MAX_COST_USD)]


class _ModelUsage(msgspec.Struct):
    cost_usd: Cost | None = msgspec.field(default=None, name="costUSD")


class _CostStateLine(msgspec.Struct):
    session_id: str | None = msgspec.field(default=None, name="sessionId")
    model_usage: dict[str, _ModelUsage] = msgspec.field(default_factory=dict, name="modelUsage")


_decode = msgspec.json.Decoder(_CostStateLine).decode


class SessionCost(msgspec.Struct, frozen=True, rename="camel"):
    """Claude Code's cost of one session so far, by model (USD, as it recorded it).

    The shape an agent would push for the server's reports to offer it too.
    """

    session_id: str
    models: dict[str, float]


def parse_cost_states(buf: bytes) -> dict[str, SessionCost]:
    """The newest ``cost-state`` reading of each session in one file's bytes.

    Lines that do not decode, or lack a session id, are skipped; never an exception.
    """
    readings: dict[str, SessionCost] = {}
    find = buf.find
    pos = find(COST_STATE_MARKER)
    while pos != -1:
        start = buf.rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end == -1:
            end = len(buf)
        try:
            line = _decode(buf[start:end])
        except (msgspec.DecodeError, msgspec.ValidationError):
            line = None
        if line is not None and line.session_id:
            readings[line.session_id] = SessionCost(
                line.session_id,
                {
                    model: usage.cost_usd
                    for model, usage in line.model_usage.items()
                    if usage.cost_usd is not None
                },
            )
        pos = find(COST_STATE_MARKER, end)
    return readings


def merge_readings(readings: Iterable[Mapping[str, SessionCost]]) -> dict[str, dict[str, float]]:
    """Session → model → cost, from the readings of several files (later files win)."""
    merged: dict[str, dict[str, float]] = {}
    for per_file in readings:
        for session, reading in per_file.items():
            merged[session] = dict(reading.models)
    return merged
