"""Falco's JSON alerts (`format=falco`): each alert becomes its activity plus an alert event.

A record is one alert as Falco (or falcosidekick) writes it with `json_output`:
`rule`, `priority`, `time`, `output`, `source`, `tags`, `hostname`, and
`output_fields`, which holds only the fields the rule's output names (proc.*,
user.*, container.*, k8s.*, fd.*, evt.*). What can be mapped therefore depends
on the rule: the acting process needs `proc.pid`, and a stable process key needs
`proc.pid.ts` (add both to the rules' output or to Falco's `append_output`).

Each record yields up to two events, both carrying the process and its context:
1. the activity the rule fired on, when `evt.type` and the fields it needs say
   what it was: execve -> process_exec; open/openat -> file_open or file_write
   (by the open flags); creat/mkdir/mknod -> file_create; unlink/rmdir ->
   file_unlink; rename -> file_rename; chmod -> file_chmod; connect, accept,
   bind, listen -> network_*;
2. the alert (kind `alert`), whose `alert.on_event` is the activity's id.

Falco has no global process id, so a process is keyed by host|pid|start time
(see `_start_time` for where the start comes from). Network targets: `src` is
the acting process's end of the socket, `dst` the peer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from pydantic import ValidationError

from app.adapters import Outcome, RawRecord
from app.adapters.fields import Unusable, must_be_object, record_object
from app.adapters.outcomes import answer, describe
from app.events import EVENT_ADAPTER, EventBase, normalize_ts, record_id

name = "falco"
framing = "json"

SEVERITIES = {
    "emergency": "critical", "alert": "critical", "critical": "critical", "error": "high",
    "warning": "medium", "notice": "low", "informational": "info", "info": "info",
    "debug": "info",
}  # fmt: skip
# MITRE ATT&CK tactics as Falco tags them (mitre_privilege_escalation); stored hyphenated.
TACTICS = frozenset({
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
})  # fmt: skip
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$", re.IGNORECASE)
ANCESTOR_FIELD = re.compile(r"^proc\.a(name|pid|exepath|exe|cmdline)\[(\d+)\]$")
# Falco prints a field it could not resolve as null, or in older versions as "<NA>".
NOT_AVAILABLE = ("", "<NA>", "N/A")
UNSET_AUID = 4294967295  # Falco prints an unset loginuid as -1

EXEC_TYPES = frozenset({"execve", "execveat"})
OPEN_TYPES = frozenset({"open", "openat", "openat2", "open_by_handle_at"})
FILE_TYPES = {
    **dict.fromkeys(("creat", "mkdir", "mkdirat", "mknod", "mknodat"), "file_create"),
    **dict.fromkeys(("unlink", "unlinkat", "rmdir"), "file_unlink"),
    **dict.fromkeys(("rename", "renameat", "renameat2"), "file_rename"),
    **dict.fromkeys(("chmod", "fchmod", "fchmodat"), "file_chmod"),
}
NETWORK_TYPES = {
    "connect": "network_connect", "accept": "network_accept", "accept4": "network_accept",
    "bind": "network_bind", "listen": "network_listen",
}  # fmt: skip
# Where each file kind's path is, best first (fd.name and fs.path.* are resolved paths).
PATH_FIELDS = {
    "open": ("fd.name", "fs.path.name", "evt.abspath", "evt.arg.name"),
    "file_create": ("fs.path.name", "evt.abspath", "fd.name", "evt.arg.path", "evt.arg.name"),
    "file_unlink": ("fs.path.name", "evt.abspath", "evt.arg.path", "evt.arg.name"),
    "file_rename": ("fs.path.source", "evt.abspath.src", "evt.arg.oldpath"),
    "file_chmod": ("fs.path.name", "evt.abspath", "evt.arg.filename", "fd.name"),
}
RENAME_TARGET_FIELDS = ("fs.path.target", "evt.abspath.dst", "evt.arg.newpath")
MODE_BITS = {
    "S_ISUID": 0o4000, "S_ISGID": 0o2000, "S_ISVTX": 0o1000,
    "S_IRUSR": 0o400, "S_IWUSR": 0o200, "S_IXUSR": 0o100,
    "S_IRGRP": 0o40, "S_IWGRP": 0o20, "S_IXGRP": 0o10,
    "S_IROTH": 0o4, "S_IWOTH": 0o2, "S_IXOTH": 0o1,
}  # fmt: skip


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Maps each Falco alert to its activity event (when known) and an alert event."""
    for record in records:
        yield from answer(record.position, record.text, "", _events, record)


