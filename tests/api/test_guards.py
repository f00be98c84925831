"""Request guards: body size on every route, same-origin browsers, loopback Host, ingest gate."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.app import create_app
from app.api.auth import add_token
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client
from tests.test_ingest import BASH, event

ABOUT = {"query": "{ about { version } }"}


@pytest.fixture
def settings() -> Settings:
    return replace(Settings.from_env(), max_body_bytes=100_000, max_concurrent_ingests=1)


def test_a_graphql_body_over_the_limit_is_refused_before_it_runs(
    db: Database, settings: Settings
) -> None:
    records = "x" * 150_000
    mutation = {"query": "mutation($r: String!) { ingest(records: $r) { accepted } }",
                "variables": {"r": records}}  # fmt: skip
    with local_client(create_app(db, settings)) as client:
        assert client.post("/graphql", json=mutation).status_code == 413
        chunked = client.post("/graphql", content=iter([json.dumps(mutation).encode()]))
        assert chunked.status_code == 413
        assert client.post("/graphql", json=ABOUT).status_code == 200


def test_another_sites_page_cannot_use_the_api(db: Database, settings: Settings) -> None:
    body = json.dumps(event(1, "process_exec", BASH))
    with local_client(create_app(db, settings)) as client:
        evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
        refused = client.post("/api/v1/events", content=body, headers=evil)
        assert refused.status_code == 403 and "evil.example" in refused.json()["error"]
        assert client.post("/graphql", json=ABOUT, headers={"Origin": "null"}).status_code == 403
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect(
                "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"], headers=evil
            ),
        ):
            pass
        assert closed.value.code == 1008
        mine = {"Origin": "http://127.0.0.1"}
        assert client.post("/graphql", json=ABOUT, headers=mine).status_code == 200
        assert client.post("/graphql", json=ABOUT).status_code == 200  # no Origin: not a browser


def test_an_open_api_answers_loopback_names_only(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    with TestClient(create_app(db, settings), base_url="http://rebound.example:8000") as client:
        refused = client.post("/graphql", json=ABOUT)
        assert refused.status_code == 403 and "loopback" in refused.json()["error"]
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        with TestClient(create_app(db, settings), base_url=f"http://{host}") as client:
            assert client.post("/graphql", json=ABOUT).status_code == 200, host
    # with tokens, the name does not matter: a rebound page has no token
    path = tmp_path / "api-tokens"
    token = add_token(path, "reader", ["read"])
    closed = replace(settings, api_tokens_file=path)
    with TestClient(create_app(db, closed), base_url="http://storyline.internal") as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/graphql", json=ABOUT, headers=headers).status_code == 200


def test_one_ingest_too_many_is_told_to_retry(db: Database, settings: Settings) -> None:
    body = json.dumps(event(1, "process_exec", BASH))
    app = create_app(db, settings)
    with local_client(app) as client:
        assert app.state.ingest_gate.enter()  # another ingest holds the only slot
        try:
            busy = client.post("/api/v1/events", content=body)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            mutation = {"query": 'mutation { ingest(records: "{}") { accepted } }'}
            errors = client.post("/graphql", json=mutation).json()["errors"]
            assert "too many ingests" in errors[0]["message"]
        finally:
            app.state.ingest_gate.leave()
        assert client.post("/api/v1/events", content=body).status_code == 200
