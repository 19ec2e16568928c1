"""Web pages are not clients: Host, Origin and content type, checked before routing.

A server on loopback is reachable from every page the user's browser opens. Three checks
keep those pages out, in local mode too:

- **DNS rebinding.** A page on ``evil.example`` whose name is made to resolve to 127.0.0.1
  sends ``Host: evil.example``. Only loopback names (``localhost``, ``*.localhost``), IP
  literals (a rebinding needs a name) and the names the operator allowed
  (``--allowed-host``, ``CCSYNC_ALLOWED_HOSTS``; ``*.example.com`` and ``*`` work) are
  served; any other ``Host`` gets 421.
- **Cross-site requests and WebSockets.** Browsers send ``Origin`` with every mutation and
  every WebSocket handshake. One whose ``Origin`` is neither this server (the ``Host`` it
  was sent to) nor an allowed name is refused: 403, or the handshake is closed (which the
  browser sees as 403). ``Origin: null`` (sandboxed frames, files) is foreign too.
  Programs that are not browsers send no ``Origin`` and are not affected.
- **Simple requests.** A page may POST ``text/plain`` cross-site without asking first;
  so a mutation with a body must say ``application/json`` (415 otherwise), which a page
  can send cross-site only after a CORS preflight, and this server approves none.

Every HTTP answer also carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPES = ("application/json",)
MISDIRECTED = 421
WS_POLICY_VIOLATION = 1008
_SHOWN = 100
"""Characters of a refused name repeated in the answer."""


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Which names this server answers to, besides loopback names and IP literals."""

    allowed: tuple[str, ...] = ()
    """Exact names, ``*.suffix`` wildcards, or ``*`` for any name (behind a proxy that checks)."""

    @classmethod
    def of(cls, names: Iterable[str]) -> HostPolicy:
        return cls(tuple(n.strip().lower().rstrip(".") for n in names if n.strip()))

    def allows(self, name: str) -> bool:
        """Whether a request for ``name`` (a host without port) is for this server."""
        name = name.lower().rstrip(".")
        if not name:
            return False
        if name == "localhost" or name.endswith(".localhost") or _is_ip(name):
            return True
        return self.allows_named(name)

    def allows_named(self, name: str) -> bool:
        """Whether the operator allowed ``name`` (loopback names do not count here)."""
        for pattern in self.allowed:
            if pattern == "*" or pattern == name:
                return True
            if pattern.startswith("*.") and name.endswith(pattern[1:]):
                return True
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` or ``[v6]:port`` → (host, port); ``None`` when malformed."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host, _, port_text = value.partition(":")
        if ":" in port_text:
            return None
    if port_text:
        if not port_text.isdigit() or int(port_text) > 65535:
            return None
        return host, int(port_text)
    return host, None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def same_origin(origin: str, host_header: str) -> bool:
    """Whether ``origin`` (``scheme://host[:port]``) names the server ``host_header`` names."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return False
    target = split_host(host_header)
    if target is None:
        return False
    host, port = target
    default = _DEFAULT_PORTS[parts.scheme]
    return parts.hostname.lower() == host.lower().strip("[]") and (origin_port or default) == (
        port or default
    )


class RequestGuard:
    """ASGI middleware enforcing the three checks above on HTTP and WebSocket scopes."""

    def __init__(self, app: ASGIApp, hosts: HostPolicy) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self.refusal(kind, scope.get("method", "GET"), headers)
        if refusal is None:
            await self.app(scope, receive, _nosniff(send) if kind == "http" else send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
        else:
            await _answer(send, *refusal)

    def refusal(self, kind: str, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """``(status, message)`` for a request to refuse; ``None`` to serve it."""
        host_header = headers.get("host")
        if host_header is not None:
            target = split_host(host_header)
            if target is None or not self.hosts.allows(target[0]):
                shown = host_header[:_SHOWN]
                return (
                    MISDIRECTED,
                    f"this server does not answer to the name {shown!r}: if it should, start "
                    "it with --allowed-host NAME (or CCSYNC_ALLOWED_HOSTS)",
                )
        mutation = kind == "websocket" or method.upper() not in SAFE_METHODS
        origin = headers.get("origin")
        if mutation and origin is not None and not self._origin_allowed(origin, host_header):
            what = "a WebSocket" if kind == "websocket" else "a change"
            return (
                403,
                f"{what} from the web page at {origin[:_SHOWN]!r} is refused: only this "
                "server's own pages (or --allowed-host names) may send one",
            )
        if kind == "http" and mutation and _has_body(headers):
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media not in JSON_TYPES:
                return (
                    415,
                    f"send the body as application/json (Content-Type was {media[:_SHOWN]!r})",
                )
        return None

    def _origin_allowed(self, origin: str, host_header: str | None) -> bool:
        if host_header is not None and same_origin(origin, host_header):
            return True
        try:
            name = urlsplit(origin).hostname
        except ValueError:
            return False
        return name is not None and self.hosts.allows_named(name.lower())


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or ():
        name = raw_name.decode("latin-1").lower()
        if name not in found:  # the first of repeated headers, as Starlette reads them
            found[name] = raw_value.decode("latin-1")
    return found


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _nosniff(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                headers.append((b"x-content-type-options", b"nosniff"))
            message = {**message, "headers": headers}
        await send(message)

    return sending


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
