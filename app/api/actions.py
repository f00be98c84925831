"""Typed response actions and their approvals as GraphQL types; app/investigation/approvals.py
records and sends them."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from app.api.auth import actor_name
from app.api.types import Timestamp
from app.investigation.approvals import approvals_of, approve, story_actions


@strawberry.enum(description="What a response action does. A machine acts on the first four; "
                 "REVIEW is for a person.")  # fmt: skip
class ActionType(Enum):
    KILL_PROCESS = "KILL_PROCESS"
    ISOLATE_CONTAINER = "ISOLATE_CONTAINER"
    BLOCK_EGRESS = "BLOCK_EGRESS"
    ROTATE_CREDENTIAL = "ROTATE_CREDENTIAL"
    REVIEW = "REVIEW"


@strawberry.type(description="The process a KILL_PROCESS action kills.")
class ProcessTarget:
    host: str | None
    pid: int | None
    key: str | None = strawberry.field(description="The process key (host|pid|start).")
    exe: str | None


@strawberry.type(description="The container an ISOLATE_CONTAINER action isolates.")
class ContainerTarget:
    id: str
    host: str | None


@strawberry.type(description="Where a BLOCK_EGRESS action blocks traffic to: an address "
                 "(with its port when known) or a domain.")  # fmt: skip
class AddressTarget:
    ip: str | None
    port: int | None
    domain: str | None


@strawberry.type(description="The cloud credential a ROTATE_CREDENTIAL action rotates.")
class CredentialTarget:
    access_key_id: str | None
    role: str | None


ActionTarget = Annotated[
    ProcessTarget | ContainerTarget | AddressTarget | CredentialTarget,
    strawberry.union("ActionTarget", description="What a response action acts on."),
]


@strawberry.enum(description="Where the delivery of an approved action stands.")
class DeliveryStatus(Enum):
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.enum(description="Where a recommended action stands.")
class ActionStatus(Enum):
    RECOMMENDED = "recommended"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type(description="An approval of a story's response action, with who and when, "
                 "and what its delivery to the action webhook gave.")  # fmt: skip
class ActionApproval:
    id: strawberry.ID
    action_id: str
    type: ActionType
    text: str
    target: ActionTarget | None
    actor: str = strawberry.field(description="Who approved it (the API token's name).")
    ts: Timestamp = strawberry.field(description="When it was approved.")
    comment: str | None
    delivery: DeliveryStatus
    delivery_code: int | None = strawberry.field(
        description="The receiver's HTTP status of the last attempt, or null with no answer."
    )
    delivery_error: str | None = strawberry.field(
        description="Why the last attempt failed (a status that is not 2xx, no answer)."
    )
    attempts: int = strawberry.field(description="How many times it was sent.")
    last_attempt_at: Timestamp | None
    last_attempt_by: str | None = strawberry.field(
        description="Who made the last attempt (the approver, or who retried)."
    )
    delivered_at: Timestamp | None


@strawberry.type(description="A recommended response action: its type, its typed target, the "
                 "text for people, and whether it was approved.")  # fmt: skip
class ResponseAction:
    id: strawberry.ID = strawberry.field(
        description="A digest of the type and target (of the text for REVIEW): the same "
        "action recommended twice has one id."
    )
    type: ActionType
    text: str
    target: ActionTarget | None = strawberry.field(description="Null for REVIEW.")
    status: ActionStatus
    approval: ActionApproval | None


_TARGETS: dict[str, type] = {
    "process": ProcessTarget,
    "container": ContainerTarget,
    "address": AddressTarget,
    "credential": CredentialTarget,
}


def target_of(raw: dict[str, Any] | str | None) -> Any:
    """Builds a typed target from its stored form (a dict, or JSON text)."""
    found = json.loads(raw) if isinstance(raw, str) else raw
    if not found:
        return None
    cls = _TARGETS[found["kind"]]
    return cls(**{f.name: found.get(f.name) for f in dataclasses.fields(cls)})


def approval_of(row: dict[str, Any]) -> ActionApproval:
    """Builds an ActionApproval from a stored approval row."""
    delivery = row.get("delivery")
    return ActionApproval(
        id=strawberry.ID(row["id"]),
        action_id=row["action_id"],
        type=ActionType(row["type"]),
        text=row["text"],
        target=target_of(row.get("target")),
        actor=row["actor"],
        ts=row["ts"],
        comment=row.get("comment"),
        delivery=DeliveryStatus(delivery) if delivery != "pending" else DeliveryStatus.SENDING,
        delivery_code=row.get("delivery_code"),
        delivery_error=row.get("delivery_error"),
        attempts=row.get("attempts") or 0,
        last_attempt_at=row.get("last_attempt_at"),
        last_attempt_by=row.get("last_attempt_by"),
        delivered_at=row.get("delivered_at"),
    )


async def approvals_for(info: Info, story_id: str) -> list[dict[str, Any]]:
    """A story's approvals; the loads of one request go out together."""
    loader = info.context.get("story_approvals")
    if loader is None:
        db = info.context["db"]

        async def load(ids: list[str]) -> list[list[dict[str, Any]]]:
            found = await run_in_threadpool(approvals_of, db, list(ids))
            return [found[i] for i in ids]

        loader = info.context["story_approvals"] = DataLoader(load_fn=load, max_batch_size=500)
    result: list[dict[str, Any]] = await loader.load(story_id)
    return result


def response_actions(
    story: dict[str, Any], approvals: list[dict[str, Any]]
) -> list[ResponseAction]:
    """Builds a story's typed actions, each with its approval when it has one."""
    by_action = {a["action_id"]: a for a in approvals}
    out = []
    for action in story_actions(story):
        approval = by_action.get(action["id"])
        made = approval_of(approval) if approval else None
        out.append(
            ResponseAction(
                id=strawberry.ID(action["id"]),
                type=ActionType(action["type"]),
                text=action["text"],
                target=target_of(action.get("target")),
                status=ActionStatus(made.delivery.value) if made else ActionStatus.RECOMMENDED,
                approval=made,
            )
        )
    return out


async def approve_action(
    info: Info, story_id: str, action_id: str, comment: str | None
) -> ActionApproval:
    """Approves a story's action and sends it to the webhook; returns the approval."""
    found = await run_in_threadpool(
        approve,
        info.context["db"],
        info.context.get("webhook"),
        story_id,
        action_id,
        actor_name(info.context.get("request")),
        comment,
    )
    info.context.pop("story_approvals", None)
    return approval_of(found)
