"""Typed response actions on a story, and approving one: recorded, signed, sent, retried.

The receiver is a real HTTP server on loopback (a thread with http.server) that checks
each request's signature with the verification the README gives receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.errors import ConfigError
from app.ingest import ingest
from app.investigation.stories import story_id
from app.neo4j.database import Database, Target
from app.settings import Secret, Settings
from app.webhook import load_webhook, sign, verify
from tests.api.test_search import data, gql
from tests.apiclient import local_client
from tests.conftest import free_ports, target_env
from tests.server import serve, storyline_command
from tests.test_layers import jvm_exploit

SECRET = "a-shared-secret-of-32-characters"


# What the README tells a receiver to run, word for word.
def readme_verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False  # too old (or from the future): a replay
    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


class Receiver:
    """A webhook receiver on loopback: records each request, answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers.get("Storyline-Signature", "")
                receiver.received.append({
                    "body": body, "headers": dict(self.headers), "path": self.path,
                    "valid": readme_verify(SECRET, header, body),
                })  # fmt: skip
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/storyline"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def jvm_story(db: Database) -> str:
    """The JVM exploit of tests/test_layers.py, through the built-in rules."""
    events, key_of, compromise = jvm_exploit()
    ingest(db, "storyline", [json.dumps(e) + "\n" for e in [*events, compromise]])
    return story_id(key_of[4000])


def webhook_settings(url: str, **more: Any) -> Settings:
    return replace(Settings.from_env(), action_webhook_url=url,
                   action_webhook_secret=Secret(SECRET), **more)  # fmt: skip


@pytest.fixture
def story(db: Database) -> str:
    return jvm_story(db)


def client_for(db: Database, settings: Settings) -> TestClient:
    return local_client(create_app(db, settings))


ACTIONS = """query($id: ID!) { story(id: $id) { recommendedActions actions { id type text status
  target { __typename ... on ProcessTarget { host pid key exe } ... on AddressTarget { ip port
    domain } ... on ContainerTarget { id host } ... on CredentialTarget { accessKeyId role } }
  approval { actor delivery } } } }"""
APPROVE = """mutation($story: ID!, $action: ID!, $comment: String) {
  approveAction(story: $story, action: $action, comment: $comment) {
    id actionId type text actor comment delivery deliveryCode deliveryError attempts
    lastAttemptBy target { ... on AddressTarget { ip port } } } }"""
TIMELINE = """query($id: ID!) { story(id: $id) { timeline(first: 200, kinds: ["action", "triage"]) {
  edges { node { type kind ts approval { actionId actor comment delivery } } } }
  approvals { id actor delivery } } }"""


