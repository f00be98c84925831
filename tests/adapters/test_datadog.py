"""The Datadog Workload Protection adapter on hand-made agent events.

No serialized Workload Protection event is public, so the fixtures under
fixtures/datadog/ are written to the agent's backend schema
(tests/data/datasets/datadog-cws-schema, checked below) and wrapped as the agent's
log intake payload. They are kept readable, with `message` as an object;
`as_sent` turns it into the JSON string the agent sends.
- kubectl_exec_imds.json: on a Kubernetes node, `kubectl exec` into a pod, curl
  to the instance metadata service, exfiltration of /etc/shadow, a dropped
  binary made executable, moved into the PATH, listening, and ptrace;
- ssh_and_web_shell.json: an SSH user on a bastion (a refused read, sudo -i),
  and a shell spawned by nginx.service on a web server, killed;
- agent_self_test.json: an agent status event (no process).
"""

from __future__ import annotations

import io
import json
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, datadog, get_adapter
from app.events import (
    AlertEvent,
    DnsEvent,
    EventBase,
    FileEvent,
    ImdsEvent,
    NetworkEvent,
    ProcessExec,
    ProcessExit,
)
from app.framing import BadJson, json_values
from tests.adapters.fuzz import JSON, paths, replaced
from tests.conftest import DATASETS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "datadog"
SCHEMA = DATASETS / "datadog-cws-schema"
NODE = "ip-10-0-1-23.ec2.internal"
CONTAINER = "9d2c4e7f1a3b5c6d8e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d"


def payloads(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text())


def as_sent(payload: dict[str, Any]) -> dict[str, Any]:
    """Returns an intake payload with `message` as the JSON string the agent sends."""
    return {**payload, "message": json.dumps(payload["message"], separators=(",", ":"))}


def run(name: str) -> list[Outcome]:
    """Frames a fixture as the agent's HTTP intake body (a JSON array) and parses it."""
    body = json.dumps([as_sent(p) for p in payloads(name)])
    records = list(json_values(io.StringIO(body)))
    assert not [r for r in records if isinstance(r.text, BadJson)]
    return list(datadog.parse(records))


def items(name: str) -> list[tuple[int, EventBase, tuple[str, ...]]]:
    found = []
    for outcome in run(name):
        assert isinstance(outcome, Accepted), outcome
        assert isinstance(outcome.item, EventBase)
        found.append((outcome.position, outcome.item, outcome.warnings))
    return found


def at(name: str, position: int) -> tuple[EventBase, AlertEvent | None, tuple[str, ...]]:
    """Returns the event, its alert and the warnings of one record of a fixture."""
    found = [(item, warnings) for pos, item, warnings in items(name) if pos == position]
    events = [i for i, _ in found if not isinstance(i, AlertEvent)]
    alerts = [i for i, _ in found if isinstance(i, AlertEvent)]
    assert len(events) == 1 and len(alerts) <= 1
    return events[0], (alerts[0] if alerts else None), found[0][1]


def parse_value(value: Any, position: int = 1) -> list[Outcome]:
    return list(datadog.parse([RawRecord(position, json.dumps(value), value)]))


def fixture_payload(name: str, index: int) -> dict[str, Any]:
    return deepcopy(payloads(name)[index])


def test_module_shape() -> None:
    assert datadog.name == "datadog"
    assert datadog.framing == "json"
    assert get_adapter("datadog") is datadog


