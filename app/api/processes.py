"""GraphQL for processes: one by key, with its lineage, events and contexts.

`process(key) { parent children ancestors descendants(depth) events contexts }`
(docs/model.md). Every list is bounded: children and events are Relay
connections of at most 200 per page, ancestors stop at 100 levels, descendants
at 20 levels and 1,000 processes (`truncated` says when more were left out).
"""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.stories import event_page
from app.api.types import (
    ANNOTATIONS,
    LINKS,
    Annotation,
    Link,
    PageInfo,
    StoryEventConnection,
    Timestamp,
    annotations_on,
    from_row,
    links_of,
)
from app.errors import InputError
from app.investigation.paging import decode_cursor, encode_cursor, page_size
from app.layers import LAYERS
from app.neo4j.database import Database

MAX_DEPTH = 20
MAX_DESCENDANTS = 1000


def _db(info: Info) -> Database:
    return info.context["db"]


def load_processes(db: Database, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Returns the public properties of the processes with these keys, by key."""
    return {r["process"]["key"]: r["process"] for r in db.read("queries/process_by_key", keys=keys)}


@strawberry.type(description="An execution context a process belongs to.")
class ProcessContext:
    key: str
    layer: str
    context_class: str | None = strawberry.field(description="session or ambient.")
    root_process_key: str | None
    reason: str | None
    first_seen: Timestamp | None
    last_seen: Timestamp | None


@strawberry.type(description="A process: one exec'd image (docs/model.md).")
class Process:
    key: strawberry.ID
    pid: int | None
    ppid: int | None
    exe: str | None
    comm: str | None
    args: list[str] | None
    cwd: str | None
    uid: int | None
    user: str | None
    auid: int | None
    session_id: int | None
    tty: str | None
    cgroup: str | None
    service: str | None
    start_time: Timestamp | None
    exit_time: Timestamp | None
    exit_code: int | None
    host_id: str | None
    container_id: str | None
    session_kind: str | None
    session_user: str | None
    placeholder: bool = strawberry.field(
        description="True while only named by others (as a parent or ancestor)."
    )
    correlation_key: str | None

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        end = self.exit_time or self.start_time
        return links_of(info, "process", self, self.start_time, end)

    @strawberry.field(description=ANNOTATIONS)
    async def annotations(self, info: Info) -> list[Annotation]:
        return await annotations_on(info, str(self.key))

    @strawberry.field(description="The parent process, when known.")
    async def parent(self, info: Info) -> Process | None:
        def find() -> Process | None:
            found = _db(info).read("queries/process_parent", keys=[str(self.key)])
            if not found:
                return None
            return _processes(_db(info), [found[0]["parent"]])[0]

        return await run_in_threadpool(find)

    @strawberry.field(description="Children by start time (Relay cursor pagination).")
    async def children(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> ProcessConnection:
        first = page_size(first)
        rank = decode_cursor(after)[0] if after else None

        def find() -> ProcessConnection:
            found = _db(info).read(
                "queries/process_children", key=str(self.key), after=rank, limit=first + 1
            )
            page = found[:first]
            nodes = _processes(_db(info), [r["key"] for r in page])
            edges = [
                ProcessEdge(cursor=encode_cursor(r["rank"], None), node=n)
                for r, n in zip(page, nodes, strict=True)
            ]
            return ProcessConnection(
                edges=edges,
                page_info=PageInfo(
                    has_next_page=len(found) > first,
                    end_cursor=edges[-1].cursor if edges else None,
                ),
            )

        return await run_in_threadpool(find)

    @strawberry.field(description="Ancestors, nearest first (at most 100 levels).")
    async def ancestors(self, info: Info) -> list[Process]:
        def find() -> list[Process]:
            found = _db(info).read("queries/process_ancestors", key=str(self.key))
            return _processes(_db(info), [r["key"] for r in found])

        return await run_in_threadpool(find)

    @strawberry.field(
        description=f"Descendants down to `depth` levels (1-{MAX_DEPTH}), nearest first, "
        f"at most {MAX_DESCENDANTS}."
    )
    async def descendants(self, info: Info, depth: int = 3) -> Descendants:
        if depth < 1 or depth > MAX_DEPTH:
            raise InputError(f"depth must be between 1 and {MAX_DEPTH}")

        def find() -> Descendants:
            found = _db(info).read(
                "queries/process_descendants",
                key=str(self.key),
                depth=depth,
                limit=MAX_DESCENDANTS + 1,
            )
            page = found[:MAX_DESCENDANTS]
            nodes = _processes(_db(info), [r["key"] for r in page])
            return Descendants(
                nodes=[
                    DescendantProcess(depth=r["depth"], process=n)
                    for r, n in zip(page, nodes, strict=True)
                ],
                truncated=len(found) > MAX_DESCENDANTS,
            )

        return await run_in_threadpool(find)

    @strawberry.field(description="The process's events in time order (Relay cursor pagination).")
    async def events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        kinds: list[str] | None = None,
    ) -> StoryEventConnection:
        return await event_page(
            info, "queries/process_events", first, after, key=str(self.key), kinds=kinds
        )

    @strawberry.field(description="The contexts it belongs to, in layer priority order.")
    async def contexts(self, info: Info) -> list[ProcessContext]:
        found = await run_in_threadpool(
            _db(info).read, "queries/process_contexts", key=str(self.key)
        )
        order = {layer: i for i, layer in enumerate(LAYERS)}
        found.sort(key=lambda r: (order.get(r["layer"], len(order)), r["key"]))
        return [from_row(ProcessContext, r, root_process_key=r["root"]) for r in found]


@strawberry.type
class ProcessEdge:
    cursor: str
    node: Process


@strawberry.type(description="A page of processes.")
class ProcessConnection:
    edges: list[ProcessEdge]
    page_info: PageInfo


@strawberry.type(description="A descendant and how many levels below the process it is.")
class DescendantProcess:
    depth: int
    process: Process


@strawberry.type(description="Descendants, nearest first, and whether some were left out.")
class Descendants:
    nodes: list[DescendantProcess]
    truncated: bool


def process_of(props: dict[str, Any]) -> Process:
    """Builds a Process from process_by_key.cypher's map."""
    return from_row(Process, props, partial=True, placeholder=bool(props.get("placeholder")))


def _processes(db: Database, keys: list[str]) -> list[Process]:
    found = load_processes(db, keys)
    return [process_of(found[k]) for k in keys if k in found]


async def get_process(info: Info, key: str) -> Process | None:
    """Resolves Query.process."""
    found = await run_in_threadpool(_processes, _db(info), [key])
    return found[0] if found else None
