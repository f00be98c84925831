"""Beaconing: one process connecting to one address again and again at a steady interval.

A single event cannot show it, so rules with a `beaconing:` block (app.rules.model
`Beaconing`) run after the per-event rules, in the same detection step. Their
`match` only picks the connections they look at (`network_connect` events); this
module then judges, per process and destination (`ip:port`), the connections the
pair has made.

What is read is bounded whatever a process does. The pair's merged ACTIVITY edge
(cypher/ingest/merge_activity.cypher) keeps a *sample*: the `SAMPLE` earliest picked
connections, as epoch nanoseconds and event ids ordered by (time, id). Each step
merges the batch's new connections into it (cypher/rules/connection_samples.cypher,
set_connection_samples.cypher): the earliest `SAMPLE` of a set do not depend on the
order its members came in, so a process with a million connections costs what one
with `SAMPLE` does, and any order of arrival ends with the same sample.

The test (`trigger()`): connections less than `BURST` apart are one check-in; the
first run of `connections` consecutive check-ins whose intervals each lie within
`jitter` of their median, the median between `min_period` and `max_period`, is a
beacon, and the signal is on the connection that completes that run:
`<rule id>:<event id>`, as for every rule. The trigger is a function of the sample
alone, so when an earlier connection arrives late and moves it, the signal on the
old trigger is retracted (cypher/rules/retract_signals.cypher) and its story
rebuilt: the end state is the one in-order arrival gives. The edge remembers which
signals it placed (`beacon_rules`, `beacon_signals`) so that this needs no search.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from app.neo4j.database import Database
from app.rules.model import Beaconing, Rule, View

SAMPLE = 128  # the earliest connections a pair keeps
MAX_CONNECTIONS = 32  # the most check-ins a rule may ask for
MAX_PERIOD = 7 * 86400.0  # seconds: the longest interval a rule may ask for
BURST = 10**9  # ns: connections closer than this to the last check-in join it
READ_CHUNK = 2000

Sample = list[tuple[int, str]]  # (epoch ns, event id), ordered


@dataclass
class Beacons:
    """What one beaconing step writes: samples, new signals, and signals to retract."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)


def check_ins(sample: Sample) -> Sample:
    """Returns the sample less the connections within BURST of the check-in before them."""
    out: Sample = []
    for ns, event_id in sample:
        if not out or ns - out[-1][0] >= BURST:
            out.append((ns, event_id))
    return out


def trigger(sample: Sample, test: Beaconing) -> str | None:
    """Returns the event completing the first regular run of check-ins, or None."""
    beats = check_ins(sample)
    n = test.connections
    low, high = test.min_period * 1e9, test.max_period * 1e9
    for end in range(n - 1, len(beats)):
        times = [ns for ns, _ in beats[end - n + 1 : end + 1]]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        middle = statistics.median(gaps)
        if low <= middle <= high and max(abs(g - middle) for g in gaps) <= test.jitter * middle:
            return beats[end][1]
    return None


def merged(old: Sample, new: Sample) -> Sample:
    """Returns the SAMPLE earliest connections of two samples' union, each event once."""
    first: dict[str, int] = {}
    for ns, event_id in (*old, *new):
        first[event_id] = min(ns, first.get(event_id, ns))
    return sorted((ns, event_id) for event_id, ns in first.items())[:SAMPLE]


def beacons(
    db: Database,
    rules: Sequence[Rule],
    event_views: Sequence[View],
    signal_row: Callable[[Rule, View], dict[str, Any]],
    view_of: Callable[[list[str]], dict[str, View]],
) -> Beacons:
    """Judges the pairs of the batch's picked connections; returns what to write.

    `signal_row` makes a signal row of a rule and a view; `view_of` returns the views of
    events outside the batch (a trigger moved to an earlier connection), by id.
    """
    picked: dict[str, list[Rule]] = {}
    views: dict[str, View] = {}
    for view in event_views:
        event = view["event"]
        if event.get("kind") == "network_connect":
            hits = [r for r in rules if r.matches(view)]
            if hits:
                picked[event["id"]] = hits
                views[event["id"]] = view
    if not picked:
        return Beacons()
    ids = sorted(picked)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(ids), READ_CHUNK):
        for row in db.read_values("rules/connection_samples", ids=ids[start : start + READ_CHUNK]):
            old = list(zip(row["sample_ns"] or [], row["sample_ids"] or [], strict=False))
            had = dict(zip(row["rules"] or [], row["signals"] or [], strict=False))
            pair = pairs.setdefault(
                (row["process"], row["target"]),
                {"old": sorted(old), "placed": had, "new": [], "rules": {}},
            )
            pair["new"] = merged(pair["new"], [(ns, event_id) for ns, event_id in row["new"]])
            for _, event_id in row["new"]:
                pair["rules"].update((rule.id, rule) for rule in picked[event_id])
    # per pair: its new sample, and each rule's trigger in it
    decided: list[tuple[tuple[str, str], Sample, dict[str, tuple[Rule, str | None]]]] = []
    for key, pair in sorted(pairs.items()):
        sample = merged(pair["old"], pair["new"])
        found = {
            rule_id: (rule, trigger(sample, rule.beaconing))
            for rule_id, rule in sorted(pair["rules"].items())
            if rule.beaconing is not None
        }
        decided.append((key, sample, found))
    outside = sorted(
        {e for _, _, found in decided for _, e in found.values() if e and e not in views}
    )
    if outside:
        views.update(view_of(outside))
    out = Beacons()
    for (process, target), sample, found in decided:
        before: dict[str, str] = pairs[(process, target)]["placed"]
        placed = dict(before)
        for rule_id, (rule, event_id) in found.items():
            want = f"{rule_id}:{event_id}" if event_id is not None and event_id in views else None
            if placed.get(rule_id) not in (None, want):
                out.retracted.append(placed.pop(rule_id))
            if want is not None and placed.get(rule_id) != want:
                placed[rule_id] = want
                out.signals.append(signal_row(rule, views[cast(str, event_id)]))
        if sample != pairs[(process, target)]["old"] or placed != before:
            ordered = sorted(placed.items())
            out.samples.append(
                {"process": process, "target": target, "ns": [ns for ns, _ in sample],
                 "ids": [i for _, i in sample], "rules": [r for r, _ in ordered] or None,
                 "signals": [s for _, s in ordered] or None}
            )  # fmt: skip
    return out
