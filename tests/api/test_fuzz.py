"""Fuzzing: generated GraphQL documents with each scope, and hostile ingest bodies.

Never a 500 nor an error coded as a fault of the service; in an ingest body,
the valid records beside the hostile ones are stored.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.api.app import create_app
from app.api.auth import SCOPES, add_token
from app.api.schema import schema
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client
from tests.rules.test_stories import load
from tests.test_ingest import BASH, event
from tests.test_layers import jvm_exploit

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    events, _, compromise = jvm_exploit()
    load(db, [*events, compromise])
    path = tmp_path / "api-tokens"
    tokens = {scope: add_token(path, f"fuzz-{scope}", [scope]) for scope in SCOPES}
    app_settings = replace(Settings.from_env(), api_tokens_file=path, max_body_bytes=1 << 20)
    with local_client(create_app(db, app_settings)) as client:
        yield client, tokens


def assert_no_fault(answer: object) -> None:
    assert answer.status_code in (200, 400, 413), answer.text[:500]  # type: ignore[attr-defined]
    if answer.status_code == 200 and "json" in answer.headers.get("content-type", ""):  # type: ignore[attr-defined]
        for error in answer.json().get("errors") or []:  # type: ignore[attr-defined]
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


@pytest.mark.parametrize("scope", SCOPES)
def test_generated_graphql_documents_never_fault(
    served: tuple[TestClient, dict[str, str]], scope: str
) -> None:
    client, tokens = served
    documents = st.one_of(
        hypothesis_graphql.from_schema(schema.as_str()),
        hypothesis_graphql.mutations(schema.as_str()),
    )

    @FUZZ
    @given(document=documents)
    def run(document: str) -> None:
        answer = client.post(
            "/graphql", json={"query": document},
            headers={"Authorization": f"Bearer {tokens[scope]}"},
        )  # fmt: skip
        assert_no_fault(answer)

    run()


GOOD = [event(n, "process_exec", {**BASH, "pid": 5000 + n}) for n in range(1, 4)]
GOOD_LINES = [json.dumps(e) for e in GOOD]

hostile_line = st.one_of(
    st.integers(1, 3000).map(lambda d: "[" * d + "]" * d),
    st.integers(1, 3000).map(lambda d: '{"a":' * d + "1" + "}" * d),
    st.integers(1, 200_000).map(lambda n: json.dumps({"id": "x", "args": ["a" * n]})),
    st.text(max_size=200).map(lambda t: t.replace("\n", " ")),
    st.just('{"id": "\u0000nul", "kind": "process_exec"}'),
    st.just("[1, 2"),
    st.just("\u2028\u0085{"),
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, set[str]]:
    """An NDJSON body: the good events among hostile lines, maybe broken bytes, maybe gzip."""
    lines = [*GOOD_LINES, *draw(st.lists(hostile_line, max_size=6))]
    order = draw(st.permutations(lines))
    raw = "\n".join(order).encode()
    if draw(st.booleans()):
        raw = raw.replace(b"nul", b"n\xffl")  # bytes that are not UTF-8 on a hostile line
    if draw(st.booleans()):  # several gzip members
        cut = draw(st.integers(0, len(raw)))
        raw = gzip.compress(raw[:cut]) + gzip.compress(raw[cut:])
        if draw(st.booleans()) and cut:  # a line split across members still joins
            return raw, {e["id"] for e in GOOD}
    return raw, {e["id"] for e in GOOD}


def test_hostile_ingest_bodies_never_fault_and_lose_no_valid_record(
    served: tuple[TestClient, dict[str, str]], db: Database
) -> None:
    client, tokens = served
    ingest_token = {"Authorization": f"Bearer {tokens['ingest']}"}

    @FUZZ
    @given(body=bodies())
    def run(body: tuple[bytes, set[str]]) -> None:
        raw, wanted = body
        db.query("MATCH (e:Event) WHERE e.id IN $ids DETACH DELETE e",
                 {"ids": sorted(wanted)}, write=True)  # fmt: skip
        answer = client.post("/api/v1/events", content=raw, headers=ingest_token)
        assert_no_fault(answer)
        assert answer.status_code == 200, answer.text[:300]
        _, found = db.query("MATCH (e:Event) WHERE e.id IN $ids RETURN e.id AS id",
                            {"ids": sorted(wanted)})  # fmt: skip
        assert {r["id"] for r in found} == wanted

    run()


def test_a_truncated_gzip_body_is_a_clear_400(served: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = served
    body = gzip.compress("\n".join(GOOD_LINES).encode())[:-9]
    answer = client.post("/api/v1/events", content=body,
                         headers={"Authorization": f"Bearer {tokens['ingest']}"})  # fmt: skip
    assert answer.status_code == 400 and "gzip" in answer.json()["error"]
