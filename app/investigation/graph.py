"""A story's investigation graph: what it holds, compacted and bounded (exports: exports.py).

The graph holds the story's processes with their lineage up to the top, what
they touched, where they ran (with status), the audit records related to them
and the findings on their hosts and containers. It is compact, and the
compaction never changes what the graph says about a process:

- The events of one process of one kind on one target are one edge, with the
  events' `count`, `first_seen` and `last_seen` (`kinds` holds the event kind),
  read from the ACTIVITY relationships the writer keeps, so that building a
  graph costs what the processes did, not how many events they made.
- Sibling processes become one `ProcessGroup` node (with `count` and the
  `members`' keys) only when every question about them has the same answer:
  they are leaves (no children, so no descendants to tell apart), not a
  context root, with the same parents (so the same ancestors), the same
  executable and arguments, user, hosts and containers, and the same set of
  (event kind, target) touches, signal rules and related audit records.
  A member's ancestors, descendants and touched resources are then its group's.

Times are read as epoch nanoseconds (Instant): the driver's DateTime is slow
to build by the tens of thousands. It is bounded: at most `max_nodes` nodes and
`max_activity` merged activity edges. Past that it is cut deterministically
(members by start time, then nodes by kind and lineage depth) and says so with
`truncated: true`.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from app.events import format_ts
from app.investigation.paging import time_window
from app.investigation.stories import SEVERITY_RANK
from app.neo4j.database import Database

MAX_NODES = 5000
PROCESS_TIMES = ("start_time", "exit_time")
MAX_ACTIVITY = 20000

NODE_KINDS = (
    "Process", "ProcessGroup", "File", "Endpoint", "Domain", "Host", "Container", "Pod",
    "AuditRecord", "Finding",
)  # fmt: skip
EDGE_TYPES = (
    "CHILD_OF", "TOUCHES", "CONNECTS", "RESOLVES", "ON_HOST", "IN_CONTAINER", "IN_POD",
    "RELATES_TO", "AFFECTS",
)  # fmt: skip
RESOURCE_KIND = {"TOUCHES": "File", "CONNECTS": "Endpoint", "RESOLVES": "Domain"}
STATUSES = ("running", "exited", "unknown")
# status values other writers may use for hosts, containers and pods
STATUS_ALIASES = {"stopped": "exited", "terminated": "exited", "dead": "exited", "up": "running"}
# what the members of a process group share, by construction (see _groups)
GROUP_SHARED = (
    "exe", "args", "user", "uid", "host_id", "container_id", "in_story", "signal_rules",
    "signal_severity",
)  # fmt: skip
# the order in which a cut keeps nodes: lineage first, then where it ran, then the rest
CUT_ORDER = {
    "Process": 0, "ProcessGroup": 0, "Host": 1, "Container": 1, "Pod": 1,
    "AuditRecord": 2, "Finding": 2, "File": 3, "Endpoint": 3, "Domain": 3,
}  # fmt: skip


# -- building -------------------------------------------------------------------


def node_id(kind: str, key: str) -> str:
    """Returns the id of a graph node: its kind and its key in the database."""
    return f"{kind}:{key}"


def _iso(value: Any) -> str:
    """Returns a Neo4j temporal value in the one format the API prints (format_ts)."""
    return format_ts(value) or ""


class Instant(int):
    """A time as epoch nanoseconds, read from Cypher as an integer: the driver's
    temporal types are slow to build, and a large story has tens of thousands of
    times. It prints like Neo4j's DateTime (`iso_format`) and orders like a number."""

    def iso_format(self) -> str:
        seconds, nanos = divmod(int(self), 10**9)
        day = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{day}.{nanos:09d}+00:00"


def _instant(value: Any) -> Any:
    """Returns an epoch-nanosecond integer, or a Neo4j DateTime, as an Instant."""
    if value is None or isinstance(value, Instant):
        return value
    if isinstance(value, int):
        return Instant(value)
    if hasattr(value, "to_native") and hasattr(value, "nanosecond"):  # neo4j.time.DateTime
        seconds = calendar.timegm(value.to_native().utctimetuple())
        return Instant(seconds * 10**9 + value.nanosecond)
    return value


def _with_instants(props: dict[str, Any]) -> dict[str, Any]:
    """Returns a property map with its times as Instants, so that all times compare."""
    return {k: _instant(v) if hasattr(v, "iso_format") else v for k, v in props.items()}


def _sortable(value: Any) -> str:
    """Returns a value as text that sorts in time order (fixed-width ISO 8601)."""
    if value is None:
        return "~"
    return value.iso_format() if hasattr(value, "iso_format") else str(value)


