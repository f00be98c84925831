"""Pivot links: the settings file is checked when it loads, and each entity gets the
links whose fields it has, with its values URL-encoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.links import load_links, render

LINKS = """
host:
  - title: Logs of {id}
    url: "https://logs.example/search?q=host:{id}&from={from_ms}&to={to_ms}"
  - title: Grafana
    url: "https://grafana.example/d/node?var-host={name}&from={from}&to={to}"
audit_record:
  - title: CloudTrail for {access_key_id}
    url: "https://console.aws.amazon.com/cloudtrail/home#/events?AccessKeyId={access_key_id}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "links.yaml"
    path.write_text(text)
    return path


def test_links_render_with_encoded_values_and_the_window(tmp_path: Path) -> None:
    links = load_links(write(tmp_path, LINKS))
    found = render(links, "host", {"id": "node 1&x=2", "name": None},
                   "2026-01-05T08:00:00.123456789Z", "2026-01-05T09:00:00Z")  # fmt: skip
    # no name: the Grafana link is left out rather than pointing at nothing
    assert found == [(
        "Logs of node 1&x=2",
        "https://logs.example/search?q=host:node%201%26x%3D2"
        "&from=1767599700123&to=1767603900000",
    )]  # fmt: skip
    both = render(links, "host", {"id": "h", "name": "web"}, "2026-01-05T08:00:00Z", None)
    assert both[1] == (
        "Grafana",
        "https://grafana.example/d/node?var-host=web"
        "&from=2026-01-05T07%3A55%3A00Z&to=2026-01-05T08%3A05%3A00Z",
    )
    assert render(links, "pod", {"uid": "u"}) == []  # no template for pods
    assert render(load_links(None), "host", {"id": "h"}) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("pods: []", "unknown kind 'pods'"),
        ("host: [{title: x, url: 'https://a/{ip}'}]", "unknown field 'ip'"),
        ("host: [{title: x, url: 'https://a/{id.__class__}'}]", "unknown field 'id.__class__'"),
        ("host: [{title: x, url: 'javascript:alert({id})'}]", "must start with http"),
        ("host: [{title: x}]", "a link is {title: ..., url: ...}"),
        ("host: [{title: x, url: 'https://a/{id'}]", "expected '}'"),
        ("- a list", "a mapping of entity kind"),
        ("host: [", "is not YAML"),
    ],
)
def test_a_bad_links_file_is_a_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_links(write(tmp_path, text))
    assert reason in str(caught.value)


def test_every_field_a_template_may_name_is_an_attribute_of_its_graphql_type() -> None:
    # links_of reads a template's fields off the GraphQL object by name: a field
    # missing there would silently drop every link that names it
    import dataclasses

    from app.api.entities import Container, Host, Pod
    from app.api.processes import Process
    from app.api.schema import Event
    from app.api.timeline import AuditRecord
    from app.api.types import StoryEvent
    from app.links import FIELDS

    types = {"host": [Host], "container": [Container], "pod": [Pod], "process": [Process],
             "event": [Event, StoryEvent], "audit_record": [AuditRecord]}  # fmt: skip
    assert set(types) == set(FIELDS)
    for kind, classes in types.items():
        for cls in classes:
            names = {f.name for f in dataclasses.fields(cls)}
            assert set(FIELDS[kind]) <= names, (kind, cls.__name__, set(FIELDS[kind]) - names)
