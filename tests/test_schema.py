import json
from pathlib import Path

from app.api.schema import schema
from app.events import event_json_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_is_generated_from_the_code() -> None:
    expected = schema.as_str() + "\n"
    assert SCHEMA_FILE.read_text() == expected, (
        "schema.graphql is stale: run `make schema` (storyline schema > schema.graphql)"
    )


def test_events_schema_json_is_generated_from_the_model() -> None:
    expected = json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n"
    path = SCHEMA_FILE.parent / "events.schema.json"
    assert path.read_text() == expected, "events.schema.json is stale: run `make schema`"
