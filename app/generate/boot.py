"""Boot: the procfs walk that emits a host's running processes and starts their actors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.generate.cron import _cron, _timers
from app.generate.daemons import (
    _coredns,
    _gunicorn_worker,
    _java,
    _kubelet,
    _nginx_worker,
    _node_exporter,
    _php_worker,
    _postgres,
    _redis,
    _ssm_agent,
    _writer,
)
from app.generate.kubectl import _kubectl_sessions
from app.generate.pieces import (
    _BASE_NS,
    MS,
    UNSET,
    US,
    S,
    Step,
    _Box,
    _Clock,
    _Host,
    _Proc,
    _suffix,
    _uuid,
)
from app.generate.ssh import _sshd

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

CLUSTER = "prod-eu-1"


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
