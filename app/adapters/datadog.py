"""Datadog Workload Protection (CWS) runtime events (`format=datadog`).

The event is the agent's backend event (pkg/security/serializers, schema in
backend_linux.schema.json): `agent` (the rule that fired), `title`, `evt`,
`date`, `process` and one section per event type. It never names its host;
the host travels beside it. Shapes accepted, one per input record:
- the agent's log intake payload, as security-agent sends it:
  {"message": "<event JSON>", "hostname", "ddtags": "k:v,...", "status", ...}
  (`message` may also be the parsed object, as forwarders re-ship it);
- a log from Datadog's Logs API, {"id", "type": "log", "attributes": {"host",
  "tags": [...], "attributes": {<event>}}}, alone or as a search answer
  {"data": [...]} (each item a record);
- the bare event with `hostname` (or `host`) beside its fields.
An event whose host is not named anywhere is rejected: a process without a
host has no identity.

Every event the agent sends is a rule match, so each record yields its event
and an `alert` on it (agent.rule_id, title). Event types that have no kind in
app/events.py (ptrace, mmap, load_module, ...) yield the alert alone, with a
warning. The agent's own status events (ruleset_loaded, self_test, ...) carry
no process and are rejected.

Ids: the schema has no event id (a Logs API log id is Datadog's id of the log,
not of the event), so an event's id is a hash of the event and its host, the
same whichever shape it came in; its alert's id is that id + ":alert".
Identity: the schema has no global process id, so a process is keyed by
host|pid|start, with start = exec_time, else fork_time (docs/model.md).
`process.ancestors` starts with the parent (Datadog sets `process.parent` to
ancestors[0]); the model's `ancestors` are the rest. Severity: the agent sends
every event with log status "info", which is a log level, not the rule's
severity; a `severity`, or a `status` that is a severity word (low, medium,
high, critical), is used, else "medium".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from app.adapters import Outcome, RawRecord
from app.adapters.fields import Unusable, expect_object
from app.adapters.fields import array as _list
from app.adapters.fields import mapping as _obj
from app.adapters.fields import text as _str
from app.adapters.outcomes import Mapped, answer, answer_each, describe
from app.events import EVENT_ADAPTER, EventBase, record_id

name = "datadog"
framing = "json"

SOURCE = "datadog"

# evt.name -> kind; "open" is refined by its flags (see _file_kind).
KINDS: dict[str, str] = {
    "exec": "process_exec",
    "fork": "process_fork",
    "exit": "process_exit",
    "open": "file_open",
    "mkdir": "file_create",
    "chmod": "file_chmod",
    "rename": "file_rename",
    "unlink": "file_unlink",
    "rmdir": "file_unlink",
    "connect": "network_connect",
    "accept": "network_accept",
    "bind": "network_bind",
    "dns": "dns_query",
    "imds": "imds_request",
}

# Keys a bare event may carry beside the schema's fields (no event field has these names).
BESIDE_EVENT = frozenset({"hostname", "host", "severity"})

WRITE_FLAGS = frozenset({"O_WRONLY", "O_RDWR", "O_TRUNC", "O_APPEND"})
SEVERITY_WORDS = frozenset({"low", "medium", "high", "critical"})

# Linux signal numbers, for exits by signal (exit.code is the signal then).
SIGNALS: tuple[str, ...] = (
    "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
)  # fmt: skip

# Tags (ddtags) that name a pod's owning workload, and the workload's kind.
WORKLOAD_TAGS: tuple[tuple[str, str], ...] = (
    ("kube_deployment", "deployment"),
    ("kube_stateful_set", "statefulset"),
    ("kube_daemon_set", "daemonset"),
    ("kube_cronjob", "cronjob"),
    ("kube_job", "job"),
    ("kube_replica_set", "replicaset"),
)


@dataclass
class _Envelope:
    """What travels beside the event: host, tags, status."""

    host: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    severity: str | None = None
    timestamp: Any = None


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Turns Workload Protection events into events and alerts."""
    for record in records:
        value = record.value
        if isinstance(value, dict) and isinstance(value.get("data"), list):
            yield from answer_each(record, "data", value["data"], _mapped)
        else:
            yield from answer(record.position, record.text, "", _mapped, value)