def _plain(value: Any) -> Any:
    """Returns a value with Neo4j temporal values as ISO 8601 strings, maps sorted by key."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if hasattr(value, "iso_format"):
        return _iso(value)
    return value


def _props(raw: dict[str, Any]) -> dict[str, Any]:
    """Returns node properties without nulls or internal fields (named `_...`)."""
    return {k: v for k, v in raw.items() if v is not None and not k.startswith("_")}


def _latest(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _earliest(*values: Any) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def place_status(props: dict[str, Any]) -> str:
    """Returns a host's, container's or pod's status: its `status` property when it
    says running or exited (or a synonym), else unknown (nothing says either)."""
    raw = str(props.get("status") or "").lower()
    status = STATUS_ALIASES.get(raw, raw)
    return status if status in STATUSES else "unknown"


def process_status(props: dict[str, Any], places: list[str]) -> str:
    """Returns a process's status: exited once its exit was seen (exit_time) or the
    container or host it ran in has exited; unknown for a placeholder (only named
    as a parent or ancestor, never seen itself); else running (no exit seen)."""
    if props.get("exit_time") is not None or props.get("exit_code") is not None:
        return "exited"
    if "exited" in places:
        return "exited"
    if props.get("placeholder"):
        return "unknown"
    return "running"


def _label(kind: str, key: str, props: dict[str, Any]) -> str:
    if kind == "Process":
        name = PurePosixPath(props.get("exe") or props.get("comm") or "?").name
        return f"{name} ({props['pid']})" if props.get("pid") is not None else name
    if kind == "ProcessGroup":
        return f"{PurePosixPath(props.get('exe') or '?').name} x{props['count']}"
    if kind == "File":
        return props.get("path") or key
    if kind == "Host":
        return props.get("name") or key
    if kind == "Container":
        return props.get("name") or key
    if kind == "Pod":
        pod = props.get("name")
        return f"{props['namespace']}/{pod}" if pod and props.get("namespace") else pod or key
    if kind == "AuditRecord":
        return props.get("action") or key
    if kind == "Finding":
        return props.get("ref") or props.get("title") or key
    return key


@dataclass
class _Edge:
    type: str
    source: str
    target: str
    kind: str | None = None
    count: int = 0
    first_seen: Any = None
    last_seen: Any = None

    @property
    def id(self) -> str:
        base = f"{self.type}:{self.source}->{self.target}"
        return f"{base}:{self.kind}" if self.kind else base


@dataclass
class _Builder:
    """Accumulates nodes and edges; an edge added twice is merged (counts add up)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str, str, str | None], _Edge] = field(default_factory=dict)
    rank: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def node(self, kind: str, key: str, props: dict[str, Any], rank: tuple[Any, ...]) -> str:
        nid = node_id(kind, key)
        if nid not in self.nodes:
            props = _plain({k: v for k, v in props.items() if v is not None})
            label = _label(kind, key, props)
            self.nodes[nid] = {"id": nid, "kind": kind, "label": label, "properties": props}
            self.rank[nid] = (CUT_ORDER[kind], *rank, nid)
        return nid

    def edge(
        self,
        type_: str,
        source: str,
        target: str,
        kind: str | None = None,
        count: int = 1,
        first_seen: Any = None,
        last_seen: Any = None,
    ) -> None:
        slot = (type_, source, target, kind)
        edge = self.edges.get(slot)
        if edge is None:
            edge = self.edges[slot] = _Edge(type_, source, target, kind)
        edge.count += count
        edge.first_seen = _earliest(edge.first_seen, first_seen)
        edge.last_seen = _latest(edge.last_seen, last_seen)

    def finish(self, max_nodes: int, truncated: bool) -> tuple[list[dict], list[dict], bool]:
        keep = sorted(self.nodes, key=lambda nid: self.rank[nid])
        if len(keep) > max_nodes:
            keep, truncated = keep[:max_nodes], True
        kept = set(keep)
        nodes = [self.nodes[nid] for nid in sorted(kept)]
        edges = sorted(
            (e for e in self.edges.values() if e.source in kept and e.target in kept),
            key=lambda e: e.id,
        )
        return nodes, [_edge_data(e) for e in edges], truncated


def _edge_data(e: _Edge) -> dict[str, Any]:
    return {
        "id": e.id,
        "source": e.source,
        "target": e.target,
        "type": e.type,
        "count": e.count,
        "first_seen": _plain(e.first_seen),
        "last_seen": _plain(e.last_seen),
        "kinds": [e.kind] if e.kind else [],
    }


