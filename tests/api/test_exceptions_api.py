"""Exceptions over GraphQL (in process, with scoped tokens), and through the real
`storyline serve` and the `storyline` CLI as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.api.auth import add_token
from app.neo4j.database import Database, Target
from app.settings import Settings
from tests.apiclient import local_client
from tests.graphstate import rows
from tests.investigation.test_exceptions import SUDO, WINDOW, load
from tests.rules.test_stories import admin_logins
from tests.server import serve, storyline_command, target_env


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The admin-logins world (tests/rules/test_stories.py) behind tokens of each scope."""
    events, _ = admin_logins()
    load(db, events)
    path = tmp_path / "api-tokens"
    tokens = {name: add_token(path, name, [name]) for name in ("read", "triage")}
    settings = replace(Settings.from_env(), api_tokens_file=path)
    with local_client(create_app(db, settings)) as client:
        yield client, tokens


def call(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def data(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = call(client, token, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"])


STORIES = """query($f: StoryFilter) { stories(first: 50, filter: $f) {
  totalCount edges { node { id suppressed signalCount suppressedSignalCount } } } }"""
STORY = """query($id: ID!, $all: Boolean!) { story(id: $id) { id suppressed
  signals(includeSuppressed: $all) { id suppressed suppressedBy { id reason } } } }"""
PREVIEW = """query($rule: String!, $c: ExceptionConditionsInput!, $from: String, $to: String) {
  previewException(ruleId: $rule, conditions: $c, from: $from, to: $to) {
    ruleId from to scanned matched suppressed alreadySuppressed complete storiesChanged
    storiesHidden sample { id hostId suppressed }
    affectedStories { story { id title } signalsBefore signalsAfter hidden } } }"""
CREATE = """mutation($rule: String!, $c: ExceptionConditionsInput!, $reason: String!,
                     $owner: String) {
  createException(ruleId: $rule, conditions: $c, reason: $reason, owner: $owner) {
    id ruleId status owner reason createdBy suppressedCount
    conditions { process user host container image path }
    history { actor action comment changes { field fromValue toValue } } } }"""


def test_from_a_signal_to_an_exception_and_back(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    reader, lead = tokens["read"], tokens["triage"]
    listed = data(client, reader, STORIES)["stories"]
    assert listed["totalCount"] == 3
    [alice] = [e["node"] for e in listed["edges"] if e["node"]["signalCount"] == 3]
    story = data(client, reader, STORY, id=alice["id"], all=False)["story"]
    signal = story["signals"][0]["id"]

    # "this is benign": the draft is the signal's own values
    draft = data(
        client,
        reader,
        """query($s: ID!) { exceptionDraft(signalId: $s) { signalId ruleId
          conditions { process user host container image path } } }""",
        s=signal,
    )["exceptionDraft"]
    assert draft == {
        "signalId": signal,
        "ruleId": SUDO,
        "conditions": {"process": ["/usr/bin/sudo"], "user": [], "host": ["node-1"],
                       "container": [], "image": [], "path": []},
    }  # fmt: skip
    conditions = {"host": ["node-1"], "process": ["/usr/bin/*"]}
    seen = data(client, reader, PREVIEW, rule=SUDO, c=conditions, **{"from": WINDOW[0]},
                to=WINDOW[1])["previewException"]  # fmt: skip
    assert {k: seen[k] for k in ("scanned", "matched", "suppressed", "alreadySuppressed",
                                 "complete", "storiesChanged", "storiesHidden")} == {
        "scanned": 5, "matched": 4, "suppressed": 4, "alreadySuppressed": 0, "complete": True,
        "storiesChanged": 2, "storiesHidden": 2,
    }  # fmt: skip
    assert {s["hostId"] for s in seen["sample"]} == {"node-1"} and len(seen["sample"]) == 4
    impacts = [(s["story"]["id"], s["signalsBefore"], s["signalsAfter"], s["hidden"])
               for s in seen["affectedStories"]]  # fmt: skip
    assert impacts[0][0] == alice["id"]
    assert [i[1:] for i in impacts] == [(3, 0, True), (1, 0, True)]

    # a read token may look, not save
    refused = call(client, reader, CREATE, rule=SUDO, c=conditions, reason="admins")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    saved = data(client, lead, CREATE, rule=SUDO, c=conditions, reason="admins",
                 owner="secops")["createException"]  # fmt: skip
    assert saved["suppressedCount"] == seen["suppressed"] == 4
    assert (saved["status"], saved["owner"], saved["createdBy"]) == ("ACTIVE", "secops", "triage")
    assert saved["conditions"]["process"] == ["/usr/bin/*"]
    [created] = saved["history"]
    assert (created["actor"], created["action"], created["comment"]) == ("triage", "create",
                                                                         "admins")  # fmt: skip
    assert {"field": "host", "fromValue": None, "toValue": '["node-1"]'} in created["changes"]

    # the suppressed stories are out of the default list, and behind the filter
    default = data(client, reader, STORIES)["stories"]
    assert default["totalCount"] == 1
    hidden = data(client, reader, STORIES, f={"suppressed": True})["stories"]
    assert {e["node"]["id"] for e in hidden["edges"]} == {p["story"]["id"] for p in
                                                          seen["affectedStories"]}  # fmt: skip
    assert all(e["node"]["suppressedSignalCount"] == e["node"]["signalCount"]
               for e in hidden["edges"])  # fmt: skip
    assert data(client, reader, STORIES, f={"suppressed": None})["stories"]["totalCount"] == 3
    # a suppressed signal is shown only when asked for, with what suppresses it
    story = data(client, reader, STORY, id=alice["id"], all=False)["story"]
    assert story["suppressed"] and story["signals"] == []
    story = data(client, reader, STORY, id=alice["id"], all=True)["story"]
    assert len(story["signals"]) == 3
    assert all(s["suppressed"] and s["suppressedBy"] == [{"id": saved["id"], "reason": "admins"}]
               for s in story["signals"])  # fmt: skip
    listed = data(
        client,
        reader,
        """{ exceptions(status: [ACTIVE]) { totalCount
      edges { node { id suppressedSignals(first: 2) { id } } } } }""",
    )["exceptions"]
    assert listed["totalCount"] == 1 and len(listed["edges"][0]["node"]["suppressedSignals"]) == 2

    revoked = data(client, lead, """mutation($id: ID!) { revokeException(id: $id,
      reason: "too broad") { status revokedBy suppressedCount history { action actor } } }""",
                   id=saved["id"])["revokeException"]  # fmt: skip
    assert revoked == {"status": "REVOKED", "revokedBy": "triage", "suppressedCount": 0,
                       "history": [{"action": "create", "actor": "triage"},
                                   {"action": "revoke", "actor": "triage"}]}  # fmt: skip
    assert data(client, reader, STORIES)["stories"]["totalCount"] == 3
    # the story's timeline shows both changes
    timeline = data(client, reader, """query($id: ID!) { story(id: $id) {
      timeline(first: 50, kinds: ["triage"]) { edges { node { triage { field fromValue
      toValue actor } } } } } }""", id=alice["id"])["story"]["timeline"]["edges"]  # fmt: skip
    assert [e["node"]["triage"] for e in timeline] == [
        {"field": "exception", "fromValue": action, "toValue": saved["id"], "actor": "triage"}
        for action in ("create", "revoke")
    ]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"c": {"host": ["a*b"]}}, "a * may only end a value"),
        ({"c": {"host": ["x" * 5000]}}, "at most 1024 characters"),
        ({"c": {"path": [f"/p{i}" for i in range(500)]}}, "at most 20 values"),
        ({"c": {}}, "needs at least one condition"),
        ({"rule": "nope"}, "no rule 'nope' is loaded"),
        ({"reason": ""}, "the reason is empty"),
    ],
)
def test_hostile_input_is_a_clear_error(
    api: tuple[TestClient, dict[str, str]], variables: dict[str, Any], message: str
) -> None:
    client, tokens = api
    args = {"rule": SUDO, "c": {"host": ["node-1"]}, "reason": "x", **variables}
    body = call(client, tokens["triage"], CREATE, **args)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and message in error["message"]


