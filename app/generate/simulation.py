"""The simulation: runs the actors of every host and merges their events into one stream."""

from __future__ import annotations

import heapq
import random
import shlex
import time
from collections.abc import Iterator
from typing import Any

from app.generate.boot import _boot
from app.generate.chains import _BOUND, _CHAINS, _READY, CHAIN_KINDS
from app.generate.pieces import (
    _BASE_NS,
    _KEEP,
    IMDS_IP,
    MS,
    S,
    Step,
    _Box,
    _Chain,
    _Clock,
    _dumps,
    _Host,
    _obj,
    _Proc,
    _Spec,
    _uuid,
    _which,
)
from app.generate.truth import Truth

SOURCE = "generator"
_PER_CHAIN = 50_000
"""Events per planted chain of each kind, in large workloads."""


class _Actor:
    __slots__ = ("chain", "it")

    def __init__(self, it: Iterator[Any], chain: _Chain | None = None) -> None:
        self.it = it
        self.chain = chain


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
        """An accepted connection on `port`: as sensors report it, src is the process's
        own end and dst the peer that connected (docs/model.md)."""
        net = _obj(
            protocol="tcp",
            family="inet",
            src_ip=p.ip,
            src_port=port,
            dst_ip=peer,
            dst_port=peer_port or self.rng.randint(32768, 60999),
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
