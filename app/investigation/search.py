"""Search across what Storyline holds, and the stories an entity appears in.

What an analyst types is turned into a Lucene query (`lucene`) and run against the
full-text indexes of cypher/constraints.cypher (cypher/search/nodes.cypher). Each
node found makes one or more hits, by the fields that matched: a container whose
image matched is an image hit, a process whose user matched is a user hit, a
signal is a rule, tactic or technique hit. Hits are deduplicated by (kind, id),
ranked by Lucene's score, and paged with an offset cursor.

An entity's stories come either from the story's own facts (hosts, users, rules,
tactics, techniques: through the story index, then checked exactly), or from the
execution contexts of the processes that ran in or touched it
(cypher/search/entity_processes.cypher), which is also how `stories(filter:)` narrows
to an entity.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from app.errors import InputError
from app.investigation.paging import page_size, time_window
from app.neo4j.database import Database

# the kinds of hit, in the order ties are shown
KINDS = (
    "story", "host", "user", "container", "image", "pod", "process", "file", "hash", "ip",
    "domain", "rule", "tactic", "technique",
)  # fmt: skip
# kinds whose stories are found through a fact the story holds, and its name
STORY_FACT = {
    "host": "hosts",
    "user": "users",
    "rule": "rules",
    "tactic": "tactics",
    "technique": "techniques",
}
# kinds whose stories are those of the processes that ran in or touched them
THROUGH_PROCESSES = ("process", "container", "image", "pod", "file", "hash", "ip", "domain")

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MAX_OFFSET = 500  # hits beyond this are not worth paging to: refine the query
PER_INDEX = 200  # nodes read from each index per search
STORIES_PER_HIT = 5
PROCESSES_PER_ENTITY = 20_000  # processes read per entity for its contexts

_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
_PREFIXABLE = re.compile(r"[\w.]{2,}")
_WORDS = re.compile(r"[\w.]+")


def lucene(text: str) -> str:
    """Returns the Lucene query for what an analyst typed: every word must match
    (as a phrase of its tokens, so `/etc/shadow` and `10.0.0.5` mean what they say);
    a plain word also matches as a prefix (`cur` finds `curl`). Lucene's own syntax
    is escaped: the input is text, never a query."""
    terms = text.split()
    if not terms:
        raise InputError("the search is empty")
    if len(text) > MAX_QUERY_CHARS or len(terms) > MAX_TERMS:
        raise InputError(f"a search holds at most {MAX_TERMS} words, {MAX_QUERY_CHARS} characters")
    parts = []
    for term in terms:
        phrase = '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if _PREFIXABLE.fullmatch(term):
            prefix = _LUCENE_SPECIAL.sub(r"\\\1", term.lower())
            phrase = f"({phrase} OR {prefix}*)"
        parts.append(phrase)
    return " AND ".join(parts)


def field_query(property_: str, value: str) -> str:
    """Returns the Lucene query for `value` in one field of the story index."""
    return f'{property_}:"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Hit:
    """One thing found: its kind, the id to filter or look it up by, a title to show."""

    kind: str
    id: str
    title: str
    detail: str | None
    score: float
    stories: list[dict[str, Any]] = field(default_factory=list)
    story_count: int = 0
    complete: bool = True


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    offset: int
    has_next_page: bool
    end_cursor: str | None


def _matches(value: Any, words: list[str]) -> bool:
    """Whether every word of the search occurs in a field's value (a list: in one item)."""
    if value is None:
        return False
    if isinstance(value, list):
        text = " ".join(str(v) for v in value).lower()
    else:
        text = str(value).lower()
    return all(w in text for w in words)


def _hits_of(label: str, p: dict[str, Any], score: float, words: list[str]) -> list[Hit]:
    """Returns the hits one node makes, by which of its fields matched."""
    found: list[Hit] = []

    def hit(kind: str, id_: Any, title: Any, detail: Any = None) -> None:
        if id_ is not None:
            found.append(Hit(kind, str(id_), str(title or id_), detail, score))

    if label == "host":
        hit("host", p["id"], p["name"] or p["id"], p["id"] if p["name"] else None)
    elif label == "container":
        if _matches(p["image"], words):
            hit("image", p["image"], p["image"])
        if _matches([p["id"], p["name"]], words) or not found:
            hit("container", p["id"], p["name"] or p["id"][:12], p["image"])
    elif label == "pod":
        hit("pod", p["uid"], f"{p['namespace'] or '?'}/{p['name'] or p['uid']}", p["uid"])
    elif label == "file":
        hashes = [h for h in p["hashes"] or [] if _matches(h, words)]
        for digest in hashes:
            hit("hash", digest, digest, f"content of {p['path']}")
        if not hashes or _matches(p["path"], words):
            hit("file", p["path"], p["path"])
    elif label == "ip":
        hit("ip", p["ip"], p["ip"])
    elif label == "domain":
        hit("domain", p["key"], p["key"])
    elif label == "process":
        for user in (p["user"], p["session_user"]):
            if _matches(user, words):
                hit("user", user, user)
        if _matches([p["exe"], p["args"], p["key"]], words) or not found:
            command = " ".join(p["args"]) if p["args"] else p["exe"]
            hit("process", p["key"], command or p["key"], f"pid {p['pid']} on {p['host_id']}")
    elif label == "signal":
        if _matches([p["rule_id"], p["title"]], words):
            hit("rule", p["rule_id"], p["rule_id"], p["title"])
        if _matches(p["tactic"], words):
            hit("tactic", p["tactic"], p["tactic"].replace("_", " "))
        if _matches(p["technique"], words):
            hit("technique", p["technique"], p["technique"])
    else:  # a story: itself, and the facts of it that matched
        hit("story", p["id"], p["title"])
        for kind, property_ in STORY_FACT.items():
            for value in p[property_] or []:
                if _matches(value, words):
                    hit(kind, value, value)
    return found


