"""Cron jobs and systemd timers: short process trees started on a schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.generate.acts import _apt_fetch, _simple
from app.generate.alerts import _alert
from app.generate.pieces import S, Step, _Clock, _Host, _Proc, _suffix

if TYPE_CHECKING:
    from app.generate.simulation import _Sim


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
