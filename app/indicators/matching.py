"""Events matched against indicators: a Signal named after the feed, new events and stored.

Detection (app/rules/signals.py) calls `indicator_signals` on every batch it
takes from the queue: the batch's remote addresses, DNS names and file hashes
(values.observables) are looked up in one indexed read, and each event that
carries a listed value gets one signal per feed listing it:

    id        indicator:<feed>:<event id>     (rule id `indicator:<feed>`)
    title     Indicator from <feed>: <value>  (the first matched value by id)
    severity  the feed's (set at import; high unless told)
    actions   block egress to the address or domain (BLOCK_EGRESS), and review what
              the process did with it; for a file of listed content, review it (REVIEW)

An indicator matches an event at or before its `valid_until`: the event's time
decides, not the clock, so that matching stored events later gives what
matching them on arrival would have.

`recheck` matches the events already stored when a feed is imported: it reads
them through the entity nodes they touched (cypher/indicators/candidates.cypher)
as a stream, and matches and writes them in batches of RECHECK_BATCH with the
same function, reporting progress after each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from app.events import normalize_ts
from app.indicators.values import observables
from app.neo4j.database import Database, Transaction
from app.rules.actions import ResponseAction

RECHECK_BATCH = 2000  # events matched and written per transaction
RECHECK_LIMIT = 1_000_000  # events one re-check reads at most

RULE_PREFIX = "indicator:"


def rule_id(feed: str) -> str:
    """Returns the rule id of a feed's signals."""
    return f"{RULE_PREFIX}{feed}"


def indicator_signals(
    db: Database, events: Sequence[dict[str, Any]], feed: str | None = None
) -> list[dict[str, Any]]:
    """Returns one merge_signals row per (feed, event) where an event ({id, ts,
    process_key, props}) carries a value a feed lists; `indicators` holds the ids of
    the indicators it matched (for indicators/link_signals). With `feed`, that feed's."""
    wanted: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        for found in observables(event["props"]):
            wanted.setdefault(found, []).append(event)
    if not wanted:
        return []
    rows: dict[str, dict[str, Any]] = {}
    for listed in db.read("indicators/lookup", ids=sorted(wanted), feed=feed):
        until = normalize_ts(listed["valid_until"]) if listed["valid_until"] else None
        for event in wanted[listed["id"]]:
            ts = normalize_ts(event["ts"])
            if until is not None and ts > until:
                continue
            signal_id = f"{rule_id(listed['feed'])}:{event['id']}"
            row = rows.get(signal_id)
            if row is None:
                rows[signal_id] = _row(signal_id, listed, event, ts)
            elif listed["id"] not in row["indicators"]:
                row["indicators"].append(listed["id"])
    return [rows[k] for k in sorted(rows)]


def _row(signal_id: str, listed: dict[str, Any], event: dict[str, Any], ts: str) -> dict:
    feed, value = listed["feed"], listed["value"]
    actions = _actions(listed["type"], value, feed, event["props"])
    return {
        "id": signal_id,
        "on_event": event["id"],
        "rule_id": rule_id(feed),
        "title": f"Indicator from {feed}: {value}",
        "severity": listed["severity"] or "high",
        "tactic": listed["tactic"],
        "technique": listed["technique"],
        "compromises": False,
        "description": listed["description"],
        "source": f"feed:{feed}",
        "ts": ts,
        "actions": [a.text for a in actions],
        "typed_actions": [json.dumps(a.as_dict(), sort_keys=True) for a in actions],
        "indicators": [listed["id"]],
    }


def _actions(type_: str, value: str, feed: str, props: dict[str, Any]) -> list[ResponseAction]:
    """The typed actions of a match (app/rules/actions.py): an address or a domain is
    blocked at egress (its target the same for every signal, so a story lists it once);
    what the process did with it, or a file of listed content, is for people to review."""
    host = props.get("host_id") or "its host"
    who = f"pid {props.get('pid', 'unknown')} on {host}"
    if type_ in ("ip", "domain"):
        address = {"kind": "address", "ip": None, "port": None, "domain": None}
        address["ip" if type_ == "ip" else "domain"] = value
        block = f"Block egress to {value} (listed by {feed})"
        return [
            ResponseAction("BLOCK_EGRESS", block, address),
            ResponseAction("REVIEW", f"Find what {who} exchanged with {value}", None),
        ]
    where = f"{props.get('path') or 'the file'} on {host}"
    text = f"Quarantine {where}: its content ({type_} {value}) is listed by {feed}"
    return [ResponseAction("REVIEW", text, None)]


def write_signals(tx: Transaction, rows: list[dict[str, Any]]) -> None:
    """Writes indicator signals and links them to what they matched, in one transaction."""
    if rows:
        tx.run("ingest/merge_signals", rows=rows)
        tx.run("indicators/link_signals", rows=rows)


@dataclass
class Recheck:
    """How far a re-check of stored events has come."""

    events: int = 0  # events read and matched
    signals: int = 0  # signals written (a signal that existed is written again, unchanged)
    complete: bool = True  # False when it stopped at its limit of events


def recheck(
    db: Database,
    feed: str,
    progress: Callable[[Recheck], object] | None = None,
    limit: int = RECHECK_LIMIT,
) -> Recheck:
    """Matches a feed's indicators on the stored events that touched them; returns counts."""
    db.read("indicators/refresh_hashes")  # files written a moment ago are findable
    done = Recheck()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        rows = indicator_signals(db, batch, feed)
        db.transaction(lambda tx: write_signals(tx, rows))
        done.events += len(batch)
        done.signals += len(rows)
        batch.clear()
        if progress is not None:
            progress(done)

    rows = _stream(db, "indicators/candidates", feed=feed)
    try:
        for row in rows:
            if done.events + len(batch) >= limit:
                done.complete = False
                break
            batch.append(
                {"id": row["id"], "ts": row["ts"], "process_key": row["process_key"],
                 "props": {k: v for k, v in row["props"].items() if v is not None}}
            )  # fmt: skip
            if len(batch) >= RECHECK_BATCH:
                flush()
    finally:
        rows.close()  # a stream left early ends its query now, not when collected
    if batch:
        flush()
    return done


def _stream(db: Database, name: str, **params: Any) -> Generator[dict[str, Any], None, None]:
    """Yields the rows of a read statement as Neo4j sends them (the driver fetches them
    a thousand at a time), so that a re-check holds one batch in memory, not every event."""
    from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired

    from app.errors import DatabaseError, DatabaseUnavailable
    from app.neo4j.database import cypher

    try:
        with db.session(write=False) as session:
            for record in session.run(cypher(name), params):
                yield record.data()
    except (ServiceUnavailable, SessionExpired) as exc:
        raise DatabaseUnavailable(f"Neo4j does not answer: {exc}") from exc
    except Neo4jError as exc:
        raise DatabaseError(f"{exc.code}: {exc.message}", exc.code) from exc
