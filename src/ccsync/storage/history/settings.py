"""Runtime settings: JSON values by name, changed through the API and kept across restarts.

Backends: ``sql_settings.SqlSettingsStore``; every backend passes
``tests/contract/test_settings_store.py``.
"""

from __future__ import annotations

import abc
from typing import Any


class SettingsStore(abc.ABC):
    @abc.abstractmethod
    async def get_settings(self) -> dict[str, Any]:
        """Every stored runtime setting (JSON values by name)."""

    @abc.abstractmethod
    async def put_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """Store the given settings (others unchanged); the settings after the change."""
