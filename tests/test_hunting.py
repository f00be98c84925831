"""The saved hunting queries (cypher/queries/hunting/) find the planted attacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.generate import Truth, lines
from app.ingest import ingest
from app.neo4j.database import Database
from app.resources import cypher_dir

HUNTING = sorted((cypher_dir() / "queries" / "hunting").glob("*.cypher"))

# which planted chains each query must surface
FINDS = {
    "shells_from_servers": {"webshell", "jvm_revshell"},
    "imds_credential_use": {"webshell"},
    "persistence_writes": {"webshell"},
    "kubectl_exec_sessions": {"kubectl_exec"},
    "outbound_from_shells": {"jvm_revshell"},
}


@pytest.fixture(scope="module")
def planted(session_db: Database) -> dict[str, set[str]]:
    """Loads a generated workload once; returns the correlation keys of each chain kind."""
    with session_db.session(write=True) as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    truth = Truth(11, 6000, 3, True)
    ingest(session_db, "storyline", (x + "\n" for x in lines(11, 6000, 3, truth=truth)))
    keys: dict[str, set[str]] = {}
    for chain in truth.to_dict()["chains"]:
        _, found = session_db.query(
            "MATCH (p:Process) WHERE p.key IN $keys RETURN DISTINCT p.correlation_key AS key",
            {"keys": chain["processes"]},
        )
        keys.setdefault(chain["kind"], set()).update(r["key"] for r in found)
    return keys


def test_every_hunting_query_is_tested() -> None:
    assert {p.stem for p in HUNTING} == set(FINDS)


@pytest.mark.parametrize("path", HUNTING, ids=lambda p: p.stem)
def test_a_hunting_query_surfaces_its_attacks(
    path: Path, session_db: Database, planted: dict[str, set[str]]
) -> None:
    _, found = session_db.query(path.read_text())
    keys = {r["correlation_key"] for r in found if "correlation_key" in r}
    for kind in FINDS[path.stem]:
        assert keys & planted[kind], f"{path.stem} misses the {kind} chain: {found[:3]}"
