"""Alert rules and which of them are due: pure (limits and the clock in, alerts out).

A rule watches one window (``five_hour``, ``seven_day``, ``seven_day_<family>``), every
model-scoped one (``seven_day_model``) or all (``*``), and says when to speak:

=============================== =========================== ==============================
rule (JSON)                     key                         due when
=============================== =========================== ==============================
``{"atPercent": 80}``           ``percent:80``              used ≥ 80 % (official reading,
                                                            else a learned estimate)
``{"projected": true}``         ``projected``               at the current rate 100 % is
                                                            reached before the reset
``{"reset": true}``             ``reset``                   a window this server warned
                                                            about has reset
``{"unusedBelow": 50,           ``unused:50``               the window resets within the
"beforeResetMinutes": 1440}``                               minutes and is used < 50 %
=============================== =========================== ==============================

Each alert is about one period of its window, named by its reset instant, and fires once
per account, window, rule and period (``LimitStore.claim_alert`` makes that hold across
server processes). A window without a known reset has no period and raises no alert.
Without configured rules, ``DEFAULT_RULES`` apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec

from ccsync.usage.limits import Limit
from ccsync.usage.timestamps import MS_PER_MINUTE

WindowSelector = Annotated[
    str,
    msgspec.Meta(pattern=r"^(\*|five_hour|seven_day|seven_day_model|seven_day_[a-z0-9_]{1,40})$"),
]
Percent = Annotated[float, msgspec.Meta(gt=0, le=1000)]
RESET_GRACE_MS = 60 * MS_PER_MINUTE
"""A reset is announced up to an hour after it (a server down at the instant still says it)."""


class AlertRule(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, rename="camel"):
    """One rule: a window and exactly one condition."""

    window: WindowSelector = "*"
    at_percent: Percent | None = None
    projected: bool = False
    reset: bool = False
    unused_below: Percent | None = None
    before_reset_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] = 24 * 60

    def __post_init__(self) -> None:
        given = [self.at_percent is not None, self.projected, self.reset]
        given.append(self.unused_below is not None)
        if sum(given) != 1:
            raise ValueError("a rule has exactly one of atPercent, projected, reset, unusedBelow")

    @property
    def key(self) -> str:
        if self.at_percent is not None:
            return f"percent:{self.at_percent:g}"
        if self.projected:
            return "projected"
        if self.reset:
            return "reset"
        return f"unused:{self.unused_below:g}:{self.before_reset_minutes}"

    def watches(self, limit: Limit) -> bool:
        return self.window in ("*", limit.window) or (
            self.window == "seven_day_model" and limit.kind == "seven_day_model"
        )


DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(at_percent=80),
    AlertRule(at_percent=95),
    AlertRule(at_percent=100),
    AlertRule(projected=True),
    AlertRule(reset=True),
    AlertRule(window="seven_day", unused_below=50, before_reset_minutes=24 * 60),
)


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An alert to claim and send."""

    window: str
    rule: str
    period: str
    title: str
    body: str


def window_label(limit: Limit) -> str:
    if limit.kind == "five_hour":
        return "5-hour window"
    if limit.model is not None:
        return f"7-day {limit.model.capitalize()} window"
    return "7-day window"


def duration(ms: int) -> str:
    """``2h13m``, ``3d4h``, ``12m`` (never negative)."""
    minutes = max(0, ms) // MS_PER_MINUTE
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def _how(limit: Limit) -> str:
    return "official" if limit.official is not None else "estimate"


def due_alerts(
    limits: Sequence[Limit],
    rules: Iterable[AlertRule],
    now_ms: int,
    *,
    warned_periods: frozenset[tuple[str, str]] = frozenset(),
    past_resets: Iterable[tuple[str, int]] = (),
) -> list[DueAlert]:
    """The alerts ``rules`` call for at ``now_ms``.

    ``warned_periods``: (window, period) pairs some alert already fired for — a ``reset``
    rule announces only the resets of those; ``past_resets``: (window, reset instant) of
    periods that ended recently (they are no longer in ``limits``).
    """
    rules = list(rules)
    due: list[DueAlert] = []
    for limit in limits:
        reset = limit.resets_at_ms
        if reset is None or reset <= now_ms:
            continue
        period = str(reset)
        label = window_label(limit)
        left = duration(reset - now_ms)
        used = limit.used_percent
        for rule in rules:
            if not rule.watches(limit):
                continue
            if rule.at_percent is not None and used is not None and used >= rule.at_percent:
                due.append(
                    DueAlert(
                        limit.window,
                        rule.key,
                        period,
                        f"{label} at {used:.0f} %",
                        f"{label}: {used:.1f} % used ({_how(limit)}), resets in {left}.",
                    )
                )
            elif rule.projected and (at := _exhausted_before(limit, reset)) is not None:
                due.append(
                    DueAlert(
                        limit.window,
                        rule.key,
                        period,
                        f"{label} runs out in {duration(at - now_ms)}",
                        f"{label}: at the current rate 100 % is reached in "
                        f"{duration(at - now_ms)}, {duration(reset - at)} before it resets.",
                    )
                )
            elif (
                rule.unused_below is not None
                and used is not None
                and used < rule.unused_below
                and reset - now_ms <= rule.before_reset_minutes * MS_PER_MINUTE
            ):
                due.append(
                    DueAlert(
                        limit.window,
                        rule.key,
                        period,
                        f"{label} resets in {left}, {used:.0f} % used",
                        f"{label}: only {used:.1f} % used and it resets in {left}; "
                        "what is left of it expires then.",
                    )
                )
    for window, reset in past_resets:
        if not now_ms - RESET_GRACE_MS <= reset <= now_ms:
            continue
        if (window, str(reset)) not in warned_periods:
            continue
        for rule in rules:
            if rule.reset and rule.window in ("*", window, _kind_selector(window)):
                name = _label_of_name(window)
                due.append(
                    DueAlert(
                        window,
                        rule.key,
                        str(reset),
                        f"{name} has reset",
                        f"{name} reset {duration(now_ms - reset)} ago: it starts again "
                        "with your next prompt.",
                    )
                )
    return due


def _exhausted_before(limit: Limit, reset: int) -> int | None:
    """When ``limit`` reaches 100 % at its current rate, if before ``reset`` and not yet."""
    projection = limit.projection
    if projection is None or projection.exhausted_at_ms is None:
        return None
    if projection.exhausted_at_ms >= reset or (limit.used_percent or 0.0) >= 100:
        return None
    return projection.exhausted_at_ms


def _kind_selector(window: str) -> str:
    return "seven_day_model" if window.startswith("seven_day_") else window


def _label_of_name(window: str) -> str:
    if window == "five_hour":
        return "5-hour window"
    if window == "seven_day":
        return "7-day window"
    return f"7-day {window.removeprefix('seven_day_').capitalize()} window"
