"""GraphQL for search and for the entities an analyst pivots on.

`search(query)` finds hosts, users, containers, images, pods, processes, files,
IP addresses, domains, rules, tactics, techniques and stories
(app/investigation/search.py). `host`, `hosts`, `container`, `pod`, `ip`,
`domain` and `file` are roots of their own, each with the processes that ran in
or touched it and the stories it appears in: the blast radius of one indicator
in one query.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.processes import Process, _processes
from app.api.stories import Story, story_of
from app.api.types import LINKS, Link, PageInfo, Timestamp, from_row, links_of
from app.investigation import search as logic
from app.investigation.graph import place_status
from app.investigation.paging import decode_cursor, encode_cursor, page_size
from app.neo4j.database import Database

MAX_PROCESSES = 200
MAX_STORIES = 100


def _db(info: Info) -> Database:
    return info.context["db"]


@strawberry.enum(description="What a search hit or an entity is.")
class EntityKind(Enum):
    STORY = "story"
    HOST = "host"
    USER = "user"
    CONTAINER = "container"
    IMAGE = "image"
    POD = "pod"
    PROCESS = "process"
    FILE = "file"
    HASH = "hash"
    IP = "ip"
    DOMAIN = "domain"
    RULE = "rule"
    TACTIC = "tactic"
    TECHNIQUE = "technique"


@strawberry.enum(description="Whether a host, container or pod still runs.")
class PlaceStatus(Enum):
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


@strawberry.type(description="The stories an entity appears in, highest score first.")
class EntityStories:
    total_count: int
    complete: bool = strawberry.field(
        description="False when the entity had more processes than are read for it "
        f"({logic.PROCESSES_PER_ENTITY:,}), so stories of the others may be missing."
    )
    nodes: list[Story]


@strawberry.type(description="Processes of an entity, earliest start first.")
class EntityProcesses:
    complete: bool = strawberry.field(
        description=f"False when the entity had more than {logic.PROCESSES_PER_ENTITY:,} "
        "processes (only those were read)."
    )
    nodes: list[Process]


async def _stories(info: Info, kind: str, id_: str, first: int) -> EntityStories:
    first = max(1, min(first, MAX_STORIES))
    hit = logic.Hit(kind, id_, id_, None, 0.0)
    await run_in_threadpool(logic.attach_stories, _db(info), [hit], first)
    return EntityStories(
        total_count=hit.story_count,
        complete=hit.complete,
        nodes=[story_of(s) for s in hit.stories],
    )


async def _reach(info: Info, kind: str, id_: str, first: int) -> EntityProcesses:
    first = max(1, min(first, MAX_PROCESSES))

    def find() -> EntityProcesses:
        db = _db(info)
        reach = logic.entity_processes(db, [(kind, id_)], processes=first)[(kind, id_)]
        return EntityProcesses(complete=reach.complete, nodes=_processes(db, reach.processes))

    return await run_in_threadpool(find)


@strawberry.interface(
    description="Something processes run on, run in or touch: its processes and stories."
)
class Entity:
    @strawberry.field(description="Its kind.")
    def kind(self) -> EntityKind:
        return EntityKind(self._kind)  # type: ignore[attr-defined]

    @strawberry.field(description="Its key: what search, filters and links name it by.")
    def key(self) -> str:
        return self._key  # type: ignore[attr-defined]

    @strawberry.field(
        description=f"The processes that ran on or in it, or touched it (merged activity), "
        f"earliest start first; at most {MAX_PROCESSES}."
    )
    async def processes(self, info: Info, first: int = 50) -> EntityProcesses:
        return await _reach(info, self._kind, self._key, first)  # type: ignore[attr-defined]

    @strawberry.field(
        description=f"The stories it appears in, highest score first; at most {MAX_STORIES}."
    )
    async def stories(self, info: Info, first: int = 20) -> EntityStories:
        return await _stories(info, self._kind, self._key, first)  # type: ignore[attr-defined]


@strawberry.type(description="A host, with its status and when it was seen.")
class Host(Entity):
    id: strawberry.ID
    name: str | None
    status: PlaceStatus
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    _kind = "host"

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return links_of(info, "host", self, self.first_seen, self.last_seen)

    @property
    def _key(self) -> str:
        return str(self.id)


@strawberry.type(description="A container, where it ran and from which image.")
class Container(Entity):
    id: strawberry.ID
    name: str | None
    image: str | None
    runtime: str | None
    status: PlaceStatus
    host_id: str | None
    pod_uid: str | None
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    _kind = "container"

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return links_of(info, "container", self, self.first_seen, self.last_seen)

    @property
    def _key(self) -> str:
        return str(self.id)


@strawberry.type(description="A Kubernetes pod and its containers.")
class Pod(Entity):
    uid: strawberry.ID
    name: str | None
    namespace: str | None
    cluster: str | None
    workload: str | None
    status: PlaceStatus
    containers: list[str]
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    _kind = "pod"

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return links_of(info, "pod", self, self.first_seen, self.last_seen)

    @property
    def _key(self) -> str:
        return str(self.uid)


@strawberry.type(description="An IP address processes connected to, bound or listened on.")
class IpAddress(Entity):
    address: str
    ports: list[int] = strawberry.field(description="The ports seen with it.")
    _kind = "ip"

    @property
    def _key(self) -> str:
        return self.address


@strawberry.type(description="A domain name processes resolved.")
class DomainName(Entity):
    name: str
    _kind = "domain"

    @property
    def _key(self) -> str:
        return self.name


@strawberry.type(description="Where a file path was seen: a host, or a container on it.")
class FilePlace:
    host_id: str | None
    container_id: str | None
    hashes: list[str] = strawberry.field(description="Content hashes its events reported.")


@strawberry.type(description="A file path, on every host and container it was seen in.")
class FilePath(Entity):
    path: str
    places: list[FilePlace]
    _kind = "file"

    @property
    def _key(self) -> str:
        return self.path


def _place(cls: Any, props: dict[str, Any], **values: Any) -> Any:
    return from_row(cls, props, partial=True, status=PlaceStatus(place_status(props)), **values)


def _entity(db: Database, kind: str, id_: str) -> Any:
    """Returns the entity of a kind by id, or None."""
    if kind == "domain":
        id_ = id_.lower().rstrip(".")
    found = db.read("search/entity", kind=kind, id=id_)
    if not found:
        return None
    props = found[0]["props"]
    if kind == "host":
        return _place(Host, props)
    if kind == "container":
        return _place(Container, props)
    if kind == "pod":
        return _place(Pod, props, containers=props.get("containers") or [])
    if kind == "ip":
        return IpAddress(address=props["address"], ports=sorted(props["ports"]))
    if kind == "domain":
        return DomainName(name=props["name"])
    return FilePath(path=props["path"], places=[from_row(FilePlace, p) for p in props["places"]])


async def get_entity(info: Info, kind: str, id_: str) -> Any:
    return await run_in_threadpool(_entity, _db(info), kind, id_)


@strawberry.type
class HostEdge:
    cursor: str
    node: Host


@strawberry.type(description="A page of hosts, most recently seen first.")
class HostConnection:
    edges: list[HostEdge]
    page_info: PageInfo


async def list_hosts(info: Info, first: int, after: str | None) -> HostConnection:
    first = page_size(first)
    after_seen, after_id = decode_cursor(after) if after else (None, None)
    found = await run_in_threadpool(
        _db(info).read, "search/hosts", after_seen=after_seen, after_id=after_id, limit=first + 1
    )
    edges = [
        HostEdge(cursor=encode_cursor(r["seen"], r["props"]["id"]), node=_place(Host, r["props"]))
        for r in found[:first]
    ]
    return HostConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )


@strawberry.type(description="One thing a search found, with the first stories it appears in.")
class SearchHit:
    kind: EntityKind
    key: str = strawberry.field(
        description="What to look it up or filter stories by: a host id, user name, "
        "container id, image, pod uid, process key, file path, IP address, domain, rule "
        "id, tactic, technique or story id."
    )
    title: str = strawberry.field(description="What to show.")
    detail: str | None = strawberry.field(description="A second line to show, when useful.")
    score: float = strawberry.field(description="Lucene's relevance; higher is better.")
    stories: EntityStories = strawberry.field(
        description=f"Its first {logic.STORIES_PER_HIT} stories and how many there are."
    )


@strawberry.type
class SearchEdge:
    cursor: str
    node: SearchHit


@strawberry.type(description="A page of search hits, best first.")
class SearchConnection:
    edges: list[SearchEdge]
    page_info: PageInfo


async def run_search(info: Info, query: str, first: int, after: str | None) -> SearchConnection:
    page = await run_in_threadpool(logic.search, _db(info), query, first, after)
    edges = [
        SearchEdge(
            cursor=logic.encode_offset(page.offset + i + 1),
            node=SearchHit(
                kind=EntityKind(h.kind),
                key=h.id,
                title=h.title,
                detail=h.detail,
                score=h.score,
                stories=EntityStories(
                    total_count=h.story_count,
                    complete=h.complete,
                    nodes=[story_of(s) for s in h.stories],
                ),
            ),
        )
        for i, h in enumerate(page.hits)
    ]
    return SearchConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )
