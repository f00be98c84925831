"""GraphQL stories: list with cursors and filters, one story, triage mutations."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.neo4j.database import Database
from tests.apiclient import local_client
from tests.rules.test_stories import alert, load
from tests.test_layers import cron_jobs, jvm_exploit, ssh_session


@pytest.fixture
def client(db: Database) -> TestClient:
    events, _, compromise = jvm_exploit()
    ssh, _ = ssh_session()
    cron, _ = cron_jobs()
    load(db, [*events, compromise, *ssh, *cron,
              alert(events[4], "reverse_shell", "critical", "command_and_control"),
              alert(ssh[-1], "shadow_read", "medium", "credential_access"),
              alert(cron[3], "archive", "low", "collection")])  # fmt: skip
    with local_client(create_app(db)) as c:
        yield c


def gql(client: TestClient, query: str, actor: str = "alice", **variables: Any) -> dict:
    body = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"X-Storyline-Actor": actor},
    ).json()
    assert "errors" not in body, body
    return body["data"]


LIST = """query($first: Int!, $after: String, $filter: StoryFilter) {
  stories(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id title severity score status layer signalCount } } } }"""


def test_stories_by_score_with_cursors(client: TestClient) -> None:
    page1 = gql(client, LIST, first=2)["stories"]
    assert page1["totalCount"] == 3 and page1["pageInfo"]["hasNextPage"]
    page2 = gql(client, LIST, first=2, after=page1["pageInfo"]["endCursor"])["stories"]
    assert not page2["pageInfo"]["hasNextPage"]
    nodes = [e["node"] for e in page1["edges"] + page2["edges"]]
    assert [n["severity"] for n in nodes] == ["CRITICAL", "MEDIUM", "LOW"]
    assert [n["score"] for n in nodes] == sorted((n["score"] for n in nodes), reverse=True)
    assert nodes[0]["layer"] == "exploit" and nodes[0]["signalCount"] == 2


def test_filters_and_triage_mutations(client: TestClient) -> None:
    top = gql(client, LIST, first=1)["stories"]["edges"][0]["node"]
    changed = gql(
        client,
        """mutation($id: ID!) {
          setStoryStatus(id: $id, status: UNDER_REVIEW, comment: "on it") { status }
          assignStory(id: $id, assignee: "alice") { assignee }
          addStoryNote(id: $id, note: "JVM is log4j 2.14") {
            triageHistory { actor field fromValue toValue comment } } }""",
        id=top["id"],
    )
    assert changed["setStoryStatus"]["status"] == "UNDER_REVIEW"
    assert changed["assignStory"]["assignee"] == "alice"
    assert changed["addStoryNote"]["triageHistory"] == [
        {"actor": "alice", "field": "status", "fromValue": "open", "toValue": "under_review",
         "comment": "on it"},
        {"actor": "alice", "field": "assignee", "fromValue": None, "toValue": "alice",
         "comment": None},
        {"actor": "alice", "field": "note", "fromValue": None, "toValue": "JVM is log4j 2.14",
         "comment": None},
    ]  # fmt: skip
    reviewing = gql(client, LIST, first=10, filter={"status": ["UNDER_REVIEW"]})["stories"]
    assert [e["node"]["id"] for e in reviewing["edges"]] == [top["id"]]
    severe = gql(client, LIST, first=10, filter={"severity": ["LOW", "MEDIUM"]})["stories"]
    assert severe["totalCount"] == 2


def test_one_story_with_signals_and_events(client: TestClient) -> None:
    top = gql(client, LIST, first=1)["stories"]["edges"][0]["node"]
    story = gql(
        client,
        """query($id: ID!) { story(id: $id) { title summary recommendedActions
          signals { ruleId severity processPid eventSummary }
          events(first: 3) { pageInfo { hasNextPage endCursor } edges { node { kind ts } } } } }""",
        id=top["id"],
    )["story"]
    assert {s["ruleId"] for s in story["signals"]} == {"sensor.shell_from_jvm", "reverse_shell"}
    events = story["events"]
    assert len(events["edges"]) == 3 and events["pageInfo"]["hasNextPage"]
    times = [e["node"]["ts"] for e in events["edges"]]
    assert times == sorted(times)


def test_bad_triage_is_a_clear_error(client: TestClient) -> None:
    body = client.post(
        "/graphql",
        json={"query": 'mutation { addStoryNote(id: "nope", note: "x") { id } }'},
    ).json()
    assert "no story 'nope'" in body["errors"][0]["message"]


def test_a_routine_story_lists_its_contexts_and_their_events(db: Database) -> None:
    from tests.rules.test_stories import admin_logins

    events, shells = admin_logins()
    load(db, events)
    with local_client(create_app(db)) as c:
        nodes = [e["node"] for e in gql(
            c, "{ stories(first: 10) { edges { node { id routine correlationKey correlationKeys "
               "title } } } }")["stories"]["edges"]]  # fmt: skip
        [alice] = [n for n in nodes if len(n["correlationKeys"]) == 3]
        assert alice["routine"] and alice["correlationKey"] == shells["alice-1"]
        assert set(alice["correlationKeys"]) == {shells[f"alice-{i}"] for i in (1, 2, 3)}
        story = gql(
            c,
            """query($id: ID!) { story(id: $id) { signals { processPid }
              events(first: 50) { edges { node { processPid signalRules } } } } }""",
            id=alice["id"],
        )["story"]
    assert sorted(s["processPid"] for s in story["signals"]) == [2002, 2102, 2202]
    flagged = [e["node"]["processPid"] for e in story["events"]["edges"]
               if e["node"]["signalRules"]]  # fmt: skip
    assert sorted(flagged) == [2002, 2102, 2202]


def test_a_story_explains_its_context_and_carries_its_graph(client: TestClient) -> None:
    top = gql(client, LIST, first=1)["stories"]["edges"][0]["node"]
    story = gql(
        client,
        """query($id: ID!) { story(id: $id) { updatedAt
          explain { layer contextClass rootProcessExe rootProcessPid reason }
          graph { truncated nodes { id kind } edges { type source target count } } } }""",
        id=top["id"],
    )["story"]
    assert story["updatedAt"] and story["updatedAt"].endswith("Z")
    [why] = story["explain"]
    assert (why["layer"], why["contextClass"], why["rootProcessExe"]) == (
        "exploit", "session", "/bin/sh"
    )  # fmt: skip
    assert "sensor.shell_from_jvm" in why["reason"]
    graph = story["graph"]
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"Process", "Host"} <= kinds and graph["truncated"] is False
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    assert {"CHILD_OF", "ON_HOST"} <= {e["type"] for e in graph["edges"]}


def test_a_page_of_stories_reads_their_signals_and_history_in_one_query(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, _, compromise = jvm_exploit()
    ssh, _ = ssh_session()
    cron, _ = cron_jobs()
    load(db, [*events, compromise, *ssh, *cron,
              alert(ssh[-1], "shadow_read", "medium", "credential_access"),
              alert(cron[3], "archive", "low", "collection")])  # fmt: skip
    reads: list[str] = []
    real = Database.read

    def counted(self: Database, name: str, **params: Any) -> list[dict[str, Any]]:
        reads.append(name)
        return real(self, name, **params)

    monkeypatch.setattr(Database, "read", counted)
    query = """{ stories(first: 50) { edges { node { id
      signals { ruleId } triageHistory { field } } } } }"""
    with local_client(create_app(db)) as client:
        nodes = [e["node"] for e in gql(client, query)["stories"]["edges"]]
    assert len(nodes) == 3 and all(n["signals"] for n in nodes)
    assert reads.count("queries/stories_by_ids") == 1
