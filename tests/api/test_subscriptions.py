"""GraphQL subscription storyUpdates over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.api.app import create_app
from app.neo4j.database import Database
from app.rules.stories import record, story_id
from app.settings import Settings
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


def test_story_updates_stream_new_stories_and_triage(db: Database) -> None:
    settings = replace(Settings.from_env(), subscription_poll_ms=100)
    events, key_of, compromise = jvm_exploit()
    with (
        TestClient(create_app(db, settings)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
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
    settings = replace(Settings.from_env(), subscription_poll_ms=100)
    events, key_of, compromise = jvm_exploit()
    with (
        TestClient(create_app(db, settings)) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        subscribe(ws, "7", {"filter": {"severity": ["CRITICAL"]}})
        load(db, [*events, compromise])  # a high story: not sent
        load(db, [alert(events[4], "reverse_shell", "critical", "command_and_control")])
        first = receive(ws)["payload"]["data"]["storyUpdates"]
        assert (first["id"], first["severity"]) == (story_id(key_of[4000]), "CRITICAL")


def test_a_subscription_needs_the_websocket_protocol(db: Database) -> None:
    with TestClient(create_app(db)) as client:
        try:
            with client.websocket_connect("/graphql", subprotocols=["nope"]) as ws:
                ws.receive_json()
            refused = False
        except WebSocketDisconnect:
            refused = True
    assert refused
