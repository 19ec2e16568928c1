"""Lines and blocks for the history contract suites, and what the store must keep of them."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ccsync.storage.history.blocks import StoredBlock
from ccsync.storage.history.entries import StoredEntry
from ccsync.usage.dedup import deduplicate
from ccsync.usage.entry import UsageEntry


def entry(
    n: int,
    *,
    device: str = "d1",
    file: str = "p/s1.jsonl",
    ts: int = 1_000,
    mid: str | None = "m",
    rid: str | None = "r",
    session: str | None = "s1",
    tokens: int = 100,
    sidechain: bool = False,
    speed: bool = False,
) -> UsageEntry:
    """Line ``n`` (its offset) of ``file`` below ``projects/`` on ``device``."""
    project = file.split("/")[0]
    return UsageEntry(
        timestamp_ms=ts,
        input_tokens=tokens,
        output_tokens=7,
        cache_creation_tokens=3_000_000_000,  # beyond 32 bits
        cache_creation_1h_tokens=1_000,
        cache_read_tokens=5,
        model="claude-sonnet-4-20250514",
        fast=False,
        has_speed=speed,
        message_id=mid,
        request_id=rid,
        session_field=session,
        cost_usd=None,
        sidechain=sidechain,
        usage_limit_reset_ms=None,
        project=project,
        session=file.split("/")[-1].removesuffix(".jsonl"),
        project_path=project,
        source=f"{device}/projects/{file}",
        offset=n,
    )


def kept_view(kept: Sequence[StoredEntry]) -> list[tuple[str, UsageEntry]]:
    return [(stored.device_id, stored.entry) for stored in kept]


def expected_view(pushed: dict[str, list[UsageEntry]]) -> list[tuple[str, UsageEntry]]:
    """What the store must keep: ccusage's survivors of everything pushed, with devices."""
    device_of = {(e.source, e.offset): device for device, lines in pushed.items() for e in lines}
    everything = [e for lines in pushed.values() for e in lines]
    return [(device_of[(e.source, e.offset)], e) for e in deduplicate(everything)]


def relocated(pushed: dict[str, list[UsageEntry]], prefix: str) -> dict[str, list[UsageEntry]]:
    """The same lines in files of another name (so other lines, with the same contents)."""
    return {
        device: [msgspec.structs.replace(e, source=f"{prefix}/{e.source}") for e in lines]
        for device, lines in pushed.items()
    }


def block(
    block_id: str, start_ms: int, *, device: str = "d1", tokens: int = 10, account: str = "acc"
) -> StoredBlock:
    return StoredBlock(
        account=account,
        device_id=device,
        block_id=block_id,
        start_ms=start_ms,
        end_ms=start_ms + 18_000_000,
        actual_end_ms=None if tokens == 0 else start_ms + 60_000,
        is_active=tokens > 10,
        is_gap=tokens == 0,
        entries=3,
        input_tokens=tokens,
        output_tokens=2,
        cache_creation_tokens=3_000_000_000,
        cache_read_tokens=4,
        cost_usd=1.5,
        models=("claude-opus-4", "claude-sonnet-4") if tokens else (),
        received_ms=77,
    )