def _mapped(value: Any) -> Mapped:
    event, envelope = _unwrap(value)
    items, warnings = _items(event, envelope)
    return [(item, warnings if index == 0 else ()) for index, item in enumerate(items)]


# shapes ---------------------------------------------------------------------


def _unwrap(value: Any) -> tuple[dict[str, Any], _Envelope]:
    """Returns the backend event and what travels beside it, for each accepted shape."""
    if not isinstance(value, dict):
        raise Unusable("a Datadog event must be a JSON object")
    if "message" in value and ("hostname" in value or "ddsource" in value):
        event = value["message"]
        if isinstance(event, str):
            try:
                event = json.loads(event)
            except json.JSONDecodeError as exc:
                raise Unusable(f"message is not JSON: {exc.msg} at column {exc.colno}") from None
        envelope = _Envelope(
            host=_str(value, "hostname"),
            tags=_tags(value.get("ddtags")),
            status=_str(value, "status"),
            timestamp=value.get("timestamp"),
        )
    elif value.get("type") == "log" and isinstance(value.get("attributes"), dict):
        outer = value["attributes"]
        event = outer.get("attributes")
        envelope = _Envelope(
            host=_str(outer, "host", "attributes."),
            tags=_tags(outer.get("tags")),
            status=_str(outer, "status", "attributes."),
            timestamp=outer.get("timestamp"),
        )
    else:
        event = {k: v for k, v in value.items() if k not in BESIDE_EVENT}
        envelope = _Envelope(host=_str(value, "hostname") or _str(value, "host"))
    if not isinstance(event, dict) or not isinstance(event.get("agent"), dict):
        raise Unusable(
            "not a Datadog Workload Protection event: expected the agent's intake payload "
            "(message, hostname), a Logs API log (type: log) or an event with `agent`"
        )
    if isinstance(value.get("severity"), str):
        envelope.severity = value["severity"]
    return event, envelope


def _tags(tags: Any) -> dict[str, str]:
    """Returns Datadog tags ("k:v,k:v" or ["k:v", ...]) as a dict; the first value wins."""
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list):
        return {}
    found: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, str) and ":" in tag:
            key, _, val = tag.partition(":")
            found.setdefault(key.strip(), val.strip())
    return found


# events ---------------------------------------------------------------------


def _items(event: dict[str, Any], envelope: _Envelope) -> tuple[list[EventBase], tuple[str, ...]]:
    agent = _obj(event, "agent")
    rule_id = _str(agent, "rule_id", "agent.")
    evt = _obj(event, "evt")
    evt_name = _str(evt, "name", "evt.")
    if not _obj(event, "process"):
        what = f"rule {rule_id!r}" if rule_id else "the event"
        raise Unusable(f"no process context: {what} is not runtime activity of a process")
    if envelope.host is None:
        raise Unusable(
            "no host: the event does not name its host; send the agent's intake payload "
            "(with `hostname`) or add `hostname` beside the event"
        )
    ts = event.get("date") or envelope.timestamp
    if ts is None:
        raise Unusable("missing date")

    warnings: list[str] = []
    # the schema has no event id; hashing the event and its host (not the wrapper) gives
    # one event the same id whichever shape it came in
    event_id = record_id(name, {"hostname": envelope.host, "event": event})
    base = _base(event, envelope, ts, warnings)
    outcome = _str(evt, "outcome", "evt.")
    if outcome is not None and outcome.lower() != "success":
        warnings.append(f"evt.outcome is {outcome!r}: the event model cannot say the call failed")

    alert = None
    if rule_id is not None:
        title = _str(event, "title") or rule_id
        alert = {
            **base,
            "id": f"{event_id}:alert",
            "kind": "alert",
            "alert": {"rule_id": rule_id, "title": title, "severity": _severity(envelope)},
        }
        EVENT_ADAPTER.validate_python(alert)  # a bad base rejects the record here

    kind = KINDS.get(evt_name or "")
    items: list[EventBase] = []
    if kind is None:
        warnings.append(f"event type {evt_name!r} has no Storyline kind: kept as the alert only")
    else:
        try:
            items.append(
                EVENT_ADAPTER.validate_python(
                    {**base, "id": event_id, **_specific(kind, event, evt_name or "")}
                )
            )
        except (Unusable, ValidationError) as exc:
            if alert is None:
                raise
            reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            warnings.append(f"{evt_name} event dropped, kept as the alert only: {reason}")
        else:
            if alert is not None:
                alert["alert"]["on_event"] = event_id
    if alert is not None:
        items.append(EVENT_ADAPTER.validate_python(alert))
    if not items:
        raise Unusable(f"event type {evt_name!r} has no Storyline kind and no rule fired")
    return items, tuple(warnings)


