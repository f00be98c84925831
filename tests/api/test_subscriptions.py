"""GraphQL subscription storyUpdates over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.websockets import WebSocketDisconnect

from app.api.app import create_app
from app.api.auth import add_token, revoke_token
from app.api.subscriptions import MAX_PER_CONNECTION
from app.investigation.stories import record, story_id
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client
from tests.rules.test_stories import alert, load
from tests.test_layers import jvm_exploit

SUBSCRIBE = """subscription($filter: StoryFilter) {
  storyUpdates(filter: $filter) { id severity status signalCount } }"""


def receive(ws: Any, seconds: float = 30) -> dict[str, Any]:
    """The next message, or a failure (not a hang) when none comes in time."""
    box: list[Any] = []
    reader = threading.Thread(target=lambda: box.append(ws.receive_json()), daemon=True)
    reader.start()
    reader.join(seconds)
    assert box, f"no message within {seconds} s"
    return box[0]


def subscribe(ws: Any, sub_id: str, variables: dict[str, Any] | None = None) -> None:
    """Opens a graphql-transport-ws connection and starts storyUpdates on it."""
    ws.send_json({"type": "connection_init"})
    assert receive(ws)["type"] == "connection_ack"
    payload = {"query": SUBSCRIBE, "variables": variables or {}}
    ws.send_json({"id": sub_id, "type": "subscribe", "payload": payload})


@contextmanager
def connected(db: Database) -> Iterator[Any]:
    """A WebSocket to an in-process app that polls for story changes every 100 ms."""
    settings = replace(Settings.from_env(), subscription_poll_ms=100)
    with (
        local_client(create_app(db, settings)) as client,
        client.websocket_connect(
            "ws://127.0.0.1/graphql", subprotocols=["graphql-transport-ws"]
        ) as ws,
    ):
        yield ws


def test_story_updates_stream_new_stories_and_triage(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    with connected(db) as ws:
        subscribe(ws, "1")
        load(db, [*events, compromise])
        message = receive(ws)
        sid = story_id(key_of[4000])
        assert message["type"] == "next" and message["id"] == "1"
        assert message["payload"]["data"]["storyUpdates"] == {
            "id": sid, "severity": "HIGH", "status": "OPEN", "signalCount": 1
        }  # fmt: skip
        load(db, [alert(events[4], "reverse_shell", "critical", "command_and_control")])
        update = receive(ws)["payload"]["data"]["storyUpdates"]
        assert (update["id"], update["severity"], update["signalCount"]) == (sid, "CRITICAL", 2)
        record(db, sid, "status", "under_review", "alice", "mine")
        assert receive(ws)["payload"]["data"]["storyUpdates"]["status"] == "UNDER_REVIEW"
        ws.send_json({"id": "1", "type": "complete"})


def test_a_filtered_subscription_skips_other_stories(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    with connected(db) as ws:
        subscribe(ws, "7", {"filter": {"severity": ["CRITICAL"]}})
        load(db, [*events, compromise])  # a high story: not sent
        load(db, [alert(events[4], "reverse_shell", "critical", "command_and_control")])
        first = receive(ws)["payload"]["data"]["storyUpdates"]
        assert (first["id"], first["severity"]) == (story_id(key_of[4000]), "CRITICAL")


def test_a_subscription_needs_the_websocket_protocol(db: Database) -> None:
    with local_client(create_app(db)) as client:
        try:
            with client.websocket_connect("ws://127.0.0.1/graphql", subprotocols=["nope"]) as ws:
                ws.receive_json()
            refused = False
        except WebSocketDisconnect:
            refused = True
    assert refused


def test_subscriptions_are_bounded_per_connection_and_stop_when_the_token_is_revoked(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "api-tokens"
    token = add_token(path, "watcher", ["read"])
    add_token(path, "other", ["read"])  # the API stays closed once watcher goes
    settings = replace(Settings.from_env(), subscription_poll_ms=100, api_tokens_file=path)
    with (
        local_client(create_app(db, settings)) as client,
        client.websocket_connect(
            "ws://127.0.0.1/graphql",
            subprotocols=["graphql-transport-ws"],
            headers={"Authorization": f"Bearer {token}"},
        ) as ws,
    ):
        subscribe(ws, "1")
        for n in range(2, MAX_PER_CONNECTION + 2):
            payload = {"query": SUBSCRIBE, "variables": {}}
            ws.send_json({"id": str(n), "type": "subscribe", "payload": payload})
        refused = next_error(ws)
        assert refused["id"] == str(MAX_PER_CONNECTION + 1)
        assert "at most" in refused["message"]
        revoke_token(path, "watcher")
        stopped = [next_error(ws) for _ in range(MAX_PER_CONNECTION)]
        assert {m["id"] for m in stopped} == {str(n) for n in range(1, MAX_PER_CONNECTION + 1)}
        assert all("revoked" in m["message"] for m in stopped)


def next_error(ws: Any) -> dict[str, Any]:
    """The next error of a subscription (an `error`, or a `next` carrying errors), past
    story updates and completions; returns {id, message}."""
    while True:
        message = receive(ws)
        if message["type"] == "error":
            return {"id": message["id"], "message": message["payload"][0]["message"]}
        if message["type"] == "next" and message["payload"].get("errors"):
            return {"id": message["id"], "message": message["payload"]["errors"][0]["message"]}
        assert message["type"] in ("next", "complete"), message
