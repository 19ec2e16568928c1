"""The tailer: incremental, crash-safe, and exactly once, whatever the file does."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccsync.agent.state import AgentState
from ccsync.agent.tail import Tailer
from ccsync.usage.loader import scan
from fixtures.corpora import ParityCase
from fixtures.lines import usage_line, write_transcript


def queued(state: AgentState) -> list[dict[str, object]]:
    return [json.loads(row) for _, row in state.pending(100_000)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "claude" / "projects").mkdir(parents=True)
    return tmp_path / "claude"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AgentState]:
    store = AgentState(tmp_path / "state" / "agent.db")
    yield store
    store.close()


def test_reads_only_what_was_appended(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [usage_line(1), usage_line(2)])
    tailer = Tailer(state, [root])
    assert tailer.scan().entries == 2
    assert tailer.scan().entries == 0
    with path.open("a") as handle:
        handle.write(usage_line(3) + "\n")
    assert tailer.scan().entries == 1
    offsets = [e["offset"] for e in queued(state)]
    assert offsets == sorted(set(offsets)) and len(offsets) == 3


def test_a_partial_last_line_waits_for_its_end(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [usage_line(1)])
    full = usage_line(2)
    with path.open("a") as handle:
        handle.write(full[:50])
    tailer = Tailer(state, [root])
    assert tailer.scan().entries == 1
    with path.open("a") as handle:
        handle.write(full[50:] + "\n")
    assert tailer.scan().entries == 1
    assert [e["messageId"] for e in queued(state)] == ["m1", "m2"]


def test_a_complete_last_line_without_newline_counts_once(root: Path, state: AgentState) -> None:
    path = root / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    # no final newline: ccusage would still count the last line
    path.write_text(usage_line(1) + "\n" + usage_line(2))
    tailer = Tailer(state, [root])
    assert tailer.scan().entries == 2
    with path.open("a") as handle:
        handle.write("\n" + usage_line(3) + "\n")
    assert tailer.scan().entries == 1
    assert [e["messageId"] for e in queued(state)] == ["m1", "m2", "m3"]


def test_new_files_and_subagents_are_found(root: Path, state: AgentState) -> None:
    tailer = Tailer(state, [root])
    assert tailer.scan().entries == 0
    write_transcript(root, "p/s.jsonl", [usage_line(1)])
    write_transcript(root, "p/s/subagents/agent-1.jsonl", [usage_line(2, isSidechain=True)])
    assert tailer.scan().entries == 2
    sessions = {e["session"] for e in queued(state)}
    assert sessions == {"s"}


def test_a_renamed_file_keeps_its_identity(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [usage_line(1)])
    tailer = Tailer(state, [root])
    tailer.scan()
    moved = path.with_name("renamed.jsonl")
    os.rename(path, moved)
    with moved.open("a") as handle:
        handle.write(usage_line(2) + "\n")
    assert tailer.scan().entries == 1
    sources = {e["source"] for e in queued(state)}
    assert sources == {str(path)}  # the name its lines were first sent under


def test_a_rewritten_file_is_read_again_under_a_new_name(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [usage_line(1), usage_line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    path.write_text(usage_line(3) + "\n")  # shorter than what was read: rewritten
    assert tailer.scan().entries == 1
    entries = queued(state)
    assert [(e["source"], e["offset"]) for e in entries][-1] == (f"{path}~1", 0)
    assert len({(e["source"], e["offset"]) for e in entries}) == 3  # no identity reused


def test_a_replaced_file_at_the_same_path_gets_a_new_name(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [usage_line(1)])
    tailer = Tailer(state, [root])
    tailer.scan()
    path.unlink()
    write_transcript(root, "p/s.jsonl", [usage_line(2), usage_line(3)])
    tailer.scan()
    assert {e["source"] for e in queued(state)} == {str(path), f"{path}~1"}


def test_big_files_are_read_in_committed_chunks(
    root: Path, state: AgentState, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ccsync.agent.tail as tail

    monkeypatch.setattr(tail, "CHUNK_BYTES", 700)
    write_transcript(root, "p/s.jsonl", [usage_line(n) for n in range(1, 30)])
    assert Tailer(state, [root]).scan().entries == 29


def test_the_outbox_equals_a_full_scan(root: Path, state: AgentState, parity_root: Path) -> None:
    tailer = Tailer(state, [parity_root])
    tailer.scan()
    expected = {(e.source, e.offset) for e in scan([parity_root], workers=1).entries}
    assert {(e["source"], e["offset"]) for e in queued(state)} == expected


@pytest.fixture
def parity_root(parity_cases: dict[str, ParityCase]) -> Path:
    return parity_cases["case-busy"].devices[0]


def test_acknowledged_lines_leave_the_outbox(root: Path, state: AgentState) -> None:
    write_transcript(root, "p/s.jsonl", [usage_line(1), usage_line(2), usage_line(3)])
    Tailer(state, [root]).scan()
    first = state.pending(2)
    state.acknowledge([i for i, _ in first])
    assert [json.loads(row)["messageId"] for _, row in state.pending(10)] == ["m3"]
    assert state.outbox_size() == 1


def test_state_survives_reopening(root: Path, tmp_path: Path) -> None:
    write_transcript(root, "p/s.jsonl", [usage_line(1)])
    first = AgentState(tmp_path / "s.db")
    Tailer(first, [root]).scan()
    first.close()
    again = AgentState(tmp_path / "s.db")
    try:
        assert Tailer(again, [root]).scan().entries == 0
        assert again.outbox_size() == 1
    finally:
        again.close()