def _depths(parents: dict[str, list[str]]) -> dict[str, int]:
    """Returns each process's distance from the top of its lineage (the longest way up)."""
    depth: dict[str, int] = {}
    for start in sorted(parents):
        stack, open_ = [start], {start}
        while stack:
            key = stack[-1]
            # a parent already open is a CHILD_OF cycle (bad input): it is not followed
            todo = [p for p in parents[key] if p not in depth and p not in open_]
            if todo:
                stack.append(todo[0])
                open_.add(todo[0])
                continue
            stack.pop()
            open_.discard(key)
            depth[key] = 1 + max((depth[p] for p in parents[key] if p in depth), default=-1)
    return depth


def _groups(
    procs: dict[str, dict[str, Any]],
    roots: set[str],
    touches: dict[str, dict[tuple, list]],
    signals: dict[str, dict[str, Any]],
    audits: dict[str, set[str]],
) -> dict[str, list[str]]:
    """Returns the sibling groups worth merging (two members or more), by first member.

    Siblings merge only when the graph answers every question about them the
    same way: leaves that are no context root, with the same parents, executable,
    arguments, user, hosts, containers, touches, signal rules and audit records."""
    has_children = {parent for row in procs.values() for parent in row["parents"]}
    by_signature: dict[tuple, list[str]] = defaultdict(list)
    for key, row in procs.items():
        if key in has_children or key in roots or not row["parents"]:
            continue
        props = row["props"]
        signature = (
            tuple(sorted(row["parents"])),
            props.get("exe"),
            tuple(props.get("args") or ()),
            props.get("uid"),
            props.get("user"),
            tuple(sorted(row["hosts"])),
            tuple(sorted(row["containers"])),
            row["member"],
            tuple(sorted(touches.get(key, {}))),
            tuple(sorted(signals.get(key, {}).get("rules", ()))),
            tuple(sorted(audits.get(key, ()))),
        )
        by_signature[signature].append(key)
    groups = {}
    for members in by_signature.values():
        if len(members) > 1:
            members.sort()
            groups[members[0]] = members
    return groups


