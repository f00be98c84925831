"""Groups of audit records as events: the acting process, its lineage and session."""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.adapters import Outcome, Rejected
from app.adapters.auditd.records import (
    AUXILIARY,
    UNSET,
    Group,
    Record,
    cut_warnings,
    is_standalone,
)
from app.adapters.auditd.syscalls import classify
from app.adapters.auditd.targets import exec_args, file_target, network, proctitle
from app.adapters.fields import Unusable
from app.adapters.outcomes import Mapped, answer
from app.events import EVENT_ADAPTER, normalize_ts

SOURCE = "auditd"
UNKNOWN_HOST = "unknown"
# Records a syscall event usually has; named when a group ends without its EOE.
EXPECTED_RECORDS: dict[str, tuple[str, ...]] = {
    "process_exec": ("EXECVE", "CWD", "PATH", "PROCTITLE"),
    "file_open": ("CWD", "PATH", "PROCTITLE"),
    "file_unlink": ("CWD", "PATH", "PROCTITLE"),
    "file_rename": ("CWD", "PATH", "PROCTITLE"),
    "file_chmod": ("CWD", "PATH", "PROCTITLE"),
    "network_connect": ("SOCKADDR", "PROCTITLE"),
    "network_accept": ("SOCKADDR", "PROCTITLE"),
    "network_bind": ("SOCKADDR", "PROCTITLE"),
}


@dataclass
class State:
    """What earlier groups of the input taught: process images, their parents, SSH sessions."""

    # (host, pid) -> start time of the pid's current image
    starts: dict[tuple[str, int], str] = field(default_factory=dict)
    # (host, pid) -> parent of the current image, when the input showed its birth
    # (a fork, or an exec replacing an image it showed); else the parent is ppid
    parents: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    sessions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def seen(self, host: str, pid: int, ts: str) -> str:
        """Returns the start time of the pid's current image, this time if it is new."""
        return self.starts.setdefault((host, pid), ts)

    def parent(self, host: str, pid: int, ppid: int | None) -> dict[str, Any] | None:
        """Returns the parent of the pid's current image: the one its birth showed, else ppid."""
        known = self.parents.get((host, pid))
        if known is not None:
            return known
        if ppid is None:
            return None
        return {"pid": ppid, "start_time": self.starts.get((host, ppid))}

    def born(self, host: str, pid: int, ts: str, parent: dict[str, Any] | None) -> None:
        """Records a new image of the pid, starting now, with its parent when known."""
        self.starts[(host, pid)] = ts
        if parent is None:
            self.parents.pop((host, pid), None)
        else:
            self.parents[(host, pid)] = parent

    def ended(self, host: str, pid: int) -> None:
        """Forgets the pid: a later process with it is another one."""
        self.starts.pop((host, pid), None)
        self.parents.pop((host, pid), None)


def convert(group: Group, state: State, complete: bool) -> Iterator[Outcome]:
    """Answers one group: its event, or why it has none."""
    host = group.node or UNKNOWN_HOST
    syscall = group.one("SYSCALL")
    if syscall is None:
        reason = _without_syscall(group, host, state, complete)
        yield Rejected(group.position, reason, group.raw())
        return
    where = f"auditd serial {group.serial}: "
    yield from answer(
        group.position, group.raw(), where, _mapped, group, syscall, host, state, complete
    )


def _mapped(group: Group, syscall: Record, host: str, state: State, complete: bool) -> Mapped:
    warnings: list[str] = []
    event = _event(group, syscall, host, state, complete, warnings)
    return [(EVENT_ADAPTER.validate_python(event), warnings)]


def _without_syscall(group: Group, host: str, state: State, complete: bool) -> str:
    """Learns what a group without SYSCALL teaches, and returns why it is rejected."""
    types = list(dict.fromkeys(group.types))
    if len(group.records) == 1 and is_standalone(group.records[0].type):
        record = group.records[0]
        pid = record.number("pid")
        ts = _ts(group)
        if pid is not None and ts is not None:
            state.seen(host, pid, ts)
        reason = (
            f"auditd serial {group.serial}: record type {record.type} has no Storyline kind yet"
        )
        ses = _learn_session(record, host, state)
        if ses is not None:
            reason += f" (its SSH session is attached to the later events of ses {ses})"
        return reason
    own = [t for t in types if t not in AUXILIARY]
    if complete and own:
        return (
            f"auditd serial {group.serial}: record type {', '.join(own)} has no Storyline kind yet"
        )
    return (
        f"auditd serial {group.serial}: no SYSCALL record in this input; "
        f"submit the whole event (records seen: {', '.join(types)})"
    )


def _learn_session(record: Record, host: str, state: State) -> int | None:
    """Remembers the SSH login of a successful sshd USER_LOGIN/USER_START; returns its ses."""
    if record.type not in ("USER_LOGIN", "USER_START"):
        return None
    exe = record.string("exe") or ""
    if posixpath.basename(exe) not in ("sshd", "sshd-session"):
        return None
    ses = record.number("ses")
    if record.value("res") not in ("success", "1") or ses is None or ses == UNSET:
        return None
    learned = {
        "kind": "ssh",
        "id": str(ses),
        "user": record.string("acct") or record.enriched.get("ACCT") or record.enriched.get("ID"),
        "ssh_client_ip": _ip(record.value("addr")),
    }
    # USER_LOGIN names the login by uid only: keep what USER_START said
    known = state.sessions.get((host, ses), {})
    state.sessions[(host, ses)] = {
        k: v if v is not None else known.get(k) for k, v in learned.items()
    }
    return ses


