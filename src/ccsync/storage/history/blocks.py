"""The 5-hour blocks that block-pushing devices sent (``ccusage blocks --json``).

Backends: ``sql_blocks.SqlBlockStore``; every backend passes
``tests/contract/test_block_store.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredBlock:
    """A 5-hour block as a device's ``ccusage blocks --json`` reported it (a ``blocks`` push)."""

    account: str
    device_id: str
    block_id: str
    start_ms: int
    end_ms: int
    actual_end_ms: int | None
    is_active: bool
    is_gap: bool
    entries: int
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    models: tuple[str, ...] = ()
    received_ms: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_tokens
            + self.cache_read_tokens
        )


class BlockStore(abc.ABC):
    @abc.abstractmethod
    async def replace_blocks(
        self, account: str, device_id: str, blocks: Sequence[StoredBlock]
    ) -> None:
        """The device's blocks become ``blocks`` (same ``block_id`` replaced, others kept)."""

    @abc.abstractmethod
    async def blocks(self, account: str, device_id: str | None = None) -> list[StoredBlock]:
        """Stored blocks, by start time."""

    @abc.abstractmethod
    async def block_counts(self, account: str) -> dict[str, int]:
        """How many blocks each device of the account stored (one query; devices without
        blocks are left out)."""
