"""The typed edge: routes return msgspec Structs, bodies decode into them, OpenAPI shows both.

- ``TypedRoute`` (every router's ``route_class``): an endpoint whose return annotation is
  not ``Response`` answers its value encoded by msgspec, with the route's status code, and
  that annotation (a Struct, a union of them…) is the response schema in OpenAPI. An
  endpoint that builds its own ``Response`` documents its body with ``response_doc``.
- ``json_body(T)``: a dependency that decodes the request body as ``T`` (malformed JSON
  400, invalid 422: ``api.errors``) and documents it as the request body. An endpoint
  that decodes its body itself documents it with ``body_doc``.
- ``components``: the JSON Schemas of every type documented so, made at once with
  ``msgspec.json.schema_components`` for ``/openapi.json``.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

T = TypeVar("T")

MODEL_KEY = "x-ccsync-model"
BODY_KEY = "x-ccsync-body"
OPTIONAL_BODY_KEY = "x-ccsync-body-optional"
REF_TEMPLATE = "#/components/schemas/{name}"

_documented: dict[str, Any] = {}
"""Every documented type by its key (the name OpenAPI markers carry until ``components``)."""
encode = msgspec.json.Encoder().encode


def _key(annotation: Any) -> str:
    """The registry key of a type: its name, or its spelling for unions and generics."""
    name = getattr(annotation, "__name__", None)
    key = name if isinstance(name, str) and isinstance(annotation, type) else repr(annotation)
    known = _documented.setdefault(key, annotation)
    if known is not annotation and known != annotation:
        raise TypeError(f"two types are documented as {key!r}: {known!r} and {annotation!r}")
    return key


def response_doc(annotation: Any) -> dict[str, Any]:
    """``responses={200: response_doc(T)}``: a response body of type ``T``."""
    return {MODEL_KEY: _key(annotation)}


def body_doc(annotation: Any, *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra=body_doc(T)``: a request body of type ``T`` (decoded by the endpoint)."""
    doc: dict[str, Any] = {BODY_KEY: _key(annotation)}
    if not required:
        doc[OPTIONAL_BODY_KEY] = True
    return doc


async def any_json(request: Request) -> Any:
    """The body as whatever JSON value it holds (``None`` when there is none): for the
    live API, which stores what it is given. Not JSON: ``msgspec.DecodeError`` (400)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python goes
        raise msgspec.DecodeError(f"the body is not JSON: {exc}") from None


def json_body(model: type[T]) -> Any:
    """``body: Annotated[T, json_body(T)]``: the request body decoded as ``T``."""
    decoder = msgspec.json.Decoder(model)

    async def decode(request: Request) -> T:
        raw = await request.body()
        try:
            return decoder.decode(raw)
        except UnicodeError as exc:  # msgspec checks UTF-8 only where it reads a string
            raise msgspec.DecodeError(f"the body is not valid UTF-8: {exc}") from None

    decode.__ccsync_body__ = _key(model)  # type: ignore[attr-defined]
    return Depends(decode)


def components(keys: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema of each documented type in ``keys`` (by key) and the components they share.

    A union is ``anyOf`` its members' schemas (msgspec describes unions of untagged Structs
    only this way: it cannot decode them, but clients get each shape)."""
    wanted = sorted(keys)
    members = {key: _members(_documented[key]) for key in wanted}
    flat = list(dict.fromkeys(t for union in members.values() for t in union))
    schemas, shared = msgspec.json.schema_components(flat, ref_template=REF_TEMPLATE)
    by_type = dict(zip(flat, schemas, strict=True))
    documented = {}
    for key, union in members.items():
        parts = [by_type[t] for t in union]
        documented[key] = parts[0] if len(parts) == 1 else {"anyOf": parts}
    return documented, shared


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _returns(endpoint: Callable[..., Any]) -> Any:
    """What ``endpoint`` is annotated to return, unless it is a ``Response`` (or already
    wrapped here, or not annotated)."""
    if getattr(endpoint, "__ccsync_typed__", False):
        return None
    returned = typing.get_type_hints(endpoint, include_extras=True).get("return")
    if returned is None or (isinstance(returned, type) and issubclass(returned, Response)):
        return None
    return returned


def _body_key(route: APIRoute) -> str | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        key = getattr(dependant.call, "__ccsync_body__", None)
        if isinstance(key, str):
            return key
        pending.extend(dependant.dependencies)
    return None


def _encoding(endpoint: Callable[..., Awaitable[Any]], status: int) -> Callable[..., Any]:
    """``endpoint``, answering what it returns as msgspec-encoded JSON with ``status``."""

    async def encoded(*args: Any, **kwargs: Any) -> Response:
        value = await endpoint(*args, **kwargs)
        if isinstance(value, Response):
            return value
        return Response(encode(value), status_code=status, media_type="application/json")

    signature = inspect.signature(endpoint, eval_str=True)
    encoded.__signature__ = signature.replace(return_annotation=Response)  # type: ignore[attr-defined]
    encoded.__ccsync_typed__ = True  # type: ignore[attr-defined]
    for name in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(encoded, name, getattr(endpoint, name))
    return encoded


class TypedRoute(APIRoute):
    """A route whose endpoint returns a typed value (see the module doc)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        returned = _returns(endpoint)
        if returned is not None:
            status = kwargs.get("status_code") or 200
            responses = dict(kwargs.get("responses") or {})
            documented = responses.get(status, {})
            if MODEL_KEY not in documented:  # unless the route documents its own
                responses[status] = {**documented, **response_doc(returned)}
            kwargs.update(responses=responses, response_model=None)
            endpoint = _encoding(endpoint, status)
        super().__init__(path, endpoint, **kwargs)
        body = _body_key(self)
        if body is not None:
            self.openapi_extra = {**(self.openapi_extra or {}), BODY_KEY: body}
