"""The shapes of the served reports: ccusage's JSON (``ccusage claude <report> --json``).

The reports themselves are built as plain objects by ``usage.reports`` and ``usage.blocks``
(the parity tests compare them with ccusage's field for field); these Structs describe
them for OpenAPI. A field ccusage prints only sometimes is optional here too.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from ccsync.server.window import BurnRateView, ProjectionView, WindowTokenCounts


class TokenTotals(msgspec.Struct, rename="camel"):
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    total_tokens: int
    total_cost: float


class ReportTotals(TokenTotals):
    unpriced_models: list[str] | UnsetType = UNSET
    """Models without a price (their cost counts as 0), when there are any."""
    claude_code_cost_usd: dict[str, float] | UnsetType = msgspec.field(
        default=UNSET, name="claudeCodeCostUSD"
    )
    """Claude Code's own cost of each unpriced model, where it recorded one."""


class ModelBreakdown(msgspec.Struct, rename="camel"):
    model_name: str
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost: float
    missing_pricing: bool | UnsetType = UNSET
    claude_code_cost_usd: float | UnsetType = msgspec.field(default=UNSET, name="claudeCodeCostUSD")


class Row(TokenTotals):
    models_used: list[str]
    model_breakdowns: list[ModelBreakdown]


class DailyRow(Row):
    date: str


class WeeklyRow(Row):
    week: str
    """The week's first day (``--start-of-week``)."""


class MonthlyRow(Row):
    month: str


class SessionRow(Row):
    session_id: str
    project_path: str
    first_activity: str
    last_activity: str


class DailyReport(msgspec.Struct):
    daily: list[DailyRow]
    totals: ReportTotals


class WeeklyReport(msgspec.Struct):
    weekly: list[WeeklyRow]
    totals: ReportTotals


class MonthlyReport(msgspec.Struct):
    monthly: list[MonthlyRow]
    totals: ReportTotals


class SessionReport(msgspec.Struct):
    sessions: list[SessionRow]
    totals: ReportTotals


class TokenLimitStatus(msgspec.Struct, rename="camel"):
    limit: int
    projected_usage: int
    percent_used: float
    status: Literal["ok", "warning", "exceeds"]


class BlockRow(msgspec.Struct, rename="camel"):
    id: str
    """The start time (``gap-`` before it for a gap)."""
    start_time: str
    end_time: str
    actual_end_time: str | None
    is_active: bool
    is_gap: bool
    entries: int
    token_counts: WindowTokenCounts
    total_tokens: int
    cost_usd: float = msgspec.field(name="costUSD")
    models: list[str]
    burn_rate: BurnRateView | None
    projection: ProjectionView | None
    usage_limit_reset_time: str | UnsetType = UNSET
    token_limit_status: TokenLimitStatus | UnsetType = UNSET


class BlocksReport(msgspec.Struct):
    blocks: list[BlockRow]


ReportView = DailyReport | WeeklyReport | MonthlyReport | SessionReport | BlocksReport
"""Any served report (``GET /api/reports/{kind}``: the one ``kind`` names)."""