def test_fixtures_validate_against_the_agent_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    schema = json.loads((SCHEMA / "backend_linux.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    checked = 0
    for path in sorted(FIXTURES.glob("*.json")):
        for payload in json.loads(path.read_text()):
            errors = [e.message for e in validator.iter_errors(payload["message"])]
            assert errors == [], (path.name, errors)
            checked += 1
    assert checked == 18


def test_counts_per_fixture() -> None:
    counts = {}
    for path in sorted(FIXTURES.glob("*.json")):
        results = run(path.name)
        counts[path.name] = (
            len(payloads(path.name)),
            sum(isinstance(r, Accepted) for r in results),
            sum(isinstance(r, Rejected) for r in results),
        )
    # records -> (events + one alert each), rejected
    assert counts == {
        "agent_self_test.json": (1, 0, 1),
        "kubectl_exec_imds.json": (13, 25, 0),
        "ssh_and_web_shell.json": (4, 8, 0),
    }


def test_kinds_of_the_kubectl_exec_story() -> None:
    kinds = [(pos, item.kind) for pos, item, _ in items("kubectl_exec_imds.json")]
    events = [kind for _, kind in kinds if kind != "alert"]
    assert events == [
        "process_exec", "process_exec", "imds_request", "process_exit", "dns_query",
        "file_open", "network_connect", "file_create", "file_chmod", "file_rename",
        "file_unlink", "network_bind",
    ]  # fmt: skip
    assert sorted({pos for pos, kind in kinds if kind == "alert"}) == list(range(1, 14))


def test_kubectl_exec_shell_process_lineage_session_and_pod() -> None:
    event, alert, warnings = at("kubectl_exec_imds.json", 1)
    assert isinstance(event, ProcessExec)
    assert warnings == ()
    assert event.source == "datadog"
    assert event.ts == "2024-05-14T09:12:03.416337105Z"
    assert event.host.id == NODE
    p = event.process
    assert p.key is None  # the schema has no global process id
    assert p.identity(NODE) == f"{NODE}|31245|2024-05-14T09:12:03.415902117Z"
    assert (p.pid, p.ppid, p.exe, p.comm, p.args) == (
        31245,
        2841,
        "/usr/bin/bash",
        "bash",
        ["bash"],
    )
    assert (p.uid, p.user, p.gid, p.group, p.auid, p.tty) == (
        0,
        "root",
        0,
        "root",
        4294967295,
        "pts0",
    )
    assert p.cgroup is not None and p.cgroup.endswith(f"cri-containerd-{CONTAINER}.scope")
    assert p.service is None
    # the image bash replaced (same pid) is the parent; then the shim and init
    assert event.parent is not None
    assert (event.parent.pid, event.parent.comm, event.parent.start_time) == (
        31245,
        "runc:[2:INIT]",
        "2024-05-14T09:12:03.402870411Z",
    )
    assert [(a.pid, a.comm, a.service) for a in event.ancestors] == [
        (2841, "containerd-shim", "containerd.service"),
        (1, "systemd", None),
    ]
    assert event.session is not None
    assert event.session.model_dump(exclude_none=True) == {
        "kind": "k8s",
        "id": "8bd7a6c3e1f24a59",
        "user": "dev@example.com",
        "k8s_uid": "6f1d2c3b-4a59-4e7d-8c1b-0a9f8e7d6c5b",
        "k8s_groups": ["developers", "system:authenticated"],
    }
    assert event.container is not None
    assert (event.container.id, event.container.name, event.container.image) == (
        CONTAINER,
        "web",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.2",
    )
    assert event.pod is not None
    assert event.pod.model_dump() == {
        "uid": None,
        "name": "web-7d4b9c8f6-x2x9q",
        "namespace": "shop",
        "cluster": "prod-eu",
        "workload": "deployment/web",
    }
    assert alert is not None
    assert alert.id == f"{event.id}:alert"
    assert (alert.ts, alert.process, alert.parent, alert.container) == (
        event.ts,
        event.process,
        event.parent,
        event.container,
    )
    assert alert.alert.model_dump(exclude_none=True) == {
        "rule_id": "k8s_exec_interactive_shell",
        "title": "Interactive shell started in a container through kubectl exec",
        "severity": "medium",
        "compromises": False,
        "on_event": event.id,
    }


def test_curl_lineage_starts_at_the_shell() -> None:
    event, _, _ = at("kubectl_exec_imds.json", 2)
    assert event.process.args == [
        "curl",
        "-s",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/shop-web-node-role",
    ]
    assert event.parent is not None
    assert (event.parent.pid, event.parent.comm, event.parent.start_time) == (
        31245,
        "bash",
        "2024-05-14T09:12:03.415902117Z",
    )
    assert [a.comm for a in event.ancestors] == ["runc:[2:INIT]", "containerd-shim", "systemd"]


def test_imds_credentials_response() -> None:
    event, alert, _ = at("kubectl_exec_imds.json", 3)
    assert isinstance(event, ImdsEvent)
    assert event.imds.model_dump() == {
        "cloud": "aws",
        "url": "/latest/meta-data/iam/security-credentials/shop-web-node-role",
        "method": None,
        "server_ip": "169.254.169.254",
        "user_agent": "curl/7.88.1",
        "role": "shop-web-node-role",
        "access_key_id": "ASIAQX7EXAMPLE3STLN",
    }
    assert event.process.pid == 31302
    assert alert is not None and alert.alert.rule_id == "imds_credentials_retrieved"


def test_an_imds_request_takes_the_key_the_process_holds() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 2)
    imds = payload["message"]["imds"]
    imds["type"] = "request"
    del imds["aws"]["security_credentials"]
    payload["message"]["network"]["destination"] = {"ip": "169.254.169.254", "port": 80}
    event, _ = (r.item for r in parse_value(payload) if isinstance(r, Accepted))
    assert isinstance(event, ImdsEvent)
    assert (event.imds.access_key_id, event.imds.server_ip) == (
        "ASIAQX7EXAMPLE3STLN",
        "169.254.169.254",
    )
    held = payload["message"]["process"]["aws_security_credentials"]
    held.append({**held[0], "access_key_id": "ASIAQX7EXAMPLE4OTHER"})
    event, _ = (r.item for r in parse_value(payload) if isinstance(r, Accepted))
    assert isinstance(event, ImdsEvent) and event.imds.access_key_id is None  # which one?


def test_exit_dns_connect_and_files() -> None:
    name = "kubectl_exec_imds.json"
    exit_, _, _ = at(name, 4)
    assert isinstance(exit_, ProcessExit)
    assert (exit_.exit_code, exit_.signal) == (0, None)
    dns, _, _ = at(name, 5)
    assert isinstance(dns, DnsEvent)
    assert (dns.dns.name, dns.dns.type, dns.process.pid) == ("exfil.attacker-cdn.net", "A", 31340)
    read, _, _ = at(name, 6)
    assert isinstance(read, FileEvent)
    assert (read.kind, read.file.path, read.file.flags, read.file.mode) == (
        "file_open",
        "/etc/shadow",
        "O_RDONLY",
        None,
    )
    connect, _, _ = at(name, 7)
    assert isinstance(connect, NetworkEvent)
    assert connect.network.model_dump(exclude_none=True) == {
        "protocol": "tcp",
        "family": "inet",
        "dst_ip": "203.0.113.50",
        "dst_port": 443,
    }
    create, _, _ = at(name, 8)
    assert isinstance(create, FileEvent)
    assert (create.kind, create.file.path, create.file.flags, create.file.mode) == (
        "file_create",
        "/tmp/.x/kworkerd",
        "O_WRONLY|O_CREAT|O_TRUNC",
        0o644,
    )
    assert create.process.comm == "bash"
    chmod, _, _ = at(name, 9)
    assert isinstance(chmod, FileEvent)
    assert (chmod.kind, chmod.file.path, chmod.file.mode) == (
        "file_chmod",
        "/tmp/.x/kworkerd",
        0o755,
    )
    rename, _, _ = at(name, 10)
    assert isinstance(rename, FileEvent)
    assert (rename.kind, rename.file.path, rename.file.target_path) == (
        "file_rename",
        "/tmp/.x/kworkerd",
        "/usr/local/bin/kworkerd",
    )
    unlink, _, _ = at(name, 11)
    assert isinstance(unlink, FileEvent)
    assert (unlink.kind, unlink.file.path) == ("file_unlink", "/root/.bash_history")
    bind, _, _ = at(name, 12)
    assert isinstance(bind, NetworkEvent)
    assert bind.network.model_dump(exclude_none=True) == {
        "protocol": "tcp",
        "family": "inet",
        "src_ip": "0.0.0.0",
        "src_port": 4444,
    }


def test_file_hashes_are_kept_bounded() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 7)  # the create of /tmp/.x/kworkerd
    file = payload["message"]["file"]
    assert file["path"] == "/tmp/.x/kworkerd"
    digest = "sha256:" + "ab" * 32
    file["hashes"] = [digest, digest, " ", "x" * 201, 42, *(f"md5:{i}" for i in range(10))]
    outcomes = parse_value(as_sent(payload))
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    [event] = [o.item for o in outcomes if isinstance(o.item, FileEvent)]  # type: ignore[union-attr]
    # repeats, blanks, overlong and non-strings go; at most 8 are kept, in order
    assert event.file.hashes == [digest, *(f"md5:{i}" for i in range(7))]