def _base(
    event: dict[str, Any], envelope: _Envelope, ts: Any, warnings: list[str]
) -> dict[str, Any]:
    proc = _obj(event, "process")
    process = _process(proc, "process.", warnings)
    if process["cgroup"] is None:
        cgroup = _obj(event, "cgroup")
        process["cgroup"] = _str(cgroup, "id", "cgroup.")
        process["service"] = _unit(process["cgroup"])

    lineage = [
        _process(
            expect_object(ancestor, f"process.ancestors[{i}]: "),
            f"process.ancestors[{i}].",
            warnings,
        )
        for i, ancestor in enumerate(_list(proc, "ancestors", "process."))
    ]
    parent = None
    parent_raw = _obj(proc, "parent", "process.")
    if parent_raw:
        parent = _process(parent_raw, "process.parent.", warnings)
        if lineage and _same(lineage[0], parent):
            lineage = lineage[1:]
    elif lineage:
        parent, lineage = lineage[0], lineage[1:]

    container_id = _str(_obj(event, "container"), "id", "container.") or _str(
        _obj(proc, "container", "process."), "id", "process.container."
    )
    return {
        "ts": ts,
        "source": SOURCE,
        "host": {"id": envelope.host},
        "container": _container(container_id, envelope.tags),
        "pod": _pod(envelope.tags) if container_id else None,
        "process": process,
        "parent": parent,
        "ancestors": lineage,
        "session": _session(_obj(proc, "user_session", "process."), warnings),
    }


