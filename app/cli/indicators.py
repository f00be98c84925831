"""`storyline indicators import | list | feeds`: indicator feeds in, and read back."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.output import print_table
from app.errors import InputError
from app.settings import Settings

# a file's ending -> its feed format, when --format does not say
FORMAT_OF = {".json": "stix", ".stix": "stix", ".csv": "csv"}


def cmd_indicators(args: argparse.Namespace) -> int:
    """Runs one `indicators` action."""
    handler = {"import": _import, "list": _list, "feeds": _feeds}[args.action]
    return handler(args)


def _read(path: str) -> bytes:
    """Reads a feed file (or stdin), refusing one larger than a feed may be."""
    from app.indicators.feeds import MAX_FEED_BYTES

    try:
        if path == "-":
            content = sys.stdin.buffer.read(MAX_FEED_BYTES + 1)
        else:
            size = Path(path).stat().st_size
            if size > MAX_FEED_BYTES:
                raise InputError(f"{path} is {size:,} bytes; a feed is at most {MAX_FEED_BYTES:,}")
            content = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if len(content) > MAX_FEED_BYTES:
        raise InputError(f"{path}: a feed is at most {MAX_FEED_BYTES:,} bytes")
    return content


def _import(args: argparse.Namespace) -> int:
    """Imports a feed file, re-checks the stored events, waits for the stories (exit 3 when
    some entries could not be read)."""
    from app.indicators.imports import import_feed
    from app.neo4j.database import connect
    from app.pipeline import Pipeline, wait_processed

    fmt = args.format or FORMAT_OF.get(Path(args.file).suffix.lower())
    if fmt is None:
        raise InputError(f"say the feed's format with --format stix|csv ({args.file})")
    content = _read(args.file)
    settings = Settings.from_env()

    def progress(done: Any) -> None:
        if not args.quiet:
            sys.stderr.write(f"\rre-checking stored events: {done.events:,} read, "
                             f"{done.signals:,} signals ")  # fmt: skip
            sys.stderr.flush()

    with connect(settings) as db:
        db.apply_constraints()
        report = import_feed(db, args.feed, fmt, content, args.severity, progress)
        if report.recheck.events and not args.quiet:
            sys.stderr.write("\n")
        if not args.no_wait:
            wait_processed(db, None, Pipeline.default(settings))
    if args.json:
        json.dump(dataclasses.asdict(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        r = report
        print(
            f"{r.feed}: {r.indicators} indicators ({r.read} read, {sum(n for _, n in r.skipped)} "
            f"skipped, {r.error_count} errors, {r.dropped} dropped from earlier imports); "
            f"re-checked {r.recheck.events} stored events: {r.recheck.signals} signals"
            + ("" if r.recheck.complete else " (stopped at its bound)")
        )
        for reason, count in r.skipped:
            print(f"  skipped {count}: {reason}")
        for position, reason in r.errors[:20]:
            print(f"  error at {'line' if r.format == 'csv' else 'object'} {position}: {reason}")
        if r.error_count > 20:
            print(f"  ... and {r.error_count - 20} more errors")
    return 3 if report.error_count else 0


def _list(args: argparse.Namespace) -> int:
    """Prints indicators in id order: id, the feeds listing it, a description."""
    from app.indicators.imports import list_indicators
    from app.investigation.paging import MAX_PAGE
    from app.neo4j.database import connect

    found: list[dict[str, Any]] = []
    with connect(Settings.from_env()) as db:
        after = None
        while len(found) < args.limit:
            page, more = list_indicators(
                db, args.feed, args.type, args.value, min(MAX_PAGE, args.limit - len(found)),
                after,
            )  # fmt: skip
            found += page
            if not more or not page:
                break
            after = page[-1]["id"]
    rows = [
        {
            "id": r["id"],
            "feeds": ", ".join(sorted(s["feed"] for s in r["sources"])),
            "description": next((s["description"] for s in r["sources"] if s["description"]), None),
        }
        for r in found
    ]
    if args.json:
        json.dump(found, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(["id", "feeds", "description"], rows, shrink="description")
    return 0


def _feeds(args: argparse.Namespace) -> int:
    """Prints every feed: name, format, severity, indicators, when imported, what it skipped."""
    from app.indicators.imports import feeds
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        found = feeds(db)
    if args.json:
        json.dump(found, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        columns = ["name", "format", "severity", "indicator_count", "imported_at", "read",
                   "skipped", "errors"]  # fmt: skip
        print_table(columns, found)
    return 0


def add_parser(commands: Any) -> None:
    """Adds `storyline indicators` to the command line."""
    from app.indicators.imports import SEVERITIES
    from app.indicators.values import TYPES

    parser = commands.add_parser(
        "indicators", help="import indicator feeds (STIX 2.1, CSV), list indicators and feeds"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = actions.add_parser(
        "import", help="import a feed and re-check the stored events against it"
    )
    load.add_argument("file", metavar="FILE", help="the feed ('-' for stdin)")
    load.add_argument("--feed", required=True, help="the feed's name (its signals' rule id)")
    load.add_argument(
        "--format", choices=["stix", "csv"], help="default: from the file's ending (.json, .csv)"
    )
    load.add_argument(
        "--severity", default="high", choices=SEVERITIES, help="of its signals (default high)"
    )
    load.add_argument("--json", action="store_true", help="print the report as JSON")
    load.add_argument("--quiet", action="store_true", help="no progress line")
    load.add_argument(
        "--no-wait", action="store_true", help="return before the stories take the signals"
    )
    listing = actions.add_parser("list", help="list indicators in id order")
    listing.add_argument("--feed", help="only those of this feed")
    listing.add_argument("--type", choices=TYPES, help="only those of this type")
    listing.add_argument("--value", help="only this value (an address, domain or hash)")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    known = actions.add_parser("feeds", help="list the feeds and what their last import did")
    known.add_argument("--json", action="store_true")
    parser.set_defaults(handler=cmd_indicators)
