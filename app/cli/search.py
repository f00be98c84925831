"""`storyline search`, and the entity filters `storyline stories` shares with GraphQL."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.output import fit, print_table
from app.settings import Settings

# the filters of `storyline stories` beyond status and severity (StoryFilter in GraphQL)
STORY_FILTERS = {
    "text": "a title holding these words",
    "host": "this host id",
    "user": "this user",
    "rule": "this rule id",
    "tactic": "this ATT&CK tactic",
    "technique": "this ATT&CK technique",
    "container": "the processes of this container id",
    "image": "the containers of this image",
    "pod": "the containers of this pod uid",
    "process": "this process key",
    "file": "the processes that touched this path",
    "hash": "the processes that touched a file with this content hash",
    "ip": "the processes that talked to this address",
    "domain": "the processes that resolved this domain",
    "from": "activity at or after this RFC 3339 time",
    "to": "activity at or before this RFC 3339 time",
}


def cmd_search(args: argparse.Namespace) -> int:
    """Prints what matches the query: kind, key, title and the stories each appears in."""
    from app.investigation.search import search
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        page = search(db, " ".join(args.query), first=max(1, min(args.limit, 200)))
    if args.json:
        hits = [
            {
                "kind": h.kind,
                "key": h.id,
                "title": h.title,
                "detail": h.detail,
                "score": round(h.score, 3),
                "story_count": h.story_count,
                "stories": [{"id": s["id"], "title": s["title"]} for s in h.stories],
            }
            for h in page.hits
        ]
        json.dump(hits, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not page.hits:
        print("nothing matches", file=sys.stderr)
        return 0
    columns = ["kind", "key", "title", "stories"]
    rows = [
        {
            "kind": h.kind,
            "key": fit(h.id, 40),
            "title": h.title,
            "stories": (
                f"{h.story_count}: " + ", ".join(s["id"][:8] for s in h.stories)
                if h.story_count
                else "-"
            ),
        }
        for h in page.hits
    ]
    print_table(columns, rows, shrink="title")
    if page.has_next_page:
        print(f"more hits than {len(page.hits)}: --limit, or more words", file=sys.stderr)
    return 0
