"""Detection: match rules on the events queued for it, write a Signal per match.

Rules see event views: the event as written plus its process lineage from the graph
(cypher/rules/process_lineages.cypher),
so the parent's and ancestors' fields are there even when the sensor did not
ship them. A signal's id is `rule id:event id`: matching the same event twice
writes nothing new. A rule with `compromises: true` marks the process, which
the exploit layer then roots a context at (cypher/ingest/merge_signals.cypher).
The same step matches the events on the feeds' indicators (app/indicators/matching.py).
Rules with a `beaconing:` block judge many connections at once; they run after the
per-event rules, in the same step and transaction (app/rules/beaconing.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.events import normalize_ts
from app.indicators.matching import indicator_signals, write_signals
from app.neo4j.database import Database, Transaction
from app.rules.actions import render_typed
from app.rules.beaconing import beacons
from app.rules.model import Rule, View

if TYPE_CHECKING:
    from app.ingest import Written

VIEW_CHUNK = 2000
DETECT_CHUNK = 20_000  # events one detection step takes from the queue
QUEUE_LOOKAHEAD = 200  # queued batches one step looks at


def _proc(props: dict[str, Any] | None) -> dict[str, Any] | None:
    if props is None:
        return None
    out = {k: v for k, v in props.items() if v is not None and not k.startswith(("ctx_", "_"))}
    args = out.get("args")
    out["cmdline"] = " ".join(args) if isinstance(args, list) else None
    return out


def views(db: Database, events: Sequence[dict[str, Any]]) -> list[View]:
    """Builds the views of events ({id, ts, process_key, props}), one lineage read per process."""
    keys = sorted({e["process_key"] for e in events})
    lineage: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), VIEW_CHUNK):
        for row in db.read_values("rules/process_lineages", keys=keys[start : start + VIEW_CHUNK]):
            # one dict per process, shared by the views that show it (rules only read them)
            procs = {p["key"]: _proc(p) for p in row["processes"]}
            for found in row["lineages"]:
                parent = found["parent"]
                lineage[found["key"]] = {
                    "process": procs[found["key"]] or {},
                    "parent": procs[parent] if parent is not None else None,
                    "ancestors": [procs[k] for k in found["ancestors"]],
                    "container": found["container"],
                    "pod": found["pod"],
                }
    out: list[View] = []
    for e in events:
        if e["props"].get("kind") == "alert" or e["process_key"] not in lineage:
            continue
        event = {**e["props"], "id": e["id"], "ts": str(e["ts"])}
        out.append({"event": event, **lineage[e["process_key"]]})
    return out


def signal_row(rule: Rule, view: View) -> dict[str, Any]:
    """Returns the merge_signals row of a rule's match on a view."""
    event = view["event"]
    actions = render_typed(rule, view)
    return {
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
        "actions": [a.text for a in actions],
        "typed_actions": [json.dumps(a.as_dict(), sort_keys=True) for a in actions],
    }


def signal_rows(rules: Iterable[Rule], event_views: Iterable[View]) -> list[dict[str, Any]]:
    """Matches per-event rules on views; returns one merge_signals row per match."""
    rows = []
    rules = [r for r in rules if r.beaconing is None]
    by_kind: dict[str | None, list[Rule]] = {}
    for view in event_views:
        kind = view["event"].get("kind")
        applicable = by_kind.get(kind)
        if applicable is None:
            applicable = by_kind[kind] = [r for r in rules if r.kinds is None or kind in r.kinds]
        rows += [signal_row(rule, view) for rule in applicable if rule.matches(view)]
    return rows


@dataclass
class Detection:
    """What one detection step did."""

    queued: int = 0  # events of the batches taken from the queue
    events: int = 0  # events matched: the batches' and those of relinked processes
    signals: int = 0
    retracted: int = 0  # beaconing signals moved to an earlier connection
    lags_ms: list[int] = field(default_factory=list)  # per queued event: commit to detection
    more: bool = False  # batches were left in the queue


def _row(event_id: str, ts: str, process_key: str, props: dict[str, Any]) -> dict[str, Any]:
    # the writer's rows carry normalised times; Neo4j prints them shorter
    return {"id": event_id, "ts": normalize_ts(ts), "process_key": process_key,
            "props": {k: v for k, v in props.items() if v is not None}}  # fmt: skip


def _read_events(db: Database, ids: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for start in range(0, len(ids), VIEW_CHUNK):
        found = db.read_values("rules/batch_events", ids=list(ids[start : start + VIEW_CHUNK]))
        out += [_row(r["id"], r["ts"], r["process_key"], r["props"]) for r in found]
    return out


def detect(
    db: Database,
    rules: Sequence[Rule],
    limit: int = DETECT_CHUNK,
    known: dict[str, Written] | None = None,
) -> Detection:
    """Matches rules on the events of queued batches (at least one, about `limit` events).

    The queue is durable: the writer queues each batch (a :Batch node naming its
    events) in the batch's own transaction, and this step writes its signals
    and deletes the batches in one transaction, so an event committed is
    matched even after a crash. Events of processes that learned their parent
    since (:Relinked) are matched again. `known` holds batches this process
    wrote: their events that were new are exactly the writer's rows, and are
    not read back (it is pruned of the batches taken).
    """
    known = known if known is not None else {}
    waiting = db.read("rules/undetected_events", limit=QUEUE_LOOKAHEAD)
    taken: list[str] = []
    to_read: list[str] = []
    events: list[dict[str, Any]] = []
    lags: list[int] = []
    queued = 0
    for batch in waiting:
        if taken and queued + len(batch["event_ids"]) > limit:
            break
        taken.append(batch["id"])
        queued += len(batch["event_ids"])
        lags += [batch["waited_ms"]] * len(batch["event_ids"])
        written = known.pop(batch["id"], None)
        if written is None:
            to_read += batch["event_ids"]
            continue
        for row in written.events:
            if row["id"] in written.existed:
                to_read.append(row["id"])
            elif row["props"].get("kind") != "alert":
                events.append(row)
    relinked = db.read("rules/relinked_events", limit=max(limit // 10, 1))
    events += _read_events(db, to_read)
    for r in relinked:
        events += [_row(e["id"], e["ts"], r["process_key"], e["props"])
                   for e in r["events"] if e["id"] is not None]  # fmt: skip
    event_views = views(db, events) if rules and events else []
    rows = signal_rows(rules, event_views)
    found = beacons(
        db,
        [r for r in rules if r.beaconing is not None],
        event_views,
        signal_row,
        lambda ids: {v["event"]["id"]: v for v in views(db, _read_events(db, ids))},
    )
    rows += found.signals
    matched = indicator_signals(db, events)  # feeds' indicators (app/indicators/)

    def work(tx: Transaction) -> None:
        if found.retracted:
            tx.run("rules/retract_signals", ids=found.retracted)
        if rows:
            tx.run("ingest/merge_signals", rows=rows)
        write_signals(tx, matched)
        if found.samples:
            tx.run("rules/set_connection_samples", rows=found.samples)
        tx.run("rules/mark_detected", batches=taken, relinked=[r["process_key"] for r in relinked])

    if taken or relinked:
        db.transaction(work)
    return Detection(queued=queued, events=len(events), signals=len(rows) + len(matched),
                     retracted=len(found.retracted), lags_ms=lags,
                     more=len(taken) < len(waiting) or len(waiting) >= QUEUE_LOOKAHEAD)  # fmt: skip


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
