"""The `storyline` command: one subcommand per task, their handlers in this package.

- service.py: serve, tokens, neo4j;
- ingest.py: ingest, dead-letters, prune, generate, demo;
- investigate.py: cypher, stories, story, rules, layers, schema;
- exceptions.py: exceptions (preview, add, list, show, update, revoke);
- indicators.py: indicators import, list, feeds (its parser too);
- kafka.py: consume (from Kafka topics), kafka start, stop, status, fetch (its parser too);
- output.py: tables that fit the terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli.exceptions import add_parser as add_exceptions_parser
from app.cli.indicators import add_parser as add_indicators
from app.cli.ingest import cmd_dead_letters, cmd_demo, cmd_generate, cmd_ingest, cmd_prune
from app.cli.investigate import (
    cmd_cypher,
    cmd_layers,
    cmd_rules,
    cmd_schema,
    cmd_stories,
    cmd_story,
    parse_params,
)
from app.cli.kafka import add_parser as add_kafka
from app.cli.search import STORY_FILTERS, cmd_search
from app.cli.service import cmd_neo4j, cmd_serve, cmd_tokens
from app.errors import StorylineError

__all__ = ["build_parser", "main", "parse_params"]


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

    prune = commands.add_parser(
        "prune",
        help="remove events and processes older than a limit and outside every story "
        "(archived stories past it too), in bounded transactions",
    )
    when = prune.add_mutually_exclusive_group(required=True)
    when.add_argument("--older-than", metavar="AGE", help="an age: 30d, 12h, 2w (s, m, h, d, w)")
    when.add_argument("--before", metavar="TIME", help="an RFC 3339 time")
    prune.add_argument("--batch-size", type=int, default=5000, help="items per transaction")
    prune.add_argument(
        "--pace",
        type=float,
        default=0.25,
        help="share of time spent pruning, 0-1 (default 0.25: ingest keeps most of the "
        "database; 1: flat out, for a maintenance window)",
    )
    prune.add_argument("--json", action="store_true", help="print the counts as JSON")
    prune.set_defaults(handler=cmd_prune)

    stories = commands.add_parser("stories", help="list stories by score")
    stories.add_argument("--status", action="append", choices=["open", "under_review", "archived"])
    stories.add_argument(
        "--severity", action="append", choices=["info", "low", "medium", "high", "critical"]
    )
    for name, what in STORY_FILTERS.items():
        stories.add_argument(f"--{name}", metavar=name.upper(), help=f"only stories of {what}")
    stories.add_argument(
        "--suppressed",
        action="store_true",
        help="only the stories whose every signal an exception suppressed (hidden otherwise)",
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
        "story",
        help="print a story: signals, timeline, actions, triage (or its graph, its OCSF "
        "findings, its incident report)",
    )
    story.add_argument("id")
    story.add_argument("--events", type=int, default=200, help="at most this many timeline entries")
    instead = story.add_mutually_exclusive_group()
    instead.add_argument(
        "--graph",
        choices=["json", "cytoscape", "graphml"],
        help="print the story's investigation graph in this format instead",
    )
    instead.add_argument(
        "--ocsf",
        action="store_true",
        help="print the story's signals as OCSF 1.3.0 Detection Findings (a JSON array)",
    )
    instead.add_argument(
        "--report", action="store_true", help="print the story's incident report (Markdown)"
    )
    instead.add_argument("--json", action="store_true")
    story.set_defaults(handler=cmd_story)

    add_exceptions_parser(commands)

    search = commands.add_parser(
        "search",
        help="find hosts, users, containers, images, pods, processes, files, IPs, domains, "
        "rules, tactics and stories, each with its stories",
    )
    search.add_argument("query", nargs="+", help="words that must all match")
    search.add_argument("--limit", type=int, default=20, help="at most this many hits")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)

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

    add_indicators(commands)
    add_kafka(commands)
    return parser