def _events(record: RawRecord) -> list[tuple[EventBase, list[str]]]:
    value = record_object(record, "a falco alert")
    fields = _alert_fields(value)
    warnings: list[str] = []
    ts = _timestamp(value)
    host = _host(value, fields)
    base: dict[str, Any] = {
        "ts": ts,
        "source": name,
        "host": {"id": host},
        "process": _process(fields, ts, warnings),
        **_placement(fields, warnings),
        **_lineage(fields, ts, warnings),
    }
    out: list[tuple[EventBase, list[str]]] = []
    activity = _activity(fields)
    on_event = None
    if activity is not None:
        activity_id = record_id(name, ["activity", host, ts, fields.get("proc.pid"), activity])
        try:
            event = EVENT_ADAPTER.validate_python({**base, **activity, "id": activity_id})
        except ValidationError as exc:
            warnings.append(f"the {activity['kind']} activity is not recorded: {describe(exc)}")
        else:
            out.append((event, list(warnings)))
            on_event = activity_id
    alert = {**_alert(value, warnings), "on_event": on_event}
    alert_id = value.get("uuid") or record_id(name, value)
    alert_event = {**base, "id": alert_id, "kind": "alert", "alert": alert}
    out.append((EVENT_ADAPTER.validate_python(alert_event), warnings))
    return out


def _alert_fields(value: dict[str, Any]) -> dict[str, Any]:
    """Checks that the record is a Falco syscall alert; returns its output_fields."""
    expected = ("rule", "priority", "time", "output_fields")
    if not any(key in value for key in (*expected, "output")):
        found = ", ".join(value) or "none"
        raise Unusable(f"not a falco alert: expected {', '.join(expected)}; keys found: {found}")
    missing = [key for key in expected if value.get(key) in (None, "")]
    if missing:
        raise Unusable(f"falco alert lacks {', '.join(missing)}")
    source = value.get("source")
    if source not in (None, "syscall"):
        raise Unusable(
            f"falco {source!r} alerts carry no process activity; format=falco reads syscall alerts"
        )
    fields = must_be_object(value["output_fields"], "falco output_fields")
    return {
        key: item
        for key, item in fields.items()
        if item is not None and not (isinstance(item, str) and item.strip() in NOT_AVAILABLE)
    }


def _timestamp(value: dict[str, Any]) -> str:
    try:
        return normalize_ts(value["time"])
    except ValueError as exc:
        raise Unusable(f"falco alert time: {exc}") from None


def _host(value: dict[str, Any], fields: dict[str, Any]) -> Any:
    host = value.get("hostname") or fields.get("evt.hostname")
    if not host:
        raise Unusable("falco alert has no hostname (nor evt.hostname), so its host is unknown")
    return host


def _process(fields: dict[str, Any], ts: str, warnings: list[str]) -> dict[str, Any]:
    pid = fields.get("proc.pid")
    if pid is None:
        raise Unusable(
            "falco alert's output_fields lack proc.pid, so the acting process cannot be "
            "identified (add %proc.pid, and %proc.pid.ts, to the rule's output or to "
            "Falco's append_output)"
        )
    loginuid = _number(fields, "user.loginuid")
    tty = _number(fields, "proc.tty")
    process = {
        "pid": pid,
        "ppid": fields.get("proc.ppid", fields.get("proc.apid[1]")),
        "exe": fields.get("proc.exepath"),
        "comm": fields.get("proc.name"),
        "args": _argv(
            fields.get("proc.exe"),
            fields.get("proc.name"),
            fields.get("proc.args"),
            fields.get("proc.cmdline"),
        ),
        "cwd": fields.get("proc.cwd"),
        "uid": fields.get("user.uid"),
        "user": fields.get("user.name"),
        "gid": fields.get("group.gid"),
        "group": fields.get("group.name"),
        "auid": UNSET_AUID if loginuid == -1 else loginuid,
        "tty": str(tty) if tty else None,  # 0 means no controlling terminal
        "start_time": _start_time(fields, ts, warnings),
    }
    return {field: item for field, item in process.items() if item is not None}


