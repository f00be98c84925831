"""A batch of events as the writer's rows: one row per node key, pre-merged.

Python shapes the rows so that no statement in cypher/ingest/ sees a key twice in
one batch; the writer (app/ingest.py) runs them. The merge rules here are the
same as the statements': order-independent, so a batch's rows do not depend on
the order of its events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from app.adapters import Item
from app.events import (
    Alert,
    AlertEvent,
    AuditRecord,
    DnsEvent,
    DnsQuery,
    EventBase,
    FileEvent,
    FileTarget,
    Finding,
    ImdsEvent,
    ImdsRequest,
    Model,
    NetworkEvent,
    NetworkTarget,
    Process,
    ProcessExit,
    ProcessRef,
)
from app.layers import session_uuids

# Process properties merged field by field (see cypher/ingest/merge_processes.cypher).
PROCESS_FIELDS: tuple[str, ...] = (
    "pid", "ppid", "exe", "comm", "args", "cwd", "uid", "user", "gid", "group",
    "auid", "session_id", "tty", "cgroup", "service", "start_time",
    "exit_time", "exit_code", "host_id", "container_id",
    "session_kind", "session_user", "session_ref", "ssh_client_ip",
)  # fmt: skip

FIELD_INDEX = {name: i for i, name in enumerate(PROCESS_FIELDS)}
# The fields that hold a timestamp: sent as its normalised text and made a
# datetime by the statement, because the driver's Python encoding of a
# DateTime parameter costs about 45 microseconds (most of a process row's cost).
TIME_FIELDS: tuple[int, ...] = (FIELD_INDEX["start_time"], FIELD_INDEX["exit_time"])

RANK_OWN, RANK_ACTOR, RANK_PARENT, RANK_ANCESTOR = 3, 2, 1, 0
OWN_KINDS = frozenset({"process_exec", "process_fork", "process_exit"})


@dataclass
class Rows:
    """The rows of one batch, keyed like WRITE_ORDER, pre-merged per node key (the
    activity rows aside: split_activity makes them once the writer knows what existed)."""

    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # child -> (stamp, parent): one parent per process, the best-sourced naming
    lineage: dict[str, tuple[str, str]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    domains: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, item: Item) -> None:
        """Shapes one event, audit record or finding into rows."""
        if isinstance(item, AuditRecord):
            self._audit(item)
        elif isinstance(item, Finding):
            self._finding(item)
        else:
            self._event(item)

    def as_params(self) -> dict[str, list[dict[str, Any]]]:
        """Returns the rows of each statement, in a deterministic order."""
        return {
            "hosts": _sorted(self.hosts),
            "pods": _sorted(self.pods),
            "containers": _sorted(self.containers),
            "processes": _sorted(self.processes),
            "lineage": [
                {"child": c, "parent": p, "stamp": stamp}
                for c, (stamp, p) in sorted(self.lineage.items())
            ],
            "events": _sorted(self.events),
            "files": self.files,
            "endpoints": self.endpoints,
            "domains": self.domains,
            "signals": _sorted(self.signals),
            "audit_records": _sorted(self.audit_records),
            "findings": _sorted(self.findings),
        }

    # events ---------------------------------------------------------------

    def _event(self, event: EventBase) -> None:
        host_id = event.host.id
        self._seen(self.hosts, host_id, event.ts, {"id": host_id, "name": event.host.name})
        container_id = None
        if event.pod is not None:
            pod = event.pod
            self._seen(
                self.pods,
                pod.key,
                event.ts,
                {
                    "uid": pod.key,
                    "name": pod.name,
                    "namespace": pod.namespace,
                    "cluster": pod.cluster,
                    "workload": pod.workload,
                },
            )
        if event.container is not None:
            c = event.container
            container_id = c.id
            self._seen(
                self.containers,
                c.id,
                event.ts,
                {
                    "id": c.id,
                    "name": c.name,
                    "image": c.image,
                    "runtime": c.runtime,
                    "host_id": host_id,
                    "pod_uid": event.pod.key if event.pod else None,
                },
            )
        key = event.process.identity(host_id)
        own = event.kind in OWN_KINDS  # type: ignore[attr-defined]
        values = _process_values(event.process, host_id, container_id)
        if event.process.ppid is None and event.parent is not None and event.parent.pid:
            values["ppid"] = event.parent.pid
        if event.session is not None:
            values.update(
                session_kind=event.session.kind,
                session_user=event.session.user,
                session_ref=event.session.id,
                ssh_client_ip=event.session.ssh_client_ip,
            )
        if isinstance(event, ProcessExit):
            values.update(exit_time=event.ts, exit_code=event.exit_code)
        self._process(key, RANK_OWN if own else RANK_ACTOR, event.id, values)

        # lineage: process -> parent -> ancestors[0] -> ancestors[1] ...
        # A link is as good as who states it: the process's own exec, fork or exit
        # best, then its other events, then an event further down naming ancestors.
        child = key
        link_rank = RANK_OWN if own else RANK_ACTOR
        chain: list[tuple[ProcessRef, int]] = []
        if event.parent is not None:
            chain.append((event.parent, RANK_PARENT))
        chain += [(a, RANK_ANCESTOR) for a in event.ancestors]
        for ref, rank in chain:
            ref_key = ref.identity_or_none(host_id)
            if ref_key is None:
                break  # an unidentifiable link ends what can be linked
            if ref_key == child:
                continue  # a sensor listed the process among its own ancestors
            # a parent's container is unknown: runc and the shim live outside it
            self._process(ref_key, rank, event.id, _process_values(ref, host_id, None))
            self._link(child, ref_key, f"{link_rank}|{event.id}")
            child, link_rank = ref_key, RANK_ANCESTOR

        props = _event_props(event)
        self.events[event.id] = {
            "id": event.id,
            "ts": event.ts,
            "digest": _digest(event),
            "process_key": key,
            "props": props,
        }
        self._targets(event, host_id, container_id)
        if isinstance(event, AlertEvent):
            alert = event.alert
            self.signals[f"sensor:{event.id}"] = {
                "id": f"sensor:{event.id}",
                "on_event": alert.on_event or event.id,
                "rule_id": alert.rule_id,
                "title": alert.title,
                "severity": alert.severity,
                "tactic": alert.tactic,
                "technique": alert.technique,
                "compromises": alert.compromises,
                "description": alert.description,
                "source": event.source,
                "ts": event.ts,
            }

    def _targets(self, event: EventBase, host_id: str, container_id: str | None) -> None:
        if isinstance(event, FileEvent):
            for path in filter(None, (event.file.path, event.file.target_path)):
                scope = f"container:{container_id}" if container_id else f"host:{host_id}"
                self.files.append(
                    {
                        "event_id": event.id,
                        "key": f"{scope}:{path}",
                        "path": path,
                        "host_id": host_id,
                        "container_id": container_id,
                        "hashes": event.file.hashes,
                    }
                )
        elif isinstance(event, NetworkEvent):
            net = event.network
            ip, port = (
                (net.src_ip, net.src_port)
                if event.kind in ("network_bind", "network_listen")
                else (net.dst_ip, net.dst_port)
            )
            if ip is not None or port is not None:
                self.endpoints.append(_endpoint(event.id, ip, port, net.protocol))
        elif isinstance(event, ImdsEvent) and event.imds.server_ip:
            self.endpoints.append(_endpoint(event.id, event.imds.server_ip, 80, "tcp"))
        elif isinstance(event, DnsEvent):
            self.domains.append({"event_id": event.id, "key": domain_key(event.dns.name)})

    def _link(self, child: str, parent: str, stamp: str) -> None:
        """Keeps one parent per child: the greatest (stamp, parent key), as the graph does."""
        current = self.lineage.get(child)
        if current is None or (stamp, parent) > current:
            self.lineage[child] = (stamp, parent)

    def _process(self, key: str, rank: int, event_id: str, values: dict[str, Any]) -> None:
        stamp = f"{rank}|{event_id}"
        row = self.processes.get(key)
        if row is None:
            row = self.processes[key] = {
                "key": key,
                "rank": rank,
                "uuids": session_uuids(key),
                "host_id": values.get("host_id"),
                "container_id": values.get("container_id"),
                "values": [None] * len(PROCESS_FIELDS),
                "stamps": [""] * len(PROCESS_FIELDS),
            }
        row["rank"] = max(row["rank"], rank)
        if row["container_id"] is None and values.get("container_id"):
            row["container_id"] = values["container_id"]
        stamps, kept = row["stamps"], row["values"]
        for name, value in values.items():
            i = FIELD_INDEX.get(name)
            if i is not None and value is not None and stamp > stamps[i]:
                kept[i] = value
                stamps[i] = stamp

    @staticmethod
    def _seen(table: dict[str, dict[str, Any]], key: str, ts: str, row: dict[str, Any]) -> None:
        existing = table.get(key)
        if existing is None:
            table[key] = {**row, "first_seen": ts, "last_seen": ts}
            return
        existing["first_seen"] = min(existing["first_seen"], ts)
        existing["last_seen"] = max(existing["last_seen"], ts)
        for name, value in row.items():
            if value is not None and (existing.get(name) is None or value > existing[name]):
                existing[name] = value

    # audit records ----------------------------------------------------------

    def _audit(self, record: AuditRecord) -> None:
        props = record.model_dump(exclude={"id", "ts", "record"}, exclude_none=True)
        self.audit_records[record.id] = {"id": record.id, "ts": record.ts, "props": props}

    # findings -----------------------------------------------------------------

    def _finding(self, finding: Finding) -> None:
        props = finding.model_dump(exclude={"id", "record", "scanned_at"}, exclude_none=True)
        row = {"id": finding.id, "scanned_at": finding.scanned_at, "props": props}
        existing = self.findings.get(finding.id)
        # the latest scan of an artifact wins, within a batch as in the graph
        if existing is None or (finding.scanned_at or "") >= (existing["scanned_at"] or ""):
            self.findings[finding.id] = row


# The link rows of a batch: their statement's rows, relationship type and target label.
LINKS: tuple[tuple[str, str, str], ...] = (
    ("files", "TOUCHES", "File"),
    ("endpoints", "CONNECTS", "Endpoint"),
    ("domains", "RESOLVES", "Domain"),
)


MAX_HASHES = 64  # content hashes a File keeps (cypher/ingest/merge_files)


def target_nodes(name: str, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's File, Endpoint or Domain nodes from its link rows: one row per
    key, sorted (a fixed lock order for concurrent writers).

    A key's properties are its last row's; a file's hashes are those of all its
    rows, in order, without repeats, up to MAX_HASHES (the graph keeps no more).
    """
    nodes: dict[str, dict[str, Any]] = {}
    for link in links:
        row = {k: v for k, v in link.items() if k != "event_id"}
        if name == "files":
            before = nodes.get(link["key"])
            kept = list(before["hashes"] or []) if before else []
            for h in link.get("hashes") or ():
                if len(kept) >= MAX_HASHES:
                    break
                if h not in kept:
                    kept.append(h)
            row["hashes"] = kept or None
        nodes[link["key"]] = row
    return [nodes[k] for k in sorted(nodes)]


