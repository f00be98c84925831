"""Approved response actions out to a webhook: a JSON POST signed with HMAC-SHA256.

`STORYLINE_ACTION_WEBHOOK_URL` names the receiver (http or https), and the shared
secret is `STORYLINE_ACTION_WEBHOOK_SECRET` or the first line of the file
`STORYLINE_ACTION_WEBHOOK_SECRET_FILE` (one of the two, at least 16 characters). Both
are checked when the service starts: a URL without a secret, or a secret without a
URL, is a configuration error, since nothing may go out unsigned.

Each delivery carries

    Storyline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
    Storyline-Delivery: <the approval's id>

The signed material is the timestamp, a dot and the exact bytes of the body, so a
receiver verifies before parsing (`verify`), refuses a timestamp more than five
minutes from its clock (a replayed request), and treats a delivery id it has seen as
done (a retry of a failed delivery reuses the id, with a new timestamp). Redirects are
not followed: an answer other than 2xx is a failed delivery, recorded with its status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app import __version__
from app.errors import ConfigError
from app.settings import Secret, Settings

SIGNATURE_HEADER = "Storyline-Signature"
DELIVERY_HEADER = "Storyline-Delivery"
TOLERANCE_SECONDS = 300
MIN_SECRET = 16
MAX_TIMEOUT = 60


@dataclass(frozen=True)
class Webhook:
    """Where approved actions go, with the secret that signs them."""

    url: str
    secret: Secret
    timeout: int  # seconds each connect and read may wait


@dataclass(frozen=True)
class Delivery:
    """What one POST gave: the status code, or the error when there was no answer."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """True when the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


def load_webhook(settings: Settings) -> Webhook | None:
    """Returns the configured webhook, None when there is none; ConfigError when it is bad."""
    url = settings.action_webhook_url
    secret = settings.action_webhook_secret
    path = settings.action_webhook_secret_file
    if secret is not None and path is not None:
        raise ConfigError(
            "set STORYLINE_ACTION_WEBHOOK_SECRET or STORYLINE_ACTION_WEBHOOK_SECRET_FILE, not both"
        )
    if path is not None:
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            message = f"cannot read STORYLINE_ACTION_WEBHOOK_SECRET_FILE {path}: {exc}"
            raise ConfigError(message) from None
        secret = Secret(lines[0].strip()) if lines and lines[0].strip() else None
        if secret is None:
            raise ConfigError(f"STORYLINE_ACTION_WEBHOOK_SECRET_FILE {path} is empty")
    if url is None:
        if secret is not None:
            raise ConfigError("a webhook secret is set without STORYLINE_ACTION_WEBHOOK_URL")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("STORYLINE_ACTION_WEBHOOK_URL must be an http:// or https:// URL")
    if secret is None:
        raise ConfigError(
            "STORYLINE_ACTION_WEBHOOK_URL needs a secret to sign with: set "
            "STORYLINE_ACTION_WEBHOOK_SECRET or STORYLINE_ACTION_WEBHOOK_SECRET_FILE"
        )
    if len(secret.reveal()) < MIN_SECRET:
        raise ConfigError(f"the action webhook secret must be at least {MIN_SECRET} characters")
    if settings.action_webhook_timeout > MAX_TIMEOUT:
        raise ConfigError(f"STORYLINE_ACTION_WEBHOOK_TIMEOUT is at most {MAX_TIMEOUT} seconds")
    return Webhook(url, secret, settings.action_webhook_timeout)


def body_of(payload: dict[str, Any]) -> bytes:
    """Returns the exact bytes sent (and signed) for a payload: compact, sorted JSON."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Returns the signature header's value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """Tells whether a signature header is valid for a body (what a receiver runs)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp, body).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer itself is the outcome


_OPENER = urllib.request.build_opener(_NoRedirect)


def deliver(webhook: Webhook, body: bytes, delivery_id: str) -> Delivery:
    """POSTs a body, signed now; returns the status code or the error. Never raises."""
    request = urllib.request.Request(
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"storyline/{__version__}",
            SIGNATURE_HEADER: sign(webhook.secret.reveal(), int(time.time()), body),
            DELIVERY_HEADER: delivery_id,
        },
    )
    try:
        with _OPENER.open(request, timeout=webhook.timeout) as answer:
            return Delivery(answer.status, None)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Delivery(exc.code, f"HTTP {exc.code} {exc.reason}"[:500])
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return Delivery(None, f"no answer within {webhook.timeout} s")
        return Delivery(None, f"{type(reason).__name__}: {reason}"[:500])
