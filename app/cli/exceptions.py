"""`storyline exceptions preview|add|list|show|update|revoke`: "this is benign" for a rule."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from app.cli.output import fit, print_table, terminal_width, with_times
from app.errors import InputError
from app.events import format_ts
from app.settings import Settings

CONDITION_HELP = {
    "process": "the process's executable path",
    "user": "the process's user",
    "host": "the host id",
    "container": "the container id",
    "image": "the image of the event's container",
    "path": "the event's file path",
}
_DURATION = re.compile(r"(\d{1,4})([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def add_parser(commands: Any) -> None:
    """Adds `storyline exceptions` and its actions to the command line."""
    parser = commands.add_parser(
        "exceptions",
        help="say a rule's signals are benign under conditions: preview, add, list, show, "
        "update, revoke",
    )
    actions = parser.add_subparsers(metavar="ACTION", required=True)

    def conditions(sub: argparse.ArgumentParser) -> None:
        for name, what in CONDITION_HELP.items():
            sub.add_argument(
                f"--{name}",
                action="append",
                metavar="VALUE",
                help=f"{what}: exact, or ending in * for a prefix (repeat for any of several)",
            )

    def matching(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--rule", help="the rule id")
        sub.add_argument(
            "--from-signal",
            metavar="ID",
            help="take the rule and every condition from this signal (a condition flag "
            "replaces that one; --any NAME drops it)",
        )
        sub.add_argument(
            "--any",
            action="append",
            default=[],
            choices=list(CONDITION_HELP),
            help="no condition on this (with --from-signal)",
        )
        conditions(sub)

    preview = actions.add_parser("preview", help="what an exception would have suppressed")
    matching(preview)
    preview.add_argument(
        "--from", dest="start", metavar="TIME", help="RFC 3339, or 30d: that long ago"
    )
    preview.add_argument(
        "--to", dest="end", metavar="TIME", help="RFC 3339, or 1d: that long ago (default: now)"
    )
    preview.add_argument("--json", action="store_true")
    preview.set_defaults(handler=cmd_exceptions, action="preview")

    add = actions.add_parser("add", help="save an exception; it applies to stored signals at once")
    matching(add)
    add.add_argument("--reason", required=True, help="why these signals are benign")
    add.add_argument("--owner", help="who answers for it (default: --actor)")
    add.add_argument("--expires", help="RFC 3339, or 30d: that long from now (default 90d)")
    add.add_argument("--actor", help="who makes the change (default: your login name)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=cmd_exceptions, action="add")

    listing = actions.add_parser("list", help="list exceptions, newest first")
    listing.add_argument("--status", action="append", choices=["active", "expired", "revoked"])
    listing.add_argument("--rule", help="only this rule's")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_exceptions, action="list")

    show = actions.add_parser("show", help="one exception: conditions, history, signals")
    show.add_argument("id", help="its id (a unique prefix is enough)")
    show.add_argument("--signals", type=int, default=20, help="at most this many signals")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_exceptions, action="show")

    update = actions.add_parser(
        "update", help="change an exception (condition flags replace every condition)"
    )
    update.add_argument("id", help="its id (a unique prefix is enough)")
    conditions(update)
    update.add_argument("--owner")
    update.add_argument("--reason")
    update.add_argument("--expires", help="RFC 3339, or 30d: that long from now")
    update.add_argument("--comment", help="why the change")
    update.add_argument("--actor", help="who makes the change (default: your login name)")
    update.add_argument("--json", action="store_true")
    update.set_defaults(handler=cmd_exceptions, action="update")

    revoke = actions.add_parser("revoke", help="revoke an exception: its signals count again")
    revoke.add_argument("id", help="its id (a unique prefix is enough)")
    revoke.add_argument("--reason", required=True, help="why")
    revoke.add_argument("--actor", help="who makes the change (default: your login name)")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(handler=cmd_exceptions, action="revoke")


def _when(text: str | None, sign: int) -> str | None:
    """Returns RFC 3339 for a time given as RFC 3339 or as a duration from now (30d, 12h)."""
    if text is None:
        return None
    found = _DURATION.fullmatch(text.strip())
    if not found:
        return text
    delta = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    return (datetime.now(UTC) + sign * delta).isoformat()


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _given(args: argparse.Namespace) -> dict[str, list[str] | None]:
    return {name: getattr(args, name) for name in CONDITION_HELP}


def _matching(db: Any, args: argparse.Namespace) -> tuple[str, dict[str, list[str] | None]]:
    """The rule and conditions the flags name, starting from a signal's with --from-signal."""
    from app.investigation.exceptions import draft

    given = _given(args)
    if args.from_signal:
        found = draft(db, args.from_signal)
        rule = args.rule or found["rule_id"]
        conditions = {n: ([found[n]] if found[n] is not None else None) for n in CONDITION_HELP}
        conditions.update({n: v for n, v in given.items() if v is not None})
    elif not args.rule:
        raise InputError("give --rule RULE, or --from-signal ID")
    else:
        rule, conditions = args.rule, given
    for name in args.any:
        conditions[name] = None
    return rule, conditions