def test_an_event_type_without_a_kind_keeps_its_alert() -> None:
    [(_, alert, warnings)] = [found for found in items("kubectl_exec_imds.json") if found[0] == 13]
    assert isinstance(alert, AlertEvent)
    assert alert.alert.rule_id == "ptrace_attach_in_container"
    assert alert.alert.on_event is None
    assert alert.process.exe == "/usr/local/bin/kworkerd"
    assert warnings == ("event type 'ptrace' has no Storyline kind: kept as the alert only",)


def test_ssh_session_on_a_bastion() -> None:
    name = "ssh_and_web_shell.json"
    read, _, warnings = at(name, 1)
    assert isinstance(read, FileEvent)
    assert warnings == ("evt.outcome is 'Refused': the event model cannot say the call failed",)
    sudo, alert, warnings = at(name, 2)
    assert isinstance(sudo, ProcessExec)
    assert warnings == ()
    assert sudo.host.id == "bastion-01"
    assert (sudo.container, sudo.pod) == (None, None)
    p = sudo.process
    assert (p.pid, p.args, p.uid, p.user, p.auid, p.tty) == (
        20511,
        ["sudo", "-i"],
        1001,
        "alice",
        1001,
        "pts1",
    )
    assert (p.cgroup, p.service) == ("/user.slice/user-1001.slice/session-12.scope", None)
    assert sudo.session is not None
    assert sudo.session.model_dump(exclude_none=True) == {
        "kind": "ssh",
        "id": "3f0a77c2d91e4b08",
        "user": "alice",
        "ssh_client_ip": "198.51.100.7",
        "ssh_client_port": 52144,
    }
    assert sudo.parent is not None and sudo.parent.args == ["-bash"]
    assert [(a.comm, a.args) for a in sudo.ancestors] == [
        ("sshd", ["sshd: alice [priv]"]),
        ("sshd", ["/usr/sbin/sshd", "-D"]),
        (
            "systemd",
            ["/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "21"],
        ),
    ]
    assert alert is not None and alert.alert.title == "Interactive root shell opened with sudo"


def test_web_shell_under_a_systemd_service_killed_by_a_signal() -> None:
    name = "ssh_and_web_shell.json"
    shell, _, _ = at(name, 3)
    assert shell.host.id == "web-01"
    assert (shell.process.service, shell.process.user) == ("nginx.service", "www-data")
    assert shell.parent is not None
    assert (shell.parent.pid, shell.parent.service) == (1023, "nginx.service")
    killed, _, _ = at(name, 4)
    assert isinstance(killed, ProcessExit)
    assert (killed.exit_code, killed.signal) == (None, "SIGKILL")
    assert killed.process.identity("web-01") == shell.process.identity("web-01")


def test_agent_status_events_are_rejected() -> None:
    [result] = run("agent_self_test.json")
    assert isinstance(result, Rejected)
    assert (
        result.reason == "no process context: rule 'self_test' is not runtime activity of a process"
    )


def test_ids_are_stable_and_distinct() -> None:
    first = [item.id for _, item, _ in items("kubectl_exec_imds.json")]
    again = [item.id for _, item, _ in items("kubectl_exec_imds.json")]
    assert first == again
    assert len(set(first)) == len(first) == 25
    assert all(i.startswith("datadog:") for i in first)


def test_one_event_has_the_same_ids_whichever_shape_it_came_in() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 0)
    as_object = parse_value(payload)
    as_string = parse_value(as_sent(payload))
    bare = parse_value({**payload["message"], "hostname": NODE})
    ids = [r.item.id for r in as_object if isinstance(r, Accepted)]
    assert len(ids) == 2 and ids[1] == f"{ids[0]}:alert"
    for results in (as_string, bare):
        assert [r.item.id for r in results if isinstance(r, Accepted)] == ids
    assert [r.item for r in as_string if isinstance(r, Accepted)] == [
        r.item for r in as_object if isinstance(r, Accepted)
    ]


