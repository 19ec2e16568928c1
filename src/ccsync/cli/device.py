"""``ccsync device add|list|revoke``: device tokens, through the server's admin API."""

from __future__ import annotations

import click

from ccsync.cli.client import request, server_options


@click.group()
def device() -> None:
    """Device tokens (needs the admin token when the server is not in local mode)."""


@device.command()
@click.argument("device_id")
@click.option(
    "--account",
    help="The Claude account the token binds the device to (default: the device's own, else the one its first push names).",
)
@click.option("--label", default="", help="A note shown by 'device list'.")
@server_options
def add(device_id: str, account: str | None, label: str, server: str, token: str | None) -> None:
    """Make a token for DEVICE_ID; it is shown once."""
    body = {"kind": "device", "deviceId": device_id, "label": label or device_id}
    if account:
        body["account"] = account
    made = request("POST", server, "/api/tokens", token, json=body)
    click.echo(
        f"Token for {device_id} (id {made['id']}; shown once, store it on the device as CCSYNC_TOKEN):"
    )
    click.echo(made["token"])


@device.command(name="list")
@server_options
def list_devices(server: str, token: str | None) -> None:
    """Devices and their tokens."""
    usage = request("GET", server, "/api/usage", token)
    tokens = request("GET", server, "/api/tokens", token)["tokens"]
    by_device: dict[str, list[str]] = {}
    for record in tokens:
        if record["deviceId"]:
            state = "active" if record["active"] else "revoked"
            by_device.setdefault(record["deviceId"], []).append(f"{record['id']} ({state})")
    devices = {d["deviceId"]: d for d in usage["devices"]}
    for device_id in sorted(set(devices) | set(by_device)):
        info = devices.get(device_id, {})
        online = "online" if info.get("online") else "offline"
        last = info.get("lastPush") or "never"
        tokens_text = ", ".join(by_device.get(device_id, [])) or "no token"
        click.echo(f"{device_id:24} {online:8} last push {last:26} tokens: {tokens_text}")


@device.command()
@click.argument("token_id")
@server_options
def revoke(token_id: str, server: str, token: str | None) -> None:
    """Revoke the token TOKEN_ID (see 'device list')."""
    request("DELETE", server, f"/api/tokens/{token_id}", token)
    click.echo(f"Revoked {token_id}.")
