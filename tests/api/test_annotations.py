"""Notes and tags on events and processes, in the timeline; bulk triage of stories."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.neo4j.database import Database
from tests.api.test_search import data, gql
from tests.apiclient import local_client


@pytest.fixture
def client(db: Database, world: dict[str, str]) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


ANNOTATE_EVENT = """mutation($id: ID!, $note: String, $tags: [String!]) {
  annotateEvent(id: $id, note: $note, tags: $tags) { kind text actor targetKind targetKey } }"""
ANNOTATE_PROCESS = """mutation($key: ID!, $note: String, $tags: [String!]) {
  annotateProcess(key: $key, note: $note, tags: $tags) { kind text actor targetKey } }"""
TIMELINE = """query($id: ID!, $kinds: [String!]) { story(id: $id) {
  timeline(first: 200, kinds: $kinds) { edges { node { type kind ts
    event { id } annotation { kind text actor targetKind targetKey } } } } } }"""


def first_event(client: TestClient, story: str) -> str:
    found = data(client, TIMELINE, id=story, kinds=["file_open"])
    return found["story"]["timeline"]["edges"][0]["node"]["event"]["id"]


def test_notes_and_tags_show_on_their_target_and_in_the_timeline(
    client: TestClient, world: dict[str, str]
) -> None:
    shadow = first_event(client, world["shell"])
    tags = ["credential-theft", "credential-theft", "T1003"]
    made = data(client, ANNOTATE_EVENT, id=shadow, note="read by the attacker", tags=tags)
    made = made["annotateEvent"]
    assert [(a["kind"], a["text"]) for a in made] == [
        ("note", "read by the attacker"), ("tag", "credential-theft"), ("tag", "T1003"),
    ]  # fmt: skip
    assert {(a["actor"], a["targetKind"], a["targetKey"]) for a in made} == {
        ("api", "event", shadow)
    }
    on_process = data(client, ANNOTATE_PROCESS, key=world["sh"], tags=["c2"])["annotateProcess"]
    assert on_process == [{"kind": "tag", "text": "c2", "actor": "api", "targetKey": world["sh"]}]

    timeline = data(client, TIMELINE, id=world["shell"])["story"]["timeline"]
    entries = [e["node"] for e in timeline["edges"]]
    notes = [e for e in entries if e["type"] == "ANNOTATION"]
    assert [(n["kind"], n["annotation"]["text"]) for n in notes] == [
        ("annotation", "read by the attacker"), ("annotation", "credential-theft"),
        ("annotation", "T1003"), ("annotation", "c2"),
    ]  # fmt: skip
    # written now, so after every event of the story (which happened in 2026-01-05)
    assert entries[-len(notes) :] == notes
    only = data(client, TIMELINE, id=world["shell"], kinds=["annotation"])["story"]["timeline"]
    assert [e["node"]["type"] for e in only["edges"]] == ["ANNOTATION"] * 4
    # the other story holds neither the event nor the process
    other = data(client, TIMELINE, id=world["jvm"], kinds=["annotation"])["story"]["timeline"]
    assert other["edges"] == []

    query = """query($id: ID!, $key: ID!) { event(id: $id) { annotations { text } }
      process(key: $key) { annotations { kind text } } }"""
    d = data(client, query, id=shadow, key=world["sh"])
    assert [a["text"] for a in d["event"]["annotations"]] == [
        "read by the attacker", "credential-theft", "T1003",
    ]  # fmt: skip
    assert d["process"]["annotations"] == [{"kind": "tag", "text": "c2"}]


@pytest.mark.parametrize(
    ("variables", "code", "words"),
    [
        ({"id": "no-such-event", "note": "x"}, "NOT_FOUND", "no event"),
        ({"note": "   "}, "BAD_USER_INPUT", "needs a note or at least one tag"),
        ({"tags": ["bad tag"]}, "BAD_USER_INPUT", "a tag is"),
        ({"note": "x" * 4001}, "BAD_USER_INPUT", "at most 4000"),
        ({"tags": [f"t{i}" for i in range(21)]}, "BAD_USER_INPUT", "at most 20 tags"),
    ],
)
def test_a_bad_annotation_is_refused_and_writes_nothing(
    client: TestClient, db: Database, world: dict[str, str], variables: dict[str, Any],
    code: str, words: str,
) -> None:  # fmt: skip
    variables = {"id": first_event(client, world["shell"]), **variables}
    body = gql(client, ANNOTATE_EVENT, **variables)
    error = body["errors"][0]
    assert error["extensions"]["code"] == code and words in error["message"], body
    assert db.query("MATCH (a:Annotation) RETURN count(a) AS n")[1] == [{"n": 0}]


BULK = """mutation($ids: [ID!]!, $status: StoryStatus!) {
  setStoriesStatus(ids: $ids, status: $status, comment: "one incident") {
    id status triageHistory { field toValue comment } } }"""


def test_bulk_triage_changes_all_or_nothing(client: TestClient, world: dict[str, str]) -> None:
    ids = [world["shell"], world["jvm"]]
    done = data(client, BULK, ids=ids, status="UNDER_REVIEW")["setStoriesStatus"]
    assert [(s["id"], s["status"]) for s in done] == [(i, "UNDER_REVIEW") for i in ids]
    assert all(s["triageHistory"] == [{"field": "status", "toValue": "under_review",
                                       "comment": "one incident"}] for s in done)  # fmt: skip
    refused = gql(client, BULK, ids=[world["shell"], "st-nope"], status="ARCHIVED")
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
    after = data(client, "query($id: ID!) { story(id: $id) { status } }", id=world["shell"])
    assert after["story"]["status"] == "UNDER_REVIEW"  # the whole change was rolled back
    too_many = gql(client, BULK, ids=[f"s{i}" for i in range(101)], status="OPEN")
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
