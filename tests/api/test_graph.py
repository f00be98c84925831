"""A story's investigation graph: lineage, merged activity, grouping, status, exports."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

import pytest
import strawberry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from strawberry.types import Info

from app.api.app import create_app
from app.api.graph import InvestigationGraph, story_graph
from app.api.types import CONFIG
from app.investigation.exports import to_cytoscape, to_graphml
from app.investigation.graph import EDGE_TYPES, NODE_KINDS, build_graph
from app.investigation.stories import story_id
from app.neo4j.database import Database
from tests.apiclient import local_client
from tests.graphstate import rows
from tests.rules.test_stories import admin_logins, alert, load
from tests.test_layers import P, container_with_shell, jvm_exploit, uuid

GML = "{http://graphml.graphdrawing.org/xmlns}"
ACTIVITY = {"TOUCHES", "CONNECTS", "RESOLVES"}


def key(event: dict[str, Any]) -> str:
    """Returns the key of the process that made an event."""
    p = event["process"]
    return f"{event['host']['id']}|{p['pid']}|{p['start_time']}"


def ts(second: float) -> str:
    whole, frac = divmod(round(second * 1e9), 10**9)
    minutes, seconds = divmod(int(whole), 60)
    return f"2026-01-05T08:{minutes:02d}:{seconds:02d}.{frac:09d}Z"


def nodes(graph: dict, kind: str) -> dict[str, dict]:
    """Returns the nodes of one kind: their database key -> properties."""
    return {n["id"].split(":", 1)[1]: n["properties"] for n in graph["nodes"] if n["kind"] == kind}


def edges(graph: dict, *types: str) -> set[tuple[str, str, str]]:
    return {(e["type"], e["source"], e["target"]) for e in graph["edges"] if e["type"] in types}


def shell(host: str = "node-7") -> tuple[P, list[dict]]:
    """init -> sshd -> bash with a tty: an interactive shell context rooted at bash."""
    init = P(host, 1, 0, "/sbin/init", ["/sbin/init"], attrs={"cgroup": "/init.scope"})
    sshd = init.child(800, 1, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
                      cgroup="/system.slice/ssh.service")  # fmt: skip
    bash = sshd.child(900, 5, "/bin/bash", ["-bash"], tty="pts/0")
    events = [init.exec(), sshd.exec(), bash.exec()]
    events.append(alert(events[-1], "suspicious_shell", "high", "execution"))
    return bash, events


def shell_story(bash: P) -> str:
    return story_id(uuid(bash, "interactive_shell"))


# -- the invariant: compaction changes no answer about a process ------------------


def raw_answers(db: Database, sid: str) -> dict[str, tuple[set, set, set]]:
    """Answers, from the database, each story process's ancestors, descendants (within
    the story's processes) and touched (kind, resource) pairs."""
    [(keys,)] = rows(db, "MATCH (s:Story {id: $id}) RETURN s.correlation_keys", id=sid)
    members = {k for (k,) in rows(db, """
        UNWIND $keys AS key
        CALL (key) {
          MATCH (p:Process)-[:IN_CONTEXT]->(:Context {key: key}) RETURN p
          UNION MATCH (:Event {correlation_key: key})-[:BY]->(p:Process) RETURN p
          UNION MATCH (c:Context {key: key}), (p:Process {key: c.root}) RETURN p
        }
        RETURN p.key""", keys=list(keys))}  # fmt: skip
    up = defaultdict(set)
    for k, a in rows(db, "UNWIND $keys AS k MATCH (:Process {key: k})-[:CHILD_OF*1..]->(a) "
                         "RETURN k, a.key", keys=sorted(members)):  # fmt: skip
        up[k].add(a)
    everyone = members | {a for ancestors in up.values() for a in ancestors}
    for k, a in rows(db, "UNWIND $keys AS k MATCH (:Process {key: k})-[:CHILD_OF*1..]->(a) "
                         "RETURN k, a.key", keys=sorted(everyone - members)):  # fmt: skip
        up[k].add(a)
    touched = defaultdict(set)
    for k, kind, target in rows(db, """
        UNWIND $keys AS k
        MATCH (:Process {key: k})<-[:BY]-(e:Event)-[:TOUCHES|CONNECTS|RESOLVES]->(t)
        RETURN k, e.kind, t.key""", keys=sorted(members)):  # fmt: skip
        touched[k].add((kind, target))
    down = defaultdict(set)
    for k, ancestors in up.items():
        for a in ancestors:
            down[a].add(k)
    return {k: (up[k], down[k] & everyone, touched[k]) for k in everyone}


