"""kubectl exec sessions into pods: developers', SREs' and CI's, through runc."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.generate.acts import _reads, _runc_exec, _simple
from app.generate.alerts import _alert
from app.generate.pieces import Step, _Box, _Clock, _Host, _obj, _Proc, _uuid

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

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
        commands: tuple[str, ...] = (
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