def _start_time(fields: dict[str, Any], ts: str, warnings: list[str]) -> Any:
    """Returns the acting process's start time, the second half of its key.

    The key must be the same in every alert about one process, so the start comes
    from what Falco knows of the process itself, in order: proc.pid.ts (its start,
    epoch ns); the alert time minus proc.duration (the same instant, computed);
    the start of its PID namespace (proc.pidns_init_start_ts, container.start_ts),
    which is the same for the process in every alert but only bounds its start.
    Only when none is present does the alert time stand in, and then each alert
    makes a process of its own: a warning says so.
    """
    started = _number(fields, "proc.pid.ts")
    if started:
        return started
    duration = _number(fields, "proc.duration")
    if duration is not None:
        return _iso(_epoch_ns(ts) - duration)
    for field in ("proc.pidns_init_start_ts", "container.start_ts"):
        bound = _number(fields, field)
        if bound:
            warnings.append(
                f"no proc.pid.ts or proc.duration: the process start time is {field}, the "
                "start of its PID namespace, so that its key is stable across alerts"
            )
            return bound
    warnings.append(
        "no proc.pid.ts, proc.duration or PID namespace start: the alert time stands in for "
        "the process start time, so this process will not match the same process in other "
        "alerts"
    )
    return ts


def _lineage(fields: dict[str, Any], ts: str, warnings: list[str]) -> dict[str, Any]:
    """Returns the parent and the ancestors beyond it (proc.a*[2], [3], ...)."""
    out: dict[str, Any] = {}
    parent_start: int | str | None = _number(fields, "proc.ppid.ts")
    parent_duration = _number(fields, "proc.ppid.duration")
    if not parent_start and parent_duration is not None:
        parent_start = _iso(_epoch_ns(ts) - parent_duration)
    parent = {
        "pid": fields.get("proc.ppid", fields.get("proc.apid[1]")),
        "comm": fields.get("proc.pname", fields.get("proc.aname[1]")),
        "exe": fields.get("proc.pexepath", fields.get("proc.aexepath[1]")),
        "args": _argv(
            fields.get("proc.pexe", fields.get("proc.aexe[1]")),
            fields.get("proc.pname", fields.get("proc.aname[1]")),
            None,
            fields.get("proc.pcmdline", fields.get("proc.acmdline[1]")),
        ),
        "start_time": parent_start or None,
    }
    parent = {field: item for field, item in parent.items() if item is not None}
    if parent:
        out["parent"] = parent
    levels = sorted(
        {int(match[2]) for key in fields if (match := ANCESTOR_FIELD.match(key))} - {0, 1}
    )
    ancestors: list[dict[str, Any]] = []
    for expected, level in enumerate(levels, start=2):
        if level != expected:
            warnings.append(
                f"ancestors from proc.aname[{level}] on are not recorded: level {expected} "
                "is missing"
            )
            break
        ancestor = {
            "pid": fields.get(f"proc.apid[{level}]"),
            "comm": fields.get(f"proc.aname[{level}]"),
            "exe": fields.get(f"proc.aexepath[{level}]"),
            "args": _argv(
                fields.get(f"proc.aexe[{level}]"),
                fields.get(f"proc.aname[{level}]"),
                None,
                fields.get(f"proc.acmdline[{level}]"),
            ),
        }
        ancestors.append({field: item for field, item in ancestor.items() if item is not None})
    chain = [parent, *ancestors]
    for child, up in pairwise(chain):
        if "ppid" not in child and up.get("pid") is not None:
            child["ppid"] = up["pid"]
    if ancestors:
        out["ancestors"] = ancestors
    return out


def _argv(argv0: Any, comm: Any, args: Any, cmdline: Any) -> list[str] | None:
    """Returns argv from proc.exe (argv[0]) and proc.args, or from proc.cmdline.

    proc.cmdline is proc.name and the arguments joined with single spaces, without
    quoting: the arguments are split on whitespace (shlex would eat quotes that are
    the arguments' own characters), so an argument that held spaces is broken up.
    """
    if not all(item is None or isinstance(item, str) for item in (argv0, comm, args, cmdline)):
        return None
    if args is None and cmdline is None:
        return None  # the arguments are unknown, not absent
    if args is None and cmdline is not None:
        head = comm if comm and (cmdline == comm or cmdline.startswith(f"{comm} ")) else None
        head = head or cmdline.split(" ", 1)[0]
        args = cmdline[len(head) :]
        argv0 = argv0 or head
    argv0 = argv0 or comm
    if not argv0:
        return None
    return [argv0, *(args or "").split()]


