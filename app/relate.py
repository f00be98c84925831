"""Relates control-plane audit records to what they concern (`RELATES_TO`).

Runs after each batch, once the context layers have stamped it:

- a CloudTrail call signed with credentials that a process fetched from the
  instance metadata service -> that process (cypher/relate/imds_credentials);
- a Kubernetes pods/exec or pods/attach record -> the k8s_user_session context
  it started and that session's pod (cypher/relate/exec_sessions).

Both sides may arrive in any order: new audit records and contexts whose root
changed wait under `:Unrelated`, and the batch's IMDS events name their keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.neo4j.database import Database


def relate(db: Database, events: Sequence[dict[str, Any]]) -> None:
    """Links the audit records and contexts waiting for it, and this batch's IMDS events."""
    keys = sorted(
        {
            e["props"]["access_key_id"]
            for e in events
            if e["props"].get("kind") == "imds_request" and e["props"].get("access_key_id")
        }
    )
    db.run("relate/imds_credentials", keys=keys)
    db.run("relate/exec_sessions")
    db.run("relate/clear_waiting")
