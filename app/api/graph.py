"""The investigation graph as GraphQL types; built by app/investigation/graph.py."""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.types import Timestamp, from_row
from app.investigation.graph import build_graph

# -- GraphQL --------------------------------------------------------------------


@strawberry.type(description="A node of a story's investigation graph.")
class GraphNode:
    id: strawberry.ID = strawberry.field(description="The node's kind and key, `Kind:key`.")
    kind: str = strawberry.field(
        description="Process, ProcessGroup, File, Endpoint, Domain, Host, Container, Pod, "
        "AuditRecord or Finding."
    )
    label: str = strawberry.field(description="Display text.")
    properties: JSON = strawberry.field(
        description="The node's properties; processes and groups carry status, last_seen, "
        "signal_rules and signal_severity, a group its count and members."
    )


@strawberry.type(description="An edge of a story's investigation graph; repeats are merged.")
class GraphEdge:
    id: strawberry.ID
    source: str
    target: str
    type: str = strawberry.field(
        description="CHILD_OF, TOUCHES, CONNECTS, RESOLVES, ON_HOST, IN_CONTAINER, IN_POD, "
        "RELATES_TO or AFFECTS."
    )
    count: int = strawberry.field(
        description="How many events (or, from a group, relationships) the edge stands for."
    )
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    kinds: list[str] = strawberry.field(description="The event kind of an activity edge.")


@strawberry.type(
    description="A story's processes with their lineage, what they touched, where they ran, "
    "related audit records and findings; compact, and cut (truncated) past a size limit."
)
class InvestigationGraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool


def investigation_graph(graph: dict[str, Any]) -> InvestigationGraph:
    """Builds the GraphQL type from build_graph's data."""
    return InvestigationGraph(
        nodes=[from_row(GraphNode, n) for n in graph["nodes"]],
        edges=[from_row(GraphEdge, e) for e in graph["edges"]],
        truncated=graph["truncated"],
    )


async def story_graph(
    info: Info, story_id: str, start: str | None = None, end: str | None = None
) -> InvestigationGraph | None:
    """Returns a story's investigation graph, or None when no story has the id."""
    graph = await run_in_threadpool(
        lambda: build_graph(info.context["db"], story_id, start=start, end=end)
    )
    return investigation_graph(graph) if graph is not None else None
