"""The Cypher behind a view: which cypher/ files a GraphQL request ran, with what.

Send the header `Storyline-Cypher: 1` with a query (not a subscription) and the
response carries `extensions.cypher`: one entry per statement run, in order, with
its file (`cypher/queries/list_stories.cypher`), its text and its parameters, ready
to paste into Neo4j Browser (`:params`, then the text); `about { neo4jBrowserUrl }`
says where that is. Lists longer than 1,000 items
are cut, and the entry says `cut: true`; at most 100 statements are recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from app.neo4j.database import trace_into

HEADER = "storyline-cypher"


class CypherTrace(SchemaExtension):
    """Records the statements of a request that asked for them (the header above)."""

    trace: list[dict[str, Any]] | None = None

    def on_execute(self) -> Iterator[None]:
        request = (self.execution_context.context or {}).get("request")
        asked = request is not None and request.headers.get(HEADER, "").lower() in (
            "1", "true", "yes",
        )  # fmt: skip
        if not asked:
            yield
            return
        self.trace = []
        trace_into(self.trace)
        try:
            yield
        finally:
            trace_into(None)

    def get_results(self) -> dict[str, Any]:
        return {"cypher": self.trace} if self.trace is not None else {}
