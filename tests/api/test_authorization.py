"""The authorisation matrix: every GraphQL root field, mutation and subscription, and
every REST route, against every scope, no token, a malformed token and a revoked one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.app import create_app
from app.api.auth import SCOPES, add_token, revoke_token
from app.api.schema import schema
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client

# root field -> (scope it needs, a document that calls it)
GRAPHQL: dict[str, tuple[str, str]] = {
    "stories": ("read", "{ stories(first: 1) { totalCount } }"),
    "story": ("read", '{ story(id: "nope") { id } }'),
    "process": ("read", '{ process(key: "nope") { key } }'),
    "event": ("read", '{ event(id: "nope") { id } }'),
    "about": ("read", "{ about { version } }"),
    "search": ("read", '{ search(query: "nope") { pageInfo { hasNextPage } } }'),
    "host": ("read", '{ host(id: "nope") { id } }'),
    "hosts": ("read", "{ hosts(first: 1) { pageInfo { hasNextPage } } }"),
    "container": ("read", '{ container(id: "nope") { id } }'),
    "pod": ("read", '{ pod(uid: "nope") { uid } }'),
    "ip": ("read", '{ ip(address: "192.0.2.1") { address } }'),
    "domain": ("read", '{ domain(name: "nope.example") { name } }'),
    "file": ("read", '{ file(path: "/nope") { path } }'),
    "setStoryStatus": ("triage", 'mutation { setStoryStatus(id: "nope", status: OPEN) { id } }'),
    "assignStory": ("triage", 'mutation { assignStory(id: "nope", assignee: "x") { id } }'),
    "addStoryNote": ("triage", 'mutation { addStoryNote(id: "nope", note: "x") { id } }'),
    "setStoriesStatus": (
        "triage",
        'mutation { setStoriesStatus(ids: ["nope"], status: OPEN) { id } }',
    ),
    "annotateEvent": ("triage", 'mutation { annotateEvent(id: "nope", note: "x") { id } }'),
    "annotateProcess": ("triage", 'mutation { annotateProcess(key: "nope", note: "x") { id } }'),
    "ingest": ("ingest", 'mutation { ingest(records: "{}") { accepted } }'),
    "approveAction": (
        "triage",
        'mutation { approveAction(story: "nope", action: "nope") { id } }',
    ),
    "exceptions": ("read", "{ exceptions(first: 1) { totalCount } }"),
    "exception": ("read", '{ exception(id: "nope") { id } }'),
    "exceptionDraft": ("read", '{ exceptionDraft(signalId: "nope") { ruleId } }'),
    "previewException": (
        "read",
        '{ previewException(ruleId: "nope", conditions: {host: ["h"]}) { matched } }',
    ),
    "createException": (
        "triage",
        'mutation { createException(ruleId: "nope", conditions: {host: ["h"]}, reason: "x") '
        "{ id } }",
    ),
    "updateException": ("triage", 'mutation { updateException(id: "nope", owner: "x") { id } }'),
    "revokeException": ("triage", 'mutation { revokeException(id: "nope", reason: "x") { id } }'),
    "indicators": ("read", "{ indicators(first: 1) { pageInfo { hasNextPage } } }"),
    "feeds": ("read", "{ feeds { name } }"),
    "importIndicators": (
        "admin",
        'mutation { importIndicators(feed: "f", format: CSV, content: "type,value") { read } }',
    ),
}
SUBSCRIPTIONS = {"storyUpdates": ("read", "subscription { storyUpdates { id } }")}
# (method, path) -> scope it needs; None: open to anyone
REST: dict[tuple[str, str], str | None] = {
    ("GET", "/"): None,  # the console's page: no data in it
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("GET", "/metrics"): "read",
    ("GET", "/api/v1/stories/{id}/graph"): "read",
    ("GET", "/api/v1/stories/{id}/ocsf"): "read",
    ("GET", "/api/v1/stories/{id}/report.md"): "read",
    ("POST", "/api/v1/events"): "ingest",
    ("GET", "/api/v1/dead-letters"): "admin",
    ("POST", "/api/v1/dead-letters/resubmit"): "admin",
}
IMPLIES = {"read": {"read"}, "triage": {"triage", "read"}, "ingest": {"ingest"},
           "admin": set(SCOPES)}  # fmt: skip
CALLERS = (*SCOPES, "none", "malformed", "revoked")


@pytest.fixture
def setup(db: Database, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str | None]]]:
    path = tmp_path / "api-tokens"
    tokens: dict[str, str | None] = {s: add_token(path, f"holder-{s}", [s]) for s in SCOPES}
    tokens["revoked"] = add_token(path, "gone", ["admin"])
    revoke_token(path, "gone")
    tokens["none"] = None
    tokens["malformed"] = 'stl_\x7f not a token: spaces, quotes" and %00'
    settings = replace(Settings.from_env(), api_tokens_file=path)
    with local_client(create_app(db, settings)) as client:
        yield client, tokens


def headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def may(caller: str, scope: str | None) -> bool:
    return scope is None or (caller in IMPLIES and scope in IMPLIES[caller])


def test_the_matrix_covers_every_root_field_and_route() -> None:
    fields = {f.name for f in schema.schema_converter.type_map["Query"].definition.fields}
    mutations = {f.name for f in schema.schema_converter.type_map["Mutation"].definition.fields}
    subs = {f.name for f in schema.schema_converter.type_map["Subscription"].definition.fields}
    assert {_camel(n) for n in fields | mutations} == set(GRAPHQL)
    assert {_camel(n) for n in subs} == set(SUBSCRIPTIONS)
    routes = create_app(None, Settings.from_env()).routes  # type: ignore[arg-type]
    found = {(m, r.path) for r in routes if isinstance(r, Route) for m in r.methods or ()
             if m != "HEAD" and r.path != "/graphql"}  # fmt: skip
    assert found == set(REST)
    assert any(isinstance(r, WebSocketRoute) and r.path == "/graphql" for r in routes)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("caller", CALLERS)
def test_graphql_fields_answer_exactly_the_scopes_they_need(
    setup: tuple[TestClient, dict[str, str | None]], caller: str
) -> None:
    client, tokens = setup
    for name, (scope, document) in GRAPHQL.items():
        answer = client.post("/graphql", json={"query": document}, headers=headers(tokens[caller]))
        if caller in ("none", "malformed", "revoked"):
            assert answer.status_code == 401, (name, caller)
            continue
        assert answer.status_code == 200, (name, caller)
        codes = {e["extensions"]["code"] for e in answer.json().get("errors", [])}
        if may(caller, scope):
            assert "FORBIDDEN" not in codes, (name, caller, answer.json())
            assert codes <= {"NOT_FOUND", "BAD_USER_INPUT"}, (name, caller, codes)
        else:
            assert codes == {"FORBIDDEN"}, (name, caller, answer.json())


@pytest.mark.parametrize("caller", CALLERS)
def test_rest_routes_answer_exactly_the_scopes_they_need(
    setup: tuple[TestClient, dict[str, str | None]], caller: str
) -> None:
    client, tokens = setup
    for (method, path), scope in REST.items():
        url = path.replace("{id}", "nope")
        body = json.dumps({"kind": "nope"}) if method == "POST" else None
        answer = client.request(method, url, content=body, headers=headers(tokens[caller]))
        if scope is None:
            assert answer.status_code in (200, 503), (path, caller)
        elif caller in ("none", "malformed", "revoked"):
            assert answer.status_code == 401, (path, caller)
        elif may(caller, scope):
            assert answer.status_code in (200, 404), (path, caller, answer.text)
        else:
            assert answer.status_code == 403, (path, caller, answer.text)


@pytest.mark.parametrize("caller", CALLERS)
def test_subscriptions_answer_exactly_the_scopes_they_need(
    setup: tuple[TestClient, dict[str, str | None]], caller: str
) -> None:
    client, tokens = setup
    for name, (scope, document) in SUBSCRIPTIONS.items():
        url = "ws://127.0.0.1/graphql"
        if caller in ("none", "malformed", "revoked"):
            with (
                pytest.raises(WebSocketDisconnect),
                client.websocket_connect(
                    url, subprotocols=["graphql-transport-ws"], headers=headers(tokens[caller])
                ) as ws,
            ):
                ws.receive_json()
            continue
        with client.websocket_connect(
            url, subprotocols=["graphql-transport-ws"], headers=headers(tokens[caller])
        ) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document}})
            if may(caller, scope):
                ws.send_json({"type": "ping"})
                assert ws.receive_json()["type"] == "pong", (name, caller)
            else:
                message: dict[str, Any] = ws.receive_json()
                errors = (
                    message["payload"]
                    if message["type"] == "error"
                    else (message["payload"].get("errors", []))
                )
                assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], message
            ws.send_json({"id": "1", "type": "complete"})
