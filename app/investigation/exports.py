"""A story's investigation graph as Cytoscape.js JSON and as GraphML, for integrations."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any


def to_cytoscape(graph: dict[str, Any]) -> dict[str, Any]:
    """Returns a graph as Cytoscape.js JSON (`cy.json()` / `cytoscape({elements})`).

    Node data holds id, kind, label and the properties (under `properties`, so
    that no property shadows a field Cytoscape.js reserves, such as `parent`);
    classes say kind, status and signal severity, for styling."""

    def classes(n: dict[str, Any]) -> str:
        props = n["properties"]
        found = [n["kind"].lower()]
        if props.get("status"):
            found.append(props["status"])
        if props.get("signal_severity"):
            found += ["signal", f"signal-{props['signal_severity']}"]
        return " ".join(found)

    return {
        "data": {"story": graph["story"], "truncated": graph["truncated"]},
        "elements": {
            "nodes": [
                {
                    "data": {
                        "id": n["id"],
                        "kind": n["kind"],
                        "label": n["label"],
                        "properties": n["properties"],
                    },
                    "classes": classes(n),
                }
                for n in graph["nodes"]
            ],
            "edges": [{"data": dict(e)} for e in graph["edges"]],
        },
    }


GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
# characters XML 1.0 cannot hold, even escaped (process arguments may carry any byte)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _graphml_type(values: list[Any]) -> str:
    types = {type(v) for v in values}
    if types == {bool}:
        return "boolean"
    if types == {int}:
        return "long"
    if types <= {int, float}:
        return "double"
    return "string"


def to_graphml(graph: dict[str, Any]) -> str:
    """Returns a graph as GraphML: a <key> for every attribute, lists and maps as JSON
    text. Node attributes are `kind`, `label` and `properties.<name>`; edge
    attributes `type`, `count`, `first_seen`, `last_seen`, `kinds`."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")

    def attributes(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            for name, value in row.items():
                if value is not None:
                    found[name].append(value)
        return found

    node_rows = [
        {"kind": n["kind"], "label": n["label"],
         **{f"properties.{k}": v for k, v in n["properties"].items()}}
        for n in graph["nodes"]
    ]  # fmt: skip
    edge_rows = [
        {k: v for k, v in e.items() if k not in ("id", "source", "target")} for e in graph["edges"]
    ]
    graph_row = {"story": graph["story"]["id"], "truncated": graph["truncated"]}
    key_ids: dict[tuple[str, str], str] = {}
    for domain, prefix, rows in (
        ("graph", "g", [graph_row]),
        ("node", "n", node_rows),
        ("edge", "e", edge_rows),
    ):
        for i, (name, values) in enumerate(sorted(attributes(rows).items())):
            key_ids[domain, name] = f"{prefix}{i}"
            ET.SubElement(
                root,
                f"{{{GRAPHML_NS}}}key",
                {"id": f"{prefix}{i}", "for": domain, "attr.name": name,
                 "attr.type": _graphml_type(values)},
            )  # fmt: skip

    def data(parent: ET.Element, domain: str, row: dict[str, Any]) -> None:
        for name, value in sorted(row.items()):
            if value is not None:
                element = ET.SubElement(
                    parent, f"{{{GRAPHML_NS}}}data", {"key": key_ids[domain, name]}
                )
                element.text = _xml_text(value)

    g = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "G", "edgedefault": "directed"})
    data(g, "graph", graph_row)
    for n, row in zip(graph["nodes"], node_rows, strict=True):
        data(ET.SubElement(g, f"{{{GRAPHML_NS}}}node", {"id": _xml_text(n["id"])}), "node", row)
    for e, row in zip(graph["edges"], edge_rows, strict=True):
        ends = {"id": _xml_text(e["id"]), "source": _xml_text(e["source"]),
                "target": _xml_text(e["target"])}  # fmt: skip
        data(ET.SubElement(g, f"{{{GRAPHML_NS}}}edge", ends), "edge", row)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
