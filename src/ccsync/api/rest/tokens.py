"""Device tokens (admin): create one per device, list them, revoke them. Stored hashed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from ccsync.api import deps
from ccsync.api.deps import Admin
from ccsync.api.errors import ApiError
from ccsync.server import events
from ccsync.server.tokens import hash_token, new_token, new_token_id
from ccsync.storage.history.base import TokenRecord
from ccsync.usage.timestamps import iso_millis
from ccsync.wire import device_id_problem

router = APIRouter(tags=["tokens"])


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["device", "admin"] = "device"
    deviceId: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")] | None = None  # noqa: N815
    label: Annotated[str, Field(max_length=200)] = ""
    account: Annotated[str, Field(min_length=1, max_length=256)] | None = None


def _public(record: TokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "label": record.label,
        "deviceId": record.device_id,
        "createdAt": iso_millis(record.created_ms),
        "lastUsedAt": None if record.last_used_ms is None else iso_millis(record.last_used_ms),
        "revokedAt": None if record.revoked_ms is None else iso_millis(record.revoked_ms),
        "active": record.active,
    }


@router.get("/api/tokens", summary="Every token (never the secret)")
async def list_tokens(request: Request, who: Admin) -> dict[str, Any]:
    records = await deps.services(request).history.list_tokens()
    return {"tokens": [_public(r) for r in records]}


@router.post("/api/tokens", status_code=201, summary="Make a token; the answer shows it, once")
async def create_token(request: Request, who: Admin, spec: NewToken) -> dict[str, Any]:
    services = deps.services(request)
    if spec.kind == "device" and not spec.deviceId:
        raise ApiError(422, "a device token needs a 'deviceId'")
    now = services.clock.now_ms()
    if spec.kind == "device" and spec.deviceId:
        problem = device_id_problem(spec.deviceId)
        if problem is not None:
            raise ApiError(422, problem)
        if spec.account is not None:
            # The token speaks for this account (an admin may move a device so); without
            # one, the device's own account binds it: the one it has, or its first push's.
            await services.history.register_device(spec.deviceId, spec.account, now)
    token = new_token()
    record = TokenRecord(
        id=new_token_id(),
        kind=spec.kind,
        token_hash=hash_token(token),
        label=spec.label or (spec.deviceId or spec.kind),
        device_id=spec.deviceId if spec.kind == "device" else None,
        created_ms=now,
    )
    await services.history.add_token(record)
    return {"success": True, "token": token, **_public(record)}


@router.delete("/api/tokens/{token_id}", summary="Revoke a token")
async def revoke_token(
    request: Request, who: Admin, token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")]
) -> dict[str, Any]:
    services = deps.services(request)
    now = services.clock.now_ms()
    if not await services.history.revoke_token(token_id, now):
        raise ApiError(404, f"no active token {token_id!r}")
    # Every replica closes the sockets opened with it.
    await services.live.publish(events.token_revoked(token_id, now))
    return {"success": True, "id": token_id}