def test_logs_api_export_uses_the_host_tags_and_status_of_the_log() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 2)
    log = {
        "id": "AwAAAY9yX3Zk1cD9aQAAABhBWTl5WDNaa0FBQ0JSVlFVNWlfaVFBQUE",
        "type": "log",
        "attributes": {
            "timestamp": "2024-05-14T09:12:41.139Z",
            "host": NODE,
            "service": "web",
            "status": "high",
            "tags": payload["ddtags"].split(","),
            "message": "AWS instance credentials retrieved from the metadata service",
            "attributes": payload["message"],
        },
    }
    broken = {"id": "x", "type": "log", "attributes": {"host": NODE, "attributes": {"title": "t"}}}
    results = parse_value({"data": [log, broken], "meta": {"page": {}}}, position=5)
    assert [type(r) for r in results] == [Accepted, Accepted, Rejected]
    event, alert = (r.item for r in results if isinstance(r, Accepted))
    [same, _] = [r.item for r in parse_value(as_sent(payload)) if isinstance(r, Accepted)]
    assert event.id == same.id
    assert (alert.id, alert.kind) == (f"{event.id}:alert", "alert")
    assert isinstance(alert, AlertEvent) and alert.alert.severity == "high"
    assert event.container is not None and event.container.name == "web"
    assert results[2] == Rejected(
        5,
        "data[1]: not a Datadog Workload Protection event: expected the agent's intake payload "
        "(message, hostname), a Logs API log (type: log) or an event with `agent`",
        json.dumps(broken, separators=(",", ":")),
    )


