"""The in-process client as a local caller: the app serves an open API to loopback names only."""

from __future__ import annotations

from starlette.testclient import TestClient
from starlette.types import ASGIApp


def local_client(app: ASGIApp) -> TestClient:
    """Returns a TestClient that calls the app as http://127.0.0.1 (not 'testserver')."""
    return TestClient(app, base_url="http://127.0.0.1")
