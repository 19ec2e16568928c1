"""ccsync: Claude Code token usage, synced across every machine."""

__version__ = "0.1.0"
