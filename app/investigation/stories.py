"""Stories: one per correlation key with at least one signal; scored, titled, triaged.

Routine keys (only low or info signals, none compromising) with the same layer,
host, user and rules share one story: the same low-grade activity repeated is
one entry in the analyst's queue, not one per session.

After each batch (app/pipeline.py), the signals that are new or whose events
were re-keyed (:Unstoried) name the keys whose stories change. Each such story
is rebuilt from its signals: severity (the highest), a score that ranks real
compromises first, a title and summary from its rules and root process, and
recommended actions. A story whose signals all moved to another key is merged
into the story they moved to, its triage history kept.

Signals an exception suppressed (app/investigation/exceptions.py) do not count: a
story is built from its keys' other signals. A story whose every signal is
suppressed is not dropped with its triage history: it is built from the
suppressed ones and flagged `suppressed`, and the story list hides it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from app.errors import InputError, NotFound
from app.events import format_ts
from app.layers import NAMESPACE
from app.neo4j.database import Database, Transaction
from app.rules.actions import ResponseAction

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
STATUSES = ("open", "under_review", "archived")

# MITRE ATT&CK tactics in kill-chain order.
KILL_CHAIN: tuple[str, ...] = (
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
)  # fmt: skip
SESSION_LAYERS = frozenset({"k8s_user_session", "exploit", "interactive_shell"})


class StoryNotFound(NotFound):
    """No story has that id."""


class TriageError(InputError):
    """A triage change is not valid (unknown status, empty note)."""


def story_id(correlation_key: str) -> str:
    """Returns the story id of a correlation key: uuid5(namespace, 'story' + key)."""
    return str(uuid.uuid5(NAMESPACE, "story" + correlation_key))


def tactic_index(tactic: str | None) -> int:
    """Returns a tactic's place in the kill chain, or -1 when unknown."""
    if not tactic:
        return -1
    name = tactic.lower().replace("-", "_").replace(" ", "_")
    return KILL_CHAIN.index(name) if name in KILL_CHAIN else -1


