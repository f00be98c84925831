"""What a request passes before it reaches a route: its size, its origin, the ingest gate.

- BodyLimit: a body over STORYLINE_MAX_BODY_BYTES is refused (413) before any
  route holds it, /graphql included (its `ingest` mutation carries records).
- SameOrigin: a browser's request from another site is refused (403), HTTP and
  WebSocket alike (a page could otherwise post events to the loopback API, or
  open a subscription with the user's cookies); and while the API is open (no
  token), only a loopback Host is served, so that a DNS name rebound to
  127.0.0.1 cannot reach it. Clients that are not browsers send no Origin.
- IngestGate: at most STORYLINE_MAX_CONCURRENT_INGESTS ingests at once; one more
  gets 503 with Retry-After instead of holding another body in memory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import OPEN

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


async def _answer(send: Send, status: int, message: str, headers: Iterable[tuple] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), *headers,
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class BodyLimit:
    """Refuses bodies over `limit` bytes; buffers /graphql bodies to enforce it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _answer(send, 413, f"request body is {declared} bytes; the limit is "
                          f"{self.limit}")  # fmt: skip
            return
        if scope["path"] != "/graphql" or scope["method"] != "POST":
            await self.app(scope, receive, send)  # REST ingest streams under its own limit
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _answer(send, 413, f"request body passes the limit of {self.limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SameOrigin:
    """Refuses cross-site browser requests, and foreign Host names while the API is open."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = (_header(scope, b"host") or "").lower()
        origin = _header(scope, b"origin")
        problem = None
        if origin is not None and not self._same(origin, host):
            problem = f"requests from {origin} are not served: use this API from its own origin"
        elif scope.get("state", {}).get("principal") is OPEN and _hostname(host) not in (
            LOOPBACK_HOSTS
        ):
            problem = (f"the API is open (no token) and answers loopback names only, "
                       f"not {host!r}")  # fmt: skip
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
        else:
            await _answer(send, 403, problem)

    def _same(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in self.allowed:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host


def _hostname(host: str) -> str:
    """The name of a Host header, without its port."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class IngestGate:
    """Admits at most `limit` ingests at once; the next is refused, not queued."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def enter(self) -> bool:
        """Takes a slot if one is free."""
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        """Gives a slot back."""
        self._slots.release()


BUSY = "too many ingests at once: retry in a moment"
RETRY_AFTER = "1"
