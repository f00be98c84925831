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


def labels(db: Database) -> dict[str, int]:
    """Returns node counts by label, less the pipeline's lease (Lock), which comes and goes."""
    _, found = db.query(
        "MATCH (n) UNWIND labels(n) AS label WITH label WHERE label <> 'Lock' "
        "RETURN label, count(*) AS n"
    )
    return {r["label"]: r["n"] for r in found}


def test_tetragon_merlin(db: Database) -> None:
    path = DATASETS / "tetragon-merlin" / "combined_sorted.derived.ndjson"
    # 40 records: 18 exec, 9 exit, 5 connect, 2 kprobe, 2 listen and 4 process_close,
    # which has no Storyline kind and is rejected
    assert _ingest(db, "tetragon", [path]) == (36, 4)
    assert rows(db, "MATCH (e:Event) WHERE e.correlation_key IS NULL RETURN e.id") == set()
    assert rows(db, "MATCH (c:Container)-[:IN_POD]->(p:Pod) RETURN DISTINCT p.namespace") == {
        ("default",),
        ("tenant-jobs",),
    }
    assert labels(db) == {
        "Event": 36,
        "DeadLetter": 4,
        "Process": 27,
        "Host": 2,
        "Container": 7,
        "Pod": 5,
        "Endpoint": 6,
        "File": 2,
        "Context": 17,
        "Signal": 7,  # tests/rules/test_real_captures.py says which
        "Story": 3,
    }


def test_sysmon_imds(db: Database) -> None:
    paths = sorted((DATASETS / "sysmon-linux-sigma-imds").glob("*.xml"))
    assert _ingest(db, "sysmon-linux", paths) == (1, 0)
    assert rows(db, "MATCH (e:Event)-[:CONNECTS]->(n:Endpoint) RETURN e.kind, n.key") == {
        ("network_connect", "169.254.169.254:80")
    }
    assert labels(db) == {"Event": 1, "Process": 1, "Host": 1, "Endpoint": 1, "Context": 1}


def test_kubernetes_audit(db: Database) -> None:
    paths = sorted((DATASETS / "k8s-audit-falco" / "k8s_audit").glob("*.json"))
    assert len(paths) == 47
    # 52 records, one file malformed (rejected); two auditIDs come twice: 49 records kept
    assert _ingest(db, "k8s-audit", paths) == (51, 1)
    assert rows(
        db, "MATCH (a:AuditRecord) WHERE a.action = 'create pods/exec' RETURN count(a)"
    ) == {(1,)}
    assert labels(db) == {"AuditRecord": 49, "DeadLetter": 1}


def test_cloudtrail(db: Database) -> None:
    paths = sorted((DATASETS / "cloudtrail-otrf-imds-s3").glob("*.json"))
    assert _ingest(db, "cloudtrail", paths) == (103, 0)  # 103 records, 103 distinct eventIDs
    assert rows(
        db,
        "MATCH (a:AuditRecord {access_key_id: 'ASIA5FLZVX4OPVKKVBMX'}) RETURN count(a)",
    ) == {(11,)}
    assert labels(db) == {"AuditRecord": 103}


DATADOG = {
    "kubectl_exec_imds.json": (
        25,
        {"Event": 25, "Process": 10, "Host": 1, "Container": 1, "Pod": 1, "Endpoint": 3,
         "File": 4, "Domain": 1, "Context": 4, "Signal": 18, "Story": 1},
    ),
    "ssh_and_web_shell.json": (
        8,
        {"Event": 8, "Process": 10, "Host": 2, "File": 1, "Context": 7, "Signal": 5, "Story": 2},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DATADOG))
def test_datadog_fixtures(db: Database, name: str) -> None:
    path = Path(__file__).parent / "fixtures" / "datadog" / name
    accepted, by_label = DATADOG[name]
    assert _ingest(db, "datadog", [path]) == (accepted, 0)
    assert labels(db) == by_label
