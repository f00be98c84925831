"""The Tetragon adapter: the Merlin samples end to end, then hand-made records per mapping."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, RawRecord, Rejected, tetragon
from app.events import record_id
from app.framing import BadJson, json_values
from tests.conftest import DATASETS

DATASET = DATASETS / "tetragon-merlin"
BOOK = "book_03_chapter/"
GOLDEN = BOOK + "00_four_golden_signals/"
LIFECYCLE = BOOK + "00_process_lifecycle/"
HOST_NS = BOOK + "03_security_observability_events/01_reaching_the_host_namespace/"
PERSISTENCE = BOOK + "03_security_observability_events/02_persistance/"
POST = BOOK + "03_security_observability_events/03_post_exploitation_techniques/"

# (accepted, rejected, invalid JSON) per sample file. Every sample parses as JSON
# (SOURCE.txt's slips are in the values: reused exec_ids, a bad parent_exec_id);
# the four rejections are the process_close records, which no event kind holds.
COUNTS: dict[str, tuple[int, int, int]] = {
    GOLDEN + "process_close.json": (0, 1, 0),
    GOLDEN + "process_connect.json": (1, 0, 0),
    GOLDEN + "process_exec.json": (1, 0, 0),
    GOLDEN + "process_exit.json": (1, 0, 0),
    GOLDEN + "process_kprobe.json": (1, 0, 0),
    GOLDEN + "process_listen.json": (1, 0, 0),
    LIFECYCLE + "cat_process_exec.json": (1, 0, 0),
    LIFECYCLE + "cat_process_exit.json": (1, 0, 0),
    LIFECYCLE + "cat_process_kprobe.json": (1, 0, 0),
    LIFECYCLE + "lifecycle_sh_process_exec.json": (1, 0, 0),
    LIFECYCLE + "lifecycle_sh_process_exit.json": (1, 0, 0),
    LIFECYCLE + "nc_process_close.json": (0, 1, 0),
    LIFECYCLE + "nc_process_connect.json": (1, 0, 0),
    LIFECYCLE + "nc_process_exec.json": (1, 0, 0),
    LIFECYCLE + "nc_process_exit.json": (1, 0, 0),
    HOST_NS + "host-namespace-bash.json": (1, 0, 0),
    HOST_NS + "nginx-execution.json": (1, 0, 0),
    HOST_NS + "nginx-listen.json": (1, 0, 0),
    HOST_NS + "privileged-pod-bash.json": (1, 0, 0),
    HOST_NS + "privileged-pod-init.json": (1, 0, 0),
    HOST_NS + "privileged-pod-nsenter.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-container-start-containerd-shim.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-container-start-runc.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-go-connect.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-go-start.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-insert-pod-spec.json": (1, 0, 0),
    PERSISTENCE + "merlin-agent-job-close.json": (0, 1, 0),
    PERSISTENCE + "merlin-agent-job-connect.json": (1, 0, 0),
    POST + "merlin-agent-7z-exit.json": (1, 0, 0),
    POST + "merlin-agent-7z.json": (1, 0, 0),
    POST + "merlin-agent-scp-exit.json": (1, 0, 0),
    POST + "merlin-agent-scp-sh-exit.json": (1, 0, 0),
    POST + "merlin-agent-scp-sh.json": (1, 0, 0),
    POST + "merlin-agent-scp-ssh-exit.json": (1, 0, 0),
    POST + "merlin-agent-scp-ssh.json": (1, 0, 0),
    POST + "merlin-agent-scp.json": (1, 0, 0),
    POST + "merlin-agent-sh-exit.json": (1, 0, 0),
    POST + "merlin-agent-sh.json": (1, 0, 0),
    POST + "merlin-agent-ssh-tunnel-close.json": (0, 1, 0),
    POST + "merlin-agent-ssh-tunnel-connect.json": (1, 0, 0),
    "testdata_events.json": (3, 0, 0),
    "combined_sorted.derived.ndjson": (36, 4, 0),
}

CAT_EXEC_ID = "bWluaWt1YmU6MzM0OTc2NjQ2MjgyMjozODMxMw=="
SH_EXEC_ID = "bWluaWt1YmU6MzM0OTc2MDUxNjExMTozODMxMg=="
ES_CONTAINER = "e6af4dff4ea3b8d50313c59fbaa442e377da35671e79f43b8dc53c5efcc9b659"


def sample(relative: str) -> tuple[list[Accepted], list[Rejected], int]:
    """Frames a sample file as the product does and parses its valid JSON records."""
    with (DATASET / relative).open() as stream:
        records = list(json_values(stream))
    valid = [r for r in records if not isinstance(r.text, BadJson)]
    outcomes = list(tetragon.parse(valid))
    assert len(outcomes) == len(valid)  # one outcome per record, each at its position
    assert [o.position for o in outcomes] == [r.position for r in valid]
    accepted = [o for o in outcomes if isinstance(o, Accepted)]
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    return accepted, rejected, len(records) - len(valid)


def one(relative: str) -> Accepted:
    accepted, rejected, _ = sample(relative)
    assert not rejected and len(accepted) == 1
    return accepted[0]


def parse_one(value: Any) -> Accepted | Rejected:
    outcomes = list(tetragon.parse([RawRecord(7, json.dumps(value), value)]))
    assert len(outcomes) == 1 and outcomes[0].position == 7
    return outcomes[0]


def accepted(value: Any) -> Accepted:
    outcome = parse_one(value)
    assert isinstance(outcome, Accepted), outcome
    return outcome


def rejected(value: Any) -> str:
    outcome = parse_one(value)
    assert isinstance(outcome, Rejected), outcome
    return outcome.reason


def test_every_sample_file_is_counted() -> None:
    found = {
        str(path.relative_to(DATASET))
        for path in DATASET.rglob("*")
        if path.is_file() and path.name not in ("SOURCE.txt", "LICENSE")
    }
    assert found == set(COUNTS)


@pytest.mark.parametrize("relative", sorted(COUNTS))
def test_sample_counts(relative: str) -> None:
    accepted_, rejected_, invalid = sample(relative)
    assert (len(accepted_), len(rejected_), invalid) == COUNTS[relative]
    for outcome in rejected_:
        assert outcome.reason.startswith("tetragon process_close")


def test_cat_exec_is_mapped() -> None:
    outcome = one(LIFECYCLE + "cat_process_exec.json")
    event = outcome.item
    assert outcome.warnings == ()
    assert event.kind == "process_exec"
    assert event.source == "tetragon"
    assert event.ts == "2022-02-01T18:01:56.410000000Z"
    assert event.host.id == "minikube"
    assert event.process.key == CAT_EXEC_ID
    assert event.process.pid == 38313
    assert event.process.ppid == 38312
    assert event.process.exe == "/usr/bin/cat"
    assert event.process.args == [
        "/usr/bin/cat",
        "/usr/share/elasticsearch/config/elasticsearch.keystore",
    ]
    assert event.process.cwd == "/usr/share/elasticsearch/"
    assert (event.process.uid, event.process.auid) == (0, 4294967295)
    assert event.process.start_time == "2022-02-01T18:01:56.410000000Z"
    assert event.parent is not None
    assert event.parent.key == SH_EXEC_ID
    assert (event.parent.pid, event.parent.exe) == (38312, "/usr/bin/sh")
    assert event.ancestors == []
    assert event.container is not None
    assert event.container.id == ES_CONTAINER
    assert event.container.runtime == "docker"
    assert event.container.name == "elasticsearch"
    assert event.container.image == "quay.io/isovalent/jobs-app-elasticsearch:latest"
    assert event.pod is not None
    assert (event.pod.namespace, event.pod.name) == (
        "tenant-jobs",
        "elasticsearch-56f8fc6988-65smb",
    )
    with (DATASET / LIFECYCLE / "cat_process_exec.json").open() as stream:
        assert event.id == record_id("tetragon", json.load(stream))


def test_the_same_record_gets_the_same_id_in_every_file() -> None:
    book = one(LIFECYCLE + "cat_process_exec.json").item
    combined, _, _ = sample("combined_sorted.derived.ndjson")
    assert [a.item for a in combined if a.item.id == book.id] == [book]


def test_cat_read_of_the_keystore_is_a_file_open_with_a_warning() -> None:
    outcome = one(LIFECYCLE + "cat_process_kprobe.json")
    assert outcome.item.kind == "file_open"
    assert outcome.item.file.path == "/usr/share/elasticsearch/config/elasticsearch.keystore"
    assert outcome.item.process.key == CAT_EXEC_ID
    assert outcome.warnings == (
        "__x64_sys_read of /usr/share/elasticsearch/config/elasticsearch.keystore is recorded "
        "as file_open: the event model has no read kind",
    )


def test_vi_write_to_etc_passwd_is_a_file_write() -> None:
    event = one(GOLDEN + "process_kprobe.json").item
    assert event.kind == "file_write"
    assert event.file.path == "/etc/passwd"  # Tetragon printed "etc/passwd"
    assert event.container.id == "bae66fa9f18079f78500ad37e88eb8a88b3181b2d0767f26dc532f75e4024d27"
    assert event.container.runtime == "containerd"


def test_cat_exit() -> None:
    event = one(LIFECYCLE + "cat_process_exit.json").item
    assert (event.kind, event.exit_code, event.signal) == ("process_exit", 0, None)
    assert event.process.key == CAT_EXEC_ID


def test_nc_connect_is_a_network_connect() -> None:
    event = one(LIFECYCLE + "nc_process_connect.json").item
    assert event.kind == "network_connect"
    assert event.network.model_dump() == {
        "protocol": "tcp",
        "family": None,
        "src_ip": "10.88.0.6",
        "src_port": 48416,
        "dst_ip": "64.225.45.153",
        "dst_port": 443,
    }


def test_nginx_listen_is_a_network_listen() -> None:
    event = one(HOST_NS + "nginx-listen.json").item
    assert event.kind == "network_listen"
    assert (event.network.src_ip, event.network.src_port) == ("0.0.0.0", 80)
    assert event.network.dst_ip is None


def test_close_is_rejected_with_the_reason() -> None:
    _, rejected_, _ = sample(LIFECYCLE + "nc_process_close.json")
    assert [r.reason for r in rejected_] == [
        "tetragon process_close (a connection's end, with its byte counts) has no Storyline "
        "event kind yet"
    ]
    assert rejected_[0].raw.startswith("{")


def test_merlin_agent_outside_kubernetes_keeps_tetragons_container_id() -> None:
    event = one(PERSISTENCE + "merlin-agent-go-start.json").item
    assert event.pod is None
    assert event.container is not None
    assert (event.container.id, event.container.runtime) == ("a51959123c3ba99a9f50a700", None)
    assert event.process.args == [
        "/tmp/go-build3518135900/b001/exe/main",
        *["-v", "-url", "https://main.linux-libs.org:443", "-proto", "h2"],
        *["-psk", "SecurePSK!23@456"],
    ]


def test_quoted_arguments_are_split_shell_style() -> None:
    event = one(POST + "merlin-agent-sh.json").item
    assert event.process.args == ["/bin/sh", "-c", "7z a s3nsitiv3.7z ../ops_bank_accounts/"]


def test_a_parent_exec_id_that_disagrees_with_the_parent_keeps_the_parent() -> None:
    outcome = one(POST + "merlin-agent-scp-ssh.json")
    assert outcome.item.parent.key == "bWluaWt1YmU6NDczMzc5NjIyNTA5MDo1Mzc2Nw=="
    assert outcome.item.parent.pid == 53767
    assert outcome.warnings == (
        "process_exec.process.parent_exec_id 'bWluaWt1YmU6NDczMzc5NjIyNTA5MDo1Mzc2Nwf==' "
        "differs from parent.exec_id 'bWluaWt1YmU6NDczMzc5NjIyNTA5MDo1Mzc2Nw=='; the parent "
        "object's exec_id is kept",
    )


def test_an_exec_without_fork_has_no_ppid_from_its_previous_image() -> None:
    event = one(HOST_NS + "nginx-execution.json").item
    assert (event.process.pid, event.parent.pid) == (12700, 12700)
    assert event.process.ppid is None
    assert event.parent.exe == "/docker-entrypoint.sh"


def test_testdata_exec_without_time_uses_the_start_time() -> None:
    accepted_, _, _ = sample("testdata_events.json")
    first = accepted_[0]
    assert first.item.ts == first.item.process.start_time == "2022-10-18T03:16:18.273546829Z"
    assert first.warnings == ("record has no time: the event time is the process start_time",)
    assert first.item.container.runtime == "containerd"
    assert first.item.container.image == "docker.io/tgraf/netperf:latest"
    assert first.item.host.id == "my-node"
    assert [a.warnings for a in accepted_[1:]] == [(), ()]


# Hand-made records, built on one real exec.


def base() -> dict[str, Any]:
    with (DATASET / LIFECYCLE / "cat_process_exec.json").open() as stream:
        return json.load(stream)


def kprobe(function: str, args: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    record = base()
    body = record.pop("process_exec")
    record["process_kprobe"] = {
        "process": body["process"],
        "parent": body["parent"],
        "function_name": function,
        "args": args,
        "action": "KPROBE_ACTION_POST",
        **extra,
    }
    return record


def sock(**fields: Any) -> dict[str, Any]:
    tcp = {"family": "AF_INET", "type": "SOCK_STREAM", "protocol": "IPPROTO_TCP"}
    return {"sock_arg": tcp | fields}


def test_ancestors_keep_tetragons_order_and_link_ppids() -> None:
    record = base()
    grand = {"exec_id": "Z3JhbmQ=", "pid": 24200, "binary": "/bin/bash", "flags": "execve"}
    great = {"exec_id": "Z3JlYXQ=", "pid": 149, "binary": "/usr/bin/containerd-shim"}
    record["process_exec"]["ancestors"] = [grand, great]
    event = accepted(record).item
    assert [(a.key, a.pid, a.exe) for a in event.ancestors] == [
        ("Z3JhbmQ=", 24200, "/bin/bash"),
        ("Z3JlYXQ=", 149, "/usr/bin/containerd-shim"),
    ]
    assert (event.process.ppid, event.parent.ppid, event.ancestors[0].ppid) == (38312, 24200, 149)
    assert event.ancestors[0].args == ["/bin/bash"]


def test_parent_key_from_parent_exec_id_when_no_parent_object() -> None:
    record = base()
    del record["process_exec"]["parent"]
    event = accepted(record).item
    assert event.parent.key == SH_EXEC_ID
    assert event.parent.pid is None


def test_unbalanced_quotes_fall_back_to_whitespace() -> None:
    record = base()
    record["process_exec"]["process"]["arguments"] = '-c "echo hi'
    outcome = accepted(record)
    assert outcome.item.process.args == ["/usr/bin/cat", "-c", '"echo', "hi"]
    assert outcome.warnings == (
        "process_exec.process.arguments have unbalanced quotes: split on whitespace, so "
        "arguments that held spaces are broken up",
    )


def test_truncated_arguments_are_flagged() -> None:
    record = base()
    record["process_exec"]["process"]["flags"] = "execve clone truncArgs"
    assert accepted(record).warnings == (
        "process_exec.process.arguments were truncated by Tetragon",
    )


def test_workload_uid_and_cluster_are_kept() -> None:
    record = base()
    pod = record["process_exec"]["process"]["pod"]
    pod.update(workload="elasticsearch", workload_kind="Deployment", uid="4f1c-uid")
    record["cluster_name"] = "prod-eu"
    event = accepted(record).item
    assert event.pod.model_dump() == {
        "uid": "4f1c-uid",
        "name": "elasticsearch-56f8fc6988-65smb",
        "namespace": "tenant-jobs",
        "cluster": "prod-eu",
        "workload": "deployment/elasticsearch",
    }


@pytest.mark.parametrize(
    ("status", "signal", "expected"),
    [(None, None, (0, None)), (1, None, (1, None)), (None, "SIGKILL", (None, "SIGKILL"))],
)
def test_exit_status_and_signal(status: int | None, signal: str | None, expected: tuple) -> None:
    record = base()
    body = record.pop("process_exec")
    record["process_exit"] = {**body, "status": status, "signal": signal}
    event = accepted(record).item
    assert (event.exit_code, event.signal) == expected


@pytest.mark.parametrize(
    ("function", "args", "kind", "file"),
    [
        (
            "__x64_sys_openat",
            [{"int_arg": -100}, {"string_arg": "/etc/shadow"}, {"int_arg": 577}],
            "file_write",
            {"path": "/etc/shadow", "flags": "O_WRONLY|O_CREAT|O_TRUNC"},
        ),
        (
            "__x64_sys_openat",
            [{"int_arg": -100}, {"string_arg": "/etc/hosts"}, {"int_arg": 0o2000000}],
            "file_open",
            {"path": "/etc/hosts", "flags": "O_RDONLY|O_CLOEXEC"},
        ),
        ("fd_install", [{"int_arg": 3}, {"file_arg": {"path": "/tmp/x"}}], "file_open",
         {"path": "/tmp/x"}),
        ("security_file_permission", [{"file_arg": {"path": "etc/cron.d/job"}}, {"int_arg": 2}],
         "file_write", {"path": "/etc/cron.d/job"}),
        ("sys_unlinkat", [{"int_arg": -100}, {"string_arg": "/var/log/auth.log"}], "file_unlink",
         {"path": "/var/log/auth.log"}),
        ("security_path_rename",
         [{"path_arg": {"path": "/tmp/a"}}, {"path_arg": {"path": "/tmp/b"}}],
         "file_rename", {"path": "/tmp/a", "target_path": "/tmp/b"}),
        ("security_path_chmod", [{"path_arg": {"path": "/tmp/implant"}}, {"int_arg": 0o755}],
         "file_chmod", {"path": "/tmp/implant", "mode": 0o755}),
        ("security_path_mknod", [{"path_arg": {"path": "/dev/shm/x"}}], "file_create",
         {"path": "/dev/shm/x"}),
        ("__x64_sys_write", [{"file_arg": {"path": "/root/.ssh/authorized_keys"}}],
         "file_write", {"path": "/root/.ssh/authorized_keys"}),
    ],
)  # fmt: skip
def test_file_kprobes(function: str, args: list, kind: str, file: dict[str, Any]) -> None:
    outcome = accepted(kprobe(function, args))
    assert outcome.item.kind == kind
    assert outcome.item.file.model_dump(exclude_none=True) == file
    assert outcome.warnings == ()


def test_a_read_permission_check_is_a_file_open_with_a_warning() -> None:
    outcome = accepted(
        kprobe("security_file_permission", [{"file_arg": {"path": "/etc/shadow"}}, {"int_arg": 4}])
    )
    assert outcome.item.kind == "file_open"
    assert outcome.warnings == (
        "security_file_permission of /etc/shadow is recorded as file_open: the event model has "
        "no read kind",
    )


def test_an_lsm_hook_maps_like_its_security_function() -> None:
    record = kprobe("file_open", [{"file_arg": {"path": "/etc/shadow"}}])
    record["process_lsm"] = record.pop("process_kprobe")
    event = accepted(record).item
    assert (event.kind, event.file.path) == ("file_open", "/etc/shadow")


def test_a_blocking_action_is_flagged() -> None:
    record = kprobe("security_file_open", [{"file_arg": {"path": "/etc/shadow"}}])
    record["process_kprobe"]["action"] = "KPROBE_ACTION_SIGKILL"
    assert accepted(record).warnings == (
        "Tetragon's policy acted with KPROBE_ACTION_SIGKILL: the call may not have completed",
    )


@pytest.mark.parametrize(
    ("function", "args", "kind", "network"),
    [
        ("tcp_connect", [sock(saddr="10.0.0.5", sport=40112, daddr="203.0.113.9", dport=4444)],
         "network_connect",
         {"protocol": "tcp", "family": "inet", "src_ip": "10.0.0.5", "src_port": 40112,
          "dst_ip": "203.0.113.9", "dst_port": 4444}),
        ("inet_csk_listen_start", [sock(saddr="0.0.0.0", sport=8080, daddr="0.0.0.0", dport=0)],
         "network_listen",
         {"protocol": "tcp", "family": "inet", "src_ip": "0.0.0.0", "src_port": 8080}),
        ("__sys_bind", [{"int_arg": 3}, {"sockaddr_arg": {"family": "AF_INET6", "addr": "::",
                                                          "port": 9000}}],
         "network_bind", {"family": "inet6", "src_ip": "::", "src_port": 9000}),
        ("security_socket_connect",
         [sock(saddr="0.0.0.0", sport=0), {"sockaddr_arg": {"family": "AF_INET",
                                                           "addr": "169.254.169.254", "port": 80}}],
         "network_connect",
         {"protocol": "tcp", "family": "inet", "src_ip": "0.0.0.0", "src_port": 0,
          "dst_ip": "169.254.169.254", "dst_port": 80}),
    ],
)  # fmt: skip
def test_network_kprobes(function: str, args: list, kind: str, network: dict[str, Any]) -> None:
    event = accepted(kprobe(function, args)).item
    assert event.kind == kind
    assert event.network.model_dump(exclude_none=True) == network


def test_accept_takes_the_returned_socket() -> None:
    listening = sock(saddr="0.0.0.0", sport=22)
    returned = sock(saddr="10.0.0.5", sport=22, daddr="198.51.100.7", dport=51515)
    event = accepted(kprobe("inet_csk_accept", [listening], **{"return": returned})).item
    assert event.kind == "network_accept"
    assert (event.network.src_ip, event.network.dst_ip, event.network.dst_port) == (
        "10.0.0.5",
        "198.51.100.7",
        51515,
    )


@pytest.mark.parametrize(
    "function", ["tcp_sendmsg", "tcp_close", "commit_creds", "__x64_sys_setuid"]
)
def test_unmapped_hooks_are_rejected_by_name(function: str) -> None:
    reason = rejected(kprobe(function, [sock(saddr="10.0.0.5")]))
    assert reason.startswith(
        f"tetragon process_kprobe on {function!r} has no mapping to a Storyline event kind yet"
    )


def test_a_file_hook_without_a_path_is_rejected() -> None:
    assert rejected(kprobe("__x64_sys_write", [{"size_arg": "10"}])) == (
        "tetragon process_kprobe on '__x64_sys_write' carries no path argument "
        "(file_arg, path_arg or string_arg)"
    )


def test_a_network_hook_without_a_socket_is_rejected() -> None:
    assert rejected(kprobe("tcp_connect", [{"int_arg": 1}])) == (
        "tetragon process_kprobe on 'tcp_connect' carries no socket argument "
        "(sock_arg or sockaddr_arg)"
    )


def test_a_tracepoint_is_rejected_with_its_name() -> None:
    record = kprobe("unused", [])
    body = record.pop("process_kprobe")
    record["process_tracepoint"] = {**body, "subsys": "syscalls", "event": "sys_enter_ptrace"}
    assert rejected(record) == (
        "tetragon process_tracepoint syscalls/sys_enter_ptrace has no mapping to a Storyline "
        "event kind yet"
    )


def strip(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in keys}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"foo": 1}, "not a tetragon event: expected one of process_exec, process_exit, "
         "process_kprobe, process_tracepoint, process_lsm, process_connect, process_close, "
         "process_listen; keys found: foo"),
        ({}, "not a tetragon event: expected one of process_exec, process_exit, process_kprobe, "
         "process_tracepoint, process_lsm, process_connect, process_close, process_listen; "
         "keys found: none"),
        ([1, 2], "a tetragon record must be a JSON object, not an array"),
        ("process_exec", "a tetragon record must be a JSON object, not a string"),
        (42, "a tetragon record must be a JSON object, not a number"),
        ({"process_exec": {}, "process_exit": {}, "node_name": "n"},
         "a tetragon record holds one event, this one has process_exec, process_exit"),
        ({"process_exec": [], "node_name": "n"},
         "process_exec must be a JSON object, not an array"),
        ({"process_exec": {"parent": {}}, "node_name": "n", "time": "2024-01-01T00:00:00Z"},
         "tetragon process_exec has no process object"),
        ({"process_uprobe": {}, "node_name": "n"},
         "tetragon process_uprobe events have no mapping to a Storyline event kind yet"),
    ],
)  # fmt: skip
def test_records_it_does_not_understand_are_rejected(value: Any, reason: str) -> None:
    assert rejected(value) == reason


def test_record_level_problems_are_rejected() -> None:
    assert rejected(strip(base(), "node_name")) == (
        "tetragon record has no node_name, so its host is unknown"
    )
    record = base()
    record["process_exit"] = record.pop("process_exec")
    assert rejected(strip(record, "time")) == "tetragon process_exit record has no time"
    record = base()
    record["process_exec"]["process"]["pid"] = "abc"
    assert rejected(record).startswith("process.pid: Input should be a valid integer")
    record = base()
    record["process_exec"]["process"]["arguments"] = ["-c", "id"]
    assert rejected(record) == "process_exec.process.arguments must be a string, not an array"
    record = base()
    record["time"] = 1e300
    assert rejected(record) == "ts: Value error, timestamp out of range: 1e+300"
    record = base()
    record["process_exec"]["ancestors"] = {"pid": 1}
    assert rejected(record) == "process_exec.ancestors must be a list, not an object"


def test_an_invalid_json_record_is_rejected_with_the_decode_error() -> None:
    text = BadJson('{"process_exec": ', "invalid JSON: Expecting value at line 3 column 1")
    outcomes = list(tetragon.parse([RawRecord(3, text)]))
    assert outcomes == [Rejected(3, "invalid JSON: Expecting value at line 3 column 1", text)]


# Robustness: no input makes an exception escape, and each record has exactly one outcome.

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@functools.cache
def all_samples() -> list[dict[str, Any]]:
    with (DATASET / "combined_sorted.derived.ndjson").open() as stream:
        return [r.value for r in json_values(stream)]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    holder = out
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return out


def assert_one_outcome(value: Any) -> None:
    outcomes = list(tetragon.parse([RawRecord(1, "raw", value)]))
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], Accepted | Rejected)
    if isinstance(outcomes[0], Rejected):
        assert outcomes[0].reason


FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(JSON)
def test_arbitrary_json_never_raises(value: Any) -> None:
    assert_one_outcome(value)


@FUZZ
@given(st.data())
def test_damaged_samples_never_raise(data: st.DataObject) -> None:
    record = data.draw(st.sampled_from(all_samples()))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(record)))
        record = replaced(record, path, data.draw(JSON))
    assert_one_outcome(record)
