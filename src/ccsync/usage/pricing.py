"""Model prices and the cost of an entry, computed as ccusage 20.0.24 computes it.

Prices ship with the package (``prices.json``, built by ``price_source`` from LiteLLM's
published list with every price ccusage 20.0.24 charges kept as it charges it); ``ccsync
prices update`` writes a newer table to the user's data directory (``ccsync.prices``
chooses the table). A model is found by exact name, else by the longest price-list name
that one of the two names contains at token boundaries (see ``_contains_at_boundary``);
names marked ``exact_only`` are found by their exact name only. Unknown models cost
nothing and are reported as unpriced; ``<synthetic>`` lines are Claude Code's own and
never priced.

Two kinds of tier (``Tier``):

- ``type_tier``, ccusage's long-context tier (LiteLLM's ``*_above_200k_tokens``): in one
  request, each token type on its own, the tokens beyond ``above`` cost the higher rate.
- ``prompt_tiers``, LiteLLM's rule for its other ``*_above_Nk_tokens`` keys (and ccusage's
  own rule for its models.dev context tiers): once a request's prompt (input + cache
  writes + cache reads) exceeds ``above``, every token of it, output included, costs the
  tier's rates (the highest tier crossed).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

import msgspec

from ccsync.usage.entry import SYNTHETIC_MODEL, UsageEntry

TABLE_FORMAT = 2
"""The version of ``PriceList``'s layout; a table of another format is not read."""
DATE_SUFFIX_DIGITS = 8
_NO_LIMIT = 2**63


class CostMode(enum.StrEnum):
    """How an entry's cost is found (ccusage's ``--mode``)."""

    AUTO = "auto"
    """The line's ``costUSD`` when it has one, else calculated from tokens."""
    CALCULATE = "calculate"
    """Always calculated from tokens."""
    DISPLAY = "display"
    """Only the line's ``costUSD`` (0 without one)."""


