"""POST /api/v1/events and the dead-letter routes."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.neo4j.database import Database
from app.settings import Settings
from tests import deadlock
from tests.apiclient import local_client
from tests.graphstate import rows_counted
from tests.test_ingest import BASH, CURL, event, ndjson, scenario


@pytest.fixture
def client(db: Database) -> TestClient:
    settings = Settings.from_env({"STORYLINE_MAX_BODY_BYTES": "200000"})
    with local_client(create_app(db, settings)) as c:
        yield c


def test_ndjson_is_ingested_and_committed(client: TestClient, db: Database) -> None:
    response = client.post("/api/v1/events?format=storyline", content="".join(ndjson(scenario())))
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (12, [])
    # each of the scenario's events once
    every_event = Counter((f"ev-{n}",) for n in range(1, 13))
    assert rows_counted(db, "MATCH (e:Event) RETURN e.id") == every_event


def test_a_json_array_gzipped(client: TestClient, db: Database) -> None:
    body = gzip.compress(json.dumps(scenario()[:3]).encode())
    response = client.post("/api/v1/events", content=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3


def test_rejected_records_are_listed_by_position_and_kept(client: TestClient) -> None:
    lines = ndjson([event(1, "process_exec", BASH), {"kind": "process_exec"}])
    lines.insert(1, "{nope\n")
    body = client.post("/api/v1/events", content="".join(lines)).json()
    assert body["accepted"] == 1
    assert [r["position"] for r in body["rejected"]] == [2, 3]
    assert "invalid JSON" in body["rejected"][0]["reason"]
    assert "id" not in body["rejected"][1]["reason"]  # ids are minted; the rest is missing
    assert "process: Field required" in body["rejected"][1]["reason"]
    letters = client.get("/api/v1/dead-letters").json()["dead_letters"]
    assert sorted(x["position"] for x in letters) == [2, 3]
    assert {x["origin"] for x in letters} == {"http"}


@pytest.mark.parametrize(
    ("content", "query", "status", "message"),
    [
        (b"", "", 400, "empty"),
        (b"\x1f\x8b\x08\x00garbage", "", 400, "bad gzip"),
        (b"{}", "?format=nosuch", 400, "unknown format 'nosuch'"),
        (b"x" * 200_001, "", 413, "limit"),
    ],
)
def test_bad_bodies_get_a_clear_4xx(
    client: TestClient, content: bytes, query: str, status: int, message: str
) -> None:
    response = client.post(f"/api/v1/events{query}", content=content)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_a_broken_array_or_bytes_that_are_not_utf8_lose_only_their_own_records(
    client: TestClient,
) -> None:
    good = json.dumps(event(1, "process_exec", BASH))
    body = client.post("/api/v1/events", content=f"[{good}, {{]".encode()).json()
    assert body["accepted"] == 1
    assert [r["position"] for r in body["rejected"]] == [2, 3]
    lines = [good, json.dumps(event(2, "process_exec", CURL))]
    raw = lines[0].encode() + b"\n" + lines[1].encode().replace(b"curl", b"cu\xffrl") + b"\n"
    body = client.post("/api/v1/events", content=raw).json()
    assert body["accepted"] == 2 and body["rejected"] == []
    assert body["warnings"][-1]["position"] == 2
    assert "not UTF-8" in body["warnings"][-1]["warnings"][0]


def test_a_gzip_bomb_is_refused(client: TestClient) -> None:
    bomb = gzip.compress(b"{}\n" * 1_000_000)  # 3 MB inflated, a few KB sent
    response = client.post("/api/v1/events", content=bomb)
    assert response.status_code == 413


def test_resubmit_route(client: TestClient, db: Database) -> None:
    bad = json.dumps({**event(2, "process_exec", CURL), "ts": "soon"})
    client.post("/api/v1/events", content=bad)
    result = client.post("/api/v1/dead-letters/resubmit").json()
    assert result["resubmitted"] == 1 and result["accepted"] == []
    assert "not an RFC 3339 timestamp" in result["still_rejected"][0]["reasons"][0]


MISSING_KIND = (
    "missing field 'kind' (one of: process_exec, process_fork, process_exit, file_open, "
    "file_write, file_create, file_rename, file_unlink, file_chmod, network_connect, "
    "network_accept, network_bind, network_listen, dns_query, imds_request, alert)"
)


def test_graphql_ingest_mutation(client: TestClient, db: Database) -> None:
    mutation = """mutation($r: String!) { ingest(format: "storyline", records: $r) {
        accepted events rejected { position reason } } }"""
    records = "".join(ndjson(scenario()[:2])) + "{}\n"
    body = client.post("/graphql", json={"query": mutation, "variables": {"r": records}}).json()
    assert body["data"]["ingest"]["accepted"] == 2
    assert body["data"]["ingest"]["rejected"] == [{"position": 3, "reason": MISSING_KIND}]


def test_a_deadlock_past_the_retries_is_answered_503_not_500(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced (tests/deadlock.py), with no time left to retry: the ingest is answered
    503 with Retry-After, saying to send it again, and nothing of the batch is stored."""
    import app.neo4j.database

    first = "".join(ndjson([deadlock.on(deadlock.HOSTS[0], 1), deadlock.on(deadlock.HOSTS[1], 2)]))
    assert client.post("/api/v1/events?wait=processed", content=first).status_code == 200
    monkeypatch.setattr(app.neo4j.database, "RETRY_SECONDS", 0.0)
    body = "".join(ndjson([deadlock.on(deadlock.HOSTS[0], 3), deadlock.on(deadlock.HOSTS[1], 4)]))
    answer = deadlock.against(db, lambda: client.post("/api/v1/events", content=body))
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]
    assert "DeadlockDetected" in answer.json()["error"]
    assert "sending it again is harmless" in answer.json()["error"]
    stored = db.query("MATCH (e:Event) WHERE e.id STARTS WITH 'dl-ev-' RETURN e.id AS id")[1]
    assert sorted(r["id"] for r in stored) == ["dl-ev-1", "dl-ev-2"]
