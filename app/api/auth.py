"""API authentication: bearer tokens with scopes.

Tokens live in a file (`STORYLINE_API_TOKENS_FILE`, default
`$STORYLINE_HOME/api-tokens`, mode 600), one per line: `name scopes sha256`,
where scopes is a comma-separated subset of SCOPES and sha256 the hex digest of
the token. Only digests are stored; `storyline tokens add` prints a new token
once. Every request but /healthz, /readyz and the GraphiQL page needs
`Authorization: Bearer <token>` (a WebSocket may pass `?access_token=` instead,
since browsers cannot set its headers), and the token's name is who made a
triage change.

With no token file (or an empty one) when the service starts, the API is open,
as on a developer's machine: `storyline serve` then refuses to listen anywhere
but loopback unless `STORYLINE_AUTH=off` says the risk is accepted. Auth fails
closed: once a process has seen a token, the API stays closed for the process's
life, whatever happens to the file (revoking the last token refuses everyone; a
file that cannot be read refuses everyone). The file is rewritten atomically
(a new file renamed over the old), so a reader never sees half of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import InputError

SCOPES = ("read", "triage", "ingest", "admin")
"""read: queries, subscriptions, exports; triage: read + triage mutations;
ingest: send events; admin: everything, including the dead-letter store."""
IMPLIES = {"triage": {"read"}, "admin": set(SCOPES)}
OPEN_PATHS = ("/healthz", "/readyz", "/")  # "/": the console's page, which holds no data
OPEN_PREFIXES = ("/assets/",)  # the console's script and stylesheet
_NAME = re.compile(r"^[A-Za-z0-9@._:-]{1,64}$")


class TokenError(InputError):
    """A token file line, name or scope is not valid."""


@dataclass(frozen=True)
class Principal:
    """Who a request comes from and what it may do."""

    name: str
    scopes: frozenset[str]
    authenticated: bool = True

    def can(self, scope: str) -> bool:
        """Tells whether this principal holds a scope (directly or implied)."""
        return any(scope == s or scope in IMPLIES.get(s, ()) for s in self.scopes)


OPEN = Principal("api", frozenset({"admin"}), authenticated=False)
"""The principal of every request when no token is configured."""


def digest(token: str) -> str:
    """Returns the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    name: str
    scopes: frozenset[str]
    sha256: str


def read_tokens(path: Path) -> list[TokenEntry]:
    """Reads a token file; a missing file holds no token. Bad lines are errors."""
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", parts[2]):
            raise TokenError(f"{path}:{number}: expected `name scopes sha256`")
        name, scopes, sha = parts
        entries.append(TokenEntry(name, _scopes(scopes.split(","), f"{path}:{number}"), sha))
    return entries


def _scopes(names: Iterable[str], where: str) -> frozenset[str]:
    found = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(found - set(SCOPES))
    if unknown or not found:
        raise TokenError(f"{where}: scopes must be some of {', '.join(SCOPES)}, got {unknown}")
    return found


def add_token(path: Path, name: str, scopes: Iterable[str]) -> str:
    """Creates a token, stores its digest (file mode 600) and returns the token, once."""
    if not _NAME.match(name):
        raise TokenError(f"a token name is 1-64 of letters, digits and @._:-, got {name!r}")
    granted = _scopes(scopes, "scopes")
    entries = read_tokens(path)
    if any(e.name == name for e in entries):
        raise TokenError(f"a token named {name!r} exists; revoke it first")
    token = "stl_" + secrets.token_urlsafe(32)
    line = f"{name} {','.join(sorted(granted))} {digest(token)}\n"
    old = path.read_text() if path.exists() else ""
    _replace(path, old + ("" if not old or old.endswith("\n") else "\n") + line)
    return token


def revoke_token(path: Path, name: str) -> bool:
    """Removes a token by name; returns whether there was one."""
    if not path.exists():
        return False
    kept, found = [], False
    for line in path.read_text().splitlines(True):
        if line.split()[:1] == [name]:
            found = True
        else:
            kept.append(line)
    if found:
        _replace(path, "".join(kept))
    return found


