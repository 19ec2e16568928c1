"""The device store contract (``DeviceStore``), on SQLite and PostgreSQL: devices, their
accounts, and what registering one changes."""

from __future__ import annotations

from ccsync.storage.history.devices import DeviceStore


async def test_register_device_creates_then_updates(devices: DeviceStore) -> None:
    assert await devices.get_device("d1") is None
    created = await devices.register_device("d1", "acc", 100)
    assert (created.id, created.account, created.name) == ("d1", "acc", "d1")
    assert (created.hostname, created.version) == (None, None)
    assert (created.created_ms, created.last_seen_ms, created.last_push_ms) == (100, 100, None)
    assert await devices.get_device("d1") == created

    named = await devices.register_device("d1", "acc", 200, name="laptop", hostname="h1")
    assert (named.name, named.hostname, named.version) == ("laptop", "h1", None)
    assert (named.created_ms, named.last_seen_ms) == (100, 200)

    # The account always changes; fields not given keep their value.
    moved = await devices.register_device("d1", "other", 300, version="2.0")
    assert (moved.account, moved.name, moved.hostname, moved.version) == (
        "other",
        "laptop",
        "h1",
        "2.0",
    )
    assert (moved.created_ms, moved.last_seen_ms) == (100, 300)
    assert await devices.get_device("d1") == moved


async def test_devices_by_account_and_accounts(devices: DeviceStore) -> None:
    assert await devices.list_devices() == []
    assert await devices.accounts() == []
    for device_id, account in [("d3", "b"), ("d1", "a"), ("d2", "b"), ("D0", "a")]:
        await devices.register_device(device_id, account, 1)
    assert [d.id for d in await devices.list_devices()] == ["D0", "d1", "d2", "d3"]
    assert [d.id for d in await devices.list_devices("b")] == ["d2", "d3"]
    assert await devices.list_devices("nobody") == []
    assert await devices.accounts() == ["a", "b"]
