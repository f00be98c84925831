"""The seeded workload generator: realistic hosts, background noise and planted attacks.

`storyline generate --seed S --events N [--hosts H]` writes `lines(...)` as NDJSON in
the native format (app/events.py); `Truth` says which events and processes belong
to which planted attack chain, for measuring how stories group them.

How a workload is made:
- every host "boots" first: a procfs walk, as Tetragon does when it starts, emits a
  `process_exec` (or `process_fork`) for systemd, its services, the container
  runtime and every pod's processes, parents first;
- *actors* (servers, cron, systemd timers, SSH and kubectl exec sessions, probes)
  then each yield their events in time order, and a heap merges them into one
  stream; a process's exec (or fork) always precedes its other events;
- attack chains (`CHAIN_KINDS`) are planned at seeded positions of the stream and
  run amid the noise, from a long-lived server or a kubectl exec. They are kept
  whole: once the events left to write are only enough for the chains still
  running, only those write, so the stream has exactly N events and no chain is cut.

Hosts differ in what their sensor ships (docs/model.md): `tetragon`-style
hosts give every process a global `key` and ship ancestors; `datadog`-style hosts
leave the key out (so it is host|pid|start_time), ship ancestors and SSH user
sessions; `auditd`-style hosts ship neither key nor ancestors. The same (seed,
events, hosts, alerts) gives the same bytes: only `random.Random(seed)` decides,
and nothing depends on a clock or on set order.

truth.py       the ground truth: planted chains and the noise's alerts
pieces.py      the simulation's pieces: clock, hosts, containers, processes, events
simulation.py  the actors' scheduler and the stream it writes; planning the chains
alerts.py      the runtime sensor's rules and its alert on an event
acts.py        small reusable acts: a short command, apt's download, runc exec
boot.py        the procfs walk each host starts with
daemons.py     servers and daemons: repetitive background activity
cron.py        cron jobs and systemd timers
ssh.py         SSH logins, interactive shells, sudo, tmux
kubectl.py     kubectl exec sessions into pods
chains.py      the planted attack chains
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from app.events import EVENT_ADAPTER, Event
from app.generate.boot import CLUSTER
from app.generate.chains import ATTACKER_IP, CHAIN_KINDS, REVSHELL_IP
from app.generate.pieces import BASE_TIME, IMDS_IP, MS, UNSET, US, S
from app.generate.simulation import SOURCE, _Sim
from app.generate.truth import ChainTruth, Truth

__all__ = [
    "ATTACKER_IP",
    "BASE_TIME",
    "CHAIN_KINDS",
    "CLUSTER",
    "IMDS_IP",
    "MS",
    "REVSHELL_IP",
    "SOURCE",
    "UNSET",
    "US",
    "ChainTruth",
    "S",
    "Truth",
    "generate",
    "lines",
    "write_ndjson",
]


def lines(
    seed: int, events: int, hosts: int = 3, *, alerts: bool = True, truth: Truth | None = None
) -> Iterator[str]:
    """Yields the workload's events as JSON texts (no newline), filling `truth` as it goes.

    `truth` is complete once the iterator is exhausted.
    """
    if events < 0:
        raise ValueError("events must be >= 0")
    if hosts < 1:
        raise ValueError("hosts must be >= 1")
    sim = _Sim(seed, events, hosts, alerts, truth or Truth(seed, events, hosts, alerts))
    return sim.run()


def generate(
    seed: int, events: int, hosts: int = 3, *, alerts: bool = True, truth: Truth | None = None
) -> Iterator[Event]:
    """Yields the workload's events as validated models, filling `truth` as it goes."""
    for line in lines(seed, events, hosts, alerts=alerts, truth=truth):
        yield EVENT_ADAPTER.validate_json(line)


def write_ndjson(
    stream: TextIO, seed: int, events: int, hosts: int = 3, *, alerts: bool = True
) -> Truth:
    """Writes the workload as NDJSON to a text stream; returns its ground truth."""
    truth = Truth(seed, events, hosts, alerts)
    batch: list[str] = []
    for line in lines(seed, events, hosts, alerts=alerts, truth=truth):
        batch.append(line)
        if len(batch) == 4096:
            stream.write("\n".join(batch) + "\n")
            batch.clear()
    if batch:
        stream.write("\n".join(batch) + "\n")
    return truth