def _signal_marks(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    marks = {}
    for r in rows:
        severity = max(r["severities"], key=lambda s: SEVERITY_RANK.get(s, 2))
        marks[r["key"]] = {"rules": sorted(r["rules"]), "severity": severity, "count": r["count"]}
    return marks


@dataclass
class _Found:
    """What the database holds for one story's graph, before compaction."""

    story: dict[str, Any]
    contexts: list[dict[str, Any]]
    procs: dict[str, dict[str, Any]]
    activity: list[dict[str, Any]]
    signals: dict[str, dict[str, Any]]
    containers: dict[str, dict[str, Any]]
    hosts: dict[str, dict[str, Any]]
    audit: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    truncated: bool


def _find(
    db: Database, story_id: str, max_nodes: int, max_activity: int, window: dict[str, Any]
) -> _Found | None:
    """Reads a story's processes, activity, places, audit records and findings, each
    query bounded by the limits; `window` ({from, to}) narrows processes, activity and
    audit records to a time window."""
    found = db.read("graph/story", id=story_id)
    if not found:
        return None
    story, contexts = found[0]["story"], found[0]["contexts"]
    keys = sorted(set(story["correlation_keys"]) | {c["key"] for c in contexts})
    members = [r["key"] for r in db.read("graph/members", keys=keys, limit=max_nodes + 1, **window)]
    truncated = len(members) > max_nodes
    members = members[:max_nodes]
    procs = {}
    for r in db.read("graph/processes", keys=members):
        r["props"] = {**r["props"], **{t: _instant(r["props"].get(t)) for t in PROCESS_TIMES}}
        r["last_event"] = _instant(r["last_event"])
        procs[r["key"]] = r
    activity = db.read("graph/activity", keys=members, limit=max_activity + 1, **window)
    for r in activity:
        r["first_seen"], r["last_seen"] = _instant(r["first_seen"]), _instant(r["last_seen"])
    truncated |= len(activity) > max_activity
    container_ids = sorted({c for r in procs.values() for c in r["containers"]})
    containers = {}
    for r in db.read("graph/containers", ids=container_ids):
        r["props"] = _with_instants(r["props"])
        containers[r["id"]] = r
    host_ids = sorted(
        {h for r in procs.values() for h in r["hosts"]}
        | {h for r in containers.values() for h in r["hosts"]}
    )
    pod_uids = sorted({p["uid"] for r in containers.values() for p in r["pods"]})
    audit = db.read(
        "graph/audit_records",
        process_keys=sorted(procs),
        context_keys=keys,
        container_ids=container_ids,
        pod_uids=pod_uids,
        limit=max_nodes + 1,
        **window,
    )
    findings = db.read(
        "graph/findings", host_ids=host_ids, container_ids=container_ids, limit=max_nodes + 1
    )
    truncated |= len(audit) > max_nodes or len(findings) > max_nodes
    return _Found(
        story=story,
        contexts=contexts,
        procs=procs,
        activity=activity[:max_activity],
        signals=_signal_marks(db.read("graph/signals", id=story_id)),
        containers=containers,
        hosts={
            r["id"]: {**r, "props": _with_instants(r["props"])}
            for r in db.read("graph/hosts", ids=host_ids)
        },
        audit=audit[:max_nodes],
        findings=findings[:max_nodes],
        truncated=truncated,
    )


class _Compactor:
    """Turns what was found into the compact graph."""

    def __init__(self, found: _Found) -> None:
        self.found = found
        self.procs = found.procs
        self.roots = {c["root"] for c in found.contexts if c.get("root")}
        # activity merged per (process, kind, target): each process's (type, kind, target) slots
        self.touches: dict[str, dict[tuple[str, str, str], list[Any]]] = defaultdict(dict)
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        for r in found.activity:
            slot = (r["type"], r["kind"], r["target"])
            self.touches[r["process"]][slot] = [r["count"], r["first_seen"], r["last_seen"]]
            self.resources[RESOURCE_KIND[r["type"]], r["target"]] = r["props"]
        audited: dict[str, set[str]] = defaultdict(set)
        for r in found.audit:
            if r["target_kind"] == "Process":
                audited[r["target"]].add(r["id"])
        self.groups = _groups(self.procs, self.roots, self.touches, found.signals, audited)
        self.depth = _depths({k: [p for p in r["parents"] if p in self.procs]
                              for k, r in self.procs.items()})  # fmt: skip
        self.node_of: dict[str, str] = {}
        self.status_of: dict[str, tuple[str, Any]] = {}
        self.b = _Builder()

    def graph(self, max_nodes: int) -> dict[str, Any]:
        self.places()
        self.processes()
        self.lineage_and_activity()
        self.audit_and_findings()
        nodes, edges, truncated = self.b.finish(max_nodes, self.found.truncated)
        story = {**_props(self.found.story), "contexts": [_props(c) for c in self.found.contexts]}
        return {"story": _plain(story), "nodes": nodes, "edges": edges, "truncated": truncated}

    def places(self) -> None:
        for hid, r in self.found.hosts.items():
            status = place_status(r["props"])
            self.status_of[node_id("Host", hid)] = (status, r["props"].get("last_seen"))
            self.b.node("Host", hid, {**_props(r["props"]), "status": status}, (hid,))
        for r in self.found.containers.values():
            for pod in r["pods"]:
                props = {**_props(pod), "status": place_status(pod)}
                self.b.node("Pod", pod["uid"], props, (pod["uid"],))
        for cid, r in self.found.containers.items():
            status = place_status(r["props"])
            self.status_of[node_id("Container", cid)] = (status, r["props"].get("last_seen"))
            nid = self.b.node("Container", cid, {**_props(r["props"]), "status": status}, (cid,))
            for hid in r["hosts"]:
                self.b.edge("ON_HOST", nid, node_id("Host", hid))
            for pod in r["pods"]:
                self.b.edge("IN_POD", nid, node_id("Pod", pod["uid"]))

    def process_props(self, key: str) -> dict[str, Any]:
        r, props = self.procs[key], self.procs[key]["props"]
        places = [node_id("Host", h) for h in r["hosts"]]
        places += [node_id("Container", c) for c in r["containers"]]
        known = [self.status_of[p] for p in places if p in self.status_of]
        status = process_status(props, [s for s, _ in known])
        if props.get("exit_time") is not None:
            last_seen = props["exit_time"]
        else:
            ended = [seen for s, seen in known if s == "exited"] if status == "exited" else []
            last_seen = _earliest(*ended) or _latest(r["last_event"], props.get("start_time"))
        mark = self.found.signals.get(key)
        return {
            **_props(props),
            "key": key,
            "status": status,
            "last_seen": last_seen,
            "in_story": r["member"],
            "context_root": key in self.roots,
            "signal_rules": mark["rules"] if mark else [],
            "signal_severity": mark["severity"] if mark else None,
            "signal_count": mark["count"] if mark else 0,
        }

    def rank(self, key: str, start: Any) -> tuple[Any, ...]:
        # ancestors before descendants, so that a cut keeps every kept process's lineage
        return (self.depth[key], _sortable(start), key)

    def processes(self) -> None:
        grouped = {m: first for first, ms in self.groups.items() for m in ms}
        for key in sorted(self.procs):
            if key in grouped:
                self.node_of[key] = node_id("ProcessGroup", grouped[key])
            else:
                start = self.procs[key]["props"].get("start_time")
                props = self.process_props(key)
                self.node_of[key] = self.b.node("Process", key, props, self.rank(key, start))
        for first, members in sorted(self.groups.items()):
            each = [self.process_props(m) for m in members]
            statuses = {p["status"] for p in each}
            if "running" in statuses:
                status = "running"
            else:
                status = "exited" if statuses == {"exited"} else "unknown"
            starts = [self.procs[m]["props"].get("start_time") for m in members]
            props = {
                "count": len(members),
                "members": members,
                "pids": [p.get("pid") for p in each],
                **{k: each[0].get(k) for k in GROUP_SHARED},
                "signal_count": sum(p["signal_count"] for p in each),
                "first_start": _earliest(*starts),
                "last_start": _latest(*starts),
                "status": status,
                "last_seen": _latest(*(p["last_seen"] for p in each)),
            }
            self.b.node("ProcessGroup", first, props, self.rank(first, _earliest(*starts)))

    def lineage_and_activity(self) -> None:
        for key, r in sorted(self.procs.items()):
            source = self.node_of[key]
            for parent in r["parents"]:
                if parent in self.procs:
                    self.b.edge("CHILD_OF", source, self.node_of[parent])
            for hid in r["hosts"]:
                self.b.edge("ON_HOST", source, node_id("Host", hid))
            for cid in r["containers"]:
                self.b.edge("IN_CONTAINER", source, node_id("Container", cid))
            for (type_, kind, target), (n, first, last) in sorted(self.touches[key].items()):
                target_id = node_id(RESOURCE_KIND[type_], target)
                self.b.edge(type_, source, target_id, kind, n, first, last)
        first_touch: dict[str, Any] = {}
        for e in self.b.edges.values():
            if e.kind is not None:
                first_touch[e.target] = _earliest(first_touch.get(e.target), e.first_seen)
        for (kind, key), raw in sorted(self.resources.items()):
            self.b.node(kind, key, raw, (_sortable(first_touch.get(node_id(kind, key))),))

    def audit_and_findings(self) -> None:
        root_of = {c["key"]: c.get("root") for c in self.found.contexts}
        records: dict[str, dict[str, Any]] = {}
        for r in self.found.audit:
            props = records.setdefault(r["id"], {**_props(r["props"]), "contexts": []})
            if r["target_kind"] == "Context":
                props["contexts"].append(r["target"])
        for aid, props in sorted(records.items()):
            self.b.node("AuditRecord", aid, props, (_sortable(props.get("ts")),))
        for r in self.found.audit:
            source = node_id("AuditRecord", r["id"])
            if r["target_kind"] == "Process":
                self.b.edge("RELATES_TO", source, self.node_of[r["target"]])
            elif r["target_kind"] == "Context":
                # contexts are not nodes of the graph: the record points at the context's root
                root = root_of.get(r["target"])
                if root in self.node_of:
                    self.b.edge("RELATES_TO", source, self.node_of[root])
            else:
                self.b.edge("RELATES_TO", source, node_id(r["target_kind"], r["target"]))
        for r in self.found.findings:
            fid = self.b.node("Finding", r["id"], _props(r["props"]), (r["id"],))
            self.b.edge("AFFECTS", fid, node_id(r["target_kind"], r["target"]))


def build_graph(
    db: Database,
    story_id: str,
    *,
    max_nodes: int = MAX_NODES,
    max_activity: int = MAX_ACTIVITY,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any] | None:
    """Builds a story's investigation graph as plain data; None when no story has the id.

    Returns {story, nodes: [{id, kind, label, properties}], edges: [{id, source,
    target, type, count, first_seen, last_seen, kinds}], truncated}, sorted by id.
    `start`, `end` (RFC 3339, either may be None) keep the processes alive in that
    window (with their ancestors), the activity and the audit records of it."""
    lo, hi = time_window(start, end)
    found = _find(db, story_id, max_nodes, max_activity, {"from": lo, "to": hi})
    return _Compactor(found).graph(max_nodes) if found is not None else None


# -- exports --------------------------------------------------------------------
