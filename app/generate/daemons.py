"""Servers and daemons: the repetitive background activity of long-lived processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.generate.acts import _runc_exec
from app.generate.pieces import IMDS_IP, S, Step, _Clock, _Proc

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

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