class Tier(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """USD per token above ``above`` tokens; ``None`` keeps the base rate of that type."""

    above: int
    input: float | None = None
    output: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    cache_read: float | None = None


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """USD per token for one model."""

    input: float
    output: float
    cache_write: float
    """5-minute cache writes."""
    cache_read: float
    cache_write_1h: float | None = None
    """1-hour cache writes; ``None`` for twice the input rate (ccusage's rule)."""
    type_tier: Tier | None = None
    """ccusage's long-context tier: each token type on its own, only the tokens above."""
    prompt_tiers: tuple[Tier, ...] = ()
    """LiteLLM's tiers: the whole request once its prompt exceeds ``above``."""
    max_input_tokens: int | None = None
    fast_multiplier: float = 1.0
    exact_only: bool = False
    """Found by its exact name only, never by a name that contains it (or it contains)."""


class PriceList(msgspec.Struct, frozen=True):
    """The file format of ``prices.json``."""

    format: int
    source: str
    """What the table was built from."""
    built: str
    """The day it was built (``YYYY-MM-DD``)."""
    models: dict[str, Price]
    ccusage: tuple[str, ...] = ()
    """The names priced exactly as ccusage 20.0.24 prices them (kept by every update)."""


class PriceTableError(ValueError):
    """A price table that cannot be used (not JSON, another format, bad prices)."""


class Rates:
    """A price ready for the per-entry arithmetic (tier limits and defaults resolved)."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "fast_multiplier",
        "flat",
        "input",
        "output",
        "prompt_above",
        "prompt_tiers",
        "type_above",
        "type_tier",
    )

    def __init__(self, price: Price) -> None:
        self.input = price.input
        self.output = price.output
        self.cache_write = price.cache_write
        self.cache_read = price.cache_read
        self.cache_write_1h = (
            2 * price.input if price.cache_write_1h is None else price.cache_write_1h
        )
        self.fast_multiplier = price.fast_multiplier
        implicit_1h = price.cache_write_1h is None
        tier = None if price.type_tier is None else _resolve_1h(price.type_tier, implicit_1h)
        self.type_tier = tier
        self.type_above = _NO_LIMIT if tier is None else tier.above
        # Highest threshold first: the first one a prompt exceeds is the one that applies.
        self.prompt_tiers = tuple(
            _resolve_1h(t, implicit_1h) for t in sorted(price.prompt_tiers, key=lambda t: -t.above)
        )
        self.prompt_above = min((t.above for t in self.prompt_tiers), default=_NO_LIMIT)
        self.flat = tier is None and not self.prompt_tiers


def _resolve_1h(tier: Tier, implicit_1h: bool) -> Tier:
    """A tier's 1-hour cache-write rate, when not given: twice its input rate if the
    model's 1-hour rate is twice its input rate (ccusage's rule), else the base rate."""
    if tier.cache_write_1h is not None or not implicit_1h or tier.input is None:
        return tier
    return msgspec.structs.replace(tier, cache_write_1h=2 * tier.input)


class PriceTable:
    """Lookup of prices by the model names found in transcripts."""

    def __init__(
        self,
        models: Mapping[str, Price],
        *,
        source: str = "",
        built: str = "",
        ccusage: tuple[str, ...] = (),
    ) -> None:
        self._models = dict(models)
        self._normalized = {
            key: _normalize(key) for key, price in self._models.items() if not price.exact_only
        }
        self._found: dict[str, Price | None] = {}
        self._rates: dict[str, Rates | None] = {}
        self.source = source
        self.built = built
        self.ccusage = ccusage

    @classmethod
    def from_json(cls, data: bytes) -> PriceTable:
        """A table from the bytes of a ``prices.json``; ``PriceTableError`` when unusable."""
        try:
            head = msgspec.json.decode(data, type=_Head)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PriceTableError(f"not a price table: {exc}") from None
        if head.format != TABLE_FORMAT:
            raise PriceTableError(
                f"price table format {head.format}, this ccsync reads {TABLE_FORMAT}"
            )
        try:
            table = msgspec.json.decode(data, type=PriceList)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PriceTableError(f"bad price table: {exc}") from None
        return cls.from_list(table)

    @classmethod
    def from_list(cls, table: PriceList) -> PriceTable:
        return cls(table.models, source=table.source, built=table.built, ccusage=table.ccusage)

    def to_list(self) -> PriceList:
        return PriceList(
            format=TABLE_FORMAT,
            source=self.source,
            built=self.built,
            models=dict(self._models),
            ccusage=self.ccusage,
        )

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, model: object) -> bool:
        return model in self._models

    @property
    def models(self) -> Mapping[str, Price]:
        return self._models

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

    def rates(self, model: str) -> Rates | None:
        """``find`` ready for ``tokens_cost`` (kept per model name: this runs per entry)."""
        try:
            return self._rates[model]
        except KeyError:
            price = self.find(model)
            rates = self._rates[model] = None if price is None else Rates(price)
            return rates

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


class _Head(msgspec.Struct):
    format: int = 1


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
    rates = prices.rates(model)
    if rates is not None:
        return _cost(entry, rates), None
    if model == SYNTHETIC_MODEL or entry.total_tokens == 0:
        return 0.0, None
    return 0.0, model


def tokens_cost(entry: UsageEntry, rates: Rates | Price) -> float:
    """Tokens times rates, with the model's tiers (see the module's doc)."""
    return _cost(entry, Rates(rates) if isinstance(rates, Price) else rates)


def _cost(entry: UsageEntry, rates: Rates) -> float:
    inp = entry.input_tokens
    out = entry.output_tokens
    cache_creation = entry.cache_creation_tokens
    cache_read = entry.cache_read_tokens
    one_hour = entry.cache_creation_1h_tokens
    five_minute = cache_creation - one_hour
    if rates.flat or (
        inp + cache_creation + cache_read <= rates.prompt_above
        and inp <= (limit := rates.type_above)
        and out <= limit
        and cache_creation <= limit
        and cache_read <= limit
    ):  # the common case, no tier reached
        cost = (
            inp * rates.input
            + out * rates.output
            + five_minute * rates.cache_write
            + one_hour * rates.cache_write_1h
            + cache_read * rates.cache_read
        )
    elif inp + cache_creation + cache_read > rates.prompt_above:
        cost = _prompt_tier_cost(entry, rates, five_minute, one_hour)
    else:
        cost = _type_tier_cost(entry, rates, five_minute, one_hour)
    return cost * rates.fast_multiplier if entry.fast else cost


def _type_tier_cost(entry: UsageEntry, rates: Rates, five_minute: int, one_hour: int) -> float:
    tier = rates.type_tier
    assert tier is not None  # a type limit was reached, so there is a type tier
    limit = tier.above
    return (
        _tiered(entry.input_tokens, limit, rates.input, tier.input)
        + _tiered(entry.output_tokens, limit, rates.output, tier.output)
        + _tiered(five_minute, limit, rates.cache_write, tier.cache_write)
        + _tiered(one_hour, limit, rates.cache_write_1h, tier.cache_write_1h)
        + _tiered(entry.cache_read_tokens, limit, rates.cache_read, tier.cache_read)
    )


def _prompt_tier_cost(entry: UsageEntry, rates: Rates, five_minute: int, one_hour: int) -> float:
    prompt = entry.input_tokens + entry.cache_creation_tokens + entry.cache_read_tokens
    tier = next(t for t in rates.prompt_tiers if prompt > t.above)
    return (
        entry.input_tokens * _or(tier.input, rates.input)
        + entry.output_tokens * _or(tier.output, rates.output)
        + five_minute * _or(tier.cache_write, rates.cache_write)
        + one_hour * _or(tier.cache_write_1h, rates.cache_write_1h)
        + entry.cache_read_tokens * _or(tier.cache_read, rates.cache_read)
    )


def _or(rate: float | None, base: float) -> float:
    return base if rate is None else rate


def _tiered(tokens: int, limit: int, base: float, above: float | None) -> float:
    if tokens <= limit or above is None:
        return tokens * base
    return limit * base + (tokens - limit) * above


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