def encode_offset(offset: int) -> str:
    """Returns the cursor after the first `offset` hits."""
    return base64.urlsafe_b64encode(f"search:{offset}".encode()).decode()


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        name, offset = text.split(":")
        if name == "search" and offset.isdigit() and int(offset) <= MAX_OFFSET:
            return int(offset)
    except ValueError:
        pass
    raise InputError("invalid cursor")


def search(db: Database, text: str, first: int = 20, after: str | None = None) -> Page:
    """Returns one page of what matches `text`, each hit with its first stories."""
    first = page_size(first)
    query = lucene(text)
    offset = _decode(after) if after else 0
    words = [w.lower() for w in _WORDS.findall(text)] or [text.lower()]
    best: dict[tuple[str, str], Hit] = {}
    for row in db.read("search/nodes", lucene=query, limit=PER_INDEX):
        for hit in _hits_of(row["label"], row["props"], row["score"], words):
            key = (hit.kind, hit.id)
            if key not in best or hit.score > best[key].score:
                best[key] = hit
    ranked = sorted(best.values(), key=lambda h: (-h.score, KINDS.index(h.kind), h.id))
    page = ranked[offset : offset + first]
    attach_stories(db, page)
    end = offset + len(page)
    return Page(
        hits=page,
        offset=offset,
        has_next_page=len(ranked) > end and end < MAX_OFFSET,
        end_cursor=encode_offset(end) if page else None,
    )


@dataclass(frozen=True)
class Reach:
    """The processes of one entity (the first by start time) and their contexts."""

    keys: list[str]
    processes: list[str]
    complete: bool  # False when the entity had more than PROCESSES_PER_ENTITY processes


def entity_processes(
    db: Database, entities: list[tuple[str, str]], processes: int = 0
) -> dict[tuple[str, str], Reach]:
    """Returns, per (kind, id), the processes that ran in or touched it (the first
    `processes` by start time), their correlation keys, and whether the bound of
    PROCESSES_PER_ENTITY left any out (cypher/search/entity_processes.cypher)."""
    if not entities:
        return {}
    rows = db.read(
        "search/entity_processes",
        entities=[
            {"kind": k, "id": i, "lucene": field_query("hashes", i) if k == "hash" else None}
            for k, i in entities
        ],
        scan=PROCESSES_PER_ENTITY,
        processes=processes,
    )
    return {(r["kind"], r["id"]): Reach(r["keys"], r["processes"], r["complete"]) for r in rows}


def attach_stories(db: Database, hits: list[Hit], limit: int = STORIES_PER_HIT) -> None:
    """Fills in each hit's first stories (by score) and how many there are."""
    if not hits:
        return
    reach = entity_processes(db, [(h.kind, h.id) for h in hits if h.kind in THROUGH_PROCESSES])
    entities = []
    for h in hits:
        property_ = STORY_FACT.get(h.kind)
        found = reach.get((h.kind, h.id))
        h.complete = found.complete if found else True
        entities.append(
            {
                "kind": h.kind,
                "id": h.id,
                "property": property_,
                "lucene": field_query(property_, h.id) if property_ else None,
                "keys": found.keys if found else None,
            }
        )
    rows = db.read("search/stories_of", entities=entities, limit=limit)
    by_entity = {(r["kind"], r["id"]): r for r in rows}
    for h in hits:
        row = by_entity.get((h.kind, h.id))
        if row:
            h.stories, h.story_count = row["stories"], row["count"]


def story_filter_params(db: Database, values: dict[str, Any]) -> dict[str, Any]:
    """Returns the parameters of cypher/queries/list_stories.cypher for a filter's values
    (None for any): an entity reached through processes becomes the correlation keys
    a story must cover one of (several entities: those common to all)."""
    window = time_window(values.get("from"), values.get("to"))
    keys: set[str] | None = None
    # a filter field naming an entity reached through processes has that kind's name
    named = [(kind, values[kind]) for kind in THROUGH_PROCESSES if values.get(kind)]
    if named:
        found = entity_processes(db, named)
        for entity in named:
            ks = set(found[entity].keys) if entity in found else set()
            keys = ks if keys is None else keys & ks
    return {
        "statuses": values.get("statuses"),
        "severities": values.get("severities"),
        "keys": sorted(keys) if keys is not None else None,
        "ids": values.get("ids"),
        "host": values.get("host"),
        "user": values.get("user"),
        "rule": values.get("rule"),
        "tactic": values.get("tactic"),
        "technique": values.get("technique"),
        "text": values.get("text") or None,
        # hidden unless asked for: stories whose every signal an exception suppressed
        "suppressed": values.get("suppressed", False),
        "from": window[0],
        "to": window[1],
    }
