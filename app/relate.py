"""Relates control-plane audit records to what they concern (`RELATES_TO`).

Runs in the background stage (app/pipeline.py), once the context layers have
stamped what is queued:

- a CloudTrail call signed with credentials that a process fetched from the
  instance metadata service -> that process (cypher/relate/imds_credentials);
- a Kubernetes pods/exec or pods/attach record -> the k8s_user_session context
  it started and that session's pod (cypher/relate/exec_sessions).

Both sides may arrive in any order: new audit records, IMDS events carrying an
access key, and contexts whose root changed wait under `:Unrelated`, a mark the
writer or the stamping sets in its own transaction.
"""

from __future__ import annotations

from app.neo4j.database import Database

STEPS: tuple[str, ...] = ("relate/imds_credentials", "relate/exec_sessions", "relate/clear_waiting")


def relate(db: Database) -> None:
    """Links the audit records, IMDS events and contexts waiting for it."""
    for step in STEPS:
        db.run(step)
