"""Detection: match rules on the events queued for it, write a Signal per match.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.neo4j.database import Database, Transaction
from app.rules.model import Rule, View
from app.rules.yamlrules import render_actions

VIEW_CHUNK = 2000
DETECT_CHUNK = 20_000  # events one detection step takes from the queue


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


@dataclass
class Detection:
    """What one detection step did."""

    queued: int = 0  # events taken from the queue
    events: int = 0  # events matched: queued ones and those of relinked processes
    signals: int = 0
    lags_ms: list[int] = field(default_factory=list)  # per queued event: commit to detection


# Properties of an event node that are the writer's or the stage's, not the event's.
_INTERNAL = frozenset({"digest", "_queued", "correlation_key"})


def _row(event_id: str, ts: str, process_key: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "ts": ts, "process_key": process_key,
            "props": {k: v for k, v in props.items() if k not in _INTERNAL}}  # fmt: skip


def detect(db: Database, rules: Sequence[Rule], limit: int = DETECT_CHUNK) -> Detection:
    """Matches rules on up to `limit` queued events (and events of relinked processes).

    The queue is durable: the writer marks events `:Undetected` in the batch's
    own transaction, and this step writes its signals and clears the marks in
    one transaction, so an event committed is matched even after a crash.
    """
    queued = db.read("rules/undetected_events", limit=limit)
    relinked = db.read("rules/relinked_events", limit=max(limit // 10, 1))
    batch = [_row(r["id"], r["ts"], r["process_key"], r["props"]) for r in queued]
    done = [{"id": r["id"], "digest": r["digest"]} for r in queued]
    for r in relinked:
        for e in r["events"]:
            if e["id"] is not None:
                batch.append(_row(e["id"], e["ts"], r["process_key"], e["props"]))
    rows = signal_rows(rules, views(db, batch)) if rules and batch else []

    def work(tx: Transaction) -> list[int]:
        if rows:
            tx.run("ingest/merge_signals", rows=rows)
        keys = [r["process_key"] for r in relinked]
        found = tx.run("rules/mark_detected", events=done, relinked=keys)
        return list(found[0]["lags"]) if found else []

    lags = db.transaction(work) if batch or relinked else []
    return Detection(queued=len(queued), events=len(batch), signals=len(rows), lags_ms=lags)


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
