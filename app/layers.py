"""The execution context layers, in their one fixed order, and the code that runs them.

Stamping works on a queue: the writer labels processes that are new, changed,
newly linked to a parent, or newly flagged by late evidence `:Unstamped`. Each
round takes the frontier (queued processes whose parent is stamped), runs the
six layer files in priority order (each computes its key for the frontier
from the parent's keys and the process's own attributes), then links contexts,
sets correlation keys, and queues the children of processes whose keys
changed. A new process is thus stamped from its parent in O(1); only late
evidence walks a subtree, one level per round.

An analyst can run the same steps from cypher-shell: see the README.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.neo4j.database import Database, Transaction

# Priority order: a process's correlation key is the key of the first layer here
# that it belongs to (docs/layers.md).
LAYERS: tuple[str, ...] = (
    "k8s_user_session",
    "exploit",
    "interactive_shell",
    "auid",
    "service",
    "cgroup",
)
SESSION_LAYERS: tuple[str, ...] = LAYERS[:3]
LAYER_FILES: tuple[str, ...] = (
    "layers/k8s_user_session",
    "layers/exploit",
    "layers/interactive_shell",
    "layers/auid",
    "layers/service",
    "layers/cgroup",
)

# The namespace of uuid5 session keys: uuid5(NAMESPACE, layer + root process key).
NAMESPACE = uuid.UUID("6f1c7c1e-9b8e-5b0a-8a57-2f0e3d5c4b11")

# After the six layer files, in this order, one transaction per round.
APPLY_STEPS: tuple[str, ...] = (
    "stamping/unlink_stale_contexts",
    "stamping/link_contexts",
    "stamping/drop_empty_contexts",
    "stamping/refresh_shrunk_contexts",
    "stamping/set_correlation_keys",
    "stamping/finish_frontier",
)


def session_uuids(process_key: str) -> list[str]:
    """Returns the session context keys a process would root, one per session layer."""
    return [str(uuid.uuid5(NAMESPACE, layer + process_key)) for layer in SESSION_LAYERS]


@dataclass
class StampReport:
    """How much stamping a run did."""

    rounds: int = 0
    stamped: int = 0
    cycles_broken: int = 0


def stamp(
    db: Database, max_rounds: int = 100_000, on_round: Callable[[], object] | None = None
) -> StampReport:
    """Stamps every queued process; returns how many rounds and processes it took.

    `on_round` is called after each round (the pipeline renews its lease there).
    """
    report = StampReport()
    params: dict[str, Any] = {"layers": list(LAYERS), "session_layers": list(SESSION_LAYERS)}
    force: list[str] = []
    while report.rounds < max_rounds:

        def round_(tx: Transaction, force: list[str] = force) -> int:
            frontier = tx.run("stamping/select_frontier", force=force)[0]["frontier"]
            if frontier == 0:
                return 0
            for layer_file in LAYER_FILES:
                tx.run(layer_file)
            for step in APPLY_STEPS:
                tx.run(step, **params)
            return int(frontier)

        frontier = db.transaction(round_)
        if on_round is not None:
            on_round()
        if frontier:
            report.rounds += 1
            report.stamped += frontier
            force = []
            continue
        left = db.read("stamping/count_unstamped")
        if not left or left[0]["smallest"] is None:
            break
        # Every queued process waits on a queued parent: a CHILD_OF cycle (bad
        # input). Take the smallest key as a root to break it, deterministically.
        force = [left[0]["smallest"]]
        report.cycles_broken += 1
    return report
