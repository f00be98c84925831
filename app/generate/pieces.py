"""The simulation's pieces: its clock, hosts, containers, processes and events to write."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from app.generate.truth import ChainTruth

UNSET = 4294967295
"""The audit login uid and session id of a process outside any login."""
BASE_TIME = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
"""Where the generated clock starts (the hosts booted days before)."""
IMDS_IP = "169.254.169.254"

S, MS, US = 1_000_000_000, 1_000_000, 1_000
_BASE_NS = int(BASE_TIME.timestamp()) * S


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


Step = Iterator[Any]
"""An actor: a generator of _Spec (an event), int (wake me then) or None (nothing)."""