def actions_of(client: TestClient, story: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = data(client, ACTIONS, id=story)["story"]["actions"]
    return found


def by_type(actions: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [a for a in actions if a["type"] == kind]


def test_a_story_lists_its_typed_actions_with_their_targets(db: Database, story: str) -> None:
    with client_for(db, Settings.from_env()) as client:
        found = data(client, ACTIONS, id=story)["story"]
    actions = found["actions"]
    kills = [(a["target"]["pid"], a["target"]["host"], a["target"]["exe"])
             for a in by_type(actions, "KILL_PROCESS")]  # fmt: skip
    assert kills == [(4000, "node-3", "/bin/sh"), (4001, "node-3", "/bin/bash")]
    [block] = by_type(actions, "BLOCK_EGRESS")
    assert block["target"] == {"__typename": "AddressTarget", "ip": "198.51.100.9",
                               "port": 4444, "domain": None}  # fmt: skip
    assert block["text"] == "Block 198.51.100.9:4444 at the egress firewall"
    assert all(a["target"] is None for a in by_type(actions, "REVIEW"))
    assert len(by_type(actions, "REVIEW")) == 6
    assert {a["status"] for a in actions} == {"RECOMMENDED"}
    assert {a["approval"] for a in actions} == {None}
    # the strings stay for older clients: one per text, so the two kills of pid 4001
    # (two rules, two wordings) are two strings but one typed action
    assert len(found["recommendedActions"]) == 10 and len(actions) == 9


def test_an_approved_action_is_sent_signed_once_and_shows_in_the_timeline(
    db: Database, story: str, receiver: Receiver
) -> None:
    with client_for(db, webhook_settings(receiver.url)) as client:
        [block] = by_type(actions_of(client, story), "BLOCK_EGRESS")
        assert receiver.received == []  # nothing is sent before an approval
        made = data(client, APPROVE, story=story, action=block["id"], comment="C2, block it")
        made = made["approveAction"]
        assert made == {
            "id": f"approval:{story}:{block['id']}", "actionId": block["id"],
            "type": "BLOCK_EGRESS", "text": "Block 198.51.100.9:4444 at the egress firewall",
            "actor": "api", "comment": "C2, block it", "delivery": "DELIVERED",
            "deliveryCode": 200, "deliveryError": None, "attempts": 1, "lastAttemptBy": "api",
            "target": {"ip": "198.51.100.9", "port": 4444},
        }  # fmt: skip
        [sent] = receiver.received
        assert sent["valid"] and sent["path"] == "/hooks/storyline"
        assert sent["headers"]["Content-Type"] == "application/json"
        assert sent["headers"]["Storyline-Delivery"] == made["id"]
        body = json.loads(sent["body"])
        assert body["id"] == made["id"] and body["type"] == "storyline.action.approved"
        address = {"kind": "address", "ip": "198.51.100.9", "port": 4444, "domain": None}
        assert body["action"] == {"id": block["id"], "type": "BLOCK_EGRESS", "target": address,
                                  "text": block["text"]}  # fmt: skip
        assert body["story"]["id"] == story and body["story"]["severity"] == "critical"
        assert body["story"]["hosts"] == ["node-3"] and body["story"]["status"] == "open"
        assert (body["approver"], body["comment"]) == ("api", "C2, block it")
        assert body["approved_at"].startswith("20")
        # the signature covers the exact bytes: one byte changed, and it no longer verifies
        header = sent["headers"]["Storyline-Signature"]
        assert verify(SECRET, header, sent["body"])
        assert not verify(SECRET, header, sent["body"].replace(b"4444", b"4445"))
        assert not verify("another-secret-of-32-characters!", header, sent["body"])
        stamp = int(header.split(",")[0][2:])
        assert not verify(SECRET, header, sent["body"], now=stamp + 301)  # a replay, later

        # approving again is recognised: nothing more is sent
        again = data(client, APPROVE, story=story, action=block["id"])["approveAction"]
        assert (again["id"], again["attempts"], again["comment"]) == (made["id"], 1, "C2, block it")
        assert len(receiver.received) == 1

        found = data(client, TIMELINE, id=story)["story"]
        entries = [e["node"] for e in found["timeline"]["edges"]]
        assert [(e["type"], e["kind"], e["approval"]) for e in entries] == [
            ("ACTION", "action", {"actionId": block["id"], "actor": "api",
                                  "comment": "C2, block it", "delivery": "DELIVERED"}),
        ]  # fmt: skip
        assert found["approvals"] == [{"id": made["id"], "actor": "api", "delivery": "DELIVERED"}]
        statuses = {a["id"]: a["status"] for a in actions_of(client, story)}
        assert statuses[block["id"]] == "DELIVERED"
        assert sorted(statuses.values()).count("RECOMMENDED") == 8
        # the whole timeline holds it after the story's events
        everything = data(client, """query($id: ID!) { story(id: $id) {
          timeline(first: 200) { edges { node { type } } } } }""", id=story)  # fmt: skip
        types = [e["node"]["type"] for e in everything["story"]["timeline"]["edges"]]
        assert types[-1] == "ACTION" and types.count("ACTION") == 1


def test_a_failed_delivery_is_recorded_and_approving_again_retries_it(
    db: Database, story: str, receiver: Receiver
) -> None:
    receiver.status = 503
    [down] = free_ports(1)
    with client_for(db, webhook_settings(receiver.url)) as client:
        [kill, _] = by_type(actions_of(client, story), "KILL_PROCESS")
        failed = data(client, APPROVE, story=story, action=kill["id"])["approveAction"]
        assert (failed["delivery"], failed["deliveryCode"], failed["attempts"]) == (
            "FAILED", 503, 1,
        )  # fmt: skip
        assert failed["deliveryError"] == "HTTP 503 Service Unavailable"
        assert {a["id"]: a["status"] for a in actions_of(client, story)}[kill["id"]] == "FAILED"
        receiver.status = 200
        retried = data(client, APPROVE, story=story, action=kill["id"])["approveAction"]
        assert (retried["delivery"], retried["deliveryCode"], retried["attempts"]) == (
            "DELIVERED", 200, 2,
        )  # fmt: skip
        assert retried["deliveryError"] is None
        ids = {r["headers"]["Storyline-Delivery"] for r in receiver.received}
        assert ids == {failed["id"]} and len(receiver.received) == 2
        assert all(r["valid"] for r in receiver.received)
    # a receiver that is down: no answer at all, recorded as such
    with client_for(db, webhook_settings(f"http://127.0.0.1:{down}/hook")) as client:
        [_, other] = by_type(actions_of(client, story), "KILL_PROCESS")
        lost = data(client, APPROVE, story=story, action=other["id"])["approveAction"]
        assert (lost["delivery"], lost["deliveryCode"], lost["attempts"]) == ("FAILED", None, 1)
        assert lost["deliveryError"].startswith("ConnectionRefusedError"), lost
    assert db.query("MATCH (a:ActionApproval) RETURN a.delivery AS d ORDER BY d")[1] == [
        {"d": "delivered"}, {"d": "failed"},
    ]  # fmt: skip


def test_approving_is_refused_without_a_webhook_and_for_unknown_actions(
    db: Database, story: str, receiver: Receiver
) -> None:
    with client_for(db, Settings.from_env()) as client:
        [block] = by_type(actions_of(client, story), "BLOCK_EGRESS")
        body = gql(client, APPROVE, story=story, action=block["id"])
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "no action webhook is configured" in error["message"]
    with client_for(db, webhook_settings(receiver.url)) as client:
        for variables, code, words in (
            ({"story": "nope", "action": block["id"]}, "NOT_FOUND", "no story"),
            ({"story": story, "action": "act_" + "0" * 20}, "NOT_FOUND", "recommends no action"),
            ({"story": story, "action": "x" * 5000}, "NOT_FOUND", "an action id is"),
            ({"story": story, "action": block["id"], "comment": "x" * 4001}, "BAD_USER_INPUT",
             "at most 4000"),
        ):  # fmt: skip
            [error] = gql(client, APPROVE, **variables)["errors"]
            assert error["extensions"]["code"] == code and words in error["message"], error
    assert receiver.received == []
    assert db.query("MATCH (a:ActionApproval) RETURN count(a) AS n")[1] == [{"n": 0}]


def test_the_webhook_settings_are_checked_at_start_up(tmp_path: Path) -> None:
    base = Settings.from_env()
    assert load_webhook(base) is None
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    hook = load_webhook(replace(base, action_webhook_url="https://soar.example/hook",
                                action_webhook_secret_file=secret_file))  # fmt: skip
    assert hook is not None and hook.secret.reveal() == SECRET and hook.timeout == 5
    assert SECRET not in repr(hook)
    for changes, words in (
        ({"action_webhook_url": "https://soar.example/hook"}, "needs a secret"),
        ({"action_webhook_secret": Secret(SECRET)}, "without STORYLINE_ACTION_WEBHOOK_URL"),
        ({"action_webhook_url": "ftp://soar.example/", "action_webhook_secret": Secret(SECRET)},
         "http:// or https://"),
        ({"action_webhook_url": "https://soar.example/", "action_webhook_secret": Secret("short")},
         "at least 16"),
        ({"action_webhook_url": "https://soar.example/", "action_webhook_secret": Secret(SECRET),
          "action_webhook_secret_file": secret_file}, "not both"),
        ({"action_webhook_url": "https://soar.example/",
          "action_webhook_secret_file": tmp_path / "missing"}, "cannot read"),
        ({"action_webhook_url": "https://soar.example/", "action_webhook_secret": Secret(SECRET),
          "action_webhook_timeout": 61}, "at most 60"),
    ):  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            load_webhook(replace(base, **changes))
        assert words in str(caught.value)
    variables = {"STORYLINE_ACTION_WEBHOOK_URL": "https://soar.example/hook",
                 "STORYLINE_ACTION_WEBHOOK_SECRET": SECRET,
                 "STORYLINE_ACTION_WEBHOOK_TIMEOUT": "3"}  # fmt: skip
    read = Settings.from_env(variables)
    assert read.action_webhook_url == "https://soar.example/hook"
    assert read.action_webhook_timeout == 3
    assert SECRET not in repr(read)
    assert sign(SECRET, 1700000000, b"{}") == (
        "t=1700000000,v1=" + hmac.new(SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    )


def test_approval_through_the_real_server_needs_the_triage_scope(
    db: Database, neo4j_target: Target, tmp_path: Path, receiver: Receiver
) -> None:
    story = jvm_story(db)
    tokens = tmp_path / "api-tokens"
    env = {**os.environ, "STORYLINE_API_TOKENS_FILE": str(tokens)}
    made = {}
    for name, scope in (("reader", "read"), ("lead", "triage")):
        command = [*storyline_command(), "tokens", "add", name, f"--scope={scope}"]
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                             timeout=60)  # fmt: skip
        made[name] = out.stdout.strip()
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    settings = {"STORYLINE_API_TOKENS_FILE": str(tokens),
                "STORYLINE_ACTION_WEBHOOK_URL": receiver.url,
                "STORYLINE_ACTION_WEBHOOK_SECRET_FILE": str(secret_file)}  # fmt: skip
    with serve(neo4j_target, tmp_path, settings) as server:

        def post(token: str, query: str, **variables: Any) -> dict[str, Any]:
            answer = httpx.post(server.url + "/graphql", timeout=60,
                                json={"query": query, "variables": variables},
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        actions = post(made["reader"], ACTIONS, id=story)["data"]["story"]["actions"]
        [block] = by_type(actions, "BLOCK_EGRESS")
        refused = post(made["reader"], APPROVE, story=story, action=block["id"])
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
        assert receiver.received == []
        approved = post(made["lead"], APPROVE, story=story, action=block["id"], comment="go")
        assert "errors" not in approved, approved
        found = approved["data"]["approveAction"]
        assert (found["actor"], found["delivery"], found["deliveryCode"]) == (
            "lead", "DELIVERED", 200,
        )  # fmt: skip
        [sent] = receiver.received
        assert sent["valid"] and json.loads(sent["body"])["approver"] == "lead"
        timeline = post(made["reader"], TIMELINE, id=story)["data"]["story"]["timeline"]
        assert [e["node"]["approval"]["actor"] for e in timeline["edges"]] == ["lead"]
        assert SECRET not in server.output()
    # the CLI prints the approval among the story's actions and in its timeline
    printed = subprocess.run([*storyline_command(), "story", story[:8]], capture_output=True,
                             env={**os.environ, **target_env(neo4j_target)}, text=True,
                             check=True, timeout=120).stdout  # fmt: skip
    approved = printed.split("approved actions:\n")[1].splitlines()[0]
    assert approved.endswith(
        "lead: BLOCK_EGRESS Block 198.51.100.9:4444 at the egress firewall [delivered 200]"
    )
    # (the timeline's lines are cut to the terminal's width)
    assert "  action           lead approved BLOCK_EGRESS: Block 198.51" in printed


def test_approvals_are_history_a_merged_story_keeps(
    db: Database, story: str, receiver: Receiver
) -> None:
    with client_for(db, webhook_settings(receiver.url)) as client:
        [block] = by_type(actions_of(client, story), "BLOCK_EGRESS")
        made = data(client, APPROVE, story=story, action=block["id"])["approveAction"]
    # a story with an approval and no signal left is not deleted
    db.query("MATCH (:Story {id: $id})-[h:HAS]->() DELETE h", {"id": story}, write=True)
    db.run("stories/delete_story", id=story)
    assert db.query("MATCH (s:Story {id: $id}) RETURN count(s) AS n", {"id": story})[1] == [
        {"n": 1}
    ]
    # merged into another story, its approvals move along
    db.query("CREATE (:Story {id: 'other', status: 'open'})", write=True)
    db.run("stories/merge_story_into", **{"from": story}, into="other", take_status=True,
           comment="moved: ", change_id="merge:x", ts="2026-01-05T10:00:00Z")  # fmt: skip
    assert db.query(
        "MATCH (s:Story)-[:APPROVAL]->(a:ActionApproval) RETURN s.id AS story, a.id AS id"
    )[1] == [{"story": "other", "id": made["id"]}]
