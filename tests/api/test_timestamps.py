"""One time format in the API, the CLI and the exports: UTC RFC 3339, nine fractional
digits, a Z (app.events.format_ts). Neo4j prints times with trailing zeros trimmed
(`08:00:55Z`, `08:00:55.38Z`), which neither sorts as text nor reads as one column;
nothing of that reaches a reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.cli import main
from app.events import format_ts
from app.investigation.stories import record
from app.neo4j.database import Database
from tests.api.test_search import data
from tests.apiclient import local_client

ONE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
# the names times go by in GraphQL answers, graph node properties and CLI JSON
TIME_NAMES = frozenset({
    "ts", "firstSeen", "lastSeen", "updatedAt", "startTime", "exitTime", "receivedAt",
    "start", "first_seen", "last_seen", "updated_at", "start_time", "exit_time",
    "received_at",
})  # fmt: skip


@pytest.fixture
def client(db: Database, world: dict[str, str]) -> Iterator[TestClient]:
    with local_client(create_app(db)) as c:
        yield c


def times(value: Any, key: str | None = None) -> list[str]:
    """Every non-null value under a time name, anywhere in a JSON document."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in times(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in times(v, key)]
    return [value] if key in TIME_NAMES and value is not None else []


def test_format_ts_takes_every_form_a_time_is_held_in() -> None:
    assert format_ts("2022-01-19T11:16:29.38Z") == "2022-01-19T11:16:29.380000000Z"
    assert format_ts("2022-01-19T11:16:29Z") == "2022-01-19T11:16:29.000000000Z"
    assert format_ts("2022-01-19T13:16:29.378+02:00") == "2022-01-19T11:16:29.378000000Z"
    assert format_ts(None) is None
    assert format_ts("not a time") == "not a time"


STORY_TIMES = """
query ($id: ID!) {
  story(id: $id) {
    firstSeen lastSeen updatedAt
    signals { ts }
    triageHistory { ts }
    timeline(first: 100) { edges { node { ts event { ts } triage { ts } annotation { ts } } } }
    events(first: 100) { edges { node { ts } } }
    activity { buckets { start } }
    graph { nodes { properties } edges { firstSeen lastSeen } }
  }
  stories(first: 10) { edges { node { firstSeen lastSeen updatedAt } } }
}
"""


def test_every_time_the_api_returns_has_the_one_format(
    db: Database, world: dict[str, str], client: TestClient
) -> None:
    record(db, world["shell"], "status", "under_review", "alice", "looking")
    found = data(client, STORY_TIMES, id=world["shell"])
    got = times(found)
    # the story's times, its 5 signals-or-more, timeline entries, graph times: many
    assert len(got) > 40
    assert [t for t in got if not ONE_FORMAT.match(t)] == []
    # and they sort as text in time order: the timeline is in time order
    timeline = [e["node"]["ts"] for e in found["story"]["timeline"]["edges"]]
    assert timeline == sorted(timeline)
    # whole seconds, which Neo4j prints without a fraction, come out whole
    assert found["story"]["firstSeen"].endswith(".000000000Z")


def test_every_time_the_cli_prints_has_the_one_format(
    db: Database,
    world: dict[str, str],
    neo4j_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    record(db, world["shell"], "status", "under_review", "alice", "looking")
    assert main(["story", world["shell"], "--json"]) == 0
    got = times(json.loads(capsys.readouterr().out))
    assert len(got) > 20
    assert [t for t in got if not ONE_FORMAT.match(t)] == []

    assert main(["story", world["shell"]]) == 0
    text = capsys.readouterr().out
    columns = re.findall(r"^  (\S+)  ", text, flags=re.M)  # signals and timeline lines
    stamps = [c for c in columns if c[:4].isdigit()]
    assert len(stamps) > 5
    assert [c for c in stamps if not ONE_FORMAT.match(c)] == []
    history = text.split("\ntriage history:\n")[1].splitlines()[0]
    assert "alice: status open -> under_review" in history
    assert ONE_FORMAT.match(history.split()[0])

    assert main(["stories", "--json"]) == 0
    got = times(json.loads(capsys.readouterr().out))
    assert len(got) >= 4 and [t for t in got if not ONE_FORMAT.match(t)] == []
    assert main(["stories"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:-1]
    first_seen = [r.split(" | ")[4].strip() for r in rows]
    assert len(first_seen) == 2 and all(ONE_FORMAT.match(t) for t in first_seen)

    assert main(["cypher", "MATCH (s:Story) RETURN s.first_seen AS t"]) == 0
    cells = [r.strip() for r in capsys.readouterr().out.splitlines()[2:-1]]
    assert len(cells) == 2 and all(ONE_FORMAT.match(c) for c in cells)
