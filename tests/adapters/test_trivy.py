"""The Trivy adapter on an image report, and its findings in the graph whatever the order."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, get_adapter, trivy
from app.events import Finding
from app.ingest import ingest, outcomes
from app.investigation.graph import build_graph
from app.investigation.stories import story_id
from app.neo4j.database import Database
from tests.adapters.fuzz import JSON, paths, replaced
from tests.graphstate import diff, rows, snapshot
from tests.rules.test_stories import NO_RULES, alert, load
from tests.test_layers import container_with_shell

FIXTURE = Path(__file__).parent / "fixtures/trivy/nginx_image.json"
TEXT = FIXTURE.read_text()
REPORT = json.loads(TEXT)
IMAGE_ID = "sha256:e784f4560448b14a66f55c26e1b4dad2c2877cc73d001b7cd0b18e24a700a070"
SCANNED = "2024-06-03T07:12:41.502513000Z"


def parse_value(value: Any, position: int = 1) -> list[Outcome]:
    return list(trivy.parse([RawRecord(position, json.dumps(value), value)]))


def findings(value: Any = REPORT) -> list[Finding]:
    found = []
    for outcome in parse_value(value):
        assert isinstance(outcome, Accepted), outcome
        assert isinstance(outcome.item, Finding)
        found.append(outcome.item)
    return found


def report_for(artifact: str, artifact_type: str = "container_image") -> dict[str, Any]:
    return {**REPORT, "ArtifactName": artifact, "ArtifactType": artifact_type}


def test_module_shape() -> None:
    assert trivy.name == "trivy"
    assert trivy.framing == "json"
    assert get_adapter("trivy") is trivy


def test_the_fixture_framed_as_the_product_does_yields_every_finding() -> None:
    results = list(outcomes("trivy", TEXT.splitlines(True)))
    assert all(isinstance(r, Accepted) and r.position == 1 for r in results), results
    items = [r.item for r in results if isinstance(r, Accepted)]
    assert Counter(f.kind for f in items) == {"vulnerability": 6, "misconfiguration": 1}
    assert len({f.id for f in items}) == 7
    assert {f.image for f in items} == {"nginx:1.25"}
    assert {f.image_id for f in items} == {IMAGE_ID}
    assert {f.host for f in items} == {None}
    assert {f.scanned_at for f in items} == {SCANNED}


def test_severities_are_the_projects() -> None:
    assert Counter((f.ref, f.severity) for f in findings()) == {
        ("CVE-2023-45853", "critical"): 1,
        ("CVE-2023-52425", "high"): 1,
        ("DS002", "high"): 1,
        ("CVE-2024-2511", "medium"): 2,  # libssl3 and openssl
        ("CVE-2011-3374", "low"): 1,
        ("TEMP-0841856-B18BAF", "info"): 1,  # UNKNOWN
    }


def test_a_vulnerability_and_a_failed_check() -> None:
    by_ref = {(f.ref, f.package): f for f in findings()}
    assert by_ref["CVE-2024-2511", "libssl3"] == Finding(
        id="trivy:nginx:1.25:CVE-2024-2511:libssl3@3.0.11-1~deb12u2",
        source="trivy",
        kind="vulnerability",
        ref="CVE-2024-2511",
        severity="medium",
        title="openssl: Unbounded memory growth with session handling in TLSv1.3",
        target="nginx:1.25 (debian 12.5)",
        package="libssl3",
        installed_version="3.0.11-1~deb12u2",
        fixed_version="3.0.13-1~deb12u1",
        url="https://avd.aquasec.com/nvd/cve-2024-2511",
        image="nginx:1.25",
        image_id=IMAGE_ID,
        scanned_at=SCANNED,
    )
    assert by_ref["CVE-2023-45853", "zlib1g"].fixed_version is None
    assert by_ref["TEMP-0841856-B18BAF", "bash"].title == "TEMP-0841856-B18BAF"  # no Title
    check = by_ref["DS002", None]
    assert (check.id, check.kind, check.title, check.target, check.url) == (
        "trivy:nginx:1.25:Dockerfile:DS002",
        "misconfiguration",
        "Image user should not be 'root'",
        "Dockerfile",
        "https://avd.aquasec.com/misconfig/ds002",
    )
    assert "DS026" not in {f.ref for f in findings()}  # PASS


def test_a_host_scan_affects_the_host() -> None:
    items = findings(report_for("node-2", "rootfs"))
    assert {(f.host, f.image, f.image_id) for f in items} == {("node-2", None, None)}
    assert findings(report_for("node-2", "vm"))[0].id.startswith("trivy:node-2:")


def test_ids_are_stable_and_a_report_without_findings_yields_nothing() -> None:
    assert [f.id for f in findings()] == [f.id for f in findings()]
    assert parse_value({**REPORT, "Results": []}) == []
    assert parse_value({k: v for k, v in REPORT.items() if k != "Results"}) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "a Trivy report must be a JSON object"),
        ([REPORT["Results"][0]], "a Trivy report must be a JSON object"),
        ({}, "missing ArtifactName: not a Trivy JSON report"),
        ({**REPORT, "ArtifactName": ""}, "missing ArtifactName: not a Trivy JSON report"),
        ({**REPORT, "ArtifactName": 7}, "ArtifactName: expected a string, got int"),
        ({**REPORT, "SchemaVersion": 1}, "SchemaVersion 1 is not supported (expected 2)"),
        (report_for("github.com/x/y", "repository"), "ArtifactType 'repository' names no image"),
        ({**REPORT, "ArtifactType": None}, "ArtifactType None names no image or host"),
        ({**REPORT, "Metadata": "x"}, "Metadata: expected an object, got str"),
        ({**REPORT, "CreatedAt": "yesterday"}, "CreatedAt: not an RFC 3339 timestamp"),
        ({**REPORT, "Results": {}}, "Results: expected a list, got dict"),
        ({**REPORT, "Results": [3]}, "Results[0]: expected an object, got int"),
        (
            {**REPORT, "Results": [{"Vulnerabilities": "none"}]},
            "Results[0].Vulnerabilities: expected a list, got str",
        ),
    ],
)
def test_a_bad_report_is_rejected_whole_at_its_position(value: Any, reason: str) -> None:
    [result] = parse_value(value, position=4)
    assert isinstance(result, Rejected)
    assert result.position == 4
    assert result.reason.startswith(reason), result.reason
    assert result.raw == json.dumps(value)


def test_a_bad_finding_is_rejected_alone_by_its_index() -> None:
    good = REPORT["Results"][0]["Vulnerabilities"][2]
    vulns = [
        good,
        {k: v for k, v in good.items() if k != "VulnerabilityID"},
        {**good, "Severity": "SEVERE"},
        "CVE-1",
    ]
    checks = [{"ID": "DS001", "Status": "MAYBE", "Severity": "LOW", "Title": "t"}]
    value = {**REPORT, "Results": [{"Vulnerabilities": vulns}, {"Misconfigurations": checks}]}
    results = parse_value(value, position=9)
    assert [type(r) for r in results] == [Accepted, Rejected, Rejected, Rejected, Rejected]
    assert {r.position for r in results} == {9}
    assert [r.reason for r in results if isinstance(r, Rejected)] == [
        "Results[0].Vulnerabilities[1]: missing VulnerabilityID",
        "Results[0].Vulnerabilities[2]: Severity: 'SEVERE' is not one of UNKNOWN, LOW, MEDIUM, "
        "HIGH, CRITICAL",
        "Results[0].Vulnerabilities[3]: expected an object, got str",
        "Results[1].Misconfigurations[0]: Status: 'MAYBE' is not one of FAIL, PASS, EXCEPTION",
    ]
    assert results[4].raw == json.dumps(checks[0], separators=(",", ":"))  # type: ignore[union-attr]


@settings(max_examples=300, database=None, deadline=None)
@given(st.sampled_from(paths(REPORT)), JSON)
def test_no_exception_escapes_whatever_a_field_holds(path: tuple[Any, ...], new: Any) -> None:
    results = parse_value(replaced(REPORT, path, new))
    assert all(isinstance(r, Accepted | Rejected) for r in results)


@settings(max_examples=100, database=None, deadline=None)
@given(st.integers(min_value=0, max_value=len(TEXT)), st.integers(min_value=0, max_value=40))
def test_a_truncated_or_damaged_report_never_raises(cut: int, drop: int) -> None:
    damaged = TEXT[:cut] + TEXT[cut + drop :] if drop else TEXT[:cut]
    results = list(outcomes("trivy", damaged.splitlines(True)))
    assert all(isinstance(r, Accepted | Rejected) for r in results)


# -- the graph ------------------------------------------------------------------

AFFECTS = "MATCH (f:Finding)-[:AFFECTS]->(t) RETURN f.ref, f.package, labels(t)[0], t.id"


def nginx_events() -> list[dict[str, Any]]:
    """Two containers on node-1: one runs the scanned image, one another image."""

    def exec_in(n: int, container: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"ev-{n}", "ts": f"2026-01-05T08:00:0{n}.000000001Z", "source": "test",
            "host": {"id": "node-1"}, "kind": "process_exec", "container": container,
            "process": {"pid": 100 + n, "start_time": f"2026-01-05T08:00:0{n}Z", "exe": "/x"},
        }  # fmt: skip

    return [
        exec_in(1, {"id": "c-nginx", "name": "web", "image": "nginx:1.25"}),
        exec_in(2, {"id": "c-redis", "name": "cache", "image": "redis:7"}),
    ]


def load_report(db: Database, value: dict[str, Any]) -> None:
    report = ingest(db, "trivy", [json.dumps(value) + "\n"], after_batch=NO_RULES)
    assert (report.rejected, report.findings, report.events) == ([], 7, 0)


def test_findings_reach_their_containers_in_either_order_and_twice_changes_nothing(
    db: Database,
) -> None:
    load(db, nginx_events())
    load_report(db, REPORT)
    events_first = snapshot(db)
    expected = {
        (f.ref, f.package, "Container", "c-nginx") for f in findings()
    }  # the redis container is affected by nothing
    assert rows(db, AFFECTS) == expected
    load_report(db, REPORT)
    load(db, nginx_events())
    assert snapshot(db) == events_first, diff(events_first, snapshot(db))

    db.query("MATCH (n) DETACH DELETE n", write=True)
    load_report(db, REPORT)
    assert rows(db, AFFECTS) == set()  # no container runs the image yet
    load(db, nginx_events())
    assert rows(db, AFFECTS) == expected
    assert snapshot(db) == events_first, diff(events_first, snapshot(db))


def test_a_finding_keeps_its_latest_scan_whatever_the_order(db: Database) -> None:
    older = {**REPORT, "CreatedAt": "2024-01-01T00:00:00Z"}
    older["Results"] = [{**REPORT["Results"][0], "Vulnerabilities": [
        {**v, "Severity": "LOW", "Title": "old"} for v in REPORT["Results"][0]["Vulnerabilities"]
    ]}, REPORT["Results"][1]]  # fmt: skip
    query = "MATCH (f:Finding) RETURN f.id, f.severity, f.title, f.scanned_at"
    load_report(db, older)
    load_report(db, REPORT)
    newest = rows(db, query)
    db.query("MATCH (n) DETACH DELETE n", write=True)
    load_report(db, REPORT)
    load_report(db, older)
    assert rows(db, query) == newest
    assert "old" not in {title for _, _, title, _ in newest}


def test_a_host_finding_links_the_host_seen_before_or_after(db: Database) -> None:
    query = "MATCH (f:Finding)-[:AFFECTS]->(h:Host) RETURN DISTINCT h.id, h.first_seen IS NULL"
    load_report(db, report_for("node-1", "filesystem"))
    assert rows(db, query) == {("node-1", True)}  # known only from the scan so far
    load(db, nginx_events())
    assert rows(db, query) == {("node-1", False)}
    assert rows(db, AFFECTS) == {(f.ref, f.package, "Host", "node-1") for f in findings()}


def test_the_investigation_graph_shows_the_findings_on_the_storys_container(
    db: Database,
) -> None:
    events, key_of, _ = container_with_shell()  # container c1 runs shop/web:1.4 on node-2
    load_report(db, report_for("shop/web:1.4"))
    load(db, [*events, alert(events[5], "k8s_exec_shell", "medium", "execution")])
    graph = build_graph(db, story_id(key_of[2101]))
    assert graph is not None
    found = {n["id"]: n["properties"] for n in graph["nodes"] if n["kind"] == "Finding"}
    assert len(found) == 7
    affects = {(e["source"], e["target"]) for e in graph["edges"] if e["type"] == "AFFECTS"}
    assert affects == {(fid, "Container:c1") for fid in found}
    check = found["Finding:trivy:shop/web:1.4:Dockerfile:DS002"]
    assert (check["kind"], check["ref"], check["severity"], check["title"]) == (
        "misconfiguration",
        "DS002",
        "high",
        "Image user should not be 'root'",
    )
