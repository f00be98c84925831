"""The writer: graph shape, idempotence, order independence, and losing nothing."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import deadletter
from app.adapters import Rejected
from app.api.app import create_app
from app.ingest import ingest, resubmit
from app.layers import stamp
from app.neo4j.database import Database
from tests.apiclient import local_client
from tests.graphstate import counts, diff, rows, rows_counted, rows_list, snapshot

T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)


def ts(second: int) -> str:
    return (T0 + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S") + ".000000001Z"


def proc(pid: int, start: int, exe: str, **extra: Any) -> dict[str, Any]:
    return {"pid": pid, "start_time": ts(start), "exe": exe, **extra}


SSHD = proc(800, 0, "/usr/sbin/sshd", args=["/usr/sbin/sshd", "-D"], uid=0, user="root")
SSHD_SESSION = proc(900, 1, "/usr/sbin/sshd", args=["sshd: alice [priv]"], uid=0)
BASH = proc(1000, 2, "/bin/bash", args=["-bash"], tty="pts/0", uid=1000, user="alice", auid=1000)
CURL = proc(1001, 3, "/usr/bin/curl", args=["curl", "-s", "http://169.254.169.254/"], uid=1000)
NGINX = {"key": "guid-nginx", "pid": 50, "exe": "/usr/sbin/nginx"}
SH = {"key": "guid-sh", "pid": 51, "exe": "/bin/sh", "args": ["sh", "-c", "id"]}


def event(n: int, kind: str, process: dict, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{n}",
        "ts": ts(n),
        "source": "test",
        "host": {"id": "node-1"},
        "kind": kind,
        "process": process,
        **fields,
    }


def scenario() -> list[dict[str, Any]]:
    """An SSH session with lineage, file, network, DNS, IMDS, exit, a container and alerts."""
    container = {
        "container": {"id": "c0ffee", "name": "web", "image": "nginx:1.25"},
        "pod": {"uid": "pod-1", "name": "web-1", "namespace": "prod", "workload": "web"},
    }
    return [
        event(1, "process_exec", BASH, parent=SSHD_SESSION, ancestors=[SSHD]),
        event(2, "process_exec", CURL, parent=BASH),
        event(3, "dns_query", CURL, dns={"name": "Example.COM.", "type": "A"}),
        event(
            4,
            "imds_request",
            CURL,
            imds={"cloud": "aws", "server_ip": "169.254.169.254", "role": "web-role"},
        ),
        event(5, "network_connect", CURL, network={"dst_ip": "203.0.113.7", "dst_port": 443}),
        event(6, "file_write", BASH, file={"path": "/home/alice/.bash_history"}),
        event(7, "file_rename", BASH, file={"path": "/tmp/a", "target_path": "/tmp/b"}),
        event(8, "process_exit", CURL, exit_code=0),
        event(9, "process_exec", SH, parent=NGINX, **container),
        event(
            10,
            "alert",
            SH,
            alert={
                "rule_id": "sensor.shell_from_webserver",
                "title": "Shell spawned by a web server",
                "severity": "high",
                "compromises": True,
                "on_event": "ev-9",
            },
            **container,
        ),
        event(11, "process_exec", NGINX, parent=proc(1, 0, "/sbin/init"), **container),
        event(12, "network_listen", NGINX, network={"src_ip": "0.0.0.0", "src_port": 80}),
    ]


def ndjson(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(e) + "\n" for e in events]


def key(p: dict[str, Any]) -> str:
    return p.get("key") or f"node-1|{p['pid']}|{p['start_time']}"


def test_the_graph_of_a_scenario(db: Database) -> None:
    report = ingest(db, "storyline", ndjson(scenario()))
    assert (report.accepted, report.rejected) == (12, [])

    # one link per child: a repeated link would show as a count of 2
    child_of = "MATCH (c:Process)-[:CHILD_OF]->(p:Process) RETURN c.key, p.key"
    assert rows_counted(db, child_of) == Counter(
        [
            (key(BASH), key(SSHD_SESSION)),
            (key(SSHD_SESSION), key(SSHD)),
            (key(CURL), key(BASH)),
            ("guid-sh", "guid-nginx"),
            ("guid-nginx", key(proc(1, 0, "/sbin/init"))),
        ]
    )
    assert rows(db, "MATCH (p:Process) RETURN p.key, p.exe, p.placeholder, p.ppid") == {
        (key(SSHD), "/usr/sbin/sshd", True, None),  # known only as an ancestor
        (key(SSHD_SESSION), "/usr/sbin/sshd", True, None),  # known only as a parent
        (key(BASH), "/bin/bash", False, 900),
        (key(CURL), "/usr/bin/curl", False, 1000),
        ("guid-sh", "/bin/sh", False, 50),
        ("guid-nginx", "/usr/sbin/nginx", False, 1),
        (key(proc(1, 0, "/sbin/init")), "/sbin/init", True, None),
    }
    assert rows(db, "MATCH (p:Process {pid: 1001}) RETURN p.exit_code, p.tty, p.args") == {
        (0, None, ("curl", "-s", "http://169.254.169.254/"))
    }
    # each event once, by one process
    by = "MATCH (e:Event)-[:BY]->(p:Process) RETURN e.id, e.kind, p.pid"
    assert rows_counted(db, by) == Counter(
        [
            ("ev-1", "process_exec", 1000),
            ("ev-2", "process_exec", 1001),
            ("ev-3", "dns_query", 1001),
            ("ev-4", "imds_request", 1001),
            ("ev-5", "network_connect", 1001),
            ("ev-6", "file_write", 1000),
            ("ev-7", "file_rename", 1000),
            ("ev-8", "process_exit", 1001),
            ("ev-9", "process_exec", 51),
            ("ev-10", "alert", 51),
            ("ev-11", "process_exec", 50),
            ("ev-12", "network_listen", 50),
        ]
    )
    assert rows(db, "MATCH (e:Event)-[:TOUCHES]->(f:File) RETURN e.id, f.key") == {
        ("ev-6", "host:node-1:/home/alice/.bash_history"),
        ("ev-7", "host:node-1:/tmp/a"),
        ("ev-7", "host:node-1:/tmp/b"),
    }
    assert rows(db, "MATCH (e:Event)-[:CONNECTS]->(n:Endpoint) RETURN e.id, n.key") == {
        ("ev-4", "169.254.169.254:80"),
        ("ev-5", "203.0.113.7:443"),
        ("ev-12", "0.0.0.0:80"),
    }
    assert rows(db, "MATCH (e:Event)-[:RESOLVES]->(d:Domain) RETURN e.id, d.key") == {
        ("ev-3", "example.com")
    }
    assert rows(
        db, "MATCH (s:Signal)-[:ON]->(e:Event) RETURN s.rule_id, s.severity, s.compromises, e.id"
    ) == {
        ("sensor.shell_from_webserver", "high", True, "ev-9"),  # the sensor's alert
        ("linux.shell_from_web_server", "high", True, "ev-9"),  # the built-in rule
    }
    [(actions,)] = rows(
        db, "MATCH (s:Signal {rule_id: 'linux.shell_from_web_server'}) RETURN s.actions"
    )
    assert "Look for uploaded scripts under the document root of nginx (cwd unknown)" in actions
    assert "Isolate container c0ffee if the server runs in one" in actions
    assert rows(
        db,
        "MATCH (p:Process)-[:IN_CONTAINER]->(c:Container)-[:IN_POD]->(pod:Pod), "
        "(c)-[:ON_HOST]->(h:Host) RETURN p.key, c.image, pod.namespace, h.id",
    ) == {
        ("guid-sh", "nginx:1.25", "prod", "node-1"),
        ("guid-nginx", "nginx:1.25", "prod", "node-1"),
    }
    assert rows(
        db, "MATCH (h:Host) RETURN h.id, toString(h.first_seen), toString(h.last_seen)"
    ) == {("node-1", "2026-01-05T08:00:01.000000001Z", "2026-01-05T08:00:12.000000001Z")}
    assert rows(db, "MATCH (e:Event {id: 'ev-2'}) RETURN e.summary, toString(e.ts)") == {
        ("exec curl -s http://169.254.169.254/", "2026-01-05T08:00:02.000000001Z")
    }


def test_ingesting_twice_changes_nothing(db: Database) -> None:
    ingest(db, "storyline", ndjson(scenario()))
    first = snapshot(db)
    ingest(db, "storyline", ndjson(scenario()))
    assert snapshot(db) == first


def test_a_placeholder_parent_is_filled_in_when_it_arrives(db: Database) -> None:
    child = event(2, "process_exec", CURL, parent={"pid": 1000, "start_time": BASH["start_time"]})
    ingest(db, "storyline", ndjson([child]))
    assert rows(db, "MATCH (p:Process {pid: 1000}) RETURN p.placeholder, p.exe") == {(True, None)}
    ingest(db, "storyline", ndjson([event(1, "process_exec", BASH, parent=SSHD_SESSION)]))
    assert rows(db, "MATCH (p:Process {pid: 1000}) RETURN p.placeholder, p.exe, p.tty") == {
        (False, "/bin/bash", "pts/0")
    }
    assert rows(db, "MATCH (c)-[:CHILD_OF]->(p {pid: 1000}) RETURN c.pid") == {(1001,)}


def test_process_times_are_stored_as_datetimes_to_the_nanosecond(db: Database) -> None:
    # sent as text (app/rows.py TIME_FIELDS), made datetimes by merge_processes
    ingest(
        db, "storyline", ndjson([event(2, "process_exec", CURL), event(8, "process_exit", CURL)])
    )
    got = rows(
        db,
        "MATCH (p:Process {pid: 1001}) RETURN valueType(p.start_time), valueType(p.exit_time),"
        " p.start_time.nanosecond, p.exit_time = datetime($exit), p.start_time < p.exit_time",
        exit=ts(8),
    )
    assert got == {("ZONED DATETIME NOT NULL", "ZONED DATETIME NOT NULL", 1, True, True)}
    # the same times again are no change: the process is not queued for stamping anew
    stamp(db)
    ingest(db, "storyline", ndjson([event(8, "process_exit", CURL)]))
    assert rows(db, "MATCH (p:Process:Unstamped) RETURN p.pid") == set()


def test_repeats_leave_each_event_once_and_each_child_one_link(db: Database) -> None:
    # the child's file_open names its parent first (rank 2), its exec names the same
    # parent later (rank 3): the better naming must not add a second link
    early = event(1, "file_open", CURL, parent=BASH, file={"path": "/etc/hosts"})
    later = event(2, "process_exec", CURL, parent=BASH)
    ingest(db, "storyline", ndjson([early]))
    ingest(db, "storyline", ndjson([later, later]))  # and an event repeated in one batch
    ingest(db, "storyline", ndjson([early, later]))  # and both sent again
    assert rows_list(db, "MATCH (c:Process)-[:CHILD_OF]->(p:Process) RETURN c.key, p.key") == [
        (key(CURL), key(BASH))
    ]
    assert rows_counted(db, "MATCH (e:Event)-[:BY]->(p:Process) RETURN e.id, p.key") == Counter(
        [("ev-1", key(CURL)), ("ev-2", key(CURL))]
    )
    assert rows_counted(db, "MATCH (e:Event) RETURN e.id") == Counter([("ev-1",), ("ev-2",)])


def test_the_best_source_wins_field_by_field(db: Database) -> None:
    # the ancestor ref knows cwd; the exec knows everything but cwd; an event of the
    # process's own has a different comm. Own exec > acted > parent > ancestor.
    ancestor_view = {**SSHD, "cwd": "/", "comm": "from-ancestor"}
    own = {**SSHD, "comm": "sshd"}
    acted = {**SSHD, "comm": "from-actor"}
    feeds = [
        event(1, "process_exec", BASH, parent=SSHD_SESSION, ancestors=[ancestor_view]),
        event(2, "process_exec", own),
        event(3, "network_listen", acted, network={"src_port": 22}),
    ]
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        with db.session() as s:
            s.run("MATCH (n) DETACH DELETE n").consume()
        for i in order:
            ingest(db, "storyline", ndjson([feeds[i]]))
        assert rows(db, "MATCH (p:Process {pid: 800}) RETURN p.comm, p.cwd, p.placeholder") == {
            ("sshd", "/", False)
        }, order


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_and_batching_gives_the_same_graph(db: Database, data: st.DataObject) -> None:
    events = scenario()
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    ingest(db, "storyline", ndjson(events))
    expected = snapshot(db)

    shuffled = data.draw(st.permutations(events), label="order")
    batch = data.draw(st.integers(min_value=1, max_value=len(events)), label="batch size")
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    ingest(db, "storyline", ndjson(shuffled), batch_size=batch)
    actual = snapshot(db)
    assert actual == expected, diff(expected, actual)


def test_one_broken_record_in_ten_thousand_loses_nothing_else(db: Database) -> None:
    lines = []
    for n in range(10_000):
        p = {"key": f"proc-{n % 500}", "pid": n % 500, "exe": "/usr/bin/worker"}
        lines.append(json.dumps(event(n, "file_open", p, file={"path": f"/data/{n}"})) + "\n")
    lines[4321] = '{"id": "broken", "kind": "file_open", "ts": "yesterday"\n'
    lines[7000] = json.dumps({**json.loads(lines[7000]), "ts": "not a time"}) + "\n"
    report = ingest(db, "storyline", lines, batch_size=2500)
    assert report.accepted == 9_998
    assert [r["position"] for r in report.rejected] == [4322, 7001]
    assert report.rejected[0]["reason"].startswith("invalid JSON: Expecting ',' delimiter")
    assert report.rejected[1]["reason"] == (
        "ts: Value error, not an RFC 3339 timestamp: 'not a time'"
    )
    assert counts(db)["Event"] == 9_998
    letters = deadletter.list_letters(db)
    assert sorted(x["position"] for x in letters) == [4322, 7001]
    assert all(x["raw"].startswith("{") for x in letters)


def test_dead_letters_can_be_resubmitted(db: Database) -> None:
    good = json.dumps(event(1, "process_exec", BASH))
    bad = json.dumps({**event(2, "process_exec", CURL), "ts": "soon"})
    letters = [
        deadletter.Letter.of("storyline", "test", Rejected(1, "adapter bug, since fixed", good)),
        deadletter.Letter.of("storyline", "test", Rejected(2, "bad time", bad)),
    ]
    db.transaction(lambda tx: deadletter.store(tx, letters))
    result = resubmit(db)
    assert result["accepted"] == [letters[0].id]
    assert [x["id"] for x in result["still_rejected"]] == [letters[1].id]
    assert [x["id"] for x in deadletter.list_letters(db)] == [letters[1].id]
    assert rows(db, "MATCH (e:Event) RETURN e.id") == {("ev-1",)}


def test_a_signal_before_its_event_joins_it_when_it_arrives(db: Database) -> None:
    events = scenario()
    alert, flagged = events[9], events[8]
    ingest(db, "storyline", ndjson([alert]))
    assert rows(db, "MATCH (s:Signal)-[:ON]->(e:Event) RETURN e.id, e.kind") == {("ev-9", None)}
    ingest(db, "storyline", ndjson([flagged]))
    assert rows(db, "MATCH (s:Signal)-[:ON]->(e:Event)-[:BY]->(p) RETURN e.id, e.kind, p.key") == {
        ("ev-9", "process_exec", "guid-sh")
    }


def test_two_concurrent_writers_give_the_graph_one_writer_gives(
    db: Database, neo4j_target: Any
) -> None:
    import threading

    from app.generate import lines

    events = [line + "\n" for line in lines(5, 4000)]
    ingest(db, "storyline", events)
    sequential = snapshot(db)
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    errors: list[BaseException] = []

    def write(part: list[str]) -> None:
        try:
            with Database(neo4j_target) as own:
                ingest(own, "storyline", part, batch_size=250)
        except BaseException as exc:  # reported below: a thread cannot fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in (events[:2000], events[2000:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stamp(db)  # a queue left by one writer's last round is the other's to finish
    parallel = snapshot(db)
    assert parallel == sequential, diff(sequential, parallel)


def _diamond(levels: int) -> list[dict[str, Any]]:
    """Two processes per level, each named by events as a child of both above: a lattice."""
    out, n = [], 10_000
    for level in range(1, levels):
        for i in (0, 1):
            me = {"key": f"d{level}-{i}", "pid": 100 + level * 2 + i, "exe": "/bin/sh"}
            for j in (0, 1):
                n += 1
                above = {"key": f"d{level - 1}-{j}", "pid": 100 + (level - 1) * 2 + j}
                out.append(
                    {
                        **event(n, "process_exec" if j == 0 else "file_open", me, parent=above),
                        **({"file": {"path": "/x"}} if j else {}),
                    }
                )
    return out


def test_a_process_has_one_parent_whoever_names_others(db: Database) -> None:
    events = _diamond(24)
    ingest(db, "storyline", ndjson(events))
    per_child = rows_list(db, "MATCH (c:Process)-[:CHILD_OF]->(p) RETURN c.key, count(p)")
    # every process below the top level, each with exactly one parent
    assert sorted(per_child) == sorted(
        (f"d{level}-{i}", 1) for level in range(1, 24) for i in (0, 1)
    )
    # the process's own exec names its parent; its other events do not outrank it
    assert rows_list(db, "MATCH (:Process {key: 'd23-1'})-[:CHILD_OF]->(p) RETURN p.key") == [
        ("d22-0",)
    ]
    depth = db.read("queries/process_ancestors", key="d23-1")
    assert len(depth) == 23
    first = snapshot(db)
    db.query("MATCH (n) DETACH DELETE n", write=True)
    ingest(db, "storyline", ndjson(list(reversed(events))), batch_size=7)
    assert snapshot(db) == first  # the same parents whatever the order


def test_evidence_is_not_rewritten_a_conflicting_version_is_kept_beside_it(
    db: Database,
) -> None:
    original = event(1, "process_exec", BASH, parent=SSHD_SESSION)
    ingest(db, "storyline", ndjson([original]))
    before = db.query("MATCH (e:Event {id: 'ev-1'}) RETURN properties(e) AS p")[1][0]["p"]
    forged = {**original, "process": {**BASH, "args": ["-bash", "innocent"]}}
    for _ in range(2):  # the same forgery twice is one version
        ingest(db, "storyline", ndjson([forged]))
    after = db.query("MATCH (e:Event {id: 'ev-1'}) RETURN properties(e) AS p")[1][0]["p"]
    assert after == before
    versions = rows(
        db,
        "MATCH (v:EventVersion)-[:VERSION_OF]->(:Event {id: 'ev-1'}) "
        "RETURN v.event_id, v.summary, v.received_at IS NOT NULL",
    )
    assert versions == {("ev-1", "exec -bash innocent", True)}
    with local_client(create_app(db)) as client:
        query = '{ event(id: "ev-1") { summary versions { summary fields receivedAt } } }'
        seen = client.post("/graphql", json={"query": query}).json()["data"]["event"]
    assert seen["summary"] == "exec -bash"
    [version] = seen["versions"]
    assert version["summary"] == "exec -bash innocent" and version["receivedAt"]
    assert version["fields"] == ["summary"]
    # a version that only adds what was missing fills it in, and is no conflict
    more = {**original, "container": {"id": "c1"}}
    ingest(db, "storyline", ndjson([more]))
    assert rows(db, "MATCH (e:Event {id: 'ev-1'}) RETURN e.container_id") == {("c1",)}
    assert len(rows(db, "MATCH (v:EventVersion) RETURN v.key")) == 1


def _a_pauses_for_b(
    monkeypatch: pytest.MonkeyPatch, db: Database, batches: dict[str, list[dict[str, Any]]],
    before: str,
) -> None:  # fmt: skip
    """Writes batch "A" and batch "B" in two threads, forcing their order: A pauses
    inside its transaction, just before running `before`, until B has started its
    merge_hosts and waits on A's locks; then both go on. Fails if either fails."""
    import app.neo4j.database as database

    real = database.cypher
    a_holds, b_merging = threading.Event(), threading.Event()

    def hooked(name: str) -> str:
        who = threading.current_thread().name
        if who == "A" and name == before and not a_holds.is_set():
            a_holds.set()  # A holds the locks of what it wrote until it commits
            assert b_merging.wait(30)
            time.sleep(0.3)  # B's statement is now waiting on A's lock
        if who == "B" and name == "ingest/merge_hosts":
            assert a_holds.wait(30)
            b_merging.set()
        return real(name)

    monkeypatch.setattr(database, "cypher", hooked)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            lines = ndjson(batches[threading.current_thread().name])
            ingest(db, "storyline", lines, after_batch=None)
        except BaseException as exc:  # reported below: a thread cannot fail the test
            errors.append(exc)

    threads = [threading.Thread(target=write, name=name) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and a_holds.is_set() and b_merging.is_set()


def test_a_writer_blocked_on_a_process_another_holds_loses_none_of_its_fields(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced, not hoped for: writer A pauses inside its transaction right after merging a
    process; writer B's transaction then writes the same host and process (and waits on
    A's locks); both commit, and the process holds both writers' fields."""
    shared = {"pid": 4242, "start_time": ts(0), "exe": "/usr/bin/python3"}
    from_a = event(1, "process_exec", {**shared, "cwd": "/srv", "uid": 33})
    from_b = event(2, "file_open", {**shared, "user": "www-data", "tty": "pts/9"},
                   file={"path": "/etc/hosts"})  # fmt: skip
    # A pauses once it has merged the process
    _a_pauses_for_b(monkeypatch, db, {"A": [from_a], "B": [from_b]}, "ingest/existing_events")
    assert rows(db, "MATCH (p:Process {pid: 4242}) RETURN p.cwd, p.uid, p.user, p.tty") == {
        ("/srv", 33, "www-data", "pts/9")
    }


@pytest.mark.parametrize(
    ("attempts", "second_write"),
    [
        (3, ["ingest/existing_events", "ingest/create_events", "ingest/merge_events"]),
        (1, ["ingest/merge_events"]),  # out of attempts: every event merged
    ],
)
def test_an_event_another_writer_creates_first_is_merged_not_lost(
    db: Database, monkeypatch: pytest.MonkeyPatch, attempts: int, second_write: list[str]
) -> None:
    """Forced: writer A finds events ev-7 and ev-8 absent and is about to create them;
    writer B creates and commits ev-7 (other host, other process: no lock of A's in
    its way); A's create then fails on the event_id constraint, and A writes its
    batch again, now finding ev-7: it merges ev-7 and still creates ev-8. One ev-7,
    B's content, A's as a version, A's file counted once. With one attempt only, the
    second write merges every event, to the same graph."""
    import app.ingest
    import app.neo4j.database as database

    monkeypatch.setattr(app.ingest, "CREATE_ATTEMPTS", attempts)
    real = database.cypher
    a_checked, b_done = threading.Event(), threading.Event()
    a_ran: list[str] = []

    def hooked(name: str) -> str:
        if threading.current_thread().name == "A" and name.endswith("_events"):
            a_ran.append(name)
        a_creates = threading.current_thread().name == "A" and name == "ingest/create_events"
        if a_creates and not a_checked.is_set():
            a_checked.set()
            assert b_done.wait(30)
        return real(name)

    monkeypatch.setattr(database, "cypher", hooked)
    proc = {"pid": 77, "start_time": ts(0), "exe": "/usr/bin/cat"}
    from_a = event(7, "file_open", proc, file={"path": "/etc/shadow"})
    other_a = event(8, "file_open", proc, file={"path": "/etc/hosts"})
    from_b = {**event(7, "file_open", {**proc, "pid": 78}, file={"path": "/etc/passwd"}),
              "host": {"id": "node-2"}}  # fmt: skip
    errors: list[BaseException] = []

    def write_a() -> None:
        try:
            ingest(db, "storyline", ndjson([from_a, other_a]), after_batch=None)
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=write_a, name="A")
    a.start()
    assert a_checked.wait(30)
    ingest(db, "storyline", ndjson([from_b]), after_batch=None)
    b_done.set()
    a.join(60)
    assert errors == [] and not a.is_alive()
    # the first write fails on ev-7; the second checks again, creates ev-8 and merges
    # ev-7 (or, out of attempts, merges both)
    assert a_ran == ["ingest/existing_events", "ingest/create_events", *second_write]
    assert rows(db, "MATCH (e:Event {id: 'ev-8'})-[:BY]->(p) RETURN e.path, p.pid") == {
        ("/etc/hosts", 77)
    }
    assert rows(db, "MATCH (e:Event {id: 'ev-7'}) RETURN e.host_id, e.path") == {
        ("node-2", "/etc/passwd")
    }
    assert rows(db, "MATCH (v:EventVersion)-[:VERSION_OF]->(:Event {id: 'ev-7'}) "
                    "RETURN v.host_id, v.path") == {("node-1", "/etc/shadow")}  # fmt: skip
    # the event keeps its first actor; A's link to its file, made by the merge, is
    # counted once for that actor, and nothing is left pending
    assert rows(db, "MATCH (e:Event {id: 'ev-7'})-[:BY]->(p) RETURN p.pid") == {(78,)}
    assert rows(db, "MATCH (p:Process)-[a:ACTIVITY]->(f:File) RETURN p.pid, f.path, a.count") == {
        (77, "/etc/hosts", 1),
        (78, "/etc/passwd", 1),
        (78, "/etc/shadow", 1),
    }
    assert rows(db, "MATCH ()-[r:TOUCHES]->() WHERE r.pending RETURN count(r)") == {(0,)}


DEADLOCK = "Neo.TransientError.Transaction.DeadlockDetected"


def _deadlocks() -> float:
    from app.metrics import REGISTRY

    found = REGISTRY.get_sample_value("storyline_transaction_retries_total", {"reason": DEADLOCK})
    return found or 0.0


def test_two_writers_of_one_host_take_turns_without_a_deadlock(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced: writer A has merged the batch's hosts (it holds their locks until
    commit) and pauses; writer B starts merging the same hosts and waits for A's
    locks; A then links its new processes to the hosts. Before the merge statements
    took a node's write lock ahead of reading its properties, B waited holding
    locks that A's relationship inserts conflicted with: Neo4j called it a deadlock
    and one writer was rolled back and retried, for every such pair of batches."""
    # a host with many processes (dense in the store, as every real host soon is)
    setup = [event(n, "process_exec", proc(5000 + n, 1, "/bin/true")) for n in range(1, 121)]
    ingest(db, "storyline", ndjson(setup), after_batch=None)
    batches = {
        "A": [event(n, "process_exec", proc(6000 + n, 1, "/bin/ls")) for n in range(200, 260)],
        "B": [event(n, "process_exec", proc(7000 + n, 1, "/bin/ps")) for n in range(300, 360)],
    }
    before = _deadlocks()
    # A pauses once it has merged the hosts, before it links its processes to them
    _a_pauses_for_b(monkeypatch, db, batches, "ingest/merge_processes")
    assert _deadlocks() == before
    assert rows(db, "MATCH (:Host {id: 'node-1'})<-[:ON_HOST]-(p:Process) RETURN count(p)") == {
        (120 + 60 + 60,)
    }


def test_a_writer_stops_looking_for_stored_events_until_a_batch_holds_some(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of two: new, new, a repeat of the first, new. The first batch looks
    for its events in the graph and finds none, so the second creates its own
    without looking; the repeat's create then fails on a stored one, and the batch
    is written again, looking and merging; the last batch looks again. The graph is
    the one the events give written once."""
    import app.neo4j.database as database

    new = [event(n, "process_exec", proc(8000 + n, 1, "/bin/true")) for n in range(1, 7)]
    ingest(db, "storyline", ndjson(new))
    once = snapshot(db)
    db.query("MATCH (n) DETACH DELETE n", write=True)
    real = database.cypher
    ran: list[str] = []

    def hooked(name: str) -> str:
        if name.endswith("_events") and name.startswith("ingest/"):
            ran.append(name.removeprefix("ingest/"))
        return real(name)

    monkeypatch.setattr(database, "cypher", hooked)
    lines = ndjson(new[0:2] + new[2:4] + new[0:2] + new[4:6])
    report = ingest(db, "storyline", lines, batch_size=2)
    assert report.batches == 4 and report.accepted == 8
    assert ran == [
        "existing_events", "create_events",  # looks, finds none
        "create_events",  # does not look
        "create_events", "existing_events", "merge_events",  # fails; again, looking
        "existing_events", "create_events",  # looks again
    ]  # fmt: skip
    now = snapshot(db)
    assert now == once, diff(once, now)
