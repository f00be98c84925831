"""What an analyst (or anyone with read scope) types into search is text: no input makes
Lucene or Neo4j fail, and each answer is a page of hits or a clear refusal. Run on the
two-story world of test_search.py, so that hits (and their stories) are read too."""

from __future__ import annotations

import pytest

from app.errors import InputError
from app.investigation.search import search
from app.neo4j.database import Database

NASTY = [
    "*", "?", "\\", "\\\\", '"', '""', "'", "AND", "OR", "NOT", "a AND", "OR b", "-x", "+x",
    "!x", "(", ")", "[x TO y]", "{x TO y}", "x~", "x~0.5", "x^10", "title:x", "/x/", "/",
    "&&", "||", "x*y", "*x", "ü", "\U0001d518", "\u0085", "\u2028", "%00", "a" * 200, "\t\t",
    "node-1 /etc/shadow 10.0.0.1:443 [::1] C:\\x sha256:ab",
]  # fmt: skip


@pytest.mark.parametrize("text", NASTY)
def test_any_text_is_a_page_or_a_clear_refusal(
    db: Database, world: dict[str, str], text: str
) -> None:
    try:
        page = search(db, text, first=5)
    except InputError as exc:
        assert str(exc)  # a clear reason, never a database error
        return
    assert len(page.hits) <= 5
