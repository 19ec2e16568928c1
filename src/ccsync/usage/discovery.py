"""Where Claude Code's transcripts are, and which project and session each file is.

Data directories, as ccusage finds them: ``--claude-dir`` (repeatable) replaces
everything; else ``CLAUDE_CONFIG_DIR`` (comma-separated) replaces the defaults; else
``$XDG_CONFIG_HOME/claude`` (``~/.config/claude``) and ``~/.claude``, the home folder being
``%USERPROFILE%`` on Windows (as for Claude Code and ccusage). A directory counts
when it has a ``projects/`` folder; naming the ``projects/`` folder itself works too.
Every ``*.jsonl`` below ``projects/`` is a transcript; symlinks inside are not followed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ccsync import platforms
from ccsync.usage.parse import FileContext

PROJECTS = "projects"
CLAUDE_JSON = ".claude.json"


class NoDataDirsError(ValueError):
    """Explicitly named data directories of which none holds a ``projects/`` folder."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """One transcript file found on disk."""

    path: Path
    root: Path
    """The data directory it was found in (the parent of ``projects/``)."""
    size: int

    @property
    def relative(self) -> str:
        """The path below the data directory, ``projects/<project>/.../<name>.jsonl``."""
        return self.path.relative_to(self.root).as_posix()


def resolve_data_dirs(
    claude_dirs: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> list[Path]:
    """The data directories to scan, in order, without duplicates."""
    env = os.environ if env is None else env
    if claude_dirs:
        roots = _valid_roots(claude_dirs, env)
        if not roots:
            raise NoDataDirsError(
                "No Claude data directory found in --claude-dir "
                f"{', '.join(claude_dirs)}: each must contain a 'projects/' folder "
                "or be that folder."
            )
        return roots
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured is not None:
        roots = _valid_roots(configured.split(","), env)
        if not roots:
            raise NoDataDirsError(
                "No valid Claude data directories found in CLAUDE_CONFIG_DIR. Expected each "
                "path to be a Claude config directory containing 'projects/', or the "
                f"'projects/' directory itself: {configured}"
            )
        return roots
    home = _home(env)
    xdg = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    return _valid_roots([str(Path(xdg) / "claude"), str(home / ".claude")], env)


def _home(env: Mapping[str, str]) -> Path:
    """Where Claude Code keeps ``.claude``: ``%USERPROFILE%`` on Windows, else ``$HOME``."""
    return Path(platforms.home_dir(env))


def _expand(raw: str, env: Mapping[str, str]) -> Path | None:
    """A directory as configured (``~`` is the home folder); ``None`` for nothing."""
    text = raw.strip()
    if not text:
        return None
    if text == "~" or text.startswith("~/"):
        text = str(_home(env)) + text[1:]
    return Path(text)


def _valid_roots(candidates: Iterable[str], env: Mapping[str, str]) -> list[Path]:
    roots: list[Path] = []
    for raw in candidates:
        path = _expand(raw, env)
        if path is None:
            continue
        if path.name == PROJECTS and path.is_dir():
            path = path.parent
        if (path / PROJECTS).is_dir() and path not in roots:
            roots.append(path)
    return roots


def claude_json_paths(
    roots: Sequence[Path] = (), env: Mapping[str, str] | None = None
) -> list[Path]:
    """Where Claude Code's own state file (``.claude.json``: its account, its caches) may
    be, in order, without duplicates: in each ``CLAUDE_CONFIG_DIR`` directory, in each data
    directory of ``roots``, then in the home folder (``~/.claude.json``).

    Several can exist: Claude Code has kept a small bootstrap file in its config directory
    and the real one in the home folder, and which is which changed between versions. A
    reader takes the one that carries what it looks for, never merely the first found.
    """
    env = os.environ if env is None else env
    folders = [_expand(raw, env) for raw in env.get("CLAUDE_CONFIG_DIR", "").split(",")]
    found: list[Path] = []
    for folder in [*(f for f in folders if f is not None), *roots, _home(env)]:
        path = folder / CLAUDE_JSON
        if path not in found:
            found.append(path)
    return found


def claude_account(env: Mapping[str, str] | None = None) -> str | None:
    """The Claude account of this machine: ``oauthAccount.accountUuid`` in ``~/.claude.json``.

    Claude Code keeps that file next to its config directory when ``CLAUDE_CONFIG_DIR`` is
    set (``$CLAUDE_CONFIG_DIR/.claude.json``), else in the home directory. ``None`` when it
    is missing, unreadable, or has no account.
    """
    env = os.environ if env is None else env
    candidates = []
    configured = env.get("CLAUDE_CONFIG_DIR")
    if configured and "," not in configured:
        candidates.append(Path(configured.strip()).expanduser() / ".claude.json")
    candidates.append(_home(env) / ".claude.json")
    for path in candidates:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        account = data.get("oauthAccount") if isinstance(data, dict) else None
        uuid = account.get("accountUuid") if isinstance(account, dict) else None
        if isinstance(uuid, str) and uuid:
            return uuid
    return None


def find_transcripts(roots: Sequence[Path]) -> list[Transcript]:
    """Every transcript under the roots, sorted by full path (ccusage's processing order)."""
    found: list[Transcript] = []
    for root in roots:
        _walk(root / PROJECTS, root, found)
    found.sort(key=lambda transcript: str(transcript.path))
    return found


def _walk(directory: Path, root: Path, found: list[Transcript]) -> None:
    try:
        with os.scandir(directory) as entries:
            children = list(entries)
    except OSError:
        return
    for child in children:
        try:
            if child.is_dir(follow_symlinks=False):
                _walk(Path(child.path), root, found)
            elif child.is_file(follow_symlinks=False) and _is_transcript_name(child.name):
                found.append(Transcript(Path(child.path), root, child.stat().st_size))
        except OSError:
            continue


def _is_transcript_name(name: str) -> bool:
    return name.endswith(".jsonl") and len(name) > len(".jsonl")


def attribute(relative_parts: Sequence[str], source: str, sep: str = os.sep) -> FileContext:
    """Project and session of a transcript from its path parts below ``projects/``.

    - ``P/S.jsonl`` is session ``S`` of project ``P``;
    - ``P/.../S/subagents/X.jsonl`` belongs to the parent session ``S``;
    - otherwise the parent folder is the session (the legacy ``P/S/chat.jsonl`` layout).

    Folder names are taken as they are (``C--Users-me-proj`` from Windows, ``-home-me-proj``
    from Linux): never decoded, and a line's ``cwd`` plays no part. A project path of
    several folders is joined with the platform's separator, as ccusage joins it.
    """
    parts = list(relative_parts)
    project = parts[0] if parts and parts[0].strip() else "unknown"
    name = parts[-1] if parts else ""
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else ""
    if len(parts) == 2 and stem:
        return FileContext(source, project, stem, parts[0])
    if len(parts) >= 4 and parts[-2] == "subagents":
        project_path = sep.join(parts[:-3]) or "Unknown Project"
        return FileContext(source, project, parts[-3], project_path)
    session = parts[-2] if len(parts) >= 2 else (parts[0] if parts else "unknown")
    project_path = sep.join(parts[:-2]) if len(parts) > 2 else "Unknown Project"
    return FileContext(source, project, session, project_path)


def context_for(transcript: Transcript) -> FileContext:
    """The attribution of a file found by ``find_transcripts``, its full path as source."""
    relative = transcript.path.relative_to(transcript.root / PROJECTS)
    return attribute(relative.parts, str(transcript.path))