def _replace(path: Path, text: str) -> None:
    """Writes the token file anew (mode 600) and renames it over the old one: atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".api-tokens-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Authenticator:
    """Checks bearer tokens against a token file, re-read when it changes; fails closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._by_digest: dict[str, Principal] = {}
        self._closed = False  # once a token was seen: never open again
        self._load()

    def _load(self) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        except OSError:
            self._fail_closed()
            return
        if stamp == self._stamp:
            return
        try:
            entries = read_tokens(self.path) if stamp else []
        except (OSError, UnicodeDecodeError, TokenError):
            self._fail_closed()
            return
        self._by_digest = {e.sha256: Principal(e.name, e.scopes) for e in entries}
        self._closed = self._closed or bool(self._by_digest)
        self._stamp = stamp

    def _fail_closed(self) -> None:
        self._by_digest = {}
        self._closed = True
        self._stamp = None

    @property
    def enabled(self) -> bool:
        """True when every request needs a token: a token exists or existed."""
        self._load()
        return self._closed

    def principal(self, token: str | None) -> Principal | None:
        """Returns who holds a token, OPEN when auth is off, or None when refused."""
        self._load()
        if not self._closed:
            return OPEN
        if not token:
            return None
        return self._by_digest.get(digest(token))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    if scope["type"] == "websocket":
        query = scope.get("query_string", b"").decode("latin-1")
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            if key == "access_token" and value:
                return value
    return None


def _open(scope: Scope) -> bool:
    path = scope["path"]
    return path in OPEN_PATHS or (scope["type"] == "http" and path.startswith(OPEN_PREFIXES))


def _graphiql_page(scope: Scope) -> bool:
    """The IDE's HTML (a GET of /graphql with no parameters at all) holds no data."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/graphql":
        return False
    # any parameter may be a query once decoded (?%71uery=...): only a bare GET is the page
    return not scope.get("query_string", b"")


class AuthMiddleware:
    """Puts the request's Principal in scope['state']['principal'], or refuses it (401)."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _open(scope):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        principal = self.auth.principal(token)
        if principal is None and _graphiql_page(scope):
            principal = Principal("graphiql", frozenset())
        if principal is None:
            await _refuse(scope, send, "a valid API token is needed: Authorization: Bearer <token>")
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["token"] = token  # long-lived requests (subscriptions) check it again
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        # close before accepting: the client sees the handshake refused (HTTP 403)
        await send({"type": "websocket.close", "code": 1008, "reason": message})
        return
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def principal_of(request: Any) -> Principal:
    """Returns the Principal the middleware put on a request (OPEN without middleware)."""
    state = getattr(request, "scope", {}).get("state", {})
    return state.get("principal", OPEN)


class Forbidden(Exception):
    """The principal lacks the scope an operation needs."""


def require(request: Any, scope: str) -> Principal:
    """Returns the request's principal, or raises Forbidden when it lacks a scope."""
    who = principal_of(request)
    if not who.can(scope):
        raise Forbidden(f"token {who.name!r} lacks the {scope!r} scope")
    return who


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def exposure_problem(host: str, auth: Authenticator, auth_off: bool) -> str | None:
    """Says why serving on `host` would expose an open API, or None when it is safe."""
    if host in LOOPBACK or host.startswith("127.") or auth.enabled or auth_off:
        return None
    return (
        f"refusing to serve on {host} with no API token: anyone who reaches it could read "
        "and triage every story. Create one with `storyline tokens add NAME --scope read`, "
        "or set STORYLINE_AUTH=off to accept the risk."
    )


def actor_name(request: Any) -> str:
    """Who makes a change: the token's name; without tokens, X-Storyline-Actor or 'api'."""
    who = principal_of(request)
    if who.authenticated:
        return who.name
    name = request.headers.get("x-storyline-actor") if request is not None else None
    return (name or "api")[:200]


_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']*")


class RedactTokens(logging.Filter):
    """Replaces `access_token=...` in log records (uvicorn's access log) with a mark."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        return True