def test_updating_conditions_releases_what_they_no_longer_match(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = api
    saved = data(client, tokens["triage"], CREATE, rule=SUDO, c={"host": ["node-*"]},
                 reason="all")["createException"]  # fmt: skip
    assert saved["suppressedCount"] == 5
    changed = data(client, tokens["triage"], """mutation($id: ID!) { updateException(id: $id,
      conditions: {host: ["node-2"]}, comment: "node-1 is not ours") { suppressedCount
      history { action comment changes { field fromValue toValue } } } }""",
                   id=saved["id"])["updateException"]  # fmt: skip
    assert changed["suppressedCount"] == 1
    assert changed["history"][-1] == {
        "action": "update", "comment": "node-1 is not ours",
        "changes": [{"field": "host", "fromValue": '["node-*"]', "toValue": '["node-2"]'}],
    }  # fmt: skip
    nothing = call(client, tokens["triage"], """mutation($id: ID!) { updateException(id: $id,
      conditions: {host: ["node-2"]}) { id } }""", id=saved["id"])  # fmt: skip
    assert "nothing to change" in nothing["errors"][0]["message"]


def test_through_the_real_server_and_the_cli(
    db: Database, neo4j_target: Target, tmp_path: Path
) -> None:
    events, _ = admin_logins()
    load(db, events)
    env = {**os.environ, **target_env(neo4j_target)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*storyline_command(), "exceptions", *args], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    [(signal,)] = rows(db, "MATCH (s:Signal)-[:ON]->(:Event {host_id: 'node-2'}) RETURN s.id")
    shown = cli("preview", "--from-signal", signal, "--any", "process", "--from",
                WINDOW[0], "--to", WINDOW[1], "--json")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    seen = json.loads(shown.stdout)
    assert (seen["rule_id"], seen["matched"], seen["suppressed"]) == (SUDO, 1, 1)
    with serve(neo4j_target, tmp_path) as server:
        created = httpx.post(f"{server.url}/graphql", headers={"X-Storyline-Actor": "dana"},
                             json={"query": CREATE, "variables": {
                                 "rule": SUDO, "c": {"host": ["node-2"]}, "reason": "lab"}},
                             timeout=120).json()  # fmt: skip
        assert "errors" not in created, created
        xid = created["data"]["createException"]["id"]
        assert created["data"]["createException"]["suppressedCount"] == 1
        listed = cli("list", "--json")
        assert [(x["id"], x["created_by"], x["suppressed_count"]) for x in
                json.loads(listed.stdout)] == [(xid, "dana", 1)]  # fmt: skip
        [(hidden,)] = rows(db, "MATCH (s:Story {suppressed: true}) RETURN s.id")
        story = subprocess.run([*storyline_command(), "story", hidden[:8]], env=env,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert "[suppressed]" in story.stdout and "only with --suppressed" in story.stdout
        suppressed = subprocess.run(
            [*storyline_command(), "stories", "--suppressed", "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert [s["id"] for s in json.loads(suppressed.stdout)] == [hidden]
        bad = cli("add", "--rule", SUDO, "--host", "node-*x", "--reason", "r")
        assert bad.returncode == 1 and "a * may only end a value" in bad.stderr
        revoked = cli("revoke", xid[:18], "--reason", "done", "--actor", "erin")
        assert revoked.returncode == 0, revoked.stderr
        assert "revoked" in revoked.stdout and "suppresses 0 signals" in revoked.stdout
        answer = httpx.post(
            f"{server.url}/graphql",
            timeout=60,
            json={
                "query": """query($id: ID!)
          { exception(id: $id) { status history { actor action } } }""",
                "variables": {"id": xid},
            },
        )
        assert answer.json()["data"]["exception"] == {
            "status": "REVOKED",
            "history": [
                {"actor": "dana", "action": "create"},
                {"actor": "erin", "action": "revoke"},
            ],
        }
    shown = cli("show", xid)
    assert shown.returncode == 0 and "erin: revoke (done)" in shown.stdout
    stories = subprocess.run([*storyline_command(), "stories", "--json"], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert len(json.loads(stories.stdout)) == 3
