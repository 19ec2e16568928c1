"""A file's identity: its inode while its content is what was read, else its content.

The state machine of ``Tailer._work``: a known inode with the same first line and the
same bytes before the offset goes on; anything else is set aside, then compared with the
known files that are gone (a copy of one goes on where it was, under its name); what
is left is new content, read from the start under a new name. A pending resync reads
every file present again from the start, under the same names.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccsync.agent.digest import TAIL_BYTES, Running, content_of
from ccsync.agent.state import RESYNC_KEY, AgentState
from ccsync.agent.tail import Tailer
from ccsync.usage.loader import scan
from fixtures.corpora import ParityCase
from fixtures.lines import dump, usage_line, write_transcript

SUMMARY = dump({"type": "summary", "summary": "Work", "leafUuid": "x"})
"""A first line many transcripts share."""


line = functools.partial(usage_line, ids=False)
"""Usage line ``n``; without a message id by default (every copy of it counts)."""


def queued(state: AgentState) -> list[tuple[str, int]]:
    return [
        (entry["source"], entry["offset"])
        for entry in (json.loads(row) for _, row in state.pending(100_000))
    ]


def replace_by_copy(path: Path, *appended: str, to: Path | None = None) -> Path:
    """``cp path tmp; append; mv tmp (to or path)``: a new inode with the same content."""
    target = to or path
    temporary = path.with_name(path.name + ".tmp")
    shutil.copyfile(path, temporary)
    with temporary.open("a") as handle:
        handle.writelines(text + "\n" for text in appended)
    os.replace(temporary, target)
    if target != path:
        path.unlink()
    return target


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "claude" / "projects").mkdir(parents=True)
    return tmp_path / "claude"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AgentState]:
    store = AgentState(tmp_path / "state" / "agent.db")
    yield store
    store.close()


def test_a_copy_with_more_lines_goes_on_where_the_file_was(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [SUMMARY, line(1), line(2)])
    tailer = Tailer(state, [root])
    assert tailer.scan().entries == 2
    inode = path.stat().st_ino
    replace_by_copy(path, line(3))
    assert path.stat().st_ino != inode
    assert tailer.scan().entries == 1  # only the appended line
    assert {source for source, _ in queued(state)} == {str(path)}
    assert len(set(queued(state))) == 3
    assert tailer.scan().entries == 0


def test_a_copy_moved_to_another_folder_keeps_its_name(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [line(1), line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    (root / "projects" / "q").mkdir()
    replace_by_copy(path, line(3), to=root / "projects" / "q" / "s.jsonl")
    assert tailer.scan().entries == 1
    assert {source for source, _ in queued(state)} == {str(path)}


def test_other_content_at_the_same_path_is_new(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [SUMMARY, line(1), line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    temporary = write_transcript(root, "p/s.tmp", [SUMMARY, line(5), line(6), line(7)])
    os.replace(temporary, path)  # same first line, other lines after it
    assert tailer.scan().entries == 3
    assert {source for source, _ in queued(state)} == {str(path), f"{path}~1"}


def test_a_shorter_copy_is_new_content(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [line(1), line(2), line(3)])
    tailer = Tailer(state, [root])
    tailer.scan()
    temporary = write_transcript(root, "p/s.tmp", [line(1)])
    os.replace(temporary, path)
    assert tailer.scan().entries == 1
    assert queued(state)[-1] == (f"{path}~1", 0)


def test_a_copy_next_to_its_original_is_a_file_of_its_own(root: Path, state: AgentState) -> None:
    """ccusage counts both (lines without message id twice): so does the server."""
    path = write_transcript(root, "p/s.jsonl", [line(1), line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    shutil.copyfile(path, path.with_name("copy.jsonl"))
    assert tailer.scan().entries == 2
    assert {source for source, _ in queued(state)} == {str(path), str(path.with_name("copy.jsonl"))}


def test_a_recycled_inode_is_not_taken_for_the_file_it_held(root: Path, state: AgentState) -> None:
    """A new file given a deleted file's inode number, with the same first line: it is
    read from its start (not from the old offset), and the old file's copy is still known."""
    old = write_transcript(root, "p/old.jsonl", [SUMMARY, line(1), line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    backup = old.with_name("old.bak")
    shutil.copyfile(old, backup)
    old.unlink()
    new = write_transcript(root, "p/new.jsonl", [SUMMARY, line(7), line(8), line(9), line(10)])
    info = new.stat()  # given the inode ``old`` had (file systems often do it at once)
    state._db.execute("UPDATE files SET dev = ?, ino = ?", (info.st_dev, info.st_ino))
    assert tailer.scan().entries == 4
    assert queued(state)[-4:] == [(str(new), offset) for _, offset in queued(state)[-4:]]
    os.replace(backup, old)  # the old file restored: a copy of what was read
    assert tailer.scan().entries == 0
    assert {source for source, _ in queued(state)} == {str(old), str(new)}


def test_many_files_replaced_at_once_each_go_on_exactly(
    root: Path, state: AgentState, parity_cases: dict[str, ParityCase]
) -> None:
    """Every transcript of a device replaced by a copy with its second half: the file
    system recycles the freed inodes among them, and many share their first line."""
    shutil.copytree(parity_cases["case-basic"].devices[0], root, dirs_exist_ok=True)
    rests = []
    for path in sorted((root / "projects").rglob("*.jsonl")):
        lines = path.read_text().splitlines()
        path.write_text("".join(text + "\n" for text in lines[: len(lines) // 2]))
        rests.append((path, lines[len(lines) // 2 :]))
    tailer = Tailer(state, [root])
    tailer.scan()
    for path, rest in rests:
        replace_by_copy(path, *rest)
    tailer.scan()
    expected = [(e.source, e.offset) for e in scan([root], workers=1).entries]
    assert sorted(queued(state)) == sorted(expected)


def test_files_an_older_agent_followed_get_their_identity(root: Path, state: AgentState) -> None:
    path = write_transcript(root, "p/s.jsonl", [line(1), line(2)])
    tailer = Tailer(state, [root])
    tailer.scan()
    # Columns added since 0.1 are empty in its state.
    state._db.execute("UPDATE files SET digest = NULL, tail = NULL, stamp = NULL, head_key = NULL")
    assert tailer.scan().entries == 0
    (known,) = state.files()
    assert known.digest == content_of(path, known.offset).digest  # type: ignore[union-attr]
    replace_by_copy(path, line(3))
    assert tailer.scan().entries == 1
    assert {source for source, _ in queued(state)} == {str(path)}


def test_a_resync_reads_the_files_present_again_under_their_names(
    root: Path, state: AgentState
) -> None:
    kept = write_transcript(root, "p/kept.jsonl", [line(1), line(2, ids=True)])
    gone = write_transcript(root, "p/gone.jsonl", [line(3)])
    tailer = Tailer(state, [root])
    tailer.scan()
    first = queued(state)
    state.acknowledge([outbox_id for outbox_id, _ in state.pending(100)])
    gone.unlink()
    state.put(RESYNC_KEY, "the server lost its database")
    assert tailer.scan().entries == 2
    assert queued(state) == [identity for identity in first if identity[0] == str(kept)]
    assert state.resync_pending() is None
    assert tailer.scan().entries == 0  # once
    gone_state = next(f for f in state.files() if f.source == str(gone))
    assert gone_state.offset > 0  # not rewound: its copy would still be recognised


def test_the_running_identity_is_that_of_the_bytes_read(root: Path, tmp_path: Path) -> None:
    path = write_transcript(root, "p/s.jsonl", [line(n) for n in range(40)])
    data = path.read_bytes()
    running = Running(content_of(path, 0).digest, b"")  # type: ignore[union-attr]
    offset = 0
    for start in range(0, len(data), 333):  # consumed: whole lines only, as a reader does
        chunk = data[start : start + 333]
        end = data.rfind(b"\n", 0, start + len(chunk)) + 1
        content = running.advance(chunk, max(0, end - offset))
        offset = max(offset, end)
        assert content == content_of(path, offset)
    assert len(running.content.tail) == min(TAIL_BYTES, len(data))


def test_the_state_of_an_older_agent_is_taken_over(root: Path, tmp_path: Path) -> None:
    """An ``agent.db`` as 0.1 made it (no content identity yet): opened, it goes on, and
    its files are recognised when replaced by copies afterwards."""
    import sqlite3

    path = write_transcript(root, "p/s.jsonl", [line(1), line(2)])
    info = path.stat()
    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(
        "CREATE TABLE files (dev INTEGER NOT NULL, ino INTEGER NOT NULL, path TEXT NOT NULL,"
        " source TEXT NOT NULL, offset INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL"
        " DEFAULT 0, head BLOB NOT NULL DEFAULT x'', PRIMARY KEY (dev, ino));"
        "CREATE TABLE sources (name TEXT PRIMARY KEY);"
    )
    head = path.read_bytes().split(b"\n")[0] + b"\n"
    size = info.st_size
    db.execute(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
        (info.st_dev, info.st_ino, str(path), str(path), size, size, head),
    )
    db.execute("INSERT INTO sources VALUES (?)", (str(path),))
    db.commit()
    db.close()
    state = AgentState(tmp_path / "old.db")
    try:
        tailer = Tailer(state, [root])
        assert tailer.scan().entries == 0
        replace_by_copy(path, line(3))
        assert tailer.scan().entries == 1
        assert queued(state) == [(str(path), size)]
    finally:
        state.close()
