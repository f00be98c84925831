"""Audit records are related to what they concern (RELATES_TO), in any arrival order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.ingest import ingest
from app.neo4j.database import Database
from tests.conftest import DATASETS
from tests.graphstate import rows
from tests.test_layers import SIGNALS_FROM_INPUT_ONLY, P, container_with_shell, load, uuid

CLOUDTRAIL = DATASETS / "cloudtrail-otrf-imds-s3/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
STOLEN = "ASIA5FLZVX4OPVKKVBMX"  # the instance profile key the dataset's attacker used
RELATED = (
    "MATCH (a:AuditRecord)-[r:RELATES_TO]->(x) "
    "RETURN a.action, labels(x)[0], coalesce(x.key, x.name), r.reason"
)


def curl_fetching_credentials(key_id: str) -> tuple[list[dict[str, Any]], P]:
    """A web server's shell runs curl against the metadata service, which returns a key."""
    url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/web"
    nginx = P("node-1", 700, 0, "/usr/sbin/nginx", ["nginx"],
              attrs={"cgroup": "/system.slice/nginx.service"})  # fmt: skip
    curl = nginx.child(7001, 5, "/usr/bin/curl", ["curl", url])
    imds = curl.event(
        "imds_request",
        imds={"cloud": "aws", "url": "/latest/meta-data/iam/security-credentials/web",
              "server_ip": "169.254.169.254", "role": "web", "access_key_id": key_id},
    )  # fmt: skip
    return [nginx.exec(), curl.exec(), imds], curl


def cloudtrail(db: Database, lines: list[str]) -> None:
    report = ingest(db, "cloudtrail", lines, after_batch=SIGNALS_FROM_INPUT_ONLY)
    assert report.rejected == []


@pytest.mark.parametrize("order", ["events first", "cloudtrail first"])
def test_calls_signed_with_a_key_fetched_from_imds_relate_to_the_fetcher(
    db: Database, order: str
) -> None:
    events, curl = curl_fetching_credentials(STOLEN)
    records = CLOUDTRAIL.read_text().splitlines(True)
    if order == "events first":
        load(db, events)
        cloudtrail(db, records)
    else:
        cloudtrail(db, records)
        load(db, events)
    found = rows(db, RELATED)
    assert {(action, label, target) for action, label, target, _ in found} == {
        ("s3.amazonaws.com:ListBuckets", "Process", curl.key),
        ("s3.amazonaws.com:ListObjects", "Process", curl.key),
        ("s3.amazonaws.com:GetObject", "Process", curl.key),
    }
    assert rows(db, "MATCH (a:AuditRecord)-[:RELATES_TO]->(:Process) RETURN count(DISTINCT a)") == {
        (11,)
    }
    assert all(reason.startswith(f"signed with {STOLEN}") for *_, reason in found)
    assert rows(db, "MATCH (n:Unrelated) RETURN count(n)") == {(0,)}


def test_a_key_nobody_fetched_relates_nothing(db: Database) -> None:
    events, _ = curl_fetching_credentials("ASIAOTHERKEY000000000")
    load(db, events)
    cloudtrail(db, CLOUDTRAIL.read_text().splitlines(True))
    assert rows(db, RELATED) == set()


def exec_record(audit_id: str, at: str) -> str:
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": audit_id, "stage": "ResponseStarted", "verb": "create",
        "requestURI": "/api/v1/namespaces/shop/pods/web-7d9f-abc/exec?command=sh&container=web",
        "user": {"username": "alice@example.com"},
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "shop",
                      "name": "web-7d9f-abc"},
        "responseStatus": {"code": 101}, "stageTimestamp": at,
    }) + "\n"  # fmt: skip


@pytest.mark.parametrize("audit_first", [False, True])
def test_a_kubectl_exec_record_relates_to_its_session_and_pod(
    db: Database, audit_first: bool
) -> None:
    events, _, sh = container_with_shell()
    record = exec_record("5b1e", "2026-01-05T08:00:49.600000Z")
    if audit_first:
        ingest(db, "k8s-audit", [record], after_batch=SIGNALS_FROM_INPUT_ONLY)
    load(db, events)
    if not audit_first:
        ingest(db, "k8s-audit", [record], after_batch=SIGNALS_FROM_INPUT_ONLY)
    session = uuid(sh, "k8s_user_session")
    assert rows(db, RELATED) == {
        ("create pods/exec", "Context", session, "started this Kubernetes session"),
        ("create pods/exec", "Pod", "web-7d9f-abc", "create pods/exec on this pod"),
    }


def test_a_closer_exec_record_takes_the_session_over(db: Database) -> None:
    events, _, sh = container_with_shell()
    load(db, events)
    ingest(db, "k8s-audit", [exec_record("far", "2026-01-05T08:00:57.000000Z")],
           after_batch=SIGNALS_FROM_INPUT_ONLY)  # fmt: skip
    session = uuid(sh, "k8s_user_session")
    assert rows(db, "MATCH (a:AuditRecord)-[:RELATES_TO]->(:Context) RETURN a.id") == {
        ("far:ResponseStarted",)
    }
    ingest(db, "k8s-audit", [exec_record("near", "2026-01-05T08:00:50.100000Z")],
           after_batch=SIGNALS_FROM_INPUT_ONLY)  # fmt: skip
    assert rows(db, "MATCH (a:AuditRecord)-[:RELATES_TO]->(c:Context) RETURN a.id, c.key") == {
        ("near:ResponseStarted", session)
    }


def test_relating_twice_changes_nothing(db: Database) -> None:
    events, _ = curl_fetching_credentials(STOLEN)
    load(db, events)
    cloudtrail(db, CLOUDTRAIL.read_text().splitlines(True))
    before = rows(db, RELATED)
    load(db, events)
    cloudtrail(db, CLOUDTRAIL.read_text().splitlines(True))
    assert rows(db, RELATED) == before
    assert rows(db, "MATCH ()-[r:RELATES_TO]->() RETURN count(r)") == {(11,)}
