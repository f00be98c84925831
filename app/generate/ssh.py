"""SSH: logins, interactive shells, sudo and tmux, at human pace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.generate.acts import _reads, _simple
from app.generate.alerts import _alert
from app.generate.pieces import S, Step, _Clock, _obj, _Proc

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

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
