"""Fixtures of the API tests."""

from __future__ import annotations

import pytest

from app.neo4j.database import Database


@pytest.fixture
def world(db: Database) -> dict[str, str]:
    """Two stories on two hosts (tests/api/test_search.py: scenario)."""
    from tests.api.test_search import scenario

    return scenario(db)
