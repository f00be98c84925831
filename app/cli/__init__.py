"""The `storyline` command: serve, cypher, neo4j start/stop/status/fetch, schema."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import signal
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.api.auth import (
    Authenticator,
    add_token,
    exposure_problem,
    read_tokens,
    revoke_token,
)
from app.errors import InputError, StorylineError
from app.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except StorylineError as exc:
        print(f"storyline: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader (head, less) went away: not an error of ours
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="storyline", description="Runtime security events into attack stories."
    )
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve GraphQL and the REST API")
    serve.add_argument("--host", help="address to listen on (default STORYLINE_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default STORYLINE_PORT)")
    serve.set_defaults(handler=cmd_serve)

    neo4j = commands.add_parser("neo4j", help="manage the local Neo4j server")
    neo4j_commands = neo4j.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("start", "fetch (once) and start the local Neo4j; harmless when it runs"),
        ("stop", "stop the local Neo4j with SIGTERM"),
        ("status", "tell whether the local Neo4j runs and answers"),
        ("fetch", "download the Neo4j jars of the manifest into the cache, once, verified"),
    ):
        sub = neo4j_commands.add_parser(action, help=text)
        sub.set_defaults(handler=cmd_neo4j, action=action)

    query = commands.add_parser("cypher", help="run Cypher against the configured Neo4j")
    query.add_argument("query", nargs="?", help="the Cypher statement")
    query.add_argument("-f", "--file", help="read the statement from a file ('-' for stdin)")
    query.add_argument("--json", action="store_true", help="print one JSON array of objects")
    query.add_argument("--write", action="store_true", help="allow writes (read-only otherwise)")
    query.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a $parameter; V is read as JSON when it parses, else as a string",
    )
    query.set_defaults(handler=cmd_cypher)

    ingest = commands.add_parser("ingest", help="ingest sensor output from files or stdin")
    ingest.add_argument("files", nargs="*", metavar="FILE", help="files ('-' or none: stdin)")
    ingest.add_argument("--format", default="storyline", help="input format (default storyline)")
    ingest.add_argument("--batch-size", type=int, help="events per transaction")
    ingest.add_argument("--json", action="store_true", help="print the full report as JSON")
    ingest.add_argument("--quiet", action="store_true", help="no progress line")
    ingest.add_argument(
        "--no-wait",
        action="store_true",
        help="return once committed; `storyline serve` runs detection, stamping and stories",
    )
    ingest.set_defaults(handler=cmd_ingest)

    letters = commands.add_parser("dead-letters", help="list or re-submit rejected records")
    letters.add_argument("action", choices=["list", "resubmit"])
    letters.add_argument("--id", action="append", dest="ids", help="only these letters")
    letters.add_argument("--format", help="only letters of this format")
    letters.add_argument("--limit", type=int, default=100)
    letters.set_defaults(handler=cmd_dead_letters)

    stories = commands.add_parser("stories", help="list stories by score")
    stories.add_argument("--status", action="append", choices=["open", "under_review", "archived"])
    stories.add_argument(
        "--severity", action="append", choices=["info", "low", "medium", "high", "critical"]
    )
    stories.add_argument("--limit", type=int, default=50)
    stories.add_argument("--json", action="store_true")
    stories.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild every story first (after changing STORYLINE_ROUTINE_STORIES)",
    )
    stories.set_defaults(handler=cmd_stories)

    story = commands.add_parser(
        "story", help="print a story: signals, timeline, actions, triage (or its graph)"
    )
    story.add_argument("id")
    story.add_argument("--events", type=int, default=200, help="at most this many timeline entries")
    story.add_argument(
        "--graph",
        choices=["json", "cytoscape", "graphml"],
        help="print the story's investigation graph in this format instead",
    )
    story.add_argument("--json", action="store_true")
    story.set_defaults(handler=cmd_story)

    rules = commands.add_parser("rules", help="list the detection rules that would load")
    rules.add_argument("--rules-dir", action="append", default=[], help="a user rule directory")
    rules.add_argument("--sigma", action="append", default=[], help="a Sigma rule file or folder")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(handler=cmd_rules)

    layers = commands.add_parser("layers", help="run the context layers on queued processes")
    layers.add_argument("action", choices=["run"])
    layers.set_defaults(handler=cmd_layers)

    gen = commands.add_parser("generate", help="write a seeded synthetic workload as NDJSON")
    gen.add_argument("--seed", type=int, default=1, help="the same seed gives the same bytes")
    gen.add_argument("--events", type=int, required=True, help="exactly this many events")
    gen.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    gen.add_argument("--truth", help="write the ground truth (planted chains) to this file")
    gen.add_argument("--no-alerts", action="store_true", help="leave out sensor alerts")
    gen.add_argument("-o", "--output", help="write here instead of stdout")
    gen.set_defaults(handler=cmd_generate)

    demo = commands.add_parser("demo", help="load a small generated scenario to explore")
    demo.add_argument("--events", type=int, default=3000)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=cmd_demo)

    tokens = commands.add_parser("tokens", help="manage API tokens (bearer, with scopes)")
    tokens.add_argument("action", choices=["add", "list", "revoke"])
    tokens.add_argument("name", nargs="?", help="the token's name (who made a change)")
    tokens.add_argument(
        "--scope",
        action="append",
        default=[],
        choices=["read", "triage", "ingest", "admin"],
        help="what the token may do (repeat); triage implies read, admin everything",
    )
    tokens.set_defaults(handler=cmd_tokens)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.add_argument(
        "--events", action="store_true", help="print the native event JSON Schema instead"
    )
    schema.set_defaults(handler=cmd_schema)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    """Serves the API; starts the local Neo4j when no NEO4J_URI is set, and stops it after."""
    import uvicorn

    from app.api.app import create_app
    from app.neo4j.database import connect
    from app.neo4j.launcher import LocalNeo4j

    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into
    # SystemExit(0) lets the `finally` below stop the Neo4j this command started.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    settings = Settings.from_env()
    host = args.host or settings.host
    port = args.port or settings.port
    auth = Authenticator(settings.tokens_path)
    problem = exposure_problem(host, auth, settings.auth_off)
    if problem:
        raise InputError(problem)
    if auth.enabled:
        print(f"API tokens required (from {settings.tokens_path})")
    else:
        print(f"no API token in {settings.tokens_path}: the API is open on {host}")
    local: LocalNeo4j | None = None
    started = False
    if settings.uses_local_neo4j:
        local = LocalNeo4j(settings.local)
        try:
            status, started = local.start(echo=True)
        except KeyboardInterrupt:
            local.stop()
            raise
        print(f"Neo4j {local.version}: {status.detail} at {status.bolt_uri}")
    db = connect(settings, local)
    try:
        count = db.apply_constraints()
        print(f"applied {count} constraint and index statements")
        app = create_app(db, settings)
        print(f"GraphiQL at http://{host}:{port}/graphql")
        uvicorn.run(
            app, host=host, port=port, log_level="info", log_config=_log_config(),
            ws_max_size=1 << 20,  # a subscription message is small; refuse a huge frame
        )  # fmt: skip
    finally:
        db.close()
        if started and local is not None:
            print("stopping the Neo4j this command started")
            local.stop()
    return 0


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with tokens in URLs (?access_token=) redacted from every line."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "app.api.auth.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config


def cmd_tokens(args: argparse.Namespace) -> int:
    """Adds (printing the token once), lists or revokes API tokens."""
    settings = Settings.from_env()
    path = settings.tokens_path
    if args.action == "list":
        for entry in read_tokens(path):
            print(f"{entry.name}\t{','.join(sorted(entry.scopes))}")
        return 0
    if not args.name:
        raise InputError(f"tokens {args.action} needs a NAME")
    if args.action == "revoke":
        if not revoke_token(path, args.name):
            raise InputError(f"no token named {args.name!r} in {path}")
        print(f"revoked {args.name}")
        return 0
    if not args.scope:
        raise InputError("tokens add needs at least one --scope (read, triage, ingest, admin)")
    token = add_token(path, args.name, args.scope)
    print(token)
    print(f"(shown once; its digest is in {path})", file=sys.stderr)
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_neo4j(args: argparse.Namespace) -> int:
    """Starts, stops, fetches or reports the local Neo4j."""
    from app.neo4j.launcher import LocalNeo4j

    settings = Settings.from_env()
    local = LocalNeo4j(settings.local)
    if args.action == "fetch":
        path = local.fetch(echo=True)
        print(f"Neo4j {local.version} jars in {path}")
    elif args.action == "start":
        status, started = local.start(echo=True)
        print(("started: " if started else "already running: ") + status.detail)
        _print_login(local, status)
    elif args.action == "stop":
        print("stopped" if local.stop() else "not running")
    else:
        status = local.status()
        print(f"Neo4j {local.version}: {status.detail} ({status.bolt_uri})")
        if status.running:
            _print_login(local, status)
        return 0 if status.running and status.answering else 3
    return 0


def _print_login(local: Any, status: Any) -> None:
    print(f"Neo4j Browser: {status.browser_url}")
    print(f"  connect to {status.bolt_uri} as user neo4j, password: cat {local.password_file}")


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
        json.dump(rows, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(columns, rows)
    return 0


def print_table(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], shrink: str | None = None
) -> None:
    """Prints rows as an aligned text table with a row count.

    With `shrink`, that column's cells are cut (ending in "…") so that the table
    fits the terminal (120 columns when the output is not a terminal).
    """
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if shrink is not None and columns:
        index = list(columns).index(shrink)
        spare = terminal_width() - (sum(widths) + 3 * (len(widths) - 1))
        if spare < 0:
            widths[index] = max(len(shrink), widths[index] + spare)
            for r in cells:
                r[index] = fit(r[index], widths[index])
    if columns:
        print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
        print("-+-".join("-" * w for w in widths))
    for r in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def terminal_width() -> int:
    """Returns the terminal's width, or 120 columns when the output is not a terminal."""
    return shutil.get_terminal_size((120, 24)).columns


def fit(text: str, width: int) -> str:
    """Cuts text to width characters, ending in "…" when it was longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingests files (or stdin); prints progress to stderr and a summary; exit 3 if any rejected.

    The background stage (detection, stamping, relate, stories) runs between
    the writes while the next batches are parsed, and the command returns once
    it has processed every event (unless --no-wait, which returns at commit).
    """
    from app.adapters import UnknownFormat, get_adapter
    from app.framing import open_stream
    from app.ingest import Report, ingest
    from app.neo4j.database import connect
    from app.pipeline import Alongside, Pipeline, wait_processed

    try:
        get_adapter(args.format)
    except UnknownFormat as exc:
        raise InputError(str(exc)) from None
    settings = Settings.from_env()
    batch_size = args.batch_size or settings.ingest_batch_size
    paths = args.files or ["-"]
    reports: list[tuple[str, Report]] = []
    with connect(settings) as db:
        db.apply_constraints()
        pipeline = Pipeline.default(settings)
        stage = None if args.no_wait else Alongside(db, pipeline)
        last_batch: str | None = None
        for path in paths:
            label = "stdin" if path == "-" else path
            progress = None if args.quiet else _progress_line(label)
            try:
                with contextlib.ExitStack() as stack:
                    if path == "-":
                        text = open_stream(sys.stdin.buffer)
                    else:
                        raw = stack.enter_context(open(path, "rb"))
                        text = stack.enter_context(open_stream(raw))
                    report = ingest(
                        db, args.format, text, batch_size, progress, origin="cli",
                        after_batch=stage, parse_in_process=True,
                    )  # fmt: skip
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror}") from exc
            if progress is not None:
                sys.stderr.write("\n")
            reports.append((label, report))
            last_batch = report.last_batch or last_batch
        summary: dict[str, Any] | None = None
        if stage is not None:
            committed = time.monotonic()
            if not args.quiet:
                sys.stderr.write("committed; waiting for detection, stamping and stories...\n")
            cycles = stage.cycles + wait_processed(db, last_batch, pipeline, known=stage.known)
            summary = _stage_summary(cycles, time.monotonic() - committed)
    if args.json:
        out: dict[str, Any] = {label: r.as_dict() for label, r in reports}
        for label in out:
            out[label]["pipeline"] = summary
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for label, r in reports:
            rate = r.accepted / r.seconds if r.seconds else 0.0
            print(
                f"{label}: {r.accepted} accepted ({r.events} events, {r.audit_records} audit "
                f"records, {r.findings} findings), {len(r.rejected)} rejected, "
                f"{len(r.warnings)} with warnings, "
                f"{r.batches} batches, {r.seconds:.1f}s, {rate:,.0f} records/s"
            )
            for item in r.rejected[:20]:
                print(f"  rejected #{item['position']}: {item['reason']}")
            if len(r.rejected) > 20:
                print(f"  ... and {len(r.rejected) - 20} more (storyline dead-letters list)")
            for item in r.warnings[:10]:
                print(f"  warning #{item['position']}: {'; '.join(item['warnings'])}")
        if summary is not None:
            print(
                f"processed: {summary['signals']} signals, {summary['stamped']} processes stamped, "
                f"{summary['stories']} story refreshes in {summary['cycles']} cycles; "
                f"{summary['seconds_after_commit']:.1f}s after the last commit; stage lag p50 "
                f"{summary['lag_ms_p50'] / 1000:.1f}s, p95 {summary['lag_ms_p95'] / 1000:.1f}s"
            )
        else:
            print("committed; the background stage of `storyline serve` processes the events")
    return 3 if any(r.rejected for _, r in reports) else 0


