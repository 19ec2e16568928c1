"""One usage entry: the token counts of one transcript line, with where it came from.

An entry is plain data. The parser builds it from a transcript line, the agent sends it
over the wire, the history store keeps it, and every report is computed from a list of
them. It carries exactly what ccusage reads from a line, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

import msgspec

SYNTHETIC_MODEL = "<synthetic>"
TELEMETRY_SOURCE_PREFIX = "otlp://"
"""The sources of entries made from Claude Code's OpenTelemetry events
(``otlp://<device>/<session>``). No transcript line has one: a device's sources are
``<device id>:<path>`` and a local report's are file paths."""


class UsageEntry(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """A validated usage line.

    ``source`` and ``offset`` place the line in a canonical order (file path, then byte
    offset inside the file) that deduplication uses to break ties the way ccusage's path
    order does; they also make a line's identity, so the same line sent twice is one entry.
    """

    timestamp_ms: int
    """When the API call happened, in milliseconds since the epoch (UTC)."""
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    """5-minute plus 1-hour cache writes (the breakdown when present, else the flat field)."""
    cache_creation_1h_tokens: int
    """The 1-hour part of ``cache_creation_tokens``; priced at twice the input rate."""
    cache_read_tokens: int
    model: str | None
    """The model as logged (``<synthetic>`` included); ``None`` when the line has none."""
    fast: bool
    """``usage.speed == "fast"``: the model is shown with ``-fast`` and priced with a multiplier."""
    has_speed: bool
    """``usage.speed`` is present at all (a tie-breaker in deduplication)."""
    message_id: str | None
    request_id: str | None
    session_field: str | None
    """The line's own ``sessionId`` field, which scopes deduplication."""
    cost_usd: float | None
    """The line's ``costUSD`` (only very old Claude Code versions wrote one)."""
    sidechain: bool
    usage_limit_reset_ms: int | None
    """From API-error lines "Claude AI usage limit reached|<epoch seconds>"."""
    project: str
    """The first folder under ``projects/``."""
    session: str
    """The session the file belongs to (file stem, or the parent session of a sub-agent)."""
    project_path: str
    """The project part of the session key of the session report."""
    source: str
    """Canonical name of the file the line came from (its path, or ``<device>/<path>``)."""
    offset: int
    """Byte offset of the line in that file."""

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_tokens
            + self.cache_read_tokens
        )

    @property
    def effective_session(self) -> str:
        """The session that scopes deduplication: the line's field, else the file's."""
        return self.session_field if self.session_field is not None else self.session

    @property
    def from_telemetry(self) -> bool:
        """Made from an OpenTelemetry ``api_request`` event, not read from a transcript:
        it has no message id and stands in for its request only until a transcript line
        of that request is seen (``dedup``)."""
        return self.message_id is None and self.source.startswith(TELEMETRY_SOURCE_PREFIX)

    @property
    def display_model(self) -> str | None:
        """The model name reports show: none for ``<synthetic>``, ``-fast`` for fast mode."""
        if self.model is None or self.model == SYNTHETIC_MODEL:
            return None
        return f"{self.model}-fast" if self.fast else self.model


time_order: Callable[[UsageEntry], tuple[int, str, int]] = attrgetter(
    "timestamp_ms", "source", "offset"
)
"""The order reports list entries in: by time, then by file and offset for equal times."""