def test_a_bare_event_needs_its_host() -> None:
    event = fixture_payload("ssh_and_web_shell.json", 1)["message"]
    [result] = parse_value(event)
    assert isinstance(result, Rejected)
    assert result.reason.startswith("no host: the event does not name its host")
    results = parse_value({**event, "hostname": "bastion-01"})
    assert [type(r) for r in results] == [Accepted, Accepted]


@pytest.mark.parametrize(
    ("envelope", "severity"),
    [
        ({"status": "info"}, "medium"),  # the agent's log level, not the rule's severity
        ({"status": "critical"}, "critical"),
        ({"status": "warn"}, "medium"),
        ({"status": "info", "severity": "low"}, "low"),
    ],
)
def test_alert_severity(envelope: dict[str, Any], severity: str) -> None:
    payload = {**fixture_payload("ssh_and_web_shell.json", 2), **envelope}
    alerts = [r.item for r in parse_value(payload) if isinstance(r, Accepted)]
    assert [a.alert.severity for a in alerts if isinstance(a, AlertEvent)] == [severity]


def mutated(evt_name: str, **sections: Any) -> dict[str, Any]:
    payload = fixture_payload("kubectl_exec_imds.json", 1)
    payload["message"]["evt"]["name"] = evt_name
    payload["message"].update(sections)
    return payload


def test_fork_accept_mkdir_and_rmdir() -> None:
    kinds = {}
    for name, sections in [
        ("fork", {}),
        ("accept", {"accept": {"addr": {"family": "AF_INET6", "ip": "::1", "port": 8080}}}),
        ("mkdir", {"file": {"path": "/tmp/.x", "mode": 16877, "uid": 0, "gid": 0}}),
        ("rmdir", {"file": {"path": "/tmp/.x", "uid": 0, "gid": 0}}),
    ]:
        [event, alert] = [r.item for r in parse_value(mutated(name, **sections))]
        assert isinstance(alert, AlertEvent)
        kinds[name] = event.kind
        if isinstance(event, NetworkEvent):
            assert event.network.model_dump(exclude_none=True) == {
                "family": "inet6",
                "dst_ip": "::1",
                "dst_port": 8080,
            }
        if name == "mkdir":
            assert isinstance(event, FileEvent) and event.file.mode == 0o755
    assert kinds == {
        "fork": "process_fork",
        "accept": "network_accept",
        "mkdir": "file_create",
        "rmdir": "file_unlink",
    }


