"""Detection: match rules on the events of a batch, write a Signal per match.

Rules see event views: the event as written plus its process lineage from the graph
(cypher/rules/process_lineages.cypher),
so the parent's and ancestors' fields are there even when the sensor did not
ship them. A signal's id is `rule id:event id`: matching the same event twice
writes nothing new. A rule with `compromises: true` marks the process, which
the exploit layer then roots a context at (cypher/ingest/merge_signals.cypher).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.neo4j.database import Database
from app.rules.model import Rule, View
from app.rules.yamlrules import render_actions

VIEW_CHUNK = 2000


def _proc(props: dict[str, Any] | None) -> dict[str, Any] | None:
    if props is None:
        return None
    out = {k: v for k, v in props.items() if not k.startswith(("ctx_", "_"))}
    args = out.get("args")
    out["cmdline"] = " ".join(args) if isinstance(args, list) else None
    return out


def views(db: Database, events: Sequence[dict[str, Any]]) -> list[View]:
    """Builds the views of events ({id, ts, process_key, props}), one lineage read per process."""
    keys = sorted({e["process_key"] for e in events})
    lineage: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), VIEW_CHUNK):
        for row in db.read("rules/process_lineages", keys=keys[start : start + VIEW_CHUNK]):
            lineage[row["key"]] = {
                "process": _proc(row["process"]) or {},
                "parent": _proc(row["parent"]),
                "ancestors": [_proc(a) for a in row["ancestors"]],
                "container": row["container"],
                "pod": row["pod"],
            }
    out: list[View] = []
    for e in events:
        if e["props"].get("kind") == "alert" or e["process_key"] not in lineage:
            continue
        event = {**e["props"], "id": e["id"], "ts": str(e["ts"])}
        out.append({"event": event, **lineage[e["process_key"]]})
    return out


def signal_rows(rules: Iterable[Rule], event_views: Iterable[View]) -> list[dict[str, Any]]:
    """Matches rules on views; returns one merge_signals row per match."""
    rows = []
    rules = list(rules)
    by_kind: dict[str | None, list[Rule]] = {}
    for view in event_views:
        kind = view["event"].get("kind")
        applicable = by_kind.get(kind)
        if applicable is None:
            applicable = by_kind[kind] = [r for r in rules if r.kinds is None or kind in r.kinds]
        for rule in applicable:
            if not rule.matches(view):
                continue
            event = view["event"]
            rows.append(
                {
                    "id": f"{rule.id}:{event['id']}",
                    "on_event": event["id"],
                    "rule_id": rule.id,
                    "title": rule.title,
                    "severity": rule.severity,
                    "tactic": rule.tactic,
                    "technique": rule.technique,
                    "compromises": rule.compromises,
                    "description": rule.description,
                    "source": rule.source,
                    "ts": event["ts"],
                    "actions": render_actions(rule, view),
                }
            )
    return rows


def detect(db: Database, events: Sequence[dict[str, Any]], rules: Sequence[Rule]) -> int:
    """Matches rules on a batch's events and on events of relinked processes; returns signals.

    `events` are the writer's rows: {id, ts, process_key, props}.
    """
    relinked = db.run("rules/relinked_events")
    seen = {e["id"] for e in events}
    batch = [*events, *(r for r in relinked if r["id"] not in seen)]
    if not rules or not batch:
        return 0
    rows = signal_rows(rules, views(db, batch))
    if rows:
        db.run("ingest/merge_signals", rows=rows)
    return len(rows)


@functools.cache
def _loaded(user_dirs: tuple[str, ...], sigma_dirs: tuple[str, ...]) -> tuple[Rule, ...]:
    from app.rules.yamlrules import load_rules

    rules = list(load_rules([Path(d) for d in user_dirs]))
    if sigma_dirs:
        from app.rules.sigma import load_sigma

        loaded = load_sigma([Path(d) for d in sigma_dirs])
        rules += loaded.rules
    return tuple(rules)


def active_rules(user_dirs: Sequence[str] = (), sigma_dirs: Sequence[str] = ()) -> tuple[Rule, ...]:
    """Returns the built-in pack plus user and Sigma rules, loaded once per process."""
    return _loaded(tuple(user_dirs), tuple(sigma_dirs))
