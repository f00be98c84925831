"""GraphQL for indicators: importIndicators, indicators, feeds, Story.related.

The world is tests/indicators/test_matching.py's: two hosts running copies of one
agent that reach the same C2 address and share a binary, and a third that shares
nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.investigation.stories import story_id
from app.neo4j.database import Database
from tests.api.test_search import data, gql
from tests.api.test_timestamps import ONE_FORMAT
from tests.apiclient import local_client
from tests.indicators.test_feeds import SHA256
from tests.indicators.test_matching import CSV, NO_RULES, STIX, hosts
from tests.test_layers import load

IMPORT = """mutation($feed: String!, $format: FeedFormat!, $content: String!, $severity: Severity) {
  importIndicators(feed: $feed, format: $format, content: $content, severity: $severity) {
    feed format read indicators dropped errorCount skipped { reason count }
    errors { position reason } recheck { events signals complete } } }"""
RELATED = """query($id: ID!) { story(id: $id) { related {
  story { id title hosts } nodes indicators { id type value feeds sources { feed ref } } } } }"""


@pytest.fixture
def client(db: Database) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


def import_stix(client: TestClient, db: Database) -> dict[str, Any]:
    found = data(client, IMPORT, feed="example-cert", format="STIX", content=STIX)
    NO_RULES.drain(db)  # the re-check's signals reach their stories (the worker is off here)
    return found["importIndicators"]


def test_an_import_over_graphql_reports_and_relates_the_two_hosts(
    client: TestClient, db: Database
) -> None:
    events, keys = hosts()
    load(db, events)
    report = import_stix(client, db)
    assert {k: v for k, v in report.items() if k not in ("skipped", "errors")} == {
        "feed": "example-cert", "format": "stix", "read": 10, "indicators": 8, "dropped": 0,
        "errorCount": 0, "recheck": {"events": 5, "signals": 5, "complete": True},
    }  # fmt: skip
    assert {s["reason"]: s["count"] for s in report["skipped"]}["pattern part using AND"] == 1
    a, b = story_id(keys["a"]), story_id(keys["b"])
    ip = {
        "id": "ip:203.0.113.50", "type": "IP", "value": "203.0.113.50", "feeds": ["example-cert"],
        "sources": [{"feed": "example-cert",
                     "ref": "indicator--c2a0f3b6-1c8e-4f43-a4b1-6a6a2b1c7f21"}],
    }  # fmt: skip
    sha = {
        "id": f"sha256:{SHA256}", "type": "SHA256", "value": SHA256, "feeds": ["example-cert"],
        "sources": [{"feed": "example-cert",
                     "ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}],
    }  # fmt: skip
    assert data(client, RELATED, id=a)["story"]["related"] == [
        {
            "story": {"id": b, "title": "Indicator from example-cert: 203.0.113.50 on node-b",
                      "hosts": ["node-b"]},
            "nodes": ["Endpoint:203.0.113.50:443", "File:host:node-a:/tmp/.cache/pivy"],
            "indicators": [ip, sha],
        }
    ]  # fmt: skip
    assert [r["story"]["id"] for r in data(client, RELATED, id=b)["story"]["related"]] == [a]


def test_feeds_and_indicators_read_back_in_pages(client: TestClient, db: Database) -> None:
    import_stix(client, db)
    data(client, IMPORT, feed="cert-csv", format="CSV", content=CSV, severity="CRITICAL")
    feeds = data(client, "{ feeds { name format severity indicatorCount read skipped errors } }")
    assert feeds["feeds"] == [
        {"name": "cert-csv", "format": "csv", "severity": "CRITICAL", "indicatorCount": 4,
         "read": 7, "skipped": 1, "errors": 2},
        {"name": "example-cert", "format": "stix", "severity": "HIGH", "indicatorCount": 8,
         "read": 10, "skipped": 10, "errors": 0},
    ]  # fmt: skip
    page = "query($after: String) { indicators(first: 3, after: $after) { edges { node { id feeds } } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
    seen, after = [], None
    while True:
        found = data(client, page, after=after)["indicators"]
        seen += [(e["node"]["id"], tuple(e["node"]["feeds"])) for e in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    both, stix = ("cert-csv", "example-cert"), ("example-cert",)
    assert seen == [
        ("domain:c2.bad-actor.example", both), ("domain:update.bad-actor.example", stix),
        ("ip:2001:db8::50", stix), ("ip:203.0.113.50", both), ("ip:203.0.113.51", stix),
        ("md5:f87e499e0b387e9a8a29197a85f50792", both),
        ("sha1:a9993e364706816aba3e25717850c26c9cd0d89d", stix), (f"sha256:{SHA256}", both),
    ]  # fmt: skip
    one = "query($v: String, $t: IndicatorType, $f: String) { indicators(value: $v, type: $t, feed: $f) { edges { node { id } } } }"  # noqa: E501

    def ids(**variables: Any) -> list[str]:
        return [e["node"]["id"] for e in data(client, one, **variables)["indicators"]["edges"]]

    # times in the API's one format, as every time it returns
    until = '{ indicators(value: "203.0.113.51") { edges { node { sources { validUntil } } } } }'
    [edge] = data(client, until)["indicators"]["edges"]
    assert edge["node"]["sources"] == [{"validUntil": "2099-01-01T00:00:00.000000000Z"}]
    imported = [f["importedAt"] for f in data(client, "{ feeds { importedAt } }")["feeds"]]
    assert all(ONE_FORMAT.match(t) for t in imported) and len(imported) == 2
    assert ids(v="::ffff:203.0.113.50") == ["ip:203.0.113.50"]
    assert ids(v=SHA256.upper()) == [f"sha256:{SHA256}"]
    assert ids(t="IP", f="cert-csv") == ["ip:203.0.113.50"]
    assert ids(v="update.bad-actor.example", f="cert-csv") == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"feed": "x", "format": "STIX", "content": "{"},
         "the feed is not JSON: Expecting property name enclosed in double quotes"),
        ({"feed": "x", "format": "CSV", "content": "value\n1.2.3.4"},
         "line 1: the header must name the columns type and value"),
        ({"feed": "../etc", "format": "CSV", "content": "type,value"},
         "a feed name is 1-64 letters, digits and ._- starting with a letter or digit"),
        ({"feed": "x" * 65, "format": "CSV", "content": "type,value"}, "a feed name is 1-64"),
        ({"feed": "x", "format": "CSV", "content": "type,value\n" + "ip,192.0.2.1\n" * 100_001},
         "the feed holds more than 100,000 indicators: split it"),
    ],
)  # fmt: skip
def test_a_feed_that_cannot_be_imported_is_a_clear_input_error(
    client: TestClient, variables: dict[str, Any], message: str
) -> None:
    body = gql(client, IMPORT, **variables)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith(message), error["message"]
    assert data(client, "{ feeds { name } }")["feeds"] == []


def test_listing_refuses_what_it_cannot_look_up(client: TestClient) -> None:
    for query, message in (
        ('{ indicators(value: "not a thing") { edges { cursor } } }',
         "'not a thing' is no IP address, domain or hash"),
        ('{ indicators(value: "abc", type: MD5) { edges { cursor } } }',
         "not a md5 hash (32 hex digits): 'abc'"),
        ('{ indicators(first: 500) { edges { cursor } } }', "first must be between 1 and 200"),
        ('{ indicators(feed: "a b") { edges { cursor } } }', "a feed name is 1-64"),
    ):  # fmt: skip
        [error] = gql(client, query)["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"].startswith(message), error["message"]