def progression(tactics_in_time_order: list[str | None]) -> int:
    """Returns the longest run of tactics that advances along the kill chain."""
    best: list[int] = []  # patience sorting for the longest strictly increasing subsequence
    for tactic in tactics_in_time_order:
        i = tactic_index(tactic)
        if i < 0:
            continue
        lo, hi = 0, len(best)
        while lo < hi:
            mid = (lo + hi) // 2
            if best[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(best):
            best.append(i)
        else:
            best[lo] = i
    return len(best)


def score(signals: list[dict[str, Any]], layer: str | None) -> float:
    """Ranks a story: severity, distinct tactics in kill-chain order, rules, context kind."""
    top = max(SEVERITY_RANK.get(s["severity"], 2) for s in signals)
    tactics = {s["tactic"] for s in signals if tactic_index(s["tactic"]) >= 0}
    rules = {s["rule_id"] for s in signals}
    advance = progression([s["tactic"] for s in signals])
    value = (
        20 * top
        + 8 * len(tactics)
        + 6 * advance
        + 3 * len(rules)
        + 2 * math.log2(1 + len(signals))
        + (10 if layer in ("exploit", "k8s_user_session") else 0)
    )
    return round(value, 2)


def routine_signature(facts: dict[str, Any]) -> str | None:
    """Returns what a routine key shares with its repeats, or None when it is not routine.

    A key is routine when all its signals are of low or info severity and none
    marks a compromise; routine keys with the same layer, host(s), user and set
    of rules are the same activity repeated (an admin's `sudo -i` in every SSH
    session, a nightly backup archiving /etc) and share one story.
    """
    signals = facts["signals"]
    if not signals or any(
        SEVERITY_RANK.get(s["severity"], 2) > SEVERITY_RANK["low"] or s.get("compromises")
        for s in signals
    ):
        return None
    hosts = ",".join(sorted({s["host"] for s in signals if s["host"]}))
    rules = ",".join(sorted({s["rule_id"] for s in signals}))
    return "\x1f".join((facts["layer"] or "", hosts, facts.get("root_user") or "", rules))


def routine_story_id(signature: str) -> str:
    """Returns the id of the story routine keys with this signature share."""
    return str(uuid.uuid5(NAMESPACE, "routine" + signature))


def target_of(facts: dict[str, Any], routine: bool = True) -> tuple[str, bool]:
    """Returns the story a key's signals belong to, and whether it is a routine story.

    With `routine` off (STORYLINE_ROUTINE_STORIES=off) every key has its own story.
    """
    signature = routine_signature(facts) if routine else None
    if signature is None:
        return story_id(facts["key"]), False
    return routine_story_id(signature), True


def _first_signal(facts: dict[str, Any]) -> tuple[str, str]:
    return (facts["signals"][0]["ts"], facts["key"])


MAX_ACTIONS = 20


def response_actions(ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Returns the typed actions of signals (strongest first), each id once.

    A signal written before actions were typed has only texts: each is a REVIEW.
    """
    found: dict[str, dict[str, Any]] = {}
    for s in ranked:
        typed = s.get("typed_actions")
        if typed is None:
            texts = s["actions"] or []
            typed = [json.dumps(ResponseAction("REVIEW", t, None).as_dict()) for t in texts]
        for raw in typed:
            action = json.loads(raw)
            found.setdefault(action["id"], action)
    return list(found.values())


def build(members: list[dict[str, Any]], sid: str | None = None, routine: bool = False) -> dict:
    """Builds the merge_stories row of a story from story_facts.cypher rows of its keys.

    A story has one key, except a routine story, which has every routine key of
    its signature; the first of them (by first signal, then key) is its
    `correlation_key` and names the root and reason in the summary.
    """
    members = sorted(members, key=_first_signal)
    facts = members[0]
    # Neo4j prints times with trailing zeros trimmed, which does not sort as text
    signals = sorted(
        ({**s, "ts": format_ts(s["ts"])} for m in members for s in m["signals"]),
        key=lambda s: (s["ts"], s["id"]),
    )
    key = facts["key"]
    layer = facts["layer"]
    # signals come sorted by (ts, id): max and sorted keep the first of equals
    top = max(signals, key=lambda s: SEVERITY_RANK.get(s["severity"], 2))
    severity = top["severity"]
    hosts = sorted({s["host"] for s in signals if s["host"]})
    rules = sorted({s["rule_id"] for s in signals})
    techniques = sorted({s["technique"] for s in signals if s["technique"]})
    users = sorted({m["root_user"] for m in members if m.get("root_user")})
    tactics = sorted(
        {s["tactic"] for s in signals if s["tactic"]}, key=lambda t: (tactic_index(t), t)
    )
    root_cmd = " ".join(facts["root_args"]) if facts.get("root_args") else facts.get("root_exe")
    title = top["title"] + (f" on {hosts[0]}" if hosts else "")
    if len(rules) > 1:
        title += f" (+{len(rules) - 1} more rule{'s' if len(rules) > 2 else ''})"
    repeats = len(members)
    unit = "sessions" if layer in SESSION_LAYERS or layer == "auid" else "contexts"
    if repeats > 1:
        who = f" by {facts['root_user']}" if facts.get("root_user") else ""
        title += f", {repeats} {unit}{who}"
    chain = " → ".join(t.replace("_", " ") for t in tactics) or "no ATT&CK tactic"
    summary = (
        f"{len(signals)} signal{'s' if len(signals) != 1 else ''} from {len(rules)} "
        f"rule{'s' if len(rules) != 1 else ''} ({chain}) in the {layer or 'unknown'} context"
        + (f" rooted at `{root_cmd}`" if root_cmd else "")
        + (f" ({facts['reason']})" if facts.get("reason") else "")
        + f", {signals[0]['ts']} to {signals[-1]['ts']}."
    )
    if routine:
        summary = (
            f"Routine: {repeats} {layer or 'unknown'} {unit if repeats > 1 else unit[:-1]}"
            + (f" of {facts['root_user']}" if facts.get("root_user") else "")
            + " with only low-severity signals from the same rules, grouped in one story; "
            "any stronger signal takes a session out into a story of its own. "
            + ("The first: " if repeats > 1 else "")
            + summary
        )
    actions: list[str] = []
    ranked = sorted(signals, key=lambda s: -SEVERITY_RANK.get(s["severity"], 2))
    for s in ranked:
        for action in s["actions"] or []:
            if action not in actions:
                actions.append(action)
    typed = response_actions(ranked)
    times = [s["ts"] for s in signals] + [
        format_ts(t) for m in members for t in (m["first_seen"], m["last_seen"]) if t
    ]
    value = max(score(m["signals"], layer) for m in members)
    if routine:
        # rarity: a pattern that repeats ranks lower the more it repeats
        value = round(max(0.0, value - 5 * math.log2(repeats)), 2)
    return {
        "id": sid or story_id(key),
        "key": key,
        "keys": sorted(m["key"] for m in members),
        "routine": routine,
        "layer": layer,
        "title": title,
        "summary": summary,
        "severity": severity,
        "score": value,
        "first_seen": min(times),
        "last_seen": max(times),
        "hosts": hosts,
        "tactics": tactics,
        "rules": rules,
        "techniques": techniques,
        "users": users,
        "signal_ids": [s["id"] for s in signals],
        "signal_count": len(signals),
        "actions": actions[:MAX_ACTIONS],
        "response_actions": [json.dumps(a, sort_keys=True) for a in typed[:MAX_ACTIONS]],
        "root": facts["root"],
    }


def refresh(db: Database, routine: bool = True) -> int:
    """Rebuilds the stories whose signals or contexts changed; returns how many.

    The stories touched are those that held a dirty signal and those whose
    context changed; every key they cover and every dirty key is placed again
    (its own story, or the routine story of its signature, rebuilt whole with
    all its keys). A touched story that no key is placed in any more is merged
    into the story most of its signals went to, its triage history kept.
    It all happens in one transaction under the stories lock, so that app
    replicas refreshing at once cannot drop each other's keys.
    """
    if not db.read("stories/pending")[0]["pending"]:
        return 0
    return db.transaction(lambda tx: _refresh(tx, routine))


def _refresh(db: Transaction, routine: bool) -> int:
    db.run("stories/lock")
    dirty = db.read("stories/dirty_signals")
    restory = db.read("stories/restory_keys")
    if not dirty and not restory:
        return 0
    touched = {r["old_story"] for r in dirty if r["old_story"]} | {r["id"] for r in restory}
    before: dict[str, dict[str, Any]] = {}
    facts: dict[str, dict[str, Any]] = {}
    target: dict[str, tuple[str, bool]] = {}
    keys = {r["key"] for r in dirty}
    # Close over what a change reaches: the stories holding a key's signals, the
    # keys of those stories, and the routine stories the keys go to (rebuilt whole).
    asked: set[str] = set()
    while touched or keys:
        asked |= touched
        for m in db.read("stories/story_members", ids=sorted(touched)) if touched else ():
            before[m["id"]] = m
            keys.update(m["keys"])
            keys.update(k for k in m["signal_keys"] if k)
        keys -= set(facts)
        found = db.read("stories/story_facts", keys=sorted(keys)) if keys else []
        for f in found:
            _split_suppressed(f)
            facts[f["key"]] = f
            if f["signals"]:
                target[f["key"]] = target_of(f, routine)
        reached = {h for f in found for h in f["holders"]}
        reached |= {target[f["key"]][0] for f in found if f["key"] in target}
        touched, keys = reached - asked, set()
    members: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for key, placed in sorted(target.items()):
        members.setdefault(placed, []).append(facts[key])
    rows = []
    for (sid, grouped), found_members in sorted(members.items()):
        # a story is built from the keys whose signals count; only when none has
        # any is it built from the suppressed ones, flagged (a key whose every signal
        # is suppressed adds nothing to a story that has others)
        counting = [m for m in found_members if not m["suppressed"]]
        row = build(counting or found_members, sid, grouped)
        row["suppressed"] = not counting
        rows.append(row)
    if rows:
        db.run("stories/merge_stories", rows=rows)
    living = {sid for sid, _ in members}
    for old, story in sorted(before.items()):
        if old in living:
            continue
        went = Counter(target[k] for k in story["signal_keys"] if k in target)
        if not went:
            db.run("stories/delete_story", id=old)
            continue
        (into, into_routine), _ = min(went.items(), key=lambda kv: (-kv[1], kv[0]))
        same_kind = into_routine == story["routine"]
        db.run(
            "stories/merge_story_into",
            **{"from": old},
            into=into,
            take_status=same_kind,
            comment=(
                "late evidence moved this story's events here: "
                if same_kind
                else "this story's signals now belong here: "
            ),
            change_id=f"merge:{old}:{into}",
            ts=datetime.now(UTC).isoformat(),
        )
    db.run("stories/clear_dirty", ids=[r["signal"] for r in dirty])
    db.run("stories/clear_restory", ids=[r["id"] for r in restory])
    return len(rows)


def _split_suppressed(facts: dict[str, Any]) -> None:
    """Keeps a key's signals that count; when none does, its suppressed ones, and says so."""
    counting = [s for s in facts["signals"] if not s.get("suppressed")]
    facts["suppressed"] = not counting and bool(facts["signals"])
    facts["signals"] = counting or facts["signals"]


def rebuild(db: Database, routine: bool = True) -> int:
    """Rebuilds every story (after STORYLINE_ROUTINE_STORIES changes); returns how many."""
    db.run("stories/mark_all_restory")
    return refresh(db, routine)


def record(
    db: Database,
    story: str,
    field: str,
    to: str | None,
    actor: str,
    comment: str | None = None,
) -> dict[str, Any]:
    """Records a triage change (status, assignee, note) with who and when; returns it."""
    if field == "status" and to not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}, got {to!r}")
    if field == "note" and not (to or "").strip():
        raise TriageError("a note needs text")
    if field not in ("status", "assignee", "note"):
        raise TriageError(f"unknown triage field {field!r}")
    now = datetime.now(UTC)
    rows = db.run(
        "stories/record_triage",
        id=story,
        field=field,
        to=to,
        comment=comment,
        actor=actor,
        change_id=f"triage:{uuid.uuid4()}",
        ts=now.isoformat(),
    )
    if not rows:
        raise StoryNotFound(f"no story {story!r}")
    return rows[0]


def record_many(
    db: Database, stories: list[str], status: str, actor: str, comment: str | None = None
) -> int:
    """Sets the status of several stories in one transaction, each change recorded as
    if made alone; an unknown story changes nothing. Returns how many changed."""
    if status not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    now = datetime.now(UTC).isoformat()

    def work(tx: Transaction) -> int:
        for story in stories:
            rows = tx.run(
                "stories/record_triage",
                id=story,
                field="status",
                to=status,
                comment=comment,
                actor=actor,
                change_id=f"triage:{uuid.uuid4()}",
                ts=now,
            )
            if not rows:
                raise StoryNotFound(f"no story {story!r}: no story was changed")
        return len(stories)

    return db.transaction(work)