def test_an_unusable_event_section_keeps_the_alert_with_a_warning() -> None:
    payload = mutated("open", file={"path_resolution_error": "ENOENT", "uid": 0, "gid": 0})
    results = parse_value(payload)
    assert [r.item.kind for r in results if isinstance(r, Accepted)] == ["alert"]
    assert isinstance(results[0], Accepted)
    assert results[0].warnings == (
        "open event dropped, kept as the alert only: file path unresolved by the agent: ENOENT",
    )
    payload = mutated("dns", dns={"question": {"name": 7}})
    [result] = parse_value(payload)
    assert isinstance(result, Accepted)
    assert result.warnings[0].startswith(
        "dns event dropped, kept as the alert only: dns.name: Input should be a valid string"
    )


def test_args_without_argv0_are_dropped_with_a_warning() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 1)
    del payload["message"]["process"]["argv0"]
    results = parse_value(payload)
    assert isinstance(results[0], Accepted)
    assert results[0].item.process.args is None
    assert results[0].warnings == ("process.args without argv0 dropped: argv[0] is unknown",)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "a Datadog event must be a JSON object"),
        ({}, "not a Datadog Workload Protection event"),
        ({"message": "hello", "hostname": "h"}, "message is not JSON: Expecting value at column 1"),
        ({"message": "{}", "hostname": "h"}, "not a Datadog Workload Protection event"),
        ({"message": {"agent": "x"}, "hostname": "h"}, "not a Datadog Workload Protection event"),
        ({"message": {"agent": {}, "process": []}, "hostname": "h"}, "process: expected an object"),
        (
            {"message": {"agent": {"rule_id": 3}}, "hostname": "h"},
            "agent.rule_id: expected a string",
        ),
        ({"message": {"agent": {}, "process": {"pid": 1}}, "hostname": "h"}, "missing date"),
        ({"data": [7]}, "data[0]: a Datadog event must be a JSON object"),
    ],
)
def test_garbage_is_rejected_with_a_reason(value: Any, reason: str) -> None:
    results = parse_value(value, position=2)
    assert len(results) == 1
    [result] = results
    assert isinstance(result, Rejected)
    assert result.position == 2
    assert result.reason.startswith(reason), result.reason


def test_bad_process_fields_reject_the_record() -> None:
    payload = fixture_payload("kubectl_exec_imds.json", 1)
    payload["message"]["process"]["pid"] = "thirty"
    [result] = parse_value(payload)
    assert isinstance(result, Rejected)
    assert result.reason.startswith("process.pid: Input should be a valid integer")
    payload = fixture_payload("kubectl_exec_imds.json", 1)
    del payload["message"]["process"]["exec_time"], payload["message"]["process"]["fork_time"]
    [result] = parse_value(payload)
    assert isinstance(result, Rejected)
    assert (
        "a process needs its sensor's global id (key) or both pid and start_time" in result.reason
    )
    payload = fixture_payload("kubectl_exec_imds.json", 1)
    payload["message"]["date"] = 10**30
    [result] = parse_value(payload)
    assert isinstance(result, Rejected)
    assert "timestamp out of range" in result.reason


# one payload of each fixture file, so every section of the schema that they use is mutated
FUZZ_PAYLOADS = [
    json.loads((FIXTURES / name).read_text())[index]
    for name, index in [
        ("kubectl_exec_imds.json", 2),
        ("kubectl_exec_imds.json", 9),
        ("ssh_and_web_shell.json", 3),
    ]
]
FUZZ_PATHS = [(i, path) for i, payload in enumerate(FUZZ_PAYLOADS) for path in paths(payload)]


@settings(max_examples=500, database=None, deadline=None)
@given(st.sampled_from(FUZZ_PATHS), JSON)
def test_no_exception_escapes_whatever_a_field_holds(
    where: tuple[int, tuple[Any, ...]], new: Any
) -> None:
    index, path = where
    value = replaced(FUZZ_PAYLOADS[index], path, new)
    wrapped = [value, {"data": [value]}]
    if isinstance(value, dict) and isinstance(value.get("message"), dict):
        wrapped.append(as_sent(value))
    for record in wrapped:
        results = parse_value(record)
        assert results
        assert all(isinstance(r, Accepted | Rejected) for r in results)
