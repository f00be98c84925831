"""Every sensor sample in tests/data ingests into Neo4j with the counts the adapters pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.framing import open_stream
from app.ingest import ingest
from app.neo4j.database import Database
from tests.conftest import DATASETS
from tests.graphstate import rows


def _ingest(db: Database, format_name: str, paths: list[Path]) -> tuple[int, int]:
    accepted = rejected = 0
    for path in paths:
        with path.open("rb") as raw, open_stream(raw) as text:
            report = ingest(db, format_name, text)
        accepted += report.accepted
        rejected += len(report.rejected)
    return accepted, rejected


def test_tetragon_merlin(db: Database) -> None:
    path = DATASETS / "tetragon-merlin" / "combined_sorted.derived.ndjson"
    assert _ingest(db, "tetragon", [path]) == (36, 4)
    assert rows(db, "MATCH (e:Event) WHERE e.correlation_key IS NULL RETURN e.id") == set()
    assert rows(db, "MATCH (c:Container)-[:IN_POD]->(p:Pod) RETURN DISTINCT p.namespace") != set()


def test_sysmon_imds(db: Database) -> None:
    paths = sorted((DATASETS / "sysmon-linux-sigma-imds").glob("*.xml"))
    assert _ingest(db, "sysmon-linux", paths) == (1, 0)
    assert rows(db, "MATCH (e:Event)-[:CONNECTS]->(n:Endpoint) RETURN e.kind, n.key") == {
        ("network_connect", "169.254.169.254:80")
    }


def test_kubernetes_audit(db: Database) -> None:
    paths = sorted((DATASETS / "k8s-audit-falco" / "k8s_audit").glob("*.json"))
    assert len(paths) == 47
    assert _ingest(db, "k8s-audit", paths) == (51, 1)
    assert rows(
        db, "MATCH (a:AuditRecord) WHERE a.action = 'create pods/exec' RETURN count(a) > 0"
    ) == {(True,)}


def test_cloudtrail(db: Database) -> None:
    paths = sorted((DATASETS / "cloudtrail-otrf-imds-s3").glob("*.json"))
    assert _ingest(db, "cloudtrail", paths) == (103, 0)
    assert rows(
        db,
        "MATCH (a:AuditRecord {access_key_id: 'ASIA5FLZVX4OPVKKVBMX'}) RETURN count(a)",
    ) == {(11,)}


@pytest.mark.parametrize("name", ["kubectl_exec_imds.json", "ssh_and_web_shell.json"])
def test_datadog_fixtures(db: Database, name: str) -> None:
    path = Path(__file__).parent / "fixtures" / "datadog" / name
    accepted, rejected = _ingest(db, "datadog", [path])
    assert accepted > 0 and rejected == 0
    assert rows(db, "MATCH (s:Signal) RETURN count(s) > 0") == {(True,)}
