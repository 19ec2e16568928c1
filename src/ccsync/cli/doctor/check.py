"""One check of ``ccsync doctor``: what was checked, and what to do when it failed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    what: str
    advice: str = ""
    required: bool = True
    """A failed required check makes ``ccsync doctor`` exit 1; others only warn."""
