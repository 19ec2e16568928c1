"""Finding data directories and transcripts, and attributing files to projects and sessions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccsync.usage.discovery import (
    NoDataDirsError,
    attribute,
    claude_json_paths,
    find_transcripts,
    resolve_data_dirs,
)


def make_root(path: Path) -> Path:
    (path / "projects").mkdir(parents=True)
    return path


def test_defaults_are_xdg_config_then_dot_claude(tmp_path: Path) -> None:
    home = tmp_path / "home"
    xdg = make_root(home / ".config" / "claude")
    dot = make_root(home / ".claude")
    assert resolve_data_dirs(env={"HOME": str(home)}) == [xdg, dot]
    custom = make_root(tmp_path / "xdg" / "claude")
    assert resolve_data_dirs(env={"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == [
        custom,
        dot,
    ]


def test_no_default_dir_is_an_empty_list_not_an_error(tmp_path: Path) -> None:
    assert resolve_data_dirs(env={"HOME": str(tmp_path)}) == []


def test_claude_config_dir_replaces_the_defaults(tmp_path: Path) -> None:
    make_root(tmp_path / "home" / ".claude")
    a = make_root(tmp_path / "a")
    b = make_root(tmp_path / "b")
    env = {
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": f" {a} ,,{b / 'projects'},{a},{tmp_path / 'nope'}",
    }
    assert resolve_data_dirs(env=env) == [a, b]


def test_claude_config_dir_expands_home(tmp_path: Path) -> None:
    root = make_root(tmp_path / "home" / "data")
    assert resolve_data_dirs(
        env={"HOME": str(tmp_path / "home"), "CLAUDE_CONFIG_DIR": "~/data"}
    ) == [root]


@pytest.mark.parametrize("value", ["", " , ", "/does/not/exist"])
def test_claude_config_dir_without_a_valid_dir_is_an_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(NoDataDirsError, match="CLAUDE_CONFIG_DIR"):
        resolve_data_dirs(env={"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": value})


def test_claude_dir_flags_replace_everything(tmp_path: Path) -> None:
    a = make_root(tmp_path / "a")
    env = {"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(make_root(tmp_path / "b"))}
    assert resolve_data_dirs([str(a)], env=env) == [a]
    with pytest.raises(NoDataDirsError, match="--claude-dir"):
        resolve_data_dirs([str(tmp_path / "missing")], env=env)


def test_where_claude_codes_state_file_may_be(tmp_path: Path) -> None:
    """Each configured directory, each data directory, then the home folder: all of them
    (a reader picks the one that carries what it needs), each once, existing or not."""
    home = tmp_path / "home"
    assert claude_json_paths(env={"HOME": str(home)}) == [home / ".claude.json"]
    dot = home / ".claude"
    env = {"HOME": str(home), "CLAUDE_CONFIG_DIR": f" ~/a ,,{tmp_path / 'b'},{dot}"}
    assert claude_json_paths([dot, tmp_path / "c"], env) == [
        home / "a" / ".claude.json",
        tmp_path / "b" / ".claude.json",
        dot / ".claude.json",
        tmp_path / "c" / ".claude.json",
        home / ".claude.json",
    ]


def test_transcripts_are_found_recursively_and_sorted_by_path(tmp_path: Path) -> None:
    root = make_root(tmp_path / "r")
    files = [
        "p/s.jsonl",
        "p/s/subagents/agent-1.jsonl",
        "p/s/subagents/workflows/w/agent-2.jsonl",
        "a/z.jsonl",
    ]
    for name in files:
        path = root / "projects" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")
    (root / "projects" / "p" / "notes.JSONL").write_text("{}\n")
    (root / "projects" / "p" / "s.json").write_text("{}\n")
    (root / "projects" / "p" / "s" / "tool-results").mkdir()
    os.symlink(root / "projects" / "p" / "s.jsonl", root / "projects" / "p" / "link.jsonl")
    found = [t.relative for t in find_transcripts([root])]
    assert found == sorted(f"projects/{name}" for name in files)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["p", "s.jsonl"], ("p", "s", "p")),
        (["p", "s", "subagents", "agent-1.jsonl"], ("p", "s", "p")),
        (["p", "x", "s", "subagents", "agent-1.jsonl"], ("p", "s", "p/x")),
        (["p", "s", "chat.jsonl"], ("p", "s", "p")),
        (["s.jsonl"], ("s.jsonl", "s.jsonl", "Unknown Project")),
        ([" ", "s.jsonl"], ("unknown", "s", " ")),
    ],
)
def test_attribution(parts: list[str], expected: tuple[str, str, str]) -> None:
    context = attribute(parts, "src")
    assert (context.project, context.session, context.project_path) == expected