def _ts(group: Group) -> str | None:
    try:
        return normalize_ts(group.time)
    except ValueError:
        return None


def _event(
    group: Group, syscall: Record, host: str, state: State, complete: bool, warnings: list[str]
) -> dict[str, Any]:
    """Returns the event of a group with a SYSCALL record; raises Unusable."""
    ts = _ts(group)
    if ts is None:
        raise Unusable(f"time {group.time} is out of range")
    pid = syscall.number("pid")
    if pid is None:
        raise Unusable(syscall.lost("pid"))
    try:
        call, kind = classify(group, syscall)
    except Unusable:
        state.seen(host, pid, ts)  # a rejected event still shows the pid alive
        raise
    cut_warnings(group, warnings)
    if group.node is None:
        warnings.append(
            f"no node= prefix: the host is unknown (id {UNKNOWN_HOST!r}); "
            "set name_format in auditd.conf"
        )
    if not complete:
        missing = [t for t in EXPECTED_RECORDS.get(kind, ("PROCTITLE",)) if group.one(t) is None]
        warnings.append(
            f"auditd serial {group.serial}: no EOE record in this input; "
            + (
                f"records that may be missing: {', '.join(missing)}"
                if missing
                else "it may be incomplete"
            )
        )

    process = _process(group, syscall)
    event: dict[str, Any] = {
        "id": f"auditd:{host}:{group.time}:{group.serial}",
        "ts": ts,
        "source": SOURCE,
        "host": {"id": host},
        "kind": kind,
        "process": process,
    }
    ses = process["session_id"]
    if ses is not None and (host, ses) in state.sessions:
        event["session"] = state.sessions[(host, ses)]
    if kind == "process_exec":
        _exec(event, group, host, state, warnings)
        return event

    process["args"] = proctitle(group, warnings)
    process["start_time"] = state.seen(host, pid, ts)
    parent = state.parent(host, pid, process["ppid"])
    if kind == "process_fork":
        # the syscall is the parent's; the event's process is the child it made
        child = syscall.signed("exit")
        if child is None or not 0 < child < UNSET:
            raise Unusable(f"{call} returned {syscall.value('exit')!r}, not a child pid")
        caller = {"pid": pid, "ppid": process["ppid"], "start_time": process["start_time"]}
        state.born(host, child, ts, caller)
        event["process"] = {**process, "pid": child, "ppid": pid, "start_time": ts}
        event["parent"] = process
        if parent is not None:
            event["ancestors"] = [parent]
        return event
    if parent is not None:
        event["parent"] = parent
    if kind == "process_exit":
        status = syscall.arg(0)
        event["exit_code"] = None if status is None else status & 0xFF
        state.ended(host, pid)
    elif kind.startswith("network_"):
        event["network"] = network(group, kind, warnings)
    else:
        event["file"] = file_target(group, syscall, call, kind, process["cwd"], complete, warnings)
        event["kind"] = event["file"].pop("kind")
    return event


def _exec(
    event: dict[str, Any], group: Group, host: str, state: State, warnings: list[str]
) -> None:
    """Fills a process_exec: argv, and the image the exec replaced or the OS parent."""
    process = event["process"]
    args = exec_args(group, warnings)
    if args is None:
        args = proctitle(group, warnings)
        if args is not None:
            warnings.append("no EXECVE record: args are from PROCTITLE")
    pid, ppid, ts = process["pid"], process["ppid"], event["ts"]
    process.update(args=args, start_time=ts)
    previous = state.starts.get((host, pid))
    if previous is None:
        state.born(host, pid, ts, None)
        parent = state.parent(host, pid, ppid)
        if parent is not None:
            event["parent"] = parent
        return
    # this input showed the pid before: the exec replaced that image
    replaced = {"pid": pid, "ppid": ppid, "start_time": previous}
    beyond = state.parent(host, pid, ppid)
    state.born(host, pid, ts, replaced)
    event["parent"] = replaced
    if beyond is not None:
        event["ancestors"] = [beyond]


def _process(group: Group, syscall: Record) -> dict[str, Any]:
    """Returns the acting process as the SYSCALL and CWD records describe it."""
    cwd_record = group.one("CWD")
    return {
        "pid": syscall.number("pid"),
        "ppid": syscall.number("ppid"),
        "exe": syscall.string("exe"),
        "comm": syscall.string("comm"),
        "cwd": cwd_record.string("cwd") if cwd_record else None,
        "uid": syscall.number("uid"),
        "user": syscall.enriched.get("UID"),
        "gid": syscall.number("gid"),
        "group": syscall.enriched.get("GID"),
        "auid": syscall.number("auid"),
        "session_id": syscall.number("ses"),
        "tty": syscall.value("tty"),
    }


def _ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
