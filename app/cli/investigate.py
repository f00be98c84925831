"""`storyline cypher`, `stories`, `story`, `rules`, `layers` and `schema`: looking at the graph."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli.output import fit, print_table, terminal_width, with_times
from app.errors import InputError, StorylineError
from app.events import format_ts
from app.settings import Settings


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """Parses K=V pairs; V is JSON when it parses, else a string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise StorylineError(f"--param wants K=V, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def cmd_cypher(args: argparse.Namespace) -> int:
    """Runs one Cypher statement and prints a table or JSON."""
    from app.neo4j.database import connect

    if bool(args.query) == bool(args.file):
        raise StorylineError("give either a QUERY or -f FILE")
    if args.file:
        try:
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}") from exc
    else:
        text = args.query
    params = parse_params(args.param)
    settings = Settings.from_env()
    with connect(settings) as db:
        columns, rows = db.query(text, params, write=args.write)
    if args.json:
        json.dump(with_times(rows), sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(columns, rows)
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    """Lists stories by score: id, severity, status, score, title, hosts, first and last seen."""
    from app.neo4j.database import connect

    settings = Settings.from_env()
    with connect(settings) as db:
        if args.rebuild:
            from app.investigation.stories import rebuild

            count = rebuild(db, settings.routine_stories)
            mode = "on" if settings.routine_stories else "off"
            print(f"rebuilt {count} stories (routine stories {mode})", file=sys.stderr)
        from app.cli.search import STORY_FILTERS
        from app.investigation.search import story_filter_params

        values = {name: getattr(args, name) for name in STORY_FILTERS}
        values.update(statuses=args.status, severities=args.severity, suppressed=args.suppressed)
        found = db.read(
            "queries/list_stories",
            **story_filter_params(db, values),
            after_score=None,
            after_id=None,
            limit=max(args.limit, 1),
        )
    stories = [r["story"] for r in found]
    if args.json:
        json.dump(with_times(stories), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    columns = ["id", "severity", "status", "score", "first_seen", "hosts", "title"]
    table = [
        {
            **{c: s.get(c) for c in columns},
            "id": s["id"][:8],
            "hosts": fit(",".join(s.get("hosts") or []), 24),
        }
        for s in stories
    ]
    print_table(columns, table, shrink="title")
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    """Prints one story: summary, signals, timeline, actions and triage; or an export."""
    from app.investigation.approvals import approvals_of
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        found = db.read("queries/stories_by_ids", ids=[args.id])
        if not found and len(args.id) < 36:
            prefixed = db.read("queries/story_by_prefix", prefix=args.id)
            if len(prefixed) == 1:
                found = db.read("queries/stories_by_ids", ids=[prefixed[0]["id"]])
        if not found:
            raise InputError(f"no story {args.id!r}")
        story = found[0]["story"]
        keys = story.get("correlation_keys") or [story["correlation_key"]]
        if args.graph:
            return _print_graph(db, story["id"], args.graph)
        if args.ocsf or args.report:
            return _print_export(db, story["id"], "ocsf" if args.ocsf else "report")
        timeline = _timeline(db, story["id"], keys, max(args.events, 1))
        links = _host_links(db, story.get("hosts") or [])
        hidden = db.read("exceptions/story_suppressed_count",
                         stories=[{"id": story["id"], "keys": keys}])[0]["suppressed"]  # fmt: skip
        approvals = approvals_of(db, [story["id"]])[story["id"]]
    if args.json:
        out = {**found[0], "approvals": approvals,
               "timeline": [dataclasses.asdict(item) for item in timeline],
               "links": [{"title": t, "url": u} for t, u in links]}  # fmt: skip
        json.dump(with_times(out), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    width = terminal_width()

    def wrap(text: str, first: str = "", rest: str = "") -> None:
        print(textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest))

    wrap(f"{story['title']}  [{story['severity']}, {story['status']}, score {story['score']}]")
    more = f" and {len(keys) - 1} more (routine)" if len(keys) > 1 else ""
    wrap(f"id {story['id']}  key {story['correlation_key']}{more} ({story.get('layer')})")
    wrap(story.get("summary") or "")
    if story.get("suppressed"):
        wrap("Exceptions suppress every signal of this story: `storyline stories` lists it only "
             "with --suppressed.")  # fmt: skip
    print("\nsignals:")
    for sig in found[0]["signals"]:
        mark = "  [suppressed]" if sig.get("suppressed") else ""
        print(fit(f"  {format_ts(sig['ts'])}  {sig['severity']:<8} {sig['rule_id']}: {sig['title']}"
                  f"  (pid {sig['process_pid']} {sig['process_exe']}){mark}", width))  # fmt: skip
    if hidden and not story.get("suppressed"):
        print(f"  and {hidden} suppressed by exceptions (storyline exceptions list)")
    print(f"\ntimeline (first {len(timeline)}):")
    for item in timeline:
        print(fit(f"  {item.ts}  {item.kind:<16} {_timeline_line(item)}", width))
    if story.get("recommended_actions"):
        print("\nrecommended actions:")
        for action in story["recommended_actions"]:
            wrap(action, "  - ", "    ")
    if approvals:
        print("\napproved actions:")
        for a in approvals:
            code = f" {a['delivery_code']}" if a.get("delivery_code") is not None else ""
            line = f"{a['ts'][:19]} {a['actor']}: {a['type']} {a['text']} [{a['delivery']}{code}]"
            wrap(line, "  ", "    ")
    if found[0]["history"]:
        print("\ntriage history:")
        for t in found[0]["history"]:
            comment = f" ({t['comment']})" if t.get("comment") else ""
            change = f"{t['field']} {t.get('from')} -> {t.get('to')}"
            line = f"{format_ts(t['ts'])} {t['actor']}: {change}"
            wrap(line + comment, "  ", "    ")
    if links:
        print("\nlinks:")
        for title, url in links:
            print(f"  {title}: {url}")
    return 0


def _host_links(db: Any, hosts: list[str]) -> list[tuple[str, str]]:
    """The pivot links (STORYLINE_LINKS_FILE) of a story's hosts."""
    from app.links import load_links, render

    links = load_links(Settings.from_env().links_file)
    if not links.get("host"):
        return []
    found = []
    for host in hosts:
        for row in db.read("search/entity", kind="host", id=host):
            props = row["props"]
            found += render(links, "host", props, props["first_seen"], props["last_seen"])
    return found


def _timeline(db: Any, story_id: str, keys: list[str], limit: int) -> list[Any]:
    """Reads the first `limit` entries of a story's timeline, page by page."""
    from app.investigation.timeline import timeline_page

    items: list[Any] = []
    after = None
    while len(items) < limit:
        page = timeline_page(db, story_id, keys, min(200, limit - len(items)), after)
        items += page.items
        if not page.has_next_page:
            break
        after = page.end_cursor
    return items


def _timeline_line(item: Any) -> str:
    r = item.record
    if item.type == "triage":
        comment = f" ({r['comment']})" if r.get("comment") else ""
        return f"{r['actor']}: {r['field']} {r.get('from')} -> {r.get('to')}{comment}"
    if item.type == "audit_record":
        target = f" {r['target']}" if r.get("target") else ""
        return f"{r['source']} {r.get('actor')}: {r.get('action')}{target}"
    if item.type == "action":
        return f"{r['actor']} approved {r['type']}: {r['text']} [{r.get('delivery')}]"
    if item.type == "annotation":
        return f"{r['actor']} {r['kind']} on {r['target_kind']} {r['target_key']}: {r['text']}"
    flag = " <- " + ", ".join(s["rule_id"] for s in item.signals) if item.signals else ""
    return f"pid {r['process_pid']}: {r['summary']}{flag}"


def _print_export(db: Any, story_id: str, what: str) -> int:
    """Prints a story's signals as OCSF Detection Findings, or its incident report."""
    from app.investigation.evidence import gather
    from app.investigation.ocsf import findings
    from app.investigation.report import render_report

    evidence = gather(db, story_id, indicators=what == "report")
    if evidence is None:
        raise InputError(f"no story {story_id!r}")
    if what == "ocsf":
        json.dump(findings(evidence), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_report(evidence))
    return 0


def _print_graph(db: Any, story_id: str, fmt: str) -> int:
    from app.investigation.exports import to_cytoscape, to_graphml
    from app.investigation.graph import build_graph

    graph = build_graph(db, story_id)
    if graph is None:
        raise InputError(f"no story {story_id!r}")
    if fmt == "graphml":
        sys.stdout.write(to_graphml(graph) + "\n")
    else:
        json.dump(to_cytoscape(graph) if fmt == "cytoscape" else graph, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    """Loads the configured rules (plus those named) and lists them, and every unsupported one."""
    from app.rules.sigma import load_sigma
    from app.rules.yamlrules import load_rules

    settings = Settings.from_env()
    dirs = [Path(d) for d in (*settings.rule_dirs, *args.rules_dir)]
    loaded = list(load_rules(dirs))
    sigma = load_sigma([Path(p) for p in (*settings.sigma_dirs, *args.sigma)])
    loaded += sigma.rules
    rows = [
        {"id": r.id, "severity": r.severity, "tactic": r.tactic, "technique": r.technique,
         "compromises": r.compromises, "source": r.source, "title": r.title}
        for r in loaded
    ]  # fmt: skip
    unsupported = [{"rule": name, "reason": reason} for name, reason in sigma.unsupported]
    if args.json:
        json.dump({"rules": rows, "unsupported": unsupported}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print_table(["id", "severity", "tactic", "technique", "compromises", "source"], rows)
    if unsupported:
        print(f"\n{len(unsupported)} Sigma rules not evaluated:")
        for item in unsupported:
            print(f"  {item['rule']}: {item['reason']}")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """Stamps every queued (:Unstamped) process with the six context layers."""
    from app.layers import stamp
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        report = stamp(db)
    print(
        f"stamped {report.stamped} processes in {report.rounds} rounds"
        + (f", broke {report.cycles_broken} lineage cycles" if report.cycles_broken else "")
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Prints the GraphQL schema in SDL, or the native event JSON Schema."""
    if args.events:
        from app.events import event_json_schema

        sys.stdout.write(json.dumps(event_json_schema(), indent=2, sort_keys=True) + "\n")
        return 0
    from app.api.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0
