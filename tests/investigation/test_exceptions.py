"""Exceptions on the real Neo4j: screening new signals, saving, previewing, revoking,
expiry, regrouping stories, history, and hostile input refused clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InputError
from app.ingest import ingest
from app.investigation import exceptions as exc
from app.investigation.exceptions import ExceptionError
from app.investigation.stories import record, story_id
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rules.signals import active_rules
from tests.graphstate import rows
from tests.rules.test_stories import admin_logins, login
from tests.test_layers import P, jvm_exploit, uuid

NO_RULES = Pipeline(rules=())
WINDOW = ("2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z")
SUDO = "sudo_root_shell"
STORIES = "MATCH (s:Story) RETURN s.id, s.correlation_keys, s.suppressed, s.signal_count"


def load(db: Database, events: list[dict[str, Any]], pipeline: Pipeline = NO_RULES) -> None:
    report = ingest(db, "storyline", [json.dumps(e) + "\n" for e in events], after_batch=pipeline)
    assert report.rejected == []


def suppressed(db: Database) -> set[tuple]:
    """(signal id, exception id) of every SUPPRESSED_BY link."""
    return rows(db, "MATCH (s:Signal)-[:SUPPRESSED_BY]->(x:RuleException) RETURN s.id, x.id")


def sudo_signal(db: Database, host: str, pid: int) -> str:
    """The id of the sudo_root_shell signal of the login whose sshd session has `pid`."""
    [(found,)] = rows(
        db,
        "MATCH (s:Signal {rule_id: $rule})-[:ON]->(e:Event {host_id: $host})-[:BY]->"
        "(:Process {pid: $pid}) RETURN s.id",
        rule=SUDO,
        host=host,
        pid=pid + 2,
    )
    return str(found)


@pytest.fixture
def logins(db: Database) -> dict[str, str]:
    """alice three times and bob once on node-1, alice once on node-2 (routine stories)."""
    events, shells = admin_logins()
    load(db, events)
    return shells


def signal_ids(db: Database, rule: str, host: str) -> set[str]:
    found = rows(
        db,
        "MATCH (s:Signal {rule_id: $rule})-[:ON]->(e:Event {host_id: $host}) RETURN s.id",
        rule=rule,
        host=host,
    )
    return {r[0] for r in found}


def test_saving_suppresses_stored_signals_and_the_stories_regroup(
    db: Database, logins: dict[str, str]
) -> None:
    alice = tuple(sorted(logins[f"alice-{i}"] for i in (1, 2, 3)))
    bob, alice_2 = (logins["bob-1"],), (logins["alice-4"],)
    sids = {keys: sid for sid, keys, _, _ in rows(db, STORIES)}
    before = rows(db, STORIES)
    assert before == {
        (sids[alice], alice, False, 3),
        (sids[bob], bob, False, 1),
        (sids[alice_2], alice_2, False, 1),
    }
    record(db, sids[bob], "status", "under_review", "carol", "bob at night?")
    node1 = signal_ids(db, SUDO, "node-1")
    assert len(node1) == 4

    seen = exc.preview(db, SUDO, {"host": ["node-1"]}, *WINDOW)
    assert (seen.scanned, seen.matched, seen.suppressed, seen.already_suppressed) == (5, 4, 4, 0)
    assert seen.complete and {s["id"] for s in seen.sample} == node1
    assert (seen.stories_changed, seen.stories_hidden) == (2, 2)
    assert {(s["story"], s["before"], s["after"]) for s in seen.stories} == {
        (sids[alice], 3, 0),
        (sids[bob], 1, 0),
    }
    assert rows(db, "MATCH (s:Signal) WHERE s.suppressed RETURN s.id") == set()  # wrote nothing

    saved = exc.create(db, SUDO, {"host": ["node-1"]}, "admins' sudo on node-1", "alice")
    xid = saved["id"]
    assert saved["status"] == "active" and saved["suppressed_count"] == seen.suppressed == 4
    assert saved["owner"] == "alice" and saved["created_by"] == "alice"
    assert suppressed(db) == {(s, xid) for s in node1}
    # nothing is deleted: every signal is there, the suppressed ones flagged
    assert rows(db, "MATCH (s:Signal) RETURN s.id, s.suppressed") == {
        *((s, True) for s in node1),
        (sudo_signal(db, "node-2", 2400), None),
    }
    # the two stories whose every signal is suppressed stay, with their history, hidden
    assert rows(db, STORIES) == {
        (sids[alice], alice, True, 3),
        (sids[bob], bob, True, 1),
        (sids[alice_2], alice_2, False, 1),
    }
    assert rows(db, "MATCH (s:Story {id: $id}) RETURN s.status", id=sids[bob]) == {
        ("under_review",)
    }
    # each affected story records the change, with who and when
    assert rows(
        db,
        "MATCH (s:Story)-[:TRIAGE]->(t {field: 'exception'}) RETURN s.id, t.actor, t.from, t.to, "
        "t.comment",
    ) == {
        (sids[alice], "alice", "create", xid,
         f"3 signals suppressed by exception {xid} for {SUDO} (admins' sudo on node-1)"),
        (sids[bob], "alice", "create", xid,
         f"1 signal suppressed by exception {xid} for {SUDO} (admins' sudo on node-1)"),
    }  # fmt: skip
    [(changes,)] = rows(
        db,
        "MATCH (:RuleException {id: $id})-[:HISTORY]->(c) RETURN c.action + ' ' + c.actor",
        id=xid,
    )
    assert changes == "create alice"


def test_a_mixed_story_is_rebuilt_from_the_signals_that_still_count(db: Database) -> None:
    events, shells = admin_logins()
    bash = login("node-1", "alice", 1000, 11, 2000, 10)[1]
    cat = bash.child(2003, 13, "/usr/bin/cat", ["cat", "/etc/shadow"])
    opened = cat.event("file_open", file={"path": "/etc/shadow"})
    from tests.rules.test_stories import alert

    events += [cat.exec(), opened, alert(opened, "shadow_read", "medium", "credential_access")]
    load(db, events)
    alice_1 = shells["alice-1"]
    # the medium signal took alice-1's session out of the routine story
    assert rows(db, "MATCH (s:Story {id: $id}) RETURN s.signal_count, s.severity, s.rules",
                id=story_id(alice_1)) == {(2, "medium", ("shadow_read", SUDO))}  # fmt: skip
    exc.create(db, "shadow_read", {"process": ["/usr/bin/cat"]}, "ours", "alice")
    # with the medium signal suppressed, alice-1 is routine again and joins her other sessions
    routine = rows(db, "MATCH (s:Story {routine: true, suppressed: false}) "
                       "RETURN s.correlation_keys, s.signal_count")  # fmt: skip
    assert (tuple(sorted(shells[f"alice-{i}"] for i in (1, 2, 3))), 3) in routine
    assert rows(db, "MATCH (s:Story {id: $id}) RETURN s.id", id=story_id(alice_1)) == set()


def test_detection_suppresses_a_matching_new_signal_and_not_another(db: Database) -> None:
    pipeline = Pipeline(rules=active_rules())

    def agent(host: str, pid: int, exe: str) -> list[dict[str, Any]]:
        init = P(host, 1, 0, "/sbin/init", ["/sbin/init"], attrs={"cgroup": "/init.scope"})
        proc = init.child(pid, 30, exe, [exe, "--scan"], cgroup="/system.slice/scan.service",
                          user="root")  # fmt: skip
        return [init.exec(), proc.exec(), proc.event("file_open", file={"path": "/etc/shadow"})]

    load(db, agent("node-1", 300, "/opt/monitor/agent"), pipeline)
    [(first,)] = rows(db, "MATCH (s:Signal {rule_id: 'linux.shadow_read'}) RETURN s.id")
    saved = exc.create(db, "linux.shadow_read", {"process": ["/opt/monitor/*"], "user": ["root"]},
                       "the monitoring agent checks file modes", "alice")  # fmt: skip
    assert suppressed(db) == {(first, saved["id"])}
    load(
        db, agent("node-2", 300, "/opt/monitor/agent-v2") + agent("node-3", 300, "/tmp/x"), pipeline
    )
    flagged = rows(
        db,
        "MATCH (s:Signal {rule_id: 'linux.shadow_read'})-[:ON]->(e) "
        "RETURN e.host_id, s.suppressed, s:Unscreened",
    )
    assert flagged == {("node-1", True, False), ("node-2", True, False), ("node-3", None, False)}
    assert {s for s, _ in suppressed(db)} == signal_ids(
        db, "linux.shadow_read", "node-1"
    ) | signal_ids(db, "linux.shadow_read", "node-2")
    # only node-3's story counts; node-2's new story is born suppressed
    assert rows(db, "MATCH (s:Story) WHERE s.suppressed = false RETURN s.hosts") == {(("node-3",),)}
    assert rows(db, "MATCH (s:Story) WHERE s.suppressed RETURN s.hosts") == {
        (("node-1",),),
        (("node-2",),),
    }


def test_revoking_restores_every_signal_and_story(db: Database, logins: dict[str, str]) -> None:
    before = rows(db, STORIES)
    timeline_before = rows(db, "MATCH (s:Story) RETURN s.id, s.score, s.title, s.summary")
    saved = exc.create(db, SUDO, {"host": ["node-*"]}, "every sudo", "alice")
    assert saved["suppressed_count"] == 5
    assert rows(db, "MATCH (s:Story) WHERE s.suppressed RETURN count(s)") == {(3,)}
    revoked = exc.revoke(db, saved["id"], "too broad", "bob")
    assert revoked["status"] == "revoked" and revoked["revoked_by"] == "bob"
    assert revoked["suppressed_count"] == 0 and suppressed(db) == set()
    assert rows(db, STORIES) == before
    assert rows(db, "MATCH (s:Story) RETURN s.id, s.score, s.title, s.summary") == timeline_before
    assert rows(db, "MATCH (s:Signal) WHERE s.suppressed IS NOT NULL RETURN s.id") == set()
    history = exc.history(db, [saved["id"]])[saved["id"]]
    assert [(c["action"], c["actor"], c["comment"]) for c in history] == [
        ("create", "alice", "every sudo"),
        ("revoke", "bob", "too broad"),
    ]
    assert history[1]["changes"] == [{"field": "status", "from": "active", "to": "revoked"}]
    # both changes show in each story's triage history
    fields = rows(db, "MATCH (s:Story)-[:TRIAGE]->(t {field: 'exception'}) RETURN s.id, t.from")
    assert fields == {(sid, action) for sid, *_ in before for action in ("create", "revoke")}
    with pytest.raises(ExceptionError, match="already revoked"):
        exc.revoke(db, saved["id"], "again", "bob")
    with pytest.raises(ExceptionError, match="revoked exception cannot change"):
        exc.update(db, saved["id"], "bob", owner="carol")


def test_two_exceptions_on_one_signal_release_it_only_when_both_go(
    db: Database, logins: dict[str, str]
) -> None:
    a = exc.create(db, SUDO, {"host": ["node-1"]}, "node-1 admins", "alice")
    b = exc.create(db, SUDO, {"user": ["alice"]}, "alice", "alice")
    assert (a["suppressed_count"], b["suppressed_count"]) == (4, 0)  # sudo's user is unknown
    b = exc.update(db, b["id"], "alice", conditions={"process": ["/usr/bin/sudo"]})
    assert exc.get(db, b["id"])["suppressed_count"] == 5
    exc.revoke(db, a["id"], "gone", "alice")
    assert {s for s, x in suppressed(db) if x == b["id"]} == {
        s for (s,) in rows(db, "MATCH (s:Signal) WHERE s.suppressed RETURN s.id")
    }
    assert len(suppressed(db)) == 5


def test_expiry_stops_suppressing_new_signals_only(db: Database, logins: dict[str, str]) -> None:
    saved = exc.create(db, SUDO, {"host": ["node-1"]}, "admins", "alice", expires_at=None)
    made, ends = (datetime.fromisoformat(saved[k]) for k in ("created_at", "expires_at"))
    assert ends - made == timedelta(days=90)  # by default
    # time passes: its expiry is now behind us
    db.query(
        "MATCH (x:RuleException {id: $id}) SET x.expires_at = x.created_at + duration('PT0.001S')",
        {"id": saved["id"]},
        write=True,
    )
    assert exc.get(db, saved["id"])["status"] == "expired"
    events, _ = login("node-1", "alice", 1000, 16, 2600, 400)
    load(db, events)
    new = sudo_signal(db, "node-1", 2600)
    assert rows(db, "MATCH (s:Signal {id: $id}) RETURN s.suppressed", id=new) == {(None,)}
    assert len(suppressed(db)) == 4  # the old ones stay suppressed
    history = exc.history(db, [saved["id"]])[saved["id"]]
    assert [(c["action"], c["actor"]) for c in history] == [
        ("create", "alice"),
        ("expire", "storyline"),
    ]
    with pytest.raises(ExceptionError, match="give a new expiry"):
        exc.update(db, saved["id"], "alice", conditions={"host": ["node-2"]})
    # given a later expiry it is active again, and suppresses what it matches
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    renewed = exc.update(db, saved["id"], "bob", expires_at=later, comment="one more month")
    assert renewed["status"] == "active" and renewed["suppressed_count"] == 5
    last = exc.history(db, [saved["id"]])[saved["id"]][-1]
    assert (last["action"], last["actor"], last["comment"]) == ("update", "bob", "one more month")
    assert {c["field"] for c in last["changes"]} == {"expires_at", "status"}


def test_a_preview_over_a_narrower_window_counts_that_window_only(
    db: Database, logins: dict[str, str]
) -> None:
    # the sessions start at 08:00:10 + 60 s apiece: their sudo runs at :12, 1:12, 2:12, ...
    seen = exc.preview(db, SUDO, {"host": ["node-1"]}, "2026-01-05T08:01:00Z",
                       "2026-01-05T08:03:00Z")  # fmt: skip
    assert (seen.scanned, seen.matched, seen.suppressed) == (2, 2, 2)
    assert {s["id"] for s in seen.sample} == {
        sudo_signal(db, "node-1", 2100),
        sudo_signal(db, "node-1", 2200),
    }
    assert [(s["before"], s["after"]) for s in seen.stories] == [(3, 1)]
    assert seen.stories_hidden == 0
    exc.create(db, SUDO, {"host": ["node-1"], "user": ["nobody"]}, "never", "alice")
    again = exc.preview(db, SUDO, {"host": ["node-1"]}, *WINDOW)
    assert (again.matched, again.suppressed, again.already_suppressed) == (4, 4, 0)


def test_a_suppressed_compromise_no_longer_roots_its_exploit_context(db: Database) -> None:
    events, key_of, compromise = jvm_exploit()
    load(db, [*events, compromise])
    exploit = key_of[4000]
    assert rows(db, "MATCH (s:Story) RETURN s.correlation_key") == {(exploit,)}
    exc.create(db, "sensor.shell_from_jvm", {"host": ["node-3"], "process": ["/bin/sh"]},
               "the app runs sh on purpose", "alice")  # fmt: skip
    NO_RULES.drain(db)  # the background stage re-stamps the process
    assert rows(db, "MATCH (p:Process {pid: 4000}) RETURN p.correlation_key") == {
        ("node-3:app.service",)
    }
    assert rows(db, "MATCH (s:Story) RETURN s.correlation_key, s.suppressed") == {
        ("node-3:app.service", True)
    }


HOSTILE = [
    ({"host": ["x" * 1025]}, "at most 1024 characters"),
    ({"host": [f"h{i}" for i in range(21)]}, "at most 20 values per condition"),
    ({n: [f"v{i}" for i in range(9)] for n in exc.CONDITIONS}, "at most 50 condition values"),
    ({"process": ["/usr/*/bin"]}, "a \\* may only end a value"),
    ({"process": ["**"]}, "a \\* may only end a value"),
    ({"path": ["*"]}, "lone \\* matches anything"),
    ({"user": ["  "]}, "a user value is empty"),
    ({"host": ["a\nb"]}, "control character"),
    ({}, "needs at least one condition"),
    ({"host": None, "user": []}, "needs at least one condition"),
    ({"command": ["ls"]}, "unknown condition 'command'"),
]


@pytest.mark.parametrize(("conditions", "message"), HOSTILE)
def test_hostile_conditions_are_refused_clearly(
    db: Database, logins: dict[str, str], conditions: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExceptionError, match=message):
        exc.preview(db, SUDO, conditions, *WINDOW)
    with pytest.raises(ExceptionError, match=message):
        exc.create(db, SUDO, conditions, "why", "alice")
    assert rows(db, "MATCH (x:RuleException) RETURN count(x)") == {(0,)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule_id": "no.such.rule"}, "no rule 'no.such.rule' is loaded"),
        ({"rule_id": "r" * 201}, "at most 200 characters"),
        ({"reason": " "}, "the reason is empty"),
        ({"reason": "x" * 2001}, "at most 2000 characters"),
        ({"owner": "o" * 201}, "the owner holds at most 200"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "has passed"),
        ({"expires_at": "2099-01-01T00:00:00Z"}, "at most 365 days ahead"),
        ({"expires_at": "tomorrow"}, "not an RFC 3339 time"),
    ],
)
def test_hostile_exceptions_are_refused_clearly(
    db: Database, logins: dict[str, str], change: dict[str, Any], message: str
) -> None:
    args = {"rule_id": SUDO, "conditions": {"host": ["node-1"]}, "reason": "why",
            "actor": "alice", **change}  # fmt: skip
    with pytest.raises(InputError, match=message):  # an ExceptionError, or a bad time
        exc.create(db, **args)
    assert rows(db, "MATCH (x:RuleException) RETURN count(x)") == {(0,)}


def test_a_preview_window_is_bounded(db: Database, logins: dict[str, str]) -> None:
    with pytest.raises(ExceptionError, match="at most 366 days"):
        exc.preview(db, SUDO, {"host": ["node-1"]}, "2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    with pytest.raises(InputError, match="from is after to"):
        exc.preview(db, SUDO, {"host": ["node-1"]}, WINDOW[1], WINDOW[0])


def test_conditions_match_exactly_or_by_prefix() -> None:
    c = exc.Conditions.parse({"process": ["/usr/bin/*", "/opt/a"], "host": "web-1"})
    assert c.matches({"process": "/usr/bin/tar", "host": "web-1"})
    assert c.matches({"process": "/opt/a", "host": "web-1"})
    assert not c.matches({"process": "/opt/ab", "host": "web-1"})
    assert not c.matches({"process": "/usr/bin/tar", "host": "web-10"})
    assert not c.matches({"process": None, "host": "web-1"})
    assert exc.Conditions.parse({"host": [" a ", "a"]}).host == ("a",)


def test_a_routine_key_whose_signals_are_all_suppressed_leaves_its_story(db: Database) -> None:
    from tests.rules.test_stories import alert

    events: list[dict[str, Any]] = []
    keys = []
    for i, (ses, pid) in enumerate(((11, 2000), (12, 2100), (13, 2200)), 1):
        found, bash = login("node-1", "alice", 1000, ses, pid, 60 * i)
        tail = bash.child(pid + 5, 60 * i + 3, "/usr/bin/tail", ["tail", f"/var/log/app-{i}.log"])
        opened = tail.event("file_open", file={"path": f"/var/log/app-{i}.log"})
        events += [*found[:-1], tail.exec(), opened, alert(opened, "log_read", "low", "collection")]
        keys.append(uuid(bash, "interactive_shell"))
    load(db, events)
    [(sid, routine)] = rows(db, "MATCH (s:Story) RETURN s.id, s.correlation_keys")
    assert routine == tuple(sorted(keys))
    saved = exc.create(db, "log_read", {"path": ["/var/log/app-1.log"]}, "ours", "alice")
    assert saved["suppressed_count"] == 1
    # the first session has nothing left that counts: the story is the two others'
    assert rows(db, STORIES) == {(sid, tuple(sorted(keys[1:])), False, 2)}
    exc.revoke(db, saved["id"], "no", "alice")
    assert rows(db, STORIES) == {(sid, tuple(sorted(keys)), False, 3)}
