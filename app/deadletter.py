"""The dead-letter store: rejected raw records, kept in Neo4j, listed and re-submitted.

Letters live in the graph (label DeadLetter) so that every app replica sees
the same store. A letter's id is a hash of its format and raw text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.adapters import Rejected
from app.events import format_ts
from app.neo4j.database import Database, Transaction


@dataclass(frozen=True)
class Letter:
    """One rejected record: where it came from, why, and its raw text."""

    id: str
    format: str
    origin: str
    position: int
    reason: str
    raw: str
    # where a Kafka consumer read it (origin "kafka"); position is then the line in the message
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    @classmethod
    def of(
        cls,
        format_name: str,
        origin: str,
        rejected: Rejected,
        at: tuple[str, int, int] | None = None,
    ) -> Letter:
        """Makes a letter from an adapter's rejection (`at`: Kafka topic, partition, offset)."""
        digest = hashlib.sha256(f"{format_name}\0{rejected.raw}".encode()).hexdigest()[:32]
        topic, partition, offset = at if at is not None else (None, None, None)
        return cls(
            id=f"dl:{digest}",
            format=format_name,
            origin=origin,
            position=rejected.position,
            reason=rejected.reason,
            raw=rejected.raw,
            topic=topic,
            partition=partition,
            offset=offset,
        )

    def row(self, received_at: str) -> dict[str, Any]:
        """Returns the letter as a write row."""
        return {**self.__dict__, "received_at": received_at}


def store(tx: Transaction, letters: list[Letter]) -> None:
    """Stores letters inside an open write transaction."""
    now = datetime.now(UTC).isoformat()
    tx.run("deadletter/store_letters", rows=[x.row(now) for x in letters])


def list_letters(
    db: Database, format_name: str | None = None, ids: list[str] | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Lists stored letters, oldest first."""
    rows = db.read("deadletter/list_letters", format=format_name, ids=ids, limit=limit)
    return [{**r, "received_at": format_ts(r["received_at"])} for r in rows]


def delete(db: Database, ids: list[str]) -> None:
    """Deletes letters by id."""
    db.run("deadletter/delete_letters", ids=ids)