def cmd_exceptions(args: argparse.Namespace) -> int:
    """Runs one action of `storyline exceptions`."""
    from app.investigation import exceptions as logic
    from app.neo4j.database import connect
    from app.rules.signals import active_rules

    settings = Settings.from_env()
    with connect(settings) as db:
        if args.action == "preview":
            rule, conditions = _matching(db, args)
            known = {r.id for r in active_rules(settings.rule_dirs, settings.sigma_dirs)}
            seen = logic.preview(db, rule, conditions, _when(args.start, -1), _when(args.end, -1),
                                 known)  # fmt: skip
            return _print_preview(asdict(seen), args.json)
        if args.action == "add":
            rule, conditions = _matching(db, args)
            known = {r.id for r in active_rules(settings.rule_dirs, settings.sigma_dirs)}
            made = logic.create(
                db, rule, conditions, args.reason, _actor(args), args.owner,
                _when(args.expires, 1), settings.routine_stories, known,
            )  # fmt: skip
            return _print_saved(made, "saved", args.json)
        if args.action == "list":
            statuses = args.status or None
            page = logic.list_exceptions(db, statuses, args.rule, max(1, min(args.limit, 200)))
            return _print_list(page.exceptions, page.total, args.json)
        xid = logic.resolve(db, args.id)
        if args.action == "show":
            found = logic.get(db, xid)
            changes = logic.history(db, [xid])[xid]
            signals = logic.suppressed_signals(db, xid, max(1, min(args.signals, 200)))
            return _print_one(found, changes, signals, args.json)
        if args.action == "update":
            given = _given(args)
            changed = logic.update(
                db, xid, _actor(args),
                given if any(v is not None for v in given.values()) else None,
                args.owner, args.reason, _when(args.expires, 1), args.comment,
                settings.routine_stories,
            )  # fmt: skip
            return _print_saved(changed, "updated", args.json)
        revoked = logic.revoke(db, xid, args.reason, _actor(args), settings.routine_stories)
        return _print_saved(revoked, "revoked", args.json)


def _dump(value: Any) -> int:
    json.dump(with_times(value), sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def _conditions(x: dict[str, Any]) -> str:
    parts = [f"{n} {'|'.join(x[n])}" for n in CONDITION_HELP if x.get(n)]
    return ", ".join(parts)


def _print_preview(seen: dict[str, Any], as_json: bool) -> int:
    if as_json:
        return _dump(seen)
    more = "" if seen["complete"] else f" (only the first {seen['scanned']} read)"
    print(f"rule {seen['rule_id']}, {seen['start']} to {seen['end']}{more}:")
    print(
        f"  {seen['scanned']} signals of the rule, {seen['matched']} matched: "
        f"{seen['suppressed']} would be suppressed, {seen['already_suppressed']} already are"
    )
    print(f"  {seen['stories_changed']} stories would change, {seen['stories_hidden']} be hidden")
    width = terminal_width()
    for s in seen["stories"]:
        print(fit(f"    story {s['story'][:8]}: {s['before']} -> {s['after']} signals", width))
    if seen["sample"]:
        print("  for example:")
    for sig in seen["sample"]:
        print(fit(f"    {format_ts(sig['ts'])}  {sig['host_id']}  pid {sig['process_pid']} "
                  f"{sig['process_exe']}  {sig['id']}", width))  # fmt: skip
    return 0


def _print_saved(x: dict[str, Any], what: str, as_json: bool) -> int:
    if as_json:
        return _dump(x)
    expires = format_ts(x["expires_at"])
    print(f"{what} {x['id']} ({x['status']}): {x['rule_id']} when {_conditions(x)}; "
          f"suppresses {x['suppressed_count']} signals; expires {expires}")  # fmt: skip
    return 0


def _print_list(found: list[dict[str, Any]], total: int, as_json: bool) -> int:
    if as_json:
        return _dump(found)
    rows = [
        {"id": x["id"], "status": x["status"], "rule": x["rule_id"],
         "conditions": _conditions(x), "signals": x["suppressed_count"], "owner": x["owner"],
         "expires_at": x["expires_at"], "reason": x["reason"]}
        for x in found
    ]  # fmt: skip
    columns = ["id", "status", "rule", "conditions", "signals", "owner", "expires_at", "reason"]
    print_table(columns, rows, shrink="reason")
    if total > len(found):
        print(f"{total - len(found)} more: --limit, --status or --rule", file=sys.stderr)
    return 0


def _print_one(
    x: dict[str, Any], changes: list[dict[str, Any]], signals: list[dict[str, Any]], as_json: bool
) -> int:
    if as_json:
        return _dump({**x, "history": changes, "signals": signals})
    width = terminal_width()
    print(f"{x['id']}  [{x['status']}]  rule {x['rule_id']}")
    print(f"when: {_conditions(x)}")
    print(f"reason: {x['reason']}")
    print(f"owner {x['owner']}; created by {x['created_by']} at {format_ts(x['created_at'])}; "
          f"expires {format_ts(x['expires_at'])}")  # fmt: skip
    print(f"suppresses {x['suppressed_count']} signals")
    print("\nhistory:")
    for c in changes:
        what = "; ".join(f"{f['field']} {f['from']} -> {f['to']}" for f in c["changes"])
        comment = f" ({c['comment']})" if c.get("comment") else ""
        print(fit(f"  {format_ts(c['ts'])} {c['actor']}: {c['action']}{comment}: {what}", width))
    if signals:
        print(f"\nsignals (newest {len(signals)}):")
    for sig in signals:
        print(fit(f"  {format_ts(sig['ts'])}  {sig['host_id']}  pid {sig['process_pid']} "
                  f"{sig['process_exe']}  {sig['id']}", width))  # fmt: skip
    return 0
