"""The block store contract (``BlockStore``), on SQLite and PostgreSQL: the ccusage blocks
block-pushing devices sent, replaced by id."""

from __future__ import annotations

from ccsync.storage.history.blocks import BlockStore

from .records import block


async def test_replace_blocks_replaces_by_id_and_keeps_others(blocks: BlockStore) -> None:
    assert await blocks.blocks("acc") == []
    await blocks.replace_blocks("acc", "d1", [block("b2", 2_000), block("b1", 1_000)])
    await blocks.replace_blocks("acc", "d2", [block("b1", 1_500, device="d2")])
    await blocks.replace_blocks("other", "d3", [block("x", 0, device="d3", account="other")])
    assert [b.block_id for b in await blocks.blocks("acc", "d1")] == ["b1", "b2"]

    updated = block("b2", 2_000, tokens=500)
    await blocks.replace_blocks("acc", "d1", [updated, block("b3", 3_000, tokens=0)])
    assert await blocks.blocks("acc", "d1") == [
        block("b1", 1_000),
        updated,
        block("b3", 3_000, tokens=0),
    ]
    assert [(b.device_id, b.start_ms) for b in await blocks.blocks("acc")] == [
        ("d1", 1_000),
        ("d2", 1_500),
        ("d1", 2_000),
        ("d1", 3_000),
    ]
    await blocks.replace_blocks("acc", "d1", [])
    assert len(await blocks.blocks("acc", "d1")) == 3
    assert await blocks.blocks("other") == [block("x", 0, device="d3", account="other")]
    assert (await blocks.blocks("acc", "d1"))[1].total_tokens == 500 + 2 + 3_000_000_000 + 4


async def test_block_counts_per_device_in_one_answer(blocks: BlockStore) -> None:
    assert await blocks.block_counts("acc") == {}
    await blocks.replace_blocks("acc", "d1", [block("b2", 2_000), block("b1", 1_000)])
    await blocks.replace_blocks("acc", "d2", [block("b1", 1_500, device="d2")])
    await blocks.replace_blocks("other", "d3", [block("x", 0, device="d3", account="other")])
    assert await blocks.block_counts("acc") == {"d1": 2, "d2": 1}
    assert await blocks.block_counts("other") == {"d3": 1}
    assert await blocks.block_counts("nobody") == {}