def split_links(
    params: dict[str, list[dict[str, Any]]], existed: frozenset[str]
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Splits a batch's links (event to file, endpoint or domain) once the writer
    knows which events existed. Returns the new events' links, once each, by the
    name of their rows ({event_id, key}; merge_files and the others create them
    outright), and the links of events stored before ({event_id, label, key};
    merge_links merges them). Each list is sorted, a fixed lock order."""
    new: dict[str, list[dict[str, Any]]] = {}
    old: dict[tuple[str, str, str], dict[str, Any]] = {}
    for name, _type, label in LINKS:
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        for link in params[name]:
            event_id, key = link["event_id"], link["key"]
            if event_id in existed:
                old[(label, key, event_id)] = {"event_id": event_id, "label": label, "key": key}
            else:
                fresh[(key, event_id)] = {"event_id": event_id, "key": key}
        new[name] = [fresh[k] for k in sorted(fresh)]
    return new, [old[k] for k in sorted(old)]


def split_activity(
    params: dict[str, list[dict[str, Any]]], existed: frozenset[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Splits a batch's activity once the writer knows which events existed.

    Returns the new events' links counted here, one row per process, type, kind and target
    (cypher/ingest/merge_new_activity), and the existed events that touched a
    target, whose links the graph counts (cypher/ingest/merge_activity).
    """
    events = {e["id"]: e for e in params["events"]}
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    counted: set[tuple[str, str, str]] = set()
    old: set[str] = set()
    for name, type_, label in LINKS:
        for link in params[name]:
            event_id = link["event_id"]
            if event_id in existed:
                old.add(event_id)
                continue
            if (event_id, label, link["key"]) in counted:
                continue  # a rename within one directory names one file twice
            counted.add((event_id, label, link["key"]))
            event = events[event_id]
            kind, ts = event["props"]["kind"], event["ts"]
            key = (event["process_key"], type_, kind, label, link["key"])
            row = merged.get(key)
            if row is None:
                merged[key] = {"process_key": event["process_key"], "type": type_, "kind": kind,
                               "label": label, "key": link["key"],
                               "count": 1, "first": ts, "last": ts}  # fmt: skip
            else:
                row["count"] += 1
                row["first"] = min(row["first"], ts)
                row["last"] = max(row["last"], ts)
    return [merged[k] for k in sorted(merged)], [{"id": i} for i in sorted(old)]


def _sorted(table: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [table[k] for k in sorted(table)]


def _endpoint(event_id: str, ip: str | None, port: int | None, protocol: str | None) -> dict:
    host = f"[{ip}]" if ip and ":" in ip else (ip or "*")
    return {
        "event_id": event_id,
        "key": f"{host}:{port if port is not None else '*'}",
        "ip": ip,
        "port": port,
        "protocol": protocol,
    }


def domain_key(name: str) -> str:
    """Returns a DNS name's key: lower case, without the trailing dot."""
    return name.strip().rstrip(".").lower()


# The models whose fields become node properties as they are: none holds another model.
FLAT_MODELS: tuple[type[Model], ...] = (
    Process, ProcessRef, FileTarget, NetworkTarget, DnsQuery, ImdsRequest, Alert,
)  # fmt: skip


def _fields(model: Model) -> dict[str, Any]:
    """A flat model's (FLAT_MODELS) fields that are set, read off the instance:
    what model_dump(exclude_none=True) returns, at under half its cost. Its lists
    are the model's own, not copies; nothing changes them."""
    return {name: value for name, value in model.__dict__.items() if value is not None}


def _process_values(p: Process, host_id: str, container_id: str | None) -> dict[str, Any]:
    values = _fields(p)
    values.pop("key", None)
    values["host_id"] = host_id
    values["container_id"] = container_id
    return values


def _digest(event: EventBase) -> str:
    """The SHA-256 of the event's JSON (model_dump_json's, as bytes: no str between)."""
    return hashlib.sha256(event.__pydantic_serializer__.to_json(event)).hexdigest()


def _event_props(event: EventBase) -> dict[str, Any]:
    """Flattens an event's kind-specific fields into node properties."""
    props: dict[str, Any] = {
        "kind": event.kind,  # type: ignore[attr-defined]
        "source": event.source,
        "host_id": event.host.id,
        "container_id": event.container.id if event.container else None,
        "pid": event.process.pid,
        "summary": summarize(event),
    }
    for attribute in ("file", "network", "dns", "imds", "alert"):
        payload = event.__dict__.get(attribute)  # getattr goes through pydantic for a missing field
        if payload is not None:
            for name, value in _fields(payload).items():
                props[_prop_name(attribute, name)] = value
    if isinstance(event, ProcessExit):
        props["exit_code"] = event.exit_code
        props["signal"] = event.signal
    return {k: v for k, v in props.items() if v is not None}


def _prop_name(attribute: str, name: str) -> str:
    # dns and imds fields are prefixed where a bare name would be ambiguous
    if attribute == "dns":
        return f"dns_{name}"
    if attribute == "imds" and name in ("url", "method", "cloud", "user_agent"):
        return f"imds_{name}"
    return name


def summarize(event: EventBase) -> str:
    """Returns a one-line human summary of an event."""
    p = event.process
    who = p.comm or (p.exe.rsplit("/", 1)[-1] if p.exe else None) or f"pid {p.pid}"
    kind: str = event.kind  # type: ignore[attr-defined]
    if kind == "process_exec":
        command = " ".join(p.args) if p.args else (p.exe or who)
        return f"exec {command}"[:300]
    if kind == "process_fork":
        return f"{who} forked"
    if isinstance(event, ProcessExit):
        return f"{who} exited" + (f" with {event.exit_code}" if event.exit_code is not None else "")
    if isinstance(event, FileEvent):
        verb = kind.removeprefix("file_")
        target = f" -> {event.file.target_path}" if event.file.target_path else ""
        return f"{who} {verb} {event.file.path}{target}"
    if isinstance(event, NetworkEvent):
        n = event.network
        verb = kind.removeprefix("network_")
        if kind in ("network_bind", "network_listen"):
            return f"{who} {verb} {n.src_ip or '*'}:{n.src_port}"
        return f"{who} {verb} {n.dst_ip}:{n.dst_port}"
    if isinstance(event, DnsEvent):
        return f"{who} resolves {event.dns.name}"
    if isinstance(event, ImdsEvent):
        return f"{who} queries the metadata service {event.imds.url or ''}".rstrip()
    if isinstance(event, AlertEvent):
        return f"alert {event.alert.rule_id}: {event.alert.title}"
    return f"{who} {kind}"
