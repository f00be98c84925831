"""Stories: one per correlation key with at least one signal; scored, titled, triaged.

After each batch (app/pipeline.py), the signals that are new or whose events
were re-keyed (:Unstoried) name the keys whose stories change. Each such story
is rebuilt from its signals: severity (the highest), a score that ranks real
compromises first, a title and summary from its rules and root process, and
recommended actions. A story whose signals all moved to another key is merged
into the story they moved to, its triage history kept.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from app.errors import StorylineError
from app.layers import NAMESPACE
from app.neo4j.database import Database

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
STATUSES = ("open", "under_review", "archived")

# MITRE ATT&CK tactics in kill-chain order.
KILL_CHAIN: tuple[str, ...] = (
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
)  # fmt: skip
SESSION_LAYERS = frozenset({"k8s_user_session", "exploit", "interactive_shell"})


class StoryNotFound(StorylineError):
    """No story has that id."""


class TriageError(StorylineError):
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


def build(facts: dict[str, Any]) -> dict[str, Any]:
    """Builds the merge_stories row of one key from story_facts.cypher."""
    signals = facts["signals"]
    key = facts["key"]
    layer = facts["layer"]
    # signals come sorted by (ts, id): max and sorted keep the first of equals
    top = max(signals, key=lambda s: SEVERITY_RANK.get(s["severity"], 2))
    severity = top["severity"]
    hosts = sorted({s["host"] for s in signals if s["host"]})
    rules = sorted({s["rule_id"] for s in signals})
    tactics = sorted(
        {s["tactic"] for s in signals if s["tactic"]}, key=lambda t: (tactic_index(t), t)
    )
    root_cmd = " ".join(facts["root_args"]) if facts.get("root_args") else facts.get("root_exe")
    title = top["title"] + (f" on {hosts[0]}" if hosts else "")
    if len(rules) > 1:
        title += f" (+{len(rules) - 1} more rule{'s' if len(rules) > 2 else ''})"
    chain = " → ".join(t.replace("_", " ") for t in tactics) or "no ATT&CK tactic"
    summary = (
        f"{len(signals)} signal{'s' if len(signals) != 1 else ''} from {len(rules)} "
        f"rule{'s' if len(rules) != 1 else ''} ({chain}) in the {layer or 'unknown'} context"
        + (f" rooted at `{root_cmd}`" if root_cmd else "")
        + (f" ({facts['reason']})" if facts.get("reason") else "")
        + f", {signals[0]['ts']} to {signals[-1]['ts']}."
    )
    actions: list[str] = []
    ranked = sorted(signals, key=lambda s: -SEVERITY_RANK.get(s["severity"], 2))
    for s in ranked:
        for action in s["actions"] or []:
            if action not in actions:
                actions.append(action)
    times = [s["ts"] for s in signals] + [t for t in (facts["first_seen"], facts["last_seen"]) if t]
    return {
        "id": story_id(key),
        "key": key,
        "layer": layer,
        "title": title,
        "summary": summary,
        "severity": severity,
        "score": score(signals, layer),
        "first_seen": min(times),
        "last_seen": max(times),
        "hosts": hosts,
        "tactics": tactics,
        "rules": rules,
        "signal_ids": [s["id"] for s in signals],
        "signal_count": len(signals),
        "actions": actions[:20],
        "root": facts["root"],
    }


def refresh(db: Database) -> int:
    """Rebuilds the stories of every key whose signals changed; returns how many."""
    dirty = db.read("stories/dirty_signals")
    restory = db.read("stories/restory_keys")
    if not dirty and not restory:
        return 0
    keys = sorted(
        {r["key"] for r in dirty}
        | {r["old_key"] for r in dirty if r["old_key"]}
        | {r["key"] for r in restory}
    )
    facts = db.read("stories/story_facts", keys=keys)
    rows = [build(f) for f in facts if f["signals"]]
    if rows:
        db.run("stories/merge_stories", rows=rows)
    living = {r["key"] for r in rows}
    # Stories whose key kept no signal: merge each into where most of its signals went.
    moved: dict[str, Counter[str]] = {}
    for r in dirty:
        if r["old_story"] and r["old_key"] not in living and r["old_key"] != r["key"]:
            moved.setdefault(r["old_story"], Counter())[r["key"]] += 1
    for old, targets in sorted(moved.items()):
        into_key = max(sorted(targets), key=lambda k: targets[k])
        db.run(
            "stories/merge_story_into",
            **{"from": old},
            into=story_id(into_key),
            change_id=f"merge:{old}:{story_id(into_key)}",
            ts=datetime.now(UTC).isoformat(),
        )
    for key in keys:
        if key not in living:
            db.run("stories/delete_story", id=story_id(key))
    db.run("stories/clear_dirty", ids=[r["signal"] for r in dirty])
    db.run("stories/clear_restory", ids=[r["id"] for r in restory])
    return len(rows)


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