def _placement(fields: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    container_id = fields.get("container.full_id") or fields.get("container.id")
    if container_id and container_id != "host":  # Falco's container.id for host processes
        image = fields.get("container.image")
        repository = fields.get("container.image.repository")
        tag = fields.get("container.image.tag")
        if not image and repository:
            image = f"{repository}:{tag}" if tag else repository
        container = {
            "id": container_id,
            "name": fields.get("container.name"),
            "image": image,
            "runtime": fields.get("container.type"),
        }
        out["container"] = {field: item for field, item in container.items() if item is not None}
    pod_name, namespace = fields.get("k8s.pod.name"), fields.get("k8s.ns.name")
    if pod_name and namespace:
        pod = {
            "name": pod_name,
            "namespace": namespace,
            "uid": fields.get("k8s.pod.uid", fields.get("k8s.pod.id")),
        }
        out["pod"] = {field: item for field, item in pod.items() if item is not None}
    elif pod_name or namespace:
        warnings.append("only one of k8s.pod.name and k8s.ns.name is given: no pod is recorded")
    return out


def _activity(fields: dict[str, Any]) -> dict[str, Any] | None:
    """Returns the kind and target of the event the rule fired on, or None when unclear."""
    evt_type = fields.get("evt.type") or fields.get("syscall.type")
    # An enter event (evt.dir '>') has not happened yet; a failed call did not happen.
    if not isinstance(evt_type, str) or fields.get("evt.dir") == ">" or _failed(fields):
        return None
    if evt_type in EXEC_TYPES:
        return {"kind": "process_exec"}
    if evt_type in OPEN_TYPES:
        path = _first(fields, PATH_FIELDS["open"])
        if path is None:
            return None
        flags = _open_flags(fields.get("evt.arg.flags"))
        writes = fields.get("evt.is_open_write") in (True, "true")
        if flags is not None:
            writes = bool({"O_WRONLY", "O_RDWR"} & set(flags.split("|")))
        target = {"path": path, "flags": flags}
        return {"kind": "file_write" if writes else "file_open", "file": target}
    if evt_type in FILE_TYPES:
        kind = FILE_TYPES[evt_type]
        path = _first(fields, PATH_FIELDS[kind])
        if path is None:
            return None
        target = {"path": path}
        if kind == "file_rename":
            target["target_path"] = _first(fields, RENAME_TARGET_FIELDS)
        if kind == "file_chmod":
            target["mode"] = _mode(fields.get("evt.arg.mode"))
        return {"kind": kind, "file": target}
    if evt_type in NETWORK_TYPES:
        kind = NETWORK_TYPES[evt_type]
        network = _network(fields, kind)
        return {"kind": kind, "network": network} if network else None
    return None


def _failed(fields: dict[str, Any]) -> bool:
    """Tells whether the syscall failed (then it did not do what its type says)."""
    res, rawres = fields.get("evt.res"), fields.get("evt.rawres")
    if fields.get("evt.failed") in (True, "true"):
        return True
    if isinstance(res, str) and res != "SUCCESS" and not res.lstrip("-").isdigit():
        return True
    return isinstance(rawres, int) and rawres < 0


def _open_flags(raw: Any) -> str | None:
    """Returns open flags as names: Falco prints them as 'O_WRONLY|O_CREAT', maybe '577(...)'."""
    if not isinstance(raw, str):
        return None
    match = re.fullmatch(r"\s*\d+\((.*)\)\s*", raw)
    text = match[1] if match else raw.strip()
    return text or None


def _mode(raw: Any) -> int | None:
    """Returns a file mode from Falco's '0755' or 'S_IRUSR|S_IWUSR|...' rendering."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if re.fullmatch(r"0?[0-7]{1,4}", text):
        return int(text, 8)
    names = [name for name in text.split("|") if name]
    if names and all(name in MODE_BITS for name in names):
        return sum(MODE_BITS[name] for name in names)
    return None


def _network(fields: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """Returns the socket's local (src) and peer (dst) ends, protocol and family."""
    local = (fields.get("fd.lip"), fields.get("fd.lport"))
    peer = (fields.get("fd.rip"), fields.get("fd.rport"))
    client = (fields.get("fd.cip"), fields.get("fd.cport"))
    server = (fields.get("fd.sip"), fields.get("fd.sport"))
    name_value = fields.get("fd.name")
    if client == server == (None, None) and isinstance(name_value, str):
        client, server = _tuple(name_value)
    # The acting process is the client of a connect and the server otherwise.
    if local == (None, None):
        local = client if kind == "network_connect" else server
    if peer == (None, None):
        peer = server if kind == "network_connect" else client
    if kind in ("network_bind", "network_listen"):
        peer = (None, None)
    if local[0] is None and peer[0] is None:
        return None
    fd_type = fields.get("fd.type")
    families = {"ipv4": "inet", "ipv6": "inet6", "unix": "unix"}
    family = families.get(fd_type) if isinstance(fd_type, str) else None
    protocol = fields.get("fd.l4proto")
    return {
        "protocol": protocol.lower() if isinstance(protocol, str) else protocol,
        "family": family,
        "src_ip": local[0],
        "src_port": local[1],
        "dst_ip": peer[0],
        "dst_port": peer[1],
    }


def _tuple(text: str) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """Splits Falco's fd.name 'cip:cport->sip:sport' (or a lone 'ip:port') into both ends."""
    if "->" in text:
        left, right = text.split("->", 1)
        return _host_port(left), _host_port(right)
    return (None, None), _host_port(text)


def _host_port(text: str) -> tuple[Any, Any]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        return (None, None)
    return host.strip("[]"), int(port)


def _alert(value: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    rule = value["rule"]
    priority = value["priority"]
    severity = SEVERITIES.get(priority.strip().lower()) if isinstance(priority, str) else None
    if severity is None:
        raise Unusable(
            f"falco priority {priority!r} is not one of Emergency, Alert, Critical, Error, "
            "Warning, Notice, Informational, Debug"
        )
    tags = value.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise Unusable("falco alert tags must be a list of strings")
    tactic, technique = _mitre(tags, warnings)
    return {
        "rule_id": rule,
        "title": rule,
        "severity": severity,
        "description": value.get("output"),
        "tactic": tactic,
        "technique": technique,
    }


def _mitre(tags: list[str], warnings: list[str]) -> tuple[str | None, str | None]:
    """Returns the ATT&CK tactic (from mitre_* tags) and technique (from T1234[.001] tags)."""
    tactics = [
        tag[len("mitre_") :].replace("_", "-")
        for tag in tags
        if tag.lower().startswith("mitre_") and tag[len("mitre_") :].lower() in TACTICS
    ]
    techniques = [tag.upper() for tag in tags if TECHNIQUE.match(tag)]
    # A sub-technique (T1059.004) says all that its technique (T1059) does.
    techniques = [t for t in techniques if not any(o.startswith(f"{t}.") for o in techniques)]
    tactics, techniques = (
        list(dict.fromkeys(t.lower() for t in tactics)),
        list(dict.fromkeys(techniques)),
    )
    if len(tactics) > 1:
        warnings.append(f"only the first MITRE tactic is kept; dropped: {', '.join(tactics[1:])}")
    if len(techniques) > 1:
        warnings.append(
            f"only the first MITRE technique is kept; dropped: {', '.join(techniques[1:])}"
        )
    return (tactics[0] if tactics else None), (techniques[0] if techniques else None)


def _first(fields: dict[str, Any], names: Iterable[str]) -> Any:
    return next((fields[field] for field in names if field in fields), None)


def _number(fields: dict[str, Any], field: str) -> int | None:
    value = fields.get(field)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise Unusable(f"falco output_fields {field} must be a number, not {value!r}")


def _epoch_ns(ts: str) -> int:
    """Returns a normalised timestamp (see normalize_ts) as nanoseconds since the epoch."""
    whole = datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) * 1_000_000_000 + int(ts[20:29])


def _iso(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError):
        raise Unusable("falco proc.duration or proc.ppid.duration is out of range") from None
    if moment.year < 1970:
        raise Unusable("falco proc.duration or proc.ppid.duration is out of range")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"
