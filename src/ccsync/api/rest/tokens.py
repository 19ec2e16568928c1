"""Device tokens (admin): create one per device, list them, revoke them. Stored hashed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from ccsync.api import deps
from ccsync.api.deps import Admin
from ccsync.api.typed import TypedRoute, json_body
from ccsync.server.tokens import MadeToken, NewToken, Revoked, TokenList

router = APIRouter(tags=["tokens"], route_class=TypedRoute)
TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")]


@router.get("/api/tokens", summary="Every token (never the secret)")
async def list_tokens(request: Request, who: Admin) -> TokenList:
    return await deps.services(request).tokens.listing()


@router.post("/api/tokens", status_code=201, summary="Make a token; the answer shows it, once")
async def create_token(
    request: Request, who: Admin, spec: Annotated[NewToken, json_body(NewToken)]
) -> MadeToken:
    return await deps.services(request).tokens.make(spec)


@router.delete("/api/tokens/{token_id}", summary="Revoke a token")
async def revoke_token(request: Request, who: Admin, token_id: TokenId) -> Revoked:
    return await deps.services(request).tokens.revoke(token_id)