def _process(p: dict[str, Any], where: str, warnings: list[str]) -> dict[str, Any]:
    """Maps a Datadog process (ProcessContext or Process) to the model's fields."""
    creds = _obj(p, "credentials", where)
    executable = _obj(p, "executable", where)
    cgroup_id = _str(_obj(p, "cgroup", where), "id", f"{where}cgroup.")
    argv0 = _str(p, "argv0", where)
    args = _list(p, "args", where)
    argv = None
    if argv0:
        argv = [argv0, *args]
    elif args:
        warnings.append(f"{where}args without argv0 dropped: argv[0] is unknown")
    return {
        "key": None,
        "pid": p.get("pid"),
        "ppid": p.get("ppid"),
        "exe": _str(executable, "path", f"{where}executable."),
        "comm": p.get("comm"),
        "args": argv,
        "uid": _first(p.get("uid"), creds.get("uid")),
        "user": _first(p.get("user"), creds.get("user")),
        "gid": _first(p.get("gid"), creds.get("gid")),
        "group": _first(p.get("group"), creds.get("group")),
        "auid": creds.get("auid"),
        "tty": p.get("tty"),
        "cgroup": cgroup_id,
        "service": _unit(cgroup_id),
        "start_time": p.get("exec_time") or p.get("fork_time"),
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["pid"] == b["pid"] and a["start_time"] == b["start_time"]


def _unit(cgroup_id: str | None) -> str | None:
    """Returns the systemd service unit a cgroup path ends in, e.g. nginx.service."""
    if not cgroup_id:
        return None
    last = cgroup_id.rstrip("/").rsplit("/", 1)[-1]
    return last if last.endswith(".service") else None


def _container(container_id: str | None, tags: dict[str, str]) -> dict[str, Any] | None:
    if not container_id:
        return None
    image = tags.get("image_name")
    if image and tags.get("image_tag"):
        image = f"{image}:{tags['image_tag']}"
    return {
        "id": container_id,
        "name": tags.get("container_name") or tags.get("kube_container_name"),
        "image": image,
    }


def _pod(tags: dict[str, str]) -> dict[str, Any] | None:
    pod_name, namespace = tags.get("pod_name"), tags.get("kube_namespace")
    if not (pod_name and namespace):
        return None
    workload = next(
        (f"{kind}/{tags[tag]}" for tag, kind in WORKLOAD_TAGS if tags.get(tag)),
        None,
    )
    return {
        "name": pod_name,
        "namespace": namespace,
        "cluster": tags.get("kube_cluster_name"),
        "workload": workload,
    }


def _session(us: dict[str, Any], warnings: list[str]) -> dict[str, Any] | None:
    """Maps process.user_session (kubectl exec or SSH) to a UserSession."""
    if not us:
        return None
    kind = (_str(us, "session_type", "process.user_session.") or "").lower()
    if not kind:
        if any(k.startswith("k8s_") for k in us):
            kind = "k8s"
        elif any(k.startswith("ssh_") for k in us):
            kind = "ssh"
    if kind == "k8s":
        return {
            "kind": "k8s",
            "id": us.get("id"),
            "user": us.get("k8s_username"),
            "k8s_uid": us.get("k8s_uid"),
            "k8s_groups": us.get("k8s_groups"),
        }
    if kind == "ssh":
        return {
            "kind": "ssh",
            "id": us.get("id"),
            "user": us.get("ssh_username"),
            "ssh_client_ip": us.get("ssh_client_ip"),
            "ssh_client_port": us.get("ssh_port"),
        }
    warnings.append(f"user session of type {kind or 'unknown'!r} dropped")
    return None


def _severity(envelope: _Envelope) -> str:
    if envelope.severity and envelope.severity.lower() in SEVERITY_WORDS | {"info"}:
        return envelope.severity.lower()
    if envelope.status and envelope.status.lower() in SEVERITY_WORDS:
        return envelope.status.lower()
    return "medium"


# kind-specific sections -------------------------------------------------------


def _specific(kind: str, event: dict[str, Any], evt_name: str) -> dict[str, Any]:
    """Returns the kind and the kind's own fields of one event."""
    if kind == "process_exit":
        return {"kind": kind, **_exit(_obj(event, "exit"))}
    if kind in ("process_exec", "process_fork"):
        return {"kind": kind}
    if kind.startswith("file_"):
        return _file(kind, _obj(event, "file"))
    if kind.startswith("network_"):
        return {"kind": kind, "network": _network(_obj(event, evt_name), evt_name)}
    if kind == "dns_query":
        question = _obj(_obj(event, "dns"), "question", "dns.")
        return {"kind": kind, "dns": {"name": question.get("name"), "type": question.get("type")}}
    imds = _imds(_obj(event, "imds"), _obj(event, "network"), _obj(event, "process"))
    return {"kind": kind, "imds": imds}


def _exit(exit_: dict[str, Any]) -> dict[str, Any]:
    cause = _str(exit_, "cause", "exit.")
    code = exit_.get("code")
    if cause is None or cause.upper() == "EXITED":
        return {"exit_code": code}
    if isinstance(code, int) and not isinstance(code, bool) and 0 < code < len(SIGNALS):
        return {"signal": SIGNALS[code]}
    return {"signal": str(code) if code is not None else cause}


def _file(kind: str, f: dict[str, Any]) -> dict[str, Any]:
    path = _str(f, "path", "file.")
    if path is None and _str(f, "path_resolution_error", "file."):
        raise Unusable(f"file path unresolved by the agent: {f['path_resolution_error']}")
    flags = [flag for flag in _list(f, "flags", "file.") if isinstance(flag, str)]
    destination = _obj(f, "destination", "file.")
    if kind == "file_open":
        if "O_CREAT" in flags:
            kind = "file_create"
        elif WRITE_FLAGS.intersection(flags):
            kind = "file_write"
    mode = None
    if kind == "file_chmod":
        mode = _first(destination.get("mode"), f.get("mode"))
    elif kind == "file_create":
        mode = f.get("mode")
    if isinstance(mode, int) and not isinstance(mode, bool):
        mode &= 0o7777  # permission bits; the inode mode also carries the file type
    return {
        "kind": kind,
        "file": {
            "path": path,
            "target_path": destination.get("path") if kind == "file_rename" else None,
            "mode": mode,
            "flags": "|".join(flags) or None,
            "hashes": [h for h in _list(f, "hashes", "file.") if isinstance(h, str)] or None,
        },
    }


def _network(section: dict[str, Any], evt_name: str) -> dict[str, Any]:
    """Maps connect, accept and bind, whose `addr` is the connection's destination
    (the remote end of a connect, the local end an accept came in on) or, for a
    bind, the local address."""
    addr = _obj(section, "addr", f"{evt_name}.")
    side = "src" if evt_name == "bind" else "dst"
    return {
        "protocol": _protocol(_str(section, "protocol", f"{evt_name}.")),
        "family": _family(_str(addr, "family", f"{evt_name}.addr.")),
        f"{side}_ip": addr.get("ip"),
        f"{side}_port": addr.get("port"),
    }


def _imds(imds: dict[str, Any], network: dict[str, Any], proc: dict[str, Any]) -> dict[str, Any]:
    """Maps an IMDS request or response; the access key is the one the response returned,
    else the process's only key in aws_security_credentials."""
    url = _str(imds, "url", "imds.")
    aws = _obj(imds, "aws", "imds.")
    credentials = _obj(aws, "security_credentials", "imds.aws.")
    access_key_id = _str(credentials, "access_key_id", "imds.aws.security_credentials.")
    if access_key_id is None:
        held = {
            c.get("access_key_id")
            for c in _list(proc, "aws_security_credentials", "process.")
            if isinstance(c, dict) and c.get("access_key_id")
        }
        access_key_id = held.pop() if len(held) == 1 else None
    # a response comes from the metadata server; a request goes to it
    side = "source" if (_str(imds, "type", "imds.") or "").lower() == "response" else "destination"
    server = _obj(network, side, "network.")
    return {
        "cloud": _str(imds, "cloud_provider", "imds."),
        "url": url,
        "server_ip": _str(server, "ip", f"network.{side}."),
        "user_agent": _str(imds, "user_agent", "imds."),
        "role": _role(url),
        "access_key_id": access_key_id,
    }


def _role(url: str | None) -> str | None:
    """Returns the IAM role of an AWS credentials URL (.../iam/security-credentials/ROLE)."""
    if not url:
        return None
    marker = "/iam/security-credentials/"
    path = urlsplit(url).path
    if marker not in path:
        return None
    role = path.split(marker, 1)[1].strip("/")
    return role or None


def _protocol(value: str | None) -> str | None:
    if not value:
        return None
    value = value.lower()
    return value.removeprefix("ipproto_")


def _family(value: str | None) -> str | None:
    if not value:
        return None
    value = value.lower().removeprefix("af_")
    return {"local": "unix"}.get(value, value)


# readers ------------------------------------------------------------------------


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)
