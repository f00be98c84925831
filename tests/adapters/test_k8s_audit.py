"""The Kubernetes audit adapter on Falco's audit samples and on hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, get_adapter, k8s_audit
from app.events import AuditRecord
from app.framing import BadJson, json_values
from tests.adapters.fuzz import JSON, paths, replaced
from tests.conftest import DATASETS

SAMPLES = DATASETS / "k8s-audit-falco/k8s_audit"

# file -> (accepted, rejected, invalid JSON); counted with the adapter, then checked
# against the files: one Event each, six NDJSON events in
# create_configmap_sensitive_values.json, and fal_01_003.json is Falco's malformed
# input {"kind": 0}.
EXPECTED: dict[str, tuple[int, int, int]] = {
    "anonymous_creates_namespace_foo.json": (1, 0, 0),
    "attach_cluster_admin_role.json": (1, 0, 0),
    "attach_pod.json": (1, 0, 0),
    "create_cluster_role_pod_exec.json": (1, 0, 0),
    "create_cluster_role_wildcard_resources.json": (1, 0, 0),
    "create_cluster_role_wildcard_verbs.json": (1, 0, 0),
    "create_cluster_role_write_privileges.json": (1, 0, 0),
    "create_clusterrole.json": (1, 0, 0),
    "create_clusterrolebinding.json": (1, 0, 0),
    "create_configmap.json": (1, 0, 0),
    "create_configmap_no_sensitive_values.json": (1, 0, 0),
    "create_configmap_sensitive_values.json": (6, 0, 0),
    "create_deployment.json": (1, 0, 0),
    "create_kube_system_secret.json": (1, 0, 0),
    "create_nginx_pod_hostnetwork.json": (1, 0, 0),
    "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json": (1, 0, 0),
    "create_nginx_pod_nohostnetwork.json": (1, 0, 0),
    "create_nginx_pod_privileged.json": (1, 0, 0),
    "create_nginx_pod_privileged_2nd_container.json": (1, 0, 0),
    "create_nginx_pod_sensitive_mount.json": (1, 0, 0),
    "create_nginx_pod_sensitive_mount_2nd_container.json": (1, 0, 0),
    "create_nginx_pod_unprivileged.json": (1, 0, 0),
    "create_nginx_pod_unsensitive_mount.json": (1, 0, 0),
    "create_nginx_service_nodeport.json": (1, 0, 0),
    "create_nginx_service_nonodeport.json": (1, 0, 0),
    "create_pod_kube_public_namespace.json": (1, 0, 0),
    "create_pod_kube_system_namespace.json": (1, 0, 0),
    "create_secret.json": (1, 0, 0),
    "create_service.json": (1, 0, 0),
    "create_service_account_token_secret.json": (1, 0, 0),
    "create_serviceaccount.json": (1, 0, 0),
    "create_serviceaccount_kube_public_namespace.json": (1, 0, 0),
    "create_serviceaccount_kube_system_namespace.json": (1, 0, 0),
    "delete_cluster_role_kube_aggregator.json": (1, 0, 0),
    "delete_clusterrole.json": (1, 0, 0),
    "delete_clusterrolebinding.json": (1, 0, 0),
    "delete_configmap.json": (1, 0, 0),
    "delete_deployment.json": (1, 0, 0),
    "delete_namespace_foo.json": (1, 0, 0),
    "delete_secret.json": (1, 0, 0),
    "delete_service.json": (1, 0, 0),
    "delete_serviceaccount.json": (1, 0, 0),
    "exec_pod.json": (1, 0, 0),
    "fal_01_003.json": (0, 1, 0),
    "minikube_creates_namespace_foo.json": (1, 0, 0),
    "modify_cluster_role_node_problem_detector.json": (1, 0, 0),
    "some-user_creates_namespace_foo.json": (1, 0, 0),
}


def frame(path: Path) -> tuple[list[RawRecord], list[RawRecord]]:
    """Frames a file as the product does; returns (JSON records, invalid JSON records)."""
    with path.open(encoding="utf-8") as stream:
        records = list(json_values(stream))
    good = [r for r in records if not isinstance(r.text, BadJson)]
    return good, [r for r in records if isinstance(r.text, BadJson)]


def outcomes(path: Path) -> list[Outcome]:
    return list(k8s_audit.parse(frame(path)[0]))


def accepted(path: Path) -> list[AuditRecord]:
    items = []
    for outcome in outcomes(path):
        assert isinstance(outcome, Accepted), outcome
        assert isinstance(outcome.item, AuditRecord)
        items.append(outcome.item)
    return items


def parse_value(value: Any, position: int = 1) -> list[Outcome]:
    return list(k8s_audit.parse([RawRecord(position, json.dumps(value), value)]))


def exec_event() -> dict[str, Any]:
    return json.loads((SAMPLES / "exec_pod.json").read_text())


def test_module_shape() -> None:
    assert k8s_audit.name == "k8s-audit"
    assert k8s_audit.framing == "json"
    assert get_adapter("k8s-audit") is k8s_audit


def test_every_sample_file_is_accepted_or_rejected_with_pinned_counts() -> None:
    found = {}
    for path in sorted(SAMPLES.glob("*.json")):
        good, bad = frame(path)
        results = list(k8s_audit.parse(good))
        assert all(isinstance(r, Accepted | Rejected) for r in results)
        assert all(r.reason for r in results if isinstance(r, Rejected))
        found[path.name] = (
            sum(isinstance(r, Accepted) for r in results),
            sum(isinstance(r, Rejected) for r in results),
            len(bad),
        )
    assert found == EXPECTED
    assert sum(a for a, _, _ in found.values()) == 51
    assert sum(r for _, r, _ in found.values()) == 1


def test_kubectl_exec_names_pod_container_command_and_actor() -> None:
    [record] = accepted(SAMPLES / "exec_pod.json")
    assert record == AuditRecord(
        id="ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6:ResponseStarted",
        ts="2018-10-26T13:38:34.902914000Z",
        source="k8s_audit",
        actor="minikube-user",
        action="create pods/exec",
        target="default/nginx-deployment-7998647bdf-phvq7",
        outcome="101",
        source_ip="192.168.99.1",
        namespace="default",
        pod="nginx-deployment-7998647bdf-phvq7",
        container="nginx1",
        command=["bash"],
    )


def test_kubectl_attach_has_a_container_and_no_command() -> None:
    [record] = accepted(SAMPLES / "attach_pod.json")
    assert (record.action, record.pod, record.container, record.command) == (
        "create pods/attach",
        "nginx-deployment-7998647bdf-phvq7",
        "nginx1",
        None,
    )


def test_a_create_names_its_object_from_the_response() -> None:
    [record] = accepted(SAMPLES / "create_nginx_pod_privileged.json")
    assert record.actor == "system:serviceaccount:kube-system:replicaset-controller"
    assert record.action == "create pods"
    assert record.target == "default/nginx-deployment-5cdcc99dbf-rgw6z"
    assert record.pod is None  # only exec and attach name a session's pod
    assert record.source_ip == "::1"
    assert record.outcome == "201"


def test_cluster_scoped_objects_and_namespaces_are_named_alone() -> None:
    [role] = accepted(SAMPLES / "delete_cluster_role_kube_aggregator.json")
    assert (role.action, role.target, role.namespace) == (
        "delete clusterroles",
        "system:kube-aggregator",
        None,
    )
    [namespace] = accepted(SAMPLES / "delete_namespace_foo.json")
    assert (namespace.action, namespace.target, namespace.namespace) == (
        "delete namespaces",
        "foo",
        "foo",
    )


def test_user_agent_and_anonymous_actor() -> None:
    [secret] = accepted(SAMPLES / "create_secret.json")
    assert secret.user_agent == "kubectl/v1.17.3 (darwin/amd64) kubernetes/06ad960"
    assert secret.target == "default/example-secret"
    [anonymous] = accepted(SAMPLES / "anonymous_creates_namespace_foo.json")
    assert anonymous.actor == "system:anonymous"


def test_ndjson_file_keeps_line_positions() -> None:
    results = outcomes(SAMPLES / "create_configmap_sensitive_values.json")
    assert [r.position for r in results] == [1, 2, 3, 4, 5, 6]
    assert len({r.item.id for r in results if isinstance(r, Accepted)}) == 6


def test_the_malformed_falco_file_is_rejected_with_a_reason() -> None:
    [result] = outcomes(SAMPLES / "fal_01_003.json")
    assert result == Rejected(
        1, "kind 0 is not a Kubernetes audit Event or EventList", '{"kind": 0}'
    )


def test_each_stage_of_one_request_is_its_own_record() -> None:
    received = {**exec_event(), "stage": "RequestReceived"}
    del received["responseStatus"]
    complete = {**exec_event(), "stage": "ResponseComplete"}
    [first] = parse_value(received)
    [last] = parse_value(complete)
    assert isinstance(first, Accepted) and isinstance(last, Accepted)
    assert first.item.id == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6:RequestReceived"
    assert last.item.id == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6:ResponseComplete"
    assert first.item.outcome is None
    no_stage = exec_event()
    del no_stage["stage"]
    [bare] = parse_value(no_stage)
    assert isinstance(bare, Accepted)
    assert bare.item.id == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6"


def test_event_list_items_become_records_and_bad_items_are_rejected_by_index() -> None:
    good = exec_event()
    missing = {k: v for k, v in good.items() if k != "auditID"}
    event_list = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [good, missing, 7]}
    results = parse_value(event_list, position=4)
    assert [type(r) for r in results] == [Accepted, Rejected, Rejected]
    assert all(r.position == 4 for r in results)
    assert results[1] == Rejected(
        4, "items[1]: missing auditID", json.dumps(missing, separators=(",", ":"))
    )
    assert results[2] == Rejected(4, "items[2]: an audit event must be a JSON object", "7")


def test_impersonation_makes_the_impersonated_user_the_actor_with_a_warning() -> None:
    event = {**exec_event(), "impersonatedUser": {"username": "system:serviceaccount:ci:deployer"}}
    [result] = parse_value(event)
    assert isinstance(result, Accepted)
    assert result.item.actor == "system:serviceaccount:ci:deployer"
    assert result.warnings == (
        "impersonation: minikube-user acted as system:serviceaccount:ci:deployer",
    )


def test_exec_command_with_several_arguments_and_differing_containers() -> None:
    event = exec_event()
    event["requestURI"] = (
        "/api/v1/namespaces/shop/pods/web-0/exec?command=sh&command=-c"
        "&command=cat%20%2Fetc%2Fshadow&command=&container=app&container=sidecar&stdin=true"
    )
    [result] = parse_value(event)
    assert isinstance(result, Accepted)
    assert result.item.command == ["sh", "-c", "cat /etc/shadow", ""]
    assert result.item.container == "app"
    assert result.warnings == ("requestURI names containers app, sidecar; kept the first",)


def test_non_resource_requests_and_events_without_kind() -> None:
    event = {
        "level": "Metadata",
        "auditID": "0d9c8b7a-1111-2222-3333-444455556666",
        "stage": "ResponseComplete",
        "requestURI": "/healthz?verbose=1",
        "verb": "get",
        "user": {"username": "system:anonymous"},
        "sourceIPs": ["10.0.0.8"],
        "responseStatus": {"metadata": {}, "status": "Failure", "reason": "Forbidden"},
        "requestReceivedTimestamp": "2024-05-14T09:00:00.000001Z",
    }
    [result] = parse_value(event)
    assert isinstance(result, Accepted)
    assert (result.item.action, result.item.target, result.item.outcome) == (
        "get /healthz",
        None,
        "failure",
    )
    assert result.item.ts == "2024-05-14T09:00:00.000001000Z"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "a Kubernetes audit record must be a JSON object (Event or EventList)"),
        ("Event", "a Kubernetes audit record must be a JSON object (Event or EventList)"),
        ({"kind": "Pod", "apiVersion": "v1"}, "apiVersion 'v1' is not audit.k8s.io"),
        ({"kind": "Pod"}, "kind 'Pod' is not a Kubernetes audit Event or EventList"),
        ({}, "kind None is not a Kubernetes audit Event or EventList"),
        ({"kind": "EventList", "items": {}}, "an EventList needs an `items` list"),
        ({"kind": "Event", "verb": "get"}, "missing auditID"),
        ({"kind": "Event", "auditID": "a1"}, "missing verb"),
        (
            {"kind": "Event", "auditID": "a1", "verb": "get"},
            "missing stageTimestamp and requestReceivedTimestamp",
        ),
        (
            {"kind": "Event", "auditID": "a1", "verb": "get", "stageTimestamp": "yesterday"},
            "ts: Value error, not an RFC 3339 timestamp",
        ),
        (
            {"kind": "Event", "auditID": "a1", "verb": "get", "stageTimestamp": 10**30},
            "ts: Value error, timestamp out of range",
        ),
        (
            {"kind": "Event", "auditID": "a1", "verb": "get", "timestamp": 1, "user": "bob"},
            "user: expected an object, got str",
        ),
        (
            {"kind": "Event", "auditID": ["a1"], "verb": "get"},
            "auditID: expected a string, got list",
        ),
    ],
)
def test_garbage_is_rejected_with_a_reason(value: Any, reason: str) -> None:
    [result] = parse_value(value, position=9)
    assert isinstance(result, Rejected)
    assert result.position == 9
    assert result.reason.startswith(reason), result.reason
    assert result.raw == json.dumps(value)


EXEC_EVENT = json.loads((SAMPLES / "exec_pod.json").read_text())


@settings(max_examples=300, database=None, deadline=None)
@given(st.sampled_from(paths(EXEC_EVENT)), JSON)
def test_no_exception_escapes_whatever_a_field_holds(path: tuple[Any, ...], new: Any) -> None:
    value = replaced(EXEC_EVENT, path, new)
    for wrapped in (value, {"kind": "EventList", "items": [value]}):
        results = parse_value(wrapped)
        assert results
        assert all(isinstance(r, Accepted | Rejected) for r in results)
