"""The settings store contract (``SettingsStore``), on SQLite and PostgreSQL: JSON values
by name, merged on every change."""

from __future__ import annotations

from ccsync.storage.history.settings import SettingsStore


async def test_settings_merge(settings_store: SettingsStore) -> None:
    assert await settings_store.get_settings() == {}
    values = {
        "timezone": "Asia/Tokyo",
        "limits": {"tokens": 2**40, "ratio": 0.5, "on": [True, None]},
    }
    assert await settings_store.put_settings(values) == values
    assert await settings_store.put_settings({"timezone": "UTC", "plan": None}) == {
        "timezone": "UTC",
        "limits": values["limits"],
        "plan": None,
    }
    assert await settings_store.put_settings({}) == await settings_store.get_settings()
    assert (await settings_store.get_settings())["limits"] == values["limits"]
