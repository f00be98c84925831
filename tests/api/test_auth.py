"""API tokens: bearer authentication with scopes, on GraphQL, REST and WebSocket."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.app import create_app
from app.api.auth import Authenticator, TokenError, add_token, exposure_problem, revoke_token
from app.cli import main
from app.investigation.stories import story_id
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client
from tests.graphstate import rows
from tests.rules.test_stories import load
from tests.test_layers import jvm_exploit

STORIES = "{ stories(first: 5) { totalCount edges { node { id } } } }"
SET_STATUS = """mutation($id: ID!) {
  setStoryStatus(id: $id, status: UNDER_REVIEW, comment: "mine") { status } }"""


@pytest.fixture
def tokens(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "api-tokens"
    return {
        "path": path,
        "reader": add_token(path, "reader", ["read"]),
        "alice": add_token(path, "alice@example.com", ["triage"]),
        "sensor": add_token(path, "sensor-fleet", ["ingest"]),
        "admin": add_token(path, "admin", ["admin"]),
    }


@pytest.fixture
def client(db: Database, tokens: dict[str, Any]) -> TestClient:
    events, key_of, compromise = jvm_exploit()
    load(db, [*events, compromise])
    settings = replace(Settings.from_env(), api_tokens_file=tokens["path"])
    with local_client(create_app(db, settings)) as c:
        c.story = story_id(key_of[4000])  # type: ignore[attr-defined]
        yield c


def gql(client: TestClient, query: str, token: str | None = None, **variables: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def test_no_token_or_a_wrong_one_is_401_but_health_is_open(client: TestClient) -> None:
    for token in (None, "stl_wrong"):
        response = gql(client, STORIES, token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "API token" in response.json()["error"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 200  # the IDE
    assert client.get("/graphql", params={"query": STORIES}).status_code == 401


def test_scopes_decide_what_a_token_may_do(client: TestClient, tokens: dict[str, Any]) -> None:
    story = client.story  # type: ignore[attr-defined]
    assert gql(client, STORIES, tokens["reader"]).json()["data"]["stories"]["totalCount"] == 1
    refused = gql(client, SET_STATUS, tokens["reader"], id=story).json()
    assert refused["errors"][0]["message"] == "this API token lacks the 'triage' scope"
    assert gql(client, STORIES, tokens["sensor"]).json()["errors"][0]["message"] == (
        "this API token lacks the 'read' scope"
    )
    changed = gql(client, SET_STATUS, tokens["alice"], id=story).json()
    assert changed["data"]["setStoryStatus"]["status"] == "UNDER_REVIEW"
    body = json.dumps({"id": "e1", "ts": "2026-01-05T08:00:00Z", "source": "t",
                       "host": {"id": "h"}, "kind": "process_exec",
                       "process": {"pid": 5, "start_time": "2026-01-05T08:00:00Z"}})  # fmt: skip
    auth = {"Authorization": f"Bearer {tokens['reader']}"}
    assert client.post("/api/v1/events", content=body, headers=auth).status_code == 403
    auth = {"Authorization": f"Bearer {tokens['sensor']}"}
    assert client.post("/api/v1/events", content=body, headers=auth).json()["accepted"] == 1
    assert client.get("/api/v1/dead-letters", headers=auth).status_code == 403
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    assert client.get("/api/v1/dead-letters", headers=auth).status_code == 200
    graph = f"/api/v1/stories/{story}/graph"
    assert (
        client.get(graph, headers={"Authorization": f"Bearer {tokens['sensor']}"}).status_code
        == 403
    )
    assert (
        client.get(graph, headers={"Authorization": f"Bearer {tokens['reader']}"}).status_code
        == 200
    )


def test_the_token_name_is_who_made_a_triage_change(
    client: TestClient, db: Database, tokens: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['alice']}", "X-Storyline-Actor": "mallory"}
    client.post(
        "/graphql",
        json={"query": SET_STATUS, "variables": {"id": client.story}},  # type: ignore[attr-defined]
        headers=headers,
    )
    assert rows(db, "MATCH (t:TriageChange) RETURN t.actor") == {("alice@example.com",)}


def test_websockets_need_a_token_too(client: TestClient, tokens: dict[str, Any]) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(
            "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws,
    ):
        ws.receive_json()
    url = f"/graphql?access_token={tokens['reader']}"
    with client.websocket_connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"


def test_token_files_store_digests_only_with_mode_600(tmp_path: Path) -> None:
    path = tmp_path / "t"
    token = add_token(path, "ci", ["ingest", "read"])
    text = path.read_text()
    assert token.startswith("stl_") and token not in text and text.startswith("ci ingest,read ")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(TokenError, match="exists"):
        add_token(path, "ci", ["read"])
    with pytest.raises(TokenError, match="scopes must be some of"):
        add_token(path, "x", ["root"])
    assert Authenticator(path).principal(token).name == "ci"  # type: ignore[union-attr]
    assert revoke_token(path, "ci") and not revoke_token(path, "ci")
    assert Authenticator(path).principal(token).name == "api"  # no token left: open


def test_serving_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    empty = Authenticator(tmp_path / "none")
    assert exposure_problem("127.0.0.1", empty, auth_off=False) is None
    assert "refusing to serve on 0.0.0.0" in exposure_problem("0.0.0.0", empty, auth_off=False)
    assert exposure_problem("0.0.0.0", empty, auth_off=True) is None
    add_token(tmp_path / "some", "a", ["read"])
    assert exposure_problem("0.0.0.0", Authenticator(tmp_path / "some"), auth_off=False) is None


def test_tokens_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("STORYLINE_API_TOKENS_FILE", str(tmp_path / "tokens"))
    assert main(["tokens", "add", "bob", "--scope", "triage"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("stl_")
    assert main(["tokens", "list"]) == 0
    assert capsys.readouterr().out == "bob\ttriage\n"
    assert main(["tokens", "add", "carol"]) == 1
    assert "at least one --scope" in capsys.readouterr().err
    assert main(["tokens", "revoke", "bob"]) == 0
    assert main(["tokens", "revoke", "bob"]) == 1


def test_revoking_the_last_token_closes_the_api_instead_of_opening_it(
    client: TestClient, tokens: dict[str, Any]
) -> None:
    assert client.get("/api/v1/dead-letters").status_code == 401
    for name in ("reader", "alice@example.com", "sensor-fleet", "admin"):
        assert revoke_token(tokens["path"], name)
    assert tokens["path"].read_text() == ""
    assert client.get("/api/v1/dead-letters").status_code == 401
    assert gql(client, STORIES).status_code == 401
    assert gql(client, STORIES, tokens["admin"]).status_code == 401  # revoked
    tokens["path"].unlink()  # a deleted file opens nothing either
    assert client.get("/api/v1/dead-letters").status_code == 401


def test_a_token_file_that_cannot_be_read_refuses_everyone(
    client: TestClient, tokens: dict[str, Any]
) -> None:
    assert gql(client, STORIES, tokens["reader"]).status_code == 200
    tokens["path"].write_text("this is not a token line\n")
    assert gql(client, STORIES, tokens["reader"]).status_code == 401
    assert gql(client, STORIES).status_code == 401


def test_token_files_are_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens"
    add_token(path, "one", ["read"])
    before = path.stat().st_ino
    add_token(path, "two", ["read"])
    assert path.stat().st_ino != before  # a new file renamed over the old: never half-written
    assert revoke_token(path, "one")
    assert [line.split()[0] for line in path.read_text().splitlines()] == ["two"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".api-tokens-*"))


def test_only_a_bare_get_is_the_open_graphiql_page(client: TestClient) -> None:
    assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 200
    sneaky = "/graphql?%71uery=%7B__schema%7Btypes%7Bname%7D%7D%7D"
    for url in (sneaky, "/graphql?query={__typename}", "/graphql?x=1&query={__typename}"):
        assert client.get(url).status_code == 401, url
