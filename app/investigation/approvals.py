"""Approving a story's response action: recorded with who and when, then sent, signed.

Nothing is sent without an approval, and an approval is only recorded when there is
somewhere to send it: with no webhook configured (app/webhook.py), approving is
refused, so an analyst never reads "approved" for an action nobody received.

An approval is one `ActionApproval` node per story and action (id
`approval:<story>:<action>`), linked `(:Story)-[:APPROVAL]->`. Approving records it
and claims its delivery (cypher/actions/claim_approval.cypher), posts the JSON body
signed with HMAC-SHA256, and records what the receiver answered
(record_delivery.cypher): `delivered` on 2xx, else `failed` with the status code or
the error. Approving an action again is how a failed delivery is retried (with the
same delivery id, so a receiver can tell it is the same approval); approving one that
was delivered, or is being sent, sends nothing and answers the approval as it is.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from app.errors import InputError, NotFound
from app.events import format_ts
from app.investigation.stories import StoryNotFound
from app.neo4j.database import Database
from app.webhook import Webhook, body_of, deliver

MAX_COMMENT = 4000
_ACTION_ID = re.compile(r"^act_[0-9a-f]{20}$")
EVENT_TYPE = "storyline.action.approved"
# what the receiver learns of the story
STORY_FIELDS = ("id", "title", "severity", "status", "summary", "hosts", "first_seen", "last_seen")


class ActionNotFound(NotFound):
    """The story recommends no action with that id."""


class ApprovalError(InputError):
    """An approval cannot be made: no webhook is configured, or the comment is too long."""


def approval_id(story: str, action: str) -> str:
    """Returns the id of the approval of a story's action."""
    return f"approval:{story}:{action}"


def approval_lease(webhook: Webhook) -> int:
    """Seconds after which a delivery still marked sending may be claimed again."""
    return 3 * webhook.timeout + 5


def story_actions(story: dict[str, Any]) -> list[dict[str, Any]]:
    """Returns a story node's typed actions (response_actions) as dicts, in order."""
    return [json.loads(a) for a in story.get("response_actions") or []]


def payload(story: dict[str, Any], action: dict[str, Any], approval: dict[str, Any]) -> dict:
    """Returns what is sent for an approved action: the action, the story, who and when."""
    return {
        "id": approval["id"],
        "type": EVENT_TYPE,
        "action": {k: action[k] for k in ("id", "type", "target", "text")},
        "story": {
            k: format_ts(story.get(k)) if k in ("first_seen", "last_seen") else story.get(k)
            for k in STORY_FIELDS
        },
        "approver": approval["actor"],
        "approved_at": format_ts(approval["ts"]),
        "comment": approval.get("comment"),
    }


def approve(
    db: Database,
    webhook: Webhook | None,
    story_id: str,
    action_id: str,
    actor: str,
    comment: str | None = None,
) -> dict[str, Any]:
    """Approves a story's action and sends it (or retries a failed send); returns the approval.

    The delivery's outcome is on the approval (`delivery`, `delivery_code`,
    `delivery_error`); a failed delivery is not an error of the call.
    """
    if webhook is None:
        raise ApprovalError(
            "no action webhook is configured (STORYLINE_ACTION_WEBHOOK_URL): approving "
            "would send nothing, so it is refused"
        )
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ApprovalError(f"a comment is at most {MAX_COMMENT} characters")
    if not _ACTION_ID.match(action_id):
        raise ActionNotFound(f"no action {action_id[:80]!r}: an action id is act_ and 20 hex")
    found = db.read("actions/story_actions", id=story_id)
    if not found:
        raise StoryNotFound(f"no story {story_id[:80]!r}")
    story = found[0]["story"]
    action = next((a for a in story_actions(story) if a["id"] == action_id), None)
    if action is None:
        raise ActionNotFound(f"story {story_id!r} recommends no action {action_id!r}")
    [claimed] = db.run(
        "actions/claim_approval",
        story=story_id,
        id=approval_id(story_id, action_id),
        action_id=action_id,
        type=action["type"],
        target=json.dumps(action["target"], sort_keys=True) if action["target"] else None,
        text=action["text"],
        actor=actor,
        comment=comment,
        now=datetime.now(UTC).isoformat(),
        lease=approval_lease(webhook),
    )
    approval = claimed["approval"]
    if not claimed["send"]:
        return approval
    outcome = deliver(webhook, body_of(payload(story, action, approval)), approval["id"])
    [recorded] = db.run(
        "actions/record_delivery",
        id=approval["id"],
        delivery="delivered" if outcome.ok else "failed",
        code=outcome.status,
        error=outcome.error,
        now=datetime.now(UTC).isoformat(),
    )
    return recorded["approval"]


def approvals_of(db: Database, story_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Returns each story's approvals, in time order (unknown stories: none)."""
    found = {r["id"]: r["approvals"] for r in db.read("actions/approvals_of", ids=story_ids)}
    return {i: found.get(i, []) for i in story_ids}