def compact_answers(graph: dict) -> dict[str, tuple[set, set, set]]:
    """Answers the same questions from the compact graph, a group standing for its members."""
    members_of = {n["id"]: n["properties"]["members"] for n in graph["nodes"]
                  if n["kind"] == "ProcessGroup"}  # fmt: skip
    members_of |= {n["id"]: [n["properties"]["key"]] for n in graph["nodes"]
                   if n["kind"] == "Process"}  # fmt: skip
    node_of = {m: nid for nid, ms in members_of.items() for m in ms}
    keys = {n["id"]: n["properties"]["key"] for n in graph["nodes"] if "key" in n["properties"]}
    parents, children = defaultdict(set), defaultdict(set)
    touched = defaultdict(set)
    for e in graph["edges"]:
        if e["type"] == "CHILD_OF":
            parents[e["source"]].add(e["target"])
            children[e["target"]].add(e["source"])
        elif e["type"] in ACTIVITY:
            touched[e["source"]] |= {(kind, keys[e["target"]]) for kind in e["kinds"]}

    def reach(start: str, step: dict[str, set[str]]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in step[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return {m for nid in seen for m in members_of[nid]}

    return {
        m: (reach(nid, parents), reach(nid, children), touched[nid]) for m, nid in node_of.items()
    }


def assert_compaction_keeps_answers(db: Database, sid: str, graph: dict) -> None:
    raw = raw_answers(db, sid)
    compact = compact_answers(graph)
    assert set(compact) == set(raw)
    for k in sorted(raw):
        assert compact[k] == raw[k], k


# -- lineage, infrastructure, activity --------------------------------------------


def test_lineage_reaches_the_roots_ancestors_and_no_other_branch(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    shim, entry, worker, runc, _, ls = (key(e) for e in events[:6])
    load(db, [*events, alert(events[5], "k8s_exec_shell", "medium", "execution")])
    graph = build_graph(db, story_id(key_of[2101]))
    assert graph is not None and graph["truncated"] is False
    procs = nodes(graph, "Process")
    assert {k: p["in_story"] for k, p in procs.items()} == {
        shim: False,
        runc: False,
        sh.key: True,
        ls: True,
    }
    assert [k for k, p in procs.items() if p["context_root"]] == [sh.key]
    assert edges(graph, "CHILD_OF") == {
        ("CHILD_OF", f"Process:{ls}", f"Process:{sh.key}"),
        ("CHILD_OF", f"Process:{sh.key}", f"Process:{runc}"),
        ("CHILD_OF", f"Process:{runc}", f"Process:{shim}"),
    }
    assert edges(graph, "ON_HOST", "IN_CONTAINER", "IN_POD") == {
        ("ON_HOST", f"Process:{k}", "Host:node-2") for k in (shim, runc, sh.key, ls)
    } | {
        ("IN_CONTAINER", f"Process:{sh.key}", "Container:c1"),
        ("IN_CONTAINER", f"Process:{ls}", "Container:c1"),
        ("ON_HOST", "Container:c1", "Host:node-2"),
        ("IN_POD", "Container:c1", "Pod:pod-web-1"),
    }
    assert {n["label"] for n in graph["nodes"] if n["kind"] in ("Container", "Pod")} == {
        "web", "shop/web-7d9f-abc"
    }  # fmt: skip
    assert entry not in procs and worker not in procs


def test_an_ancestor_is_context_not_activity(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    java = events[0]
    accept = P("node-3", 400, 0, "/usr/bin/java").event(
        "network_accept", process=java["process"], network={"dst_ip": "10.0.0.9", "dst_port": 8080}
    )
    load(db, [*events, compromise, accept])
    graph = build_graph(db, story_id(key_of[4000]))
    assert graph is not None
    assert nodes(graph, "Process")[key(java)]["in_story"] is False
    assert not [e for e in graph["edges"] if e["source"] == f"Process:{key(java)}"
                and e["type"] in ACTIVITY]  # fmt: skip
    assert set(nodes(graph, "Endpoint")) == {"198.51.100.9:4444"}
    assert nodes(graph, "Process")[key(events[1])]["signal_rules"] == ["sensor.shell_from_jvm"]
    assert nodes(graph, "Process")[key(events[1])]["signal_severity"] == "high"


def test_repeated_events_are_one_edge_with_count_and_times(db: Database) -> None:
    bash, events = shell()
    curl = bash.child(901, 9, "/usr/bin/curl", ["curl", "https://evil.example/x"])
    events.append(curl.exec())
    events += [curl.event("file_open", ts=ts(t), file={"path": "/etc/passwd"})
               for t in (10, 20, 30.25)]  # fmt: skip
    events.append(curl.event("file_write", ts=ts(40), file={"path": "/etc/passwd"}))
    events += [curl.event("network_connect", ts=ts(t),
                          network={"dst_ip": "203.0.113.5", "dst_port": 443})
               for t in (12, 11)]  # fmt: skip
    events += [curl.event("dns_query", ts=ts(t), dns={"name": "Evil.Example."}) for t in (9, 10)]
    load(db, events)
    graph = build_graph(db, shell_story(bash))
    assert graph is not None
    activity = {
        (e["type"], e["kinds"][0], e["target"], e["count"], e["first_seen"], e["last_seen"])
        for e in graph["edges"] if e["type"] in ACTIVITY
    }  # fmt: skip
    assert activity == {
        ("TOUCHES", "file_open", "File:host:node-7:/etc/passwd", 3,
         "2026-01-05T08:00:10.000000000Z", "2026-01-05T08:00:30.250000000Z"),
        ("TOUCHES", "file_write", "File:host:node-7:/etc/passwd", 1,
         "2026-01-05T08:00:40.000000000Z", "2026-01-05T08:00:40.000000000Z"),
        ("CONNECTS", "network_connect", "Endpoint:203.0.113.5:443", 2,
         "2026-01-05T08:00:11.000000000Z", "2026-01-05T08:00:12.000000000Z"),
        ("RESOLVES", "dns_query", "Domain:evil.example", 2,
         "2026-01-05T08:00:09.000000000Z", "2026-01-05T08:00:10.000000000Z"),
    }  # fmt: skip
    assert {e["source"] for e in graph["edges"] if e["type"] in ACTIVITY} == {f"Process:{curl.key}"}
    assert nodes(graph, "File")["host:node-7:/etc/passwd"]["path"] == "/etc/passwd"
    assert_compaction_keeps_answers(db, shell_story(bash), graph)


# -- grouping ---------------------------------------------------------------------


def test_identical_leaf_siblings_become_one_group(db: Database) -> None:
    bash, events = shell()
    pid = iter(range(1000, 2000))
    plain = [bash.child(next(pid), 10 + i, "/bin/ls", ["ls", "/tmp"]) for i in range(5)]
    odd = bash.child(next(pid), 20, "/bin/ls", ["ls", "/tmp"])
    root_ls = [bash.child(next(pid), 30 + i, "/bin/ls", ["ls", "/"]) for i in range(2)]
    parents = [bash.child(next(pid), 40 + i, "/bin/sh", ["sh", "-c", "id"]) for i in range(2)]
    kids = [p.child(next(pid), 50 + i, "/usr/bin/id", ["id"]) for i, p in enumerate(parents)]
    for p in (*plain, odd, *root_ls, *parents, *kids):
        events.append(p.exec())
    for p in (*plain, odd):
        events.append(p.event("file_open", file={"path": "/tmp"}))
    events.append(odd.event("file_open", file={"path": "/etc/shadow"}))
    load(db, events)
    sid = shell_story(bash)
    graph = build_graph(db, sid)
    assert graph is not None
    groups = nodes(graph, "ProcessGroup")
    assert {(g["exe"], tuple(g["args"]), g["count"]) for g in groups.values()} == {
        ("/bin/ls", ("ls", "/tmp"), 5),
        ("/bin/ls", ("ls", "/"), 2),
    }
    five = next(nid for nid, g in groups.items() if g["count"] == 5)
    assert groups[five]["members"] == sorted(p.key for p in plain)
    assert groups[five]["pids"] == [p.pid for p in sorted(plain, key=lambda p: p.key)]
    by_id = {e["id"]: e for e in graph["edges"]}
    child_of = by_id[f"CHILD_OF:ProcessGroup:{five}->Process:{bash.key}"]
    touches = by_id[f"TOUCHES:ProcessGroup:{five}->File:host:node-7:/tmp:file_open"]
    assert (child_of["count"], touches["count"]) == (5, 5)
    procs = nodes(graph, "Process")
    assert odd.key in procs  # it also read /etc/shadow: not like the others
    assert {p.key for p in (*parents, *kids)} <= set(procs)  # not leaves, or not alike
    assert next(n for n in graph["nodes"] if n["id"] == f"ProcessGroup:{five}")["label"] == "ls x5"
    assert_compaction_keeps_answers(db, sid, graph)


CHILD = st.fixed_dictionaries({
    "exe": st.sampled_from(["/bin/ls", "/bin/cat"]),
    "args": st.sampled_from([["x"], ["y"]]),
    "touches": st.lists(st.tuples(st.sampled_from(["file_open", "file_write"]),
                                  st.sampled_from(["/a", "/b"])), max_size=3),
    "child": st.booleans(),
})  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shapes=st.lists(CHILD, min_size=2, max_size=6))
def test_grouping_never_changes_an_answer(db: Database, shapes: list[dict]) -> None:
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    bash, events = shell()
    leaves = []
    for i, shape in enumerate(shapes):
        p = bash.child(1000 + 10 * i, 10 + i, shape["exe"], [shape["exe"], *shape["args"]])
        events.append(p.exec())
        events += [p.event(kind, file={"path": path}) for kind, path in shape["touches"]]
        if shape["child"]:
            events.append(p.child(1001 + 10 * i, 10 + i, "/bin/true").exec())
        else:
            leaves.append((p.key, shape["exe"], tuple(shape["args"]), frozenset(shape["touches"])))
    load(db, events)
    sid = shell_story(bash)
    graph = build_graph(db, sid)
    assert graph is not None
    assert_compaction_keeps_answers(db, sid, graph)
    # and it is compact: alike leaves share one node
    node_of = {m: n["id"] for n in graph["nodes"] if n["kind"] == "ProcessGroup"
               for m in n["properties"]["members"]}  # fmt: skip
    alike = defaultdict(set)
    for k, *signature in leaves:
        alike[tuple(signature)].add(node_of.get(k, k))
    assert all(len(ids) == 1 for ids in alike.values())


# -- status, audit records, findings ------------------------------------------------


def test_status_of_hosts_containers_pods_and_processes(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    shim, _, _, runc, _, ls = (key(e) for e in events[:6])
    exit_ls = P("node-2", 2102, 51, "/bin/ls").event(
        "process_exit", ts=ts(52), process=events[5]["process"], exit_code=0,
        container=events[5]["container"], pod=events[5]["pod"],
    )  # fmt: skip
    # the shim is never seen itself: only named as the parent of runc and the entrypoint
    load(db, [*events[1:], exit_ls, alert(events[4], "k8s_exec_shell", "medium", "execution")])
    db.query("MATCH (h:Host {id: 'node-2'}) SET h.status = 'running'", write=True)
    db.query("MATCH (c:Container {id: 'c1'}) SET c.status = 'exited', "
             "c.last_seen = datetime('2026-01-05T09:00:00.000000000Z')", write=True)  # fmt: skip
    graph = build_graph(db, story_id(key_of[2101]))
    assert graph is not None
    status = {(kind, k): (p["status"], p.get("last_seen"))
              for kind in ("Process", "Host", "Container", "Pod")
              for k, p in nodes(graph, kind).items()}  # fmt: skip
    assert status == {
        ("Process", ls): ("exited", "2026-01-05T08:00:52.000000000Z"),  # its exit was seen
        ("Process", sh.key): ("exited", "2026-01-05T09:00:00.000000000Z"),  # its container exited
        ("Process", runc): ("running", "2026-01-05T08:00:50.000000000Z"),  # no exit seen
        ("Process", shim): ("unknown", "2026-01-05T08:00:00.000000000Z"),  # a placeholder
        ("Host", "node-2"): ("running", "2026-01-05T08:00:52.000000000Z"),
        ("Container", "c1"): ("exited", "2026-01-05T09:00:00.000000000Z"),
        ("Pod", "pod-web-1"): ("unknown", "2026-01-05T08:00:52.000000000Z"),
    }


def test_related_audit_records_and_findings_are_attached(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    entry, ls = key(events[1]), key(events[5])
    load(db, [*events, alert(events[5], "k8s_exec_shell", "medium", "execution")])
    db.query(
        """
        MATCH (ctx:Context {key: $ctx}), (ls:Process {key: $ls}), (entry:Process {key: $entry}),
              (c:Container {id: 'c1'}), (pod:Pod {uid: 'pod-web-1'}), (h:Host {id: 'node-2'})
        CREATE (:AuditRecord {id: 'k8s-exec', source: 'k8s_audit', action: 'create pods/exec',
                              actor: 'mallory', ts: datetime('2026-01-05T08:00:49.000000000Z')})
               -[:RELATES_TO]->(ctx)
        CREATE (:AuditRecord {id: 'ct-1', source: 'cloudtrail', action: 's3:ListBuckets',
                              ts: datetime('2026-01-05T08:05:00.000000000Z')})-[:RELATES_TO]->(ls)
        CREATE (a:AuditRecord {id: 'k8s-get', source: 'k8s_audit', action: 'get pods',
                               ts: datetime('2026-01-05T08:01:00.000000000Z')})
        CREATE (a)-[:RELATES_TO]->(c), (a)-[:RELATES_TO]->(pod)
        CREATE (:AuditRecord {id: 'other', source: 'cloudtrail', action: 'x',
                              ts: datetime('2026-01-05T08:02:00Z')})-[:RELATES_TO]->(entry)
        CREATE (:Finding {id: 'f-host', kind: 'misconfiguration', ref: 'CIS-4.1',
                          severity: 'medium', title: 'auditd off'})-[:AFFECTS]->(h)
        CREATE (:Finding {id: 'f-image', kind: 'vulnerability', ref: 'CVE-2021-44228',
                          severity: 'critical', title: 'log4j'})-[:AFFECTS]->(c)
        CREATE (:Finding {id: 'f-else', kind: 'vulnerability', ref: 'CVE-1',
                          severity: 'low', title: 'x'})-[:AFFECTS]->(:Host {id: 'node-9'})
        """,
        {"ctx": key_of[2101], "ls": ls, "entry": entry},
        write=True,
    )
    graph = build_graph(db, story_id(key_of[2101]))
    assert graph is not None
    audit = nodes(graph, "AuditRecord")
    assert {k: (a["action"], a["contexts"]) for k, a in audit.items()} == {
        "k8s-exec": ("create pods/exec", [key_of[2101]]),
        "ct-1": ("s3:ListBuckets", []),
        "k8s-get": ("get pods", []),
    }
    assert audit["k8s-exec"]["ts"] == "2026-01-05T08:00:49.000000000Z"
    assert edges(graph, "RELATES_TO", "AFFECTS") == {
        ("RELATES_TO", "AuditRecord:k8s-exec", f"Process:{sh.key}"),  # the context's root
        ("RELATES_TO", "AuditRecord:ct-1", f"Process:{ls}"),
        ("RELATES_TO", "AuditRecord:k8s-get", "Container:c1"),
        ("RELATES_TO", "AuditRecord:k8s-get", "Pod:pod-web-1"),
        ("AFFECTS", "Finding:f-host", "Host:node-2"),
        ("AFFECTS", "Finding:f-image", "Container:c1"),
    }
    assert {n["kind"] for n in graph["nodes"]} == {
        "Process", "Host", "Container", "Pod", "AuditRecord", "Finding"
    } <= set(NODE_KINDS)  # fmt: skip
    assert {e["type"] for e in graph["edges"]} == {
        "CHILD_OF", "ON_HOST", "IN_CONTAINER", "IN_POD", "RELATES_TO", "AFFECTS"
    } <= set(EDGE_TYPES)  # fmt: skip
    assert nodes(graph, "Finding")["f-image"] == {
        "id": "f-image", "kind": "vulnerability", "ref": "CVE-2021-44228",
        "severity": "critical", "title": "log4j",
    }  # fmt: skip


def test_a_routine_storys_graph_covers_all_its_contexts(db: Database) -> None:
    events, shells = admin_logins()
    load(db, events)
    keys = sorted(shells[f"alice-{i}"] for i in (1, 2, 3))
    [(sid,)] = rows(db, "MATCH (s:Story) WHERE size(s.correlation_keys) = 3 RETURN s.id")
    graph = build_graph(db, sid)
    assert graph is not None
    assert sorted(c["key"] for c in graph["story"]["contexts"]) == keys
    procs = nodes(graph, "Process")
    pids = {(p["pid"], p["in_story"]) for p in procs.values()}
    assert pids == {(1, False), (800, False)} | {
        (base + i, i > 0) for base in (2000, 2100, 2200) for i in range(3)
    }
    assert {p["correlation_key"] for p in procs.values() if p["in_story"]} == set(keys)
    assert not nodes(graph, "ProcessGroup")  # the sudo leaves have different parents
    assert_compaction_keeps_answers(db, sid, graph)


# -- bounds -------------------------------------------------------------------------


def test_a_graph_past_the_limit_is_cut_deterministically(db: Database) -> None:
    bash, events = shell()
    for i in range(30):
        p = bash.child(1000 + i, 10 + i, "/bin/sleep", ["sleep", str(i)])
        events += [p.exec(), p.event("file_open", file={"path": f"/tmp/{i}"})]
    load(db, events)
    sid = shell_story(bash)
    full = build_graph(db, sid)
    assert full is not None and full["truncated"] is False
    assert len(nodes(full, "Process")) == 33 and len(nodes(full, "File")) == 30
    cut = build_graph(db, sid, max_nodes=10)
    assert cut is not None and cut["truncated"] is True
    assert len(cut["nodes"]) == 10
    assert cut == build_graph(db, sid, max_nodes=10)
    kept = {n["id"] for n in cut["nodes"]}
    assert all(e["source"] in kept and e["target"] in kept for e in cut["edges"])
    procs = nodes(cut, "Process")
    assert {p["pid"] for p in procs.values()} >= {1, 800, 900}  # the lineage stays
    # every kept process keeps its parent
    assert all(p["pid"] == 1 or f"Process:{k}" in {s for _, s, _ in edges(cut, "CHILD_OF")}
               for k, p in procs.items())  # fmt: skip
    few = build_graph(db, sid, max_activity=4)
    assert few is not None and few["truncated"] is True
    assert len([e for e in few["edges"] if e["type"] in ACTIVITY]) == 4


def test_an_unknown_story_has_no_graph(db: Database) -> None:
    assert build_graph(db, "nope") is None


# -- exports --------------------------------------------------------------------------

STRANGE = ["sh", "-c", 'echo "<b>&amp;</b>" \x1b[31m']


# What the strange story's graph must hold, written out: init -> sshd -> bash (the
# shell context's root, flagged high) -> sh with the strange arguments, which wrote
# one file; every process on node-7. The story is bash's shell: bash and sh are in it.
INIT = "Process:node-7|1|2026-01-05T08:00:00.000000000Z"
SSHD = "Process:node-7|800|2026-01-05T08:00:01.000000000Z"
BASH = "Process:node-7|900|2026-01-05T08:00:05.000000000Z"
ODD = "Process:node-7|901|2026-01-05T08:00:09.000000000Z"
ODD_FILE = "File:host:node-7:/tmp/a&b<c>"
STRANGE_NODES = {  # id: (kind, label)
    INIT: ("Process", "init (1)"),
    SSHD: ("Process", "sshd (800)"),
    BASH: ("Process", "bash (900)"),
    ODD: ("Process", "sh (901)"),
    "Host:node-7": ("Host", "node-7"),
    ODD_FILE: ("File", "/tmp/a&b<c>"),
}
STRANGE_EDGES = {  # (type, source, target, count)
    ("CHILD_OF", SSHD, INIT, 1),
    ("CHILD_OF", BASH, SSHD, 1),
    ("CHILD_OF", ODD, BASH, 1),
    *{("ON_HOST", p, "Host:node-7", 1) for p in (INIT, SSHD, BASH, ODD)},
    ("TOUCHES", ODD, ODD_FILE, 1),
}
STRANGE_IN_STORY = {INIT: False, SSHD: False, BASH: True, ODD: True}


def _load_strange(db: Database) -> tuple[str, str]:
    """Loads the strange story; returns the odd process's key and the story's id."""
    bash, events = shell()
    odd = bash.child(901, 9, "/bin/sh", STRANGE, cwd="/tmp/\x1b[0m")
    events += [odd.exec(), odd.event("file_write", file={"path": "/tmp/a&b<c>"})]
    load(db, events)
    assert f"Process:{odd.key}" == ODD
    [(sid,)] = rows(db, "MATCH (s:Story) RETURN s.id")
    return odd.key, sid


def _strange_story(db: Database) -> tuple[str, dict]:
    odd, sid = _load_strange(db)
    graph = build_graph(db, sid)
    assert graph is not None
    return odd, graph


def assert_strange_graph(graph: dict, sid: str) -> None:
    """Checks a graph (as JSON) against the strange story's written-out expectations."""
    assert graph["story"]["id"] == sid and graph["truncated"] is False
    assert [n["id"] for n in graph["nodes"]] == sorted(STRANGE_NODES)  # sorted by id
    assert {n["id"]: (n["kind"], n["label"]) for n in graph["nodes"]} == STRANGE_NODES
    assert len(graph["edges"]) == len(STRANGE_EDGES)
    assert {(e["type"], e["source"], e["target"], e["count"]) for e in graph["edges"]} == (
        STRANGE_EDGES
    )
    props = {n["id"]: n["properties"] for n in graph["nodes"]}
    assert {k: props[k]["in_story"] for k in STRANGE_IN_STORY} == STRANGE_IN_STORY
    assert props[ODD]["args"] == STRANGE and props[ODD]["cwd"] == "/tmp/\x1b[0m"
    assert (props[BASH]["signal_rules"], props[BASH]["signal_severity"]) == (
        ["suspicious_shell"],
        "high",
    )
    assert props[ODD_FILE]["path"] == "/tmp/a&b<c>"
    [touch] = [e for e in graph["edges"] if e["type"] == "TOUCHES"]
    assert (touch["kinds"], touch["first_seen"], touch["last_seen"]) == (
        ["file_write"],
        "2026-01-05T08:00:09.000000000Z",
        "2026-01-05T08:00:09.000000000Z",
    )


def parse_graphml(text: str) -> tuple[dict[str, dict[str, str]], set[tuple[str, str, str]]]:
    """Parses GraphML as XML: returns {node id: {attribute name: text}} and the edges as
    (type, source, target), every data element's key resolved through a declared <key>."""
    root = ET.fromstring(text)
    assert root.tag == f"{GML}graphml"
    names = {k.get("id"): (k.get("for"), k.get("attr.name")) for k in root.findall(f"{GML}key")}
    [g] = root.findall(f"{GML}graph")
    assert g.get("edgedefault") == "directed"

    def data(element: ET.Element, domain: str) -> dict[str, str]:
        found = {}
        for d in element.findall(f"{GML}data"):
            where, name = names[d.get("key")]
            assert where == domain, (d.get("key"), domain)
            found[name] = d.text or ""
        return found

    assert data(g, "graph").keys() == {"story", "truncated"}
    found_nodes = {n.get("id"): data(n, "node") for n in g.findall(f"{GML}node")}
    found_edges = set()
    for e in g.findall(f"{GML}edge"):
        found_edges.add((data(e, "edge")["type"], e.get("source"), e.get("target")))
    return found_nodes, found_edges


def test_cytoscape_elements(db: Database) -> None:
    odd, graph = _strange_story(db)
    assert_strange_graph(graph, graph["story"]["id"])
    cy = to_cytoscape(graph)
    ids = [n["data"]["id"] for n in cy["elements"]["nodes"]]
    assert ids == sorted(STRANGE_NODES)
    assert {
        (e["data"]["type"], e["data"]["source"], e["data"]["target"], e["data"]["count"])
        for e in cy["elements"]["edges"]
    } == STRANGE_EDGES
    assert len(cy["elements"]["edges"]) == len(STRANGE_EDGES)
    for e in cy["elements"]["edges"]:
        assert {"id", "source", "target", "type", "count"} <= set(e["data"])
        assert e["data"]["source"] in ids and e["data"]["target"] in ids
    node = next(n for n in cy["elements"]["nodes"] if n["data"]["id"] == f"Process:{odd}")
    assert node["data"]["kind"] == "Process" and node["data"]["label"] == "sh (901)"
    assert node["data"]["properties"]["args"] == STRANGE
    assert node["classes"] == "process running"
    root = next(n for n in cy["elements"]["nodes"] if n["data"]["label"] == "bash (900)")
    assert root["classes"] == "process running signal signal-high"
    assert cy["data"]["story"]["id"] == graph["story"]["id"]
    json.dumps(cy, allow_nan=False)


def test_graphml_parses_with_every_key_declared(db: Database) -> None:
    odd, graph = _strange_story(db)
    root = ET.fromstring(to_graphml(graph))
    assert root.tag == f"{GML}graphml"
    keys = {k.get("id"): (k.get("for"), k.get("attr.name"), k.get("attr.type"))
            for k in root.findall(f"{GML}key")}  # fmt: skip
    [g] = root.findall(f"{GML}graph")
    assert g.get("edgedefault") == "directed"
    node_ids = [n.get("id") for n in g.findall(f"{GML}node")]
    assert node_ids == sorted(STRANGE_NODES)
    assert len(g.findall(f"{GML}edge")) == len(STRANGE_EDGES)
    assert parse_graphml(to_graphml(graph))[1] == {(t, a, b) for t, a, b, _ in STRANGE_EDGES}
    for e in g.findall(f"{GML}edge"):
        assert e.get("source") in node_ids and e.get("target") in node_ids
    for element, domain in (
        [(g, "graph")]
        + [(x, "node") for x in g.findall(f"{GML}node")]
        + [(x, "edge") for x in g.findall(f"{GML}edge")]
    ):
        for d in element.findall(f"{GML}data"):
            assert keys[d.get("key")][0] == domain
    by_name = {(f, name): (kid, t) for kid, (f, name, t) in keys.items()}
    assert by_name["node", "properties.pid"][1] == "long"
    assert by_name["node", "properties.in_story"][1] == "boolean"
    assert by_name["edge", "count"][1] == "long"

    def value(node_id: str, name: str) -> str | None:
        node = next(n for n in g.findall(f"{GML}node") if n.get("id") == node_id)
        kid = by_name["node", name][0]
        return next((d.text for d in node.findall(f"{GML}data") if d.get("key") == kid), None)

    args = json.loads(value(f"Process:{odd}", "properties.args") or "")
    assert args == STRANGE  # JSON text escapes control characters itself
    # XML 1.0 cannot hold them even escaped: they are written as \u escapes
    assert value(f"Process:{odd}", "properties.cwd") == "/tmp/\\u001b[0m"
    assert value("File:host:node-7:/tmp/a&b<c>", "properties.path") == "/tmp/a&b<c>"
    assert value(f"Process:{odd}", "kind") == "Process"


# -- REST and GraphQL -----------------------------------------------------------------


@pytest.fixture
def client(db: Database) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


def test_rest_export_in_each_format(client: TestClient, db: Database) -> None:
    _, sid = _load_strange(db)
    url = f"/api/v1/stories/{sid}/graph"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_strange_graph(response.json(), sid)

    cy = client.get(url, params={"format": "cytoscape"})
    assert cy.status_code == 200
    assert cy.headers["content-type"] == "application/json"
    elements = cy.json()["elements"]
    assert cy.json()["data"]["story"]["id"] == sid
    assert {
        n["data"]["id"]: (n["data"]["kind"], n["data"]["label"]) for n in elements["nodes"]
    } == (STRANGE_NODES)
    assert {
        (e["data"]["type"], e["data"]["source"], e["data"]["target"], e["data"]["count"])
        for e in elements["edges"]
    } == STRANGE_EDGES
    classes = {n["data"]["id"]: n["classes"] for n in elements["nodes"]}
    assert classes[ODD] == "process running"
    assert classes[BASH] == "process running signal signal-high"
    assert classes["Host:node-7"] == "host unknown"

    gml = client.get(url, params={"format": "graphml"})
    assert gml.status_code == 200
    assert gml.headers["content-type"] == "application/graphml+xml"
    assert gml.text.startswith("<?xml version='1.0' encoding='utf-8'?>")
    gml_nodes, gml_edges = parse_graphml(gml.text)
    assert {nid: (n["kind"], n["label"]) for nid, n in gml_nodes.items()} == STRANGE_NODES
    assert gml_edges == {(t, source, target) for t, source, target, _ in STRANGE_EDGES}
    assert json.loads(gml_nodes[ODD]["properties.args"]) == STRANGE
    assert gml_nodes[ODD]["properties.cwd"] == "/tmp/\\u001b[0m"
    assert gml_nodes[ODD_FILE]["properties.path"] == "/tmp/a&b<c>"
    assert {k: gml_nodes[k]["properties.in_story"] for k in STRANGE_IN_STORY} == {
        k: "true" if v else "false" for k, v in STRANGE_IN_STORY.items()
    }


def test_rest_errors(client: TestClient) -> None:
    missing = client.get("/api/v1/stories/nope/graph")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no story 'nope'"}
    bad = client.get("/api/v1/stories/nope/graph", params={"format": "dot"})
    assert bad.status_code == 400
    assert bad.json() == {"error": "unknown format 'dot': use one of json, cytoscape, graphml"}


@strawberry.type
class _Query:
    @strawberry.field
    async def graph(self, info: Info, story_id: str) -> InvestigationGraph | None:
        return await story_graph(info, story_id)


def test_the_graphql_types_and_resolver(db: Database) -> None:
    odd, graph = _strange_story(db)
    schema = strawberry.Schema(query=_Query, config=CONFIG)
    query = """query($id: String!) { graph(storyId: $id) { truncated
        nodes { id kind label properties } edges { source target type count kinds } } }"""
    result = asyncio.run(
        schema.execute(query, {"id": graph["story"]["id"]}, context_value={"db": db})
    )
    assert result.errors is None
    data = result.data["graph"]
    assert data["truncated"] is False
    assert {n["id"]: (n["kind"], n["label"]) for n in data["nodes"]} == STRANGE_NODES
    assert {(e["type"], e["source"], e["target"], e["count"]) for e in data["edges"]} == (
        STRANGE_EDGES
    )
    node = next(n for n in data["nodes"] if n["id"] == f"Process:{odd}")
    assert node["properties"]["args"] == STRANGE
    assert {(e["type"], e["count"]) for e in data["edges"] if e["kinds"] == ["file_write"]} == {
        ("TOUCHES", 1)
    }
    missing = asyncio.run(schema.execute(query, {"id": "nope"}, context_value={"db": db}))
    assert missing.errors is None and missing.data == {"graph": None}
