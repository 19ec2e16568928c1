"""Model prices and the cost of an entry, computed as ccusage 20.0.24 computes it.

Prices ship with the package (``prices.json``, built by ``scripts/update_prices.py`` from
LiteLLM's published list plus the corrections ccusage builds in). A model is found by
exact name, else by the longest price-list name that one of the two names contains at
token boundaries (see ``_contains_at_boundary``). Unknown models cost nothing and are
reported as unpriced; ``<synthetic>`` lines are Claude Code's own and never priced.
"""

from __future__ import annotations

import enum
from functools import cache
from importlib.resources import files

import msgspec

from ccsync.usage.entry import SYNTHETIC_MODEL, UsageEntry

TIER_THRESHOLD = 200_000
"""Tokens of one type in one request beyond which the ``*_above_200k`` rates apply."""
DATE_SUFFIX_DIGITS = 8


class CostMode(enum.StrEnum):
    """How an entry's cost is found (ccusage's ``--mode``)."""

    AUTO = "auto"
    """The line's ``costUSD`` when it has one, else calculated from tokens."""
    CALCULATE = "calculate"
    """Always calculated from tokens."""
    DISPLAY = "display"
    """Only the line's ``costUSD`` (0 without one)."""


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """USD per token for one model."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    input_above_200k: float | None = None
    output_above_200k: float | None = None
    cache_write_above_200k: float | None = None
    cache_read_above_200k: float | None = None
    max_input_tokens: int | None = None
    fast_multiplier: float = 1.0


class PriceList(msgspec.Struct, frozen=True):
    """The file format of ``prices.json``."""

    source: str
    models: dict[str, Price]


class PriceTable:
    """Lookup of prices by the model names found in transcripts."""

    def __init__(self, models: dict[str, Price]) -> None:
        self._models = dict(models)
        self._normalized = {key: _normalize(key) for key in self._models}
        self._found: dict[str, Price | None] = {}

    @classmethod
    def from_json(cls, data: bytes) -> PriceTable:
        return cls(msgspec.json.decode(data, type=PriceList).models)

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, model: object) -> bool:
        return model in self._models

    def find(self, model: str) -> Price | None:
        """The price of ``model``, or ``None`` when no listed name fits it."""
        try:
            return self._found[model]
        except KeyError:
            price = self._models.get(model)
            if price is None:
                key = self.match(model)
                price = None if key is None else self._models[key]
            self._found[model] = price
            return price

    def match(self, model: str) -> str | None:
        """The listed name a model resolves to: exact, else the longest boundary match.

        Names are compared as written and with ``.`` and ``@`` read as ``-``. Ties go to
        the lexicographically smallest name.
        """
        if model in self._models:
            return model
        normalized = _normalize(model)
        matches = [
            key
            for key, key_normalized in self._normalized.items()
            if _names_match(model, key) or _names_match(normalized, key_normalized)
        ]
        return min(matches, key=lambda key: (-len(key), key), default=None)


@cache
def default_prices() -> PriceTable:
    """The price table shipped with the package."""
    data = files("ccsync.usage").joinpath("prices.json").read_bytes()
    return PriceTable.from_json(data)


def price_entry(entry: UsageEntry, mode: CostMode, prices: PriceTable) -> tuple[float, str | None]:
    """The cost of one entry in USD, and its model when that had to be priced and wasn't.

    A model is listed as unpriced only when the cost was calculated (mode ``calculate``,
    or ``auto`` without ``costUSD``), the entry has tokens, and it is not ``<synthetic>``.
    """
    if mode is CostMode.DISPLAY:
        return (entry.cost_usd if entry.cost_usd is not None else 0.0), None
    if mode is CostMode.AUTO and entry.cost_usd is not None:
        return entry.cost_usd, None
    model = entry.model
    if model is None:
        return 0.0, None
    price = prices.find(model)
    if price is not None:
        return tokens_cost(entry, price), None
    if model == SYNTHETIC_MODEL or entry.total_tokens == 0:
        return 0.0, None
    return 0.0, model


def entry_cost(entry: UsageEntry, mode: CostMode, prices: PriceTable) -> float:
    """The cost of one entry in USD."""
    return price_entry(entry, mode, prices)[0]


def tokens_cost(entry: UsageEntry, price: Price) -> float:
    """Tokens times rates; each token type is tiered on its own, per request."""
    one_hour = entry.cache_creation_1h_tokens
    five_minute = entry.cache_creation_tokens - one_hour
    above_input = price.input_above_200k
    if (
        entry.input_tokens <= TIER_THRESHOLD
        and entry.output_tokens <= TIER_THRESHOLD
        and entry.cache_creation_tokens <= TIER_THRESHOLD
        and entry.cache_read_tokens <= TIER_THRESHOLD
    ):  # the common case, no tier reached
        cost = (
            entry.input_tokens * price.input
            + entry.output_tokens * price.output
            + five_minute * price.cache_write
            + one_hour * 2 * price.input
            + entry.cache_read_tokens * price.cache_read
        )
        return cost * price.fast_multiplier if entry.fast else cost
    cost = (
        _tiered(entry.input_tokens, price.input, above_input)
        + _tiered(entry.output_tokens, price.output, price.output_above_200k)
        + _tiered(five_minute, price.cache_write, price.cache_write_above_200k)
        + _tiered(one_hour, 2 * price.input, None if above_input is None else 2 * above_input)
        + _tiered(entry.cache_read_tokens, price.cache_read, price.cache_read_above_200k)
    )
    return cost * price.fast_multiplier if entry.fast else cost


def _tiered(tokens: int, base: float, above: float | None) -> float:
    if tokens <= TIER_THRESHOLD or above is None:
        return tokens * base
    return TIER_THRESHOLD * base + (tokens - TIER_THRESHOLD) * above


def _normalize(name: str) -> str:
    return name.replace(".", "-").replace("@", "-")


def _names_match(model: str, key: str) -> bool:
    if len(model) >= len(key):
        return _contains_at_boundary(model, key)
    return _contains_at_boundary(key, model)


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _contains_at_boundary(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` between non-alphanumeric characters (or the ends).

    A needle ending in a digit may be followed by ``-N``/``.N`` only when N is a date
    (eight digits): ``claude-opus-4-6-20260101`` is ``claude-opus-4-6``, but
    ``claude-sonnet-4-7`` is not ``claude-sonnet-4``.
    """
    if not needle:
        return False
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before_ok = start == 0 or not _is_word_char(haystack[start - 1])
        after_ok = end == len(haystack) or not _is_word_char(haystack[end])
        if before_ok and after_ok and _version_suffix_ok(needle, haystack[end:]):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _version_suffix_ok(needle: str, rest: str) -> bool:
    if not (needle[-1].isdigit() and len(rest) >= 2 and rest[0] in "-." and rest[1].isdigit()):
        return True
    digits = 0
    for char in rest[1:]:
        if not char.isdigit():
            break
        digits += 1
    return digits == DATE_SUFFIX_DIGITS
