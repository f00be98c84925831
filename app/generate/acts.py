"""Small reusable acts: a short command, an apt download, a runc exec into a container."""

from __future__ import annotations

import shlex
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from app.generate.alerts import _alert
from app.generate.pieces import Step, _Box, _Chain, _Clock, _Proc, _Spec

if TYPE_CHECKING:
    from app.generate.simulation import _Sim


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


def _reads(argv: str) -> tuple[str, ...]:
    """Returns the files a simple command opens: the absolute paths it names."""
    args = shlex.split(argv)
    if args[0] in ("ls", "du"):  # they list directories
        return ()
    return tuple(a for a in args[1:] if a.startswith("/"))


def _apt_fetch(sim: _Sim, c: _Clock, apt: _Proc, mirror: str, ip: str) -> Step:
    """apt's http method: resolve the mirror, connect, exit."""
    # On hosts apt drops to its own user; in containers it runs as whoever ran it.
    dropped: dict[str, Any] = {"uid": 42, "user": "_apt"} if apt.box is None else {}
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
