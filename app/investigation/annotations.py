"""Analysts' notes and tags on events and processes: who wrote what, and when.

An annotation is never edited or deleted: like a triage change, it is evidence of
what the analyst knew and when. Tags are short words (`c2`, `lateral-movement`,
`benign:backup-job`); a note is free text. Both show in the threat timeline of
every story whose context holds the annotated event or process.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from app.errors import InputError, NotFound
from app.neo4j.database import Database

KINDS = ("event", "process")
MAX_NOTE = 4000
MAX_TAGS = 20
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}")


class TargetNotFound(NotFound):
    """No event or process has the id or key given."""


def annotate(
    db: Database, kind: str, key: str, actor: str, note: str | None, tags: list[str] | None
) -> list[dict[str, Any]]:
    """Adds a note and/or tags to an event (by id) or a process (by key); returns them."""
    if kind not in KINDS:
        raise InputError(f"annotations go on {' or '.join(KINDS)}, not {kind!r}")
    note = (note or "").strip() or None
    tags = list(dict.fromkeys(t.strip() for t in tags or [] if t.strip()))
    if note is None and not tags:
        raise InputError("an annotation needs a note or at least one tag")
    if note is not None and len(note) > MAX_NOTE:
        raise InputError(f"a note holds at most {MAX_NOTE} characters")
    if len(tags) > MAX_TAGS:
        raise InputError(f"at most {MAX_TAGS} tags at once")
    for tag in tags:
        if not TAG.fullmatch(tag):
            raise InputError(
                f"a tag is a letter or digit, then up to 63 of letters, digits and _.:/-; "
                f"not {tag[:80]!r}"
            )
    # ids sort in the order written, so that entries at one time keep that order
    made = [("note", note)] if note else []
    made += [("tag", t) for t in tags]
    stamp = time.time_ns()
    rows = [
        {"id": f"annotation:{stamp:020d}.{i:02d}:{uuid.uuid4().hex[:12]}", "kind": k, "text": t}
        for i, (k, t) in enumerate(made)
    ]
    found = db.run(
        "annotations/annotate",
        kind=kind,
        key=key,
        rows=rows,
        actor=actor,
        ts=datetime.now(UTC).isoformat(),
    )
    if not found:
        raise TargetNotFound(f"no {kind} {key!r}")
    return [r["annotation"] for r in found]


def annotations_of(db: Database, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Returns the annotations on each event id or process key, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for r in db.read("annotations/of_targets", keys=keys):
        out[r["annotation"]["target_key"]].append(r["annotation"])
    return out