def _stage_summary(cycles: list[Any], after_commit: float) -> dict[str, Any]:
    """Sums the background stage's cycles: counts, and the lag percentiles."""
    lags = sorted(lag for c in cycles for lag in c.lags_ms)

    def percentile(q: float) -> int:
        return lags[min(int(q * len(lags)), len(lags) - 1)] if lags else 0

    return {
        "cycles": sum(1 for c in cycles if not c.idle),
        "detected": sum(c.detected for c in cycles),
        "signals": sum(c.signals for c in cycles),
        "stamped": sum(c.stamped for c in cycles),
        "stories": sum(c.stories for c in cycles),
        "lag_ms_p50": percentile(0.5),
        "lag_ms_p95": percentile(0.95),
        "seconds_after_commit": round(after_commit, 2),
    }


def _progress_line(label: str) -> Any:
    def show(report: Any) -> None:
        rate = report.accepted / report.seconds if report.seconds else 0.0
        sys.stderr.write(
            f"\r{label}: {report.accepted:,} accepted, {len(report.rejected):,} rejected, "
            f"{rate:,.0f} events/s "
        )
        sys.stderr.flush()

    return show


def cmd_dead_letters(args: argparse.Namespace) -> int:
    """Lists or re-submits dead letters."""
    from app.deadletter import list_letters
    from app.ingest import resubmit
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        if args.action == "list":
            letters = list_letters(db, args.format, args.ids, args.limit)
            json.dump(letters, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        result = resubmit(db, args.ids, args.format, args.limit)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 3 if result["still_rejected"] else 0


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
        found = db.read(
            "queries/list_stories",
            statuses=args.status,
            severities=args.severity,
            after_score=None,
            after_id=None,
            limit=max(args.limit, 1),
        )
    stories = [r["story"] for r in found]
    if args.json:
        json.dump(stories, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    columns = ["id", "severity", "status", "score", "first_seen", "hosts", "title"]
    table = [
        {
            **{c: s.get(c) for c in columns},
            "id": s["id"][:8],
            "hosts": fit(",".join(s.get("hosts") or []), 24),
            "first_seen": (s.get("first_seen") or "")[:16].replace("T", " "),
        }
        for s in stories
    ]
    print_table(columns, table, shrink="title")
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    """Prints one story: summary, signals, timeline, actions and triage; or its graph."""
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
        timeline = _timeline(db, story["id"], keys, max(args.events, 1))
    if args.json:
        out = {**found[0], "timeline": [dataclasses.asdict(item) for item in timeline]}
        json.dump(out, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    width = terminal_width()

    def wrap(text: str, first: str = "", rest: str = "") -> None:
        print(textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest))

    wrap(f"{story['title']}  [{story['severity']}, {story['status']}, score {story['score']}]")
    more = f" and {len(keys) - 1} more (routine)" if len(keys) > 1 else ""
    wrap(f"id {story['id']}  key {story['correlation_key']}{more} ({story.get('layer')})")
    wrap(story.get("summary") or "")
    print("\nsignals:")
    for sig in found[0]["signals"]:
        print(fit(f"  {sig['ts'][:23]}  {sig['severity']:<8} {sig['rule_id']}: {sig['title']}"
                  f"  (pid {sig['process_pid']} {sig['process_exe']})", width))  # fmt: skip
    print(f"\ntimeline (first {len(timeline)}):")
    for item in timeline:
        print(fit(f"  {item.ts[:23]:<23}  {item.kind:<16} {_timeline_line(item)}", width))
    if story.get("recommended_actions"):
        print("\nrecommended actions:")
        for action in story["recommended_actions"]:
            wrap(action, "  - ", "    ")
    if found[0]["history"]:
        print("\ntriage history:")
        for t in found[0]["history"]:
            comment = f" ({t['comment']})" if t.get("comment") else ""
            line = f"{t['ts'][:19]} {t['actor']}: {t['field']} {t.get('from')} -> {t.get('to')}"
            wrap(line + comment, "  ", "    ")
    return 0


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
    flag = " <- " + ", ".join(s["rule_id"] for s in item.signals) if item.signals else ""
    return f"pid {r['process_pid']}: {r['summary']}{flag}"


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


def cmd_generate(args: argparse.Namespace) -> int:
    """Writes a seeded workload as NDJSON, and its ground truth when asked."""
    from app.generate import write_ndjson

    if args.events < 0 or args.hosts < 1:
        raise InputError("--events must be >= 0 and --hosts >= 1")
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
        truth = write_ndjson(out, args.seed, args.events, args.hosts, alerts=not args.no_alerts)
    if args.truth:
        Path(args.truth).write_text(truth.to_json())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Starts the local Neo4j if needed and loads a small generated scenario."""
    from app.generate import lines
    from app.ingest import ingest
    from app.neo4j.database import connect
    from app.neo4j.launcher import LocalNeo4j

    settings = Settings.from_env()
    local = None
    if settings.uses_local_neo4j:
        local = LocalNeo4j(settings.local)
        status, _ = local.start(echo=True)
        print(f"Neo4j: {status.detail}")
    with connect(settings, local) as db:
        db.apply_constraints()
        text = (line + "\n" for line in lines(args.seed, args.events))
        report = ingest(db, "storyline", text, settings.ingest_batch_size, origin="demo")
        contexts = db.read("queries/context_counts")
    print(f"loaded {report.accepted} events ({len(report.rejected)} rejected) in "
          f"{report.seconds:.1f}s")  # fmt: skip
    for row in contexts:
        print(f"  {row['contexts']:>5} {row['layer']} contexts")
    print("Try: storyline stories, then storyline story <id-prefix>")
    print("or:  storyline serve, then open http://127.0.0.1:8000/graphql")
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


if __name__ == "__main__":
    sys.exit(main())
