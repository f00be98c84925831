"""Exceptions: an analyst's "this is benign" for one rule, under conditions, with an expiry.

An exception (`:RuleException`) names one rule and conditions on what a signal of
it concerns: the process (its executable path), the user (the process's user), the
host, the container (id), the image (of the event's container) and the path (the
event's file path). Each condition is a list of values; a value is exact, or ends
in `*` and is a prefix. A signal matches when it is of the rule and, for every
condition given, its value is one of the condition's. Matching is plain string
comparison, linear in the values: there is no pattern language to abuse, and
sizes are bounded (MAX_VALUE, MAX_VALUES, MAX_CONDITIONS).

A matching signal is suppressed, never deleted: it keeps its evidence, links
`SUPPRESSED_BY` to each exception that matched it and carries `suppressed: true`.
It no longer counts towards stories (app/investigation/stories.py): stories are
rebuilt from their other signals, and a story whose every signal is suppressed is
kept, flagged `suppressed`, out of the default list.

    new signal (:Unscreened) -> screen(): the active exceptions   (pipeline step)
    createException  -> every stored signal of the rule, in batches -> regroup
    updateException  -> the rule's signals again (conditions changed, or reactivated)
    revokeException  -> every signal it suppressed is released      -> regroup
    expiry           -> new signals are no longer suppressed; old ones stay

An exception needs a reason and expires (by default after DEFAULT_DAYS, at most
MAX_DAYS ahead). Every change is an `ExceptionChange` (who, when, what changed)
linked by `HISTORY`, and the stories whose signals it suppressed or released get
a `TriageChange` of field `exception`, so the change shows in their timeline.

A preview runs the same matching over a past window of the rule's signals without
writing: how many it would suppress, a sample, and the stories that would change.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from app.errors import InputError, NotFound
from app.events import normalize_ts
from app.investigation.paging import (
    decode_cursor,
    encode_cursor,
    page_size,
    time_bound,
    time_window,
)
from app.investigation.stories import refresh
from app.neo4j.database import Database, Transaction

CONDITIONS = ("process", "user", "host", "container", "image", "path")
STATUSES = ("active", "expired", "revoked")
MAX_VALUE = 1024  # characters in one condition value (a path is at most 4,096 on Linux)
MAX_VALUES = 20  # values of one condition
MAX_CONDITIONS = 50  # values of all conditions together
MAX_REASON = 2000
MAX_NAME = 200  # an owner, a rule id
MAX_ACTIVE = 1000  # active exceptions: every new signal is checked against those of its rule
DEFAULT_DAYS = 90
MAX_DAYS = 365
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366
PREVIEW_SCAN = 200_000  # signals a preview reads at most
PREVIEW_SAMPLE = 20
PREVIEW_STORIES = 50
SCAN_CHUNK = 2000  # signals read and written per transaction
SCREEN_CHUNK = 5000


class ExceptionNotFound(NotFound):
    """No exception has that id."""


class ExceptionError(InputError):
    """An exception or a change to one is not valid."""


def _text(value: Any, what: str, limit: int) -> str:
    """Returns a one-line text input stripped, or raises ExceptionError saying why."""
    if not isinstance(value, str):
        raise ExceptionError(f"{what} must be text")
    text = value.strip()
    if not text:
        raise ExceptionError(f"{what} is empty")
    if len(text) > limit:
        raise ExceptionError(f"{what} holds at most {limit} characters, got {len(text)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ExceptionError(f"{what} holds a control character: {text[:80]!r}")
    return text


@dataclass(frozen=True)
class Conditions:
    """What a signal must concern for an exception to match it: per field, values (any)."""

    process: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    host: tuple[str, ...] = ()
    container: tuple[str, ...] = ()
    image: tuple[str, ...] = ()
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, given: Mapping[str, Iterable[str] | None]) -> Conditions:
        """Checks conditions as a person gave them; raises ExceptionError naming what is wrong.

        Values are stripped and deduplicated; a `*` may only end a value (a prefix),
        and a lone `*` is refused: it would match anything, which leaving the
        condition out says plainly. At least one condition is needed: an exception
        for a whole rule would turn the rule off, which is the rule's configuration.
        """
        unknown = sorted(set(given) - set(CONDITIONS))
        if unknown:
            raise ExceptionError(f"unknown condition {unknown[0]!r}: use {', '.join(CONDITIONS)}")
        out: dict[str, tuple[str, ...]] = {}
        for name in CONDITIONS:
            raw = given.get(name)
            if raw is None:
                continue
            if isinstance(raw, str):
                raw = [raw]
            raw = list(raw)
            if len(raw) > MAX_VALUES:
                raise ExceptionError(
                    f"{name}: at most {MAX_VALUES} values per condition, got {len(raw)}"
                )
            values = []
            for item in raw:
                value = _text(item, f"a {name} value", MAX_VALUE)
                if "*" in value[:-1]:
                    raise ExceptionError(
                        f"{name}: a * may only end a value (a prefix), not {value[:80]!r}"
                    )
                if value == "*":
                    raise ExceptionError(
                        f"{name}: a lone * matches anything; leave the condition out instead"
                    )
                values.append(value)
            if values:
                out[name] = tuple(dict.fromkeys(values))
        total = sum(len(v) for v in out.values())
        if total > MAX_CONDITIONS:
            raise ExceptionError(f"at most {MAX_CONDITIONS} condition values in all, got {total}")
        if not out:
            raise ExceptionError(
                "an exception needs at least one condition (process, user, host, container, "
                "image or path): to silence a whole rule, change the rule"
            )
        return cls(**out)

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Conditions:
        """Returns the conditions of a stored exception (lists or null per field)."""
        return cls(**{name: tuple(stored.get(name) or ()) for name in CONDITIONS})

    def matches(self, subject: Mapping[str, Any]) -> bool:
        """Tells whether a signal's subject (process, user, host, ...) meets every condition."""
        for f in fields(self):
            values: tuple[str, ...] = getattr(self, f.name)
            if not values:
                continue
            actual = subject.get(f.name)
            if actual is None:
                return False
            text = str(actual)
            if not any(text.startswith(v[:-1]) if v.endswith("*") else text == v for v in values):
                return False
        return True

    def as_props(self) -> dict[str, list[str] | None]:
        """Returns the conditions as node properties: a list per field, or null."""
        return {f.name: list(getattr(self, f.name)) or None for f in fields(self)}


@dataclass(frozen=True)
class Active:
    """An active exception as the screen step uses it."""

    id: str
    rule_id: str
    conditions: Conditions


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return normalize_ts(moment)  # the one time format (app/events.py)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _change_id() -> str:
    return f"exception-change:{uuid.uuid4()}"


# the screen step -------------------------------------------------------------------


def active_exceptions(db: Database) -> dict[str, list[Active]]:
    """Returns the active exceptions by rule id; those past their expiry are marked expired."""
    found = db.read("exceptions/active")
    due = [r["id"] for r in found if r["due"]]
    if due:
        db.run("exceptions/expire", rows=[{"id": i, "change_id": _change_id()} for i in due])
    by_rule: dict[str, list[Active]] = {}
    for r in found:
        if not r["due"]:
            by_rule.setdefault(r["rule_id"], []).append(
                Active(r["id"], r["rule_id"], Conditions.of(r))
            )
    return by_rule


def matching(by_rule: Mapping[str, Sequence[Active]], subject: Mapping[str, Any]) -> list[str]:
    """Returns the ids of the exceptions that match a signal's subject."""
    return [x.id for x in by_rule.get(subject["rule_id"], ()) if x.conditions.matches(subject)]


def screen(db: Database, limit: int = SCREEN_CHUNK) -> int:
    """Checks new signals (:Unscreened) against the active exceptions, suppressing those
    one matches; returns how many were screened.

    It runs in the background stage after detection and before stamping, so that a
    suppressed signal that marks a compromise roots no exploit context, and before
    stories, which wait for it (cypher/stories/dirty_signals.cypher). A signal
    whose event has not arrived waits: what it concerns is not known yet.
    """
    by_rule = active_exceptions(db)
    screened = 0
    while True:
        found = db.read("exceptions/unscreened", limit=limit)
        if not found:
            return screened
        rows = [{"id": r["id"], "exceptions": ids} for r in found if (ids := matching(by_rule, r))]
        db.transaction(_screened(rows, [r["id"] for r in found]))
        screened += len(found)
        if len(found) < limit:
            return screened


def _screened(rows: list[dict[str, Any]], ids: list[str]) -> Callable[[Transaction], None]:
    def work(tx: Transaction) -> None:
        if rows:
            tx.run("exceptions/suppress", rows=rows)
        tx.run("exceptions/clear_unscreened", ids=ids)

    return work


# reading ---------------------------------------------------------------------------


def _history_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "changes": json.loads(c["changes"] or "[]")} for c in rows]


def get(db: Database, exception_id: str) -> dict[str, Any]:
    """Returns one exception (its status as of now), or raises ExceptionNotFound."""
    found = db.read("exceptions/get", ids=[exception_id])
    if not found:
        raise ExceptionNotFound(f"no exception {exception_id[:200]!r}")
    return found[0]["exception"]


def get_many(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Returns the exceptions of some ids that exist, by id."""
    return {r["exception"]["id"]: r["exception"] for r in db.read("exceptions/get", ids=ids)}


def resolve(db: Database, given: str) -> str:
    """Returns the id an id or a unique id prefix names (what the CLI takes)."""
    if db.read("exceptions/get", ids=[given]):
        return given
    found = db.read("exceptions/by_prefix", prefix=given) if given else []
    if len(found) == 1:
        return str(found[0]["id"])
    if not found:
        raise ExceptionNotFound(f"no exception {given[:200]!r}")
    raise ExceptionError(f"{given!r} is the start of several exception ids: give more of it")


def history(db: Database, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Returns every change of each exception, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in db.read("exceptions/history", ids=ids):
        out[r["id"]] = _history_of(r["changes"])
    return out


@dataclass(frozen=True)
class Page:
    """One page of exceptions."""

    exceptions: list[dict[str, Any]]
    total: int
    has_next_page: bool
    end_cursor: str | None


def list_exceptions(
    db: Database,
    statuses: Sequence[str] | None = None,
    rule: str | None = None,
    first: int = 20,
    after: str | None = None,
) -> Page:
    """Lists exceptions, newest first, by status (as of now) and rule."""
    first = page_size(first)
    for status in statuses or ():
        if status not in STATUSES:
            raise ExceptionError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    after_ts, after_id = decode_cursor(after) if after else (None, None)
    if after and not (isinstance(after_ts, str) and isinstance(after_id, str)):
        raise ExceptionError("invalid cursor")
    if after_ts is not None:
        after_ts = time_bound(after_ts, "the cursor")
    filters = {"statuses": list(statuses) if statuses else None, "rule": rule}
    found = db.read(
        "exceptions/list", **filters, after_ts=after_ts, after_id=after_id, limit=first + 1
    )
    page = found[:first]
    by_id = get_many(db, [r["id"] for r in page])
    total = db.read("exceptions/count", **filters)[0]["total"]
    return Page(
        exceptions=[by_id[r["id"]] for r in page if r["id"] in by_id],
        total=total,
        has_next_page=len(found) > first,
        end_cursor=encode_cursor(page[-1]["created_at"], page[-1]["id"]) if page else None,
    )


def signals(db: Database, ids: list[str]) -> list[dict[str, Any]]:
    """Returns signals by id, in that order, as the API shows them."""
    return [r["signal"] for r in db.read("exceptions/signals", ids=ids)] if ids else []


def suppressed_signals(db: Database, exception_id: str, first: int = 20) -> list[dict[str, Any]]:
    """Returns the signals an exception suppresses, newest first."""
    found = db.read("exceptions/exception_signals", id=exception_id, limit=page_size(first))
    return signals(db, [r["id"] for r in found])


def story_suppressed(db: Database, keys: list[str], limit: int) -> list[dict[str, Any]]:
    """Returns the suppressed signals of a story's correlation keys, in time order."""
    return signals(db, [r["id"] for r in db.read("exceptions/story_suppressed", keys=keys,
                                                   limit=limit)])  # fmt: skip


def draft(db: Database, signal_id: str) -> dict[str, Any]:
    """Returns what an exception made from a signal would name: its rule and its values."""
    found = db.read("exceptions/signal_subject", id=signal_id)
    if not found:
        raise NotFound(f"no signal {signal_id[:200]!r}")
    return found[0]


# the rule's signals, matched --------------------------------------------------------


def _scan(
    db: Database,
    rule_id: str,
    start: str | None,
    end: str | None,
    limit: int | None = None,
) -> Iterable[list[dict[str, Any]]]:
    """Yields pages of a rule's signals in time order within a window (at most `limit`)."""
    after: tuple[str | None, str | None] = (None, None)
    read = 0
    while limit is None or read < limit:
        size = SCAN_CHUNK if limit is None else min(SCAN_CHUNK, limit - read)
        page = db.read(
            "exceptions/rule_signals",
            rule=rule_id,
            **{"from": start},
            to=end,
            after_ts=after[0],
            after_id=after[1],
            limit=size,
        )
        if not page:
            return
        read += len(page)
        yield page
        if len(page) < size:
            return
        after = (page[-1]["ts"], page[-1]["id"])


@dataclass
class Preview:
    """What an exception would have suppressed over a past window."""

    rule_id: str
    start: str
    end: str
    scanned: int = 0  # the rule's signals in the window that were read
    matched: int = 0  # those the conditions match
    suppressed: int = 0  # of those, the ones counting now: what it would suppress
    already_suppressed: int = 0  # matched, but another exception suppresses them already
    complete: bool = True  # False when the window held more than PREVIEW_SCAN signals
    sample: list[dict[str, Any]] = field(default_factory=list)
    stories: list[dict[str, Any]] = field(default_factory=list)  # {story, before, after}
    stories_changed: int = 0
    stories_hidden: int = 0


def _window(start: str | None, end: str | None) -> tuple[str, str]:
    lo, hi = time_window(start, end)
    if hi is None:
        hi = _iso(_now())
    if lo is None:
        lo = _iso(_moment(hi) - timedelta(DEFAULT_WINDOW_DAYS))
    span = _moment(hi) - _moment(lo)
    if span < timedelta(0):
        raise ExceptionError("from is after to")
    if span > timedelta(MAX_WINDOW_DAYS):
        raise ExceptionError(f"a preview window spans at most {MAX_WINDOW_DAYS} days")
    return lo, hi


def _rule(db: Database, rule_id: Any, known_rules: Iterable[str] = ()) -> str:
    rule = _text(rule_id, "the rule id", MAX_NAME)
    if rule not in set(known_rules) and not db.read("exceptions/rule_known", rule=rule)[0]["known"]:
        raise ExceptionError(f"no rule {rule[:80]!r} is loaded and no signal has it")
    return rule


def preview(
    db: Database,
    rule_id: str,
    conditions: Mapping[str, Iterable[str] | None],
    start: str | None = None,
    end: str | None = None,
    known_rules: Iterable[str] = (),
) -> Preview:
    """Says what an exception would suppress among a rule's signals of a past window
    (default: the DEFAULT_WINDOW_DAYS before `end`, itself default now), writing nothing.

    The numbers are what saving it would suppress among those signals: the same
    reads and the same matching. `stories` are those holding a signal it would
    suppress, most affected first, with their signal counts before and after;
    `hidden` when none would be left (the story would then be flagged suppressed).
    A routine story may also regroup once its signals change, which is not shown.
    """
    rule = _rule(db, rule_id, known_rules)
    parsed = Conditions.parse(conditions)
    lo, hi = _window(start, end)
    out = Preview(rule_id=rule, start=lo, end=hi)
    per_story: Counter[str] = Counter()
    story_signals: dict[str, int] = {}
    sample: list[str] = []
    for page in _scan(db, rule, lo, hi, PREVIEW_SCAN + 1):
        for r in page:
            if out.scanned == PREVIEW_SCAN:
                out.complete = False
                break
            out.scanned += 1
            if not parsed.matches(r):
                continue
            out.matched += 1
            if r["suppressed_by"]:
                out.already_suppressed += 1
                continue
            out.suppressed += 1
            if len(sample) < PREVIEW_SAMPLE:
                sample.append(r["id"])
            if r["story"] is not None:
                per_story[r["story"]] += 1
                story_signals[r["story"]] = r["story_signals"] or 0
    out.sample = signals(db, sample)
    ranked = sorted(per_story.items(), key=lambda kv: (-kv[1], kv[0]))
    out.stories_changed = len(ranked)
    out.stories_hidden = sum(1 for sid, n in ranked if story_signals[sid] - n <= 0)
    out.stories = [
        {"story": sid, "before": story_signals[sid], "after": max(story_signals[sid] - n, 0)}
        for sid, n in ranked[:PREVIEW_STORIES]
    ]
    return out


# changing ----------------------------------------------------------------------------


@dataclass
class Applied:
    """What saving or revoking an exception changed: signals per correlation key."""

    suppressed: Counter[str] = field(default_factory=Counter)
    released: Counter[str] = field(default_factory=Counter)

    def add(self, other: Applied) -> None:
        self.suppressed.update(other.suppressed)
        self.released.update(other.released)


def _keys(rows: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(r["key"] for r in rows if r["key"] is not None)


def _reconcile(db: Database, exception: Mapping[str, Any]) -> Applied:
    """Makes the exception suppress exactly the stored signals of its rule it matches:
    links those it matches, releases those it no longer does (bounded batches)."""
    conditions = Conditions.of(exception)
    xid = exception["id"]
    applied = Applied()
    for page in _scan(db, exception["rule_id"], None, None):
        add = [r["id"] for r in page if xid not in r["suppressed_by"] and conditions.matches(r)]
        drop = [r["id"] for r in page if xid in r["suppressed_by"] and not conditions.matches(r)]
        if not add and not drop:
            continue

        def work(tx: Transaction, add: list[str] = add, drop: list[str] = drop) -> Applied:
            done = Applied()
            if add:
                rows = [{"id": i, "exceptions": [xid]} for i in add]
                done.suppressed = _keys(tx.run("exceptions/suppress", rows=rows))
            if drop:
                done.released = _keys(tx.run("exceptions/release", exception=xid, ids=drop))
            return done

        applied.add(db.transaction(work))
    return applied


def _release_all(db: Database, exception_id: str) -> Applied:
    """Releases every signal an exception suppresses, in bounded batches."""
    applied = Applied()
    while True:

        def work(tx: Transaction) -> tuple[int, Counter[str]]:
            found = tx.run("exceptions/suppressed_ids", exception=exception_id, limit=SCAN_CHUNK)
            ids = [r["id"] for r in found]
            if not ids:
                return 0, Counter()
            return len(ids), _keys(tx.run("exceptions/release", exception=exception_id, ids=ids))

        count, released = db.transaction(work)
        applied.released.update(released)
        if count < SCAN_CHUNK:
            return applied


def _regroup(
    db: Database,
    exception: Mapping[str, Any],
    applied: Applied,
    action: str,
    actor: str,
    routine: bool,
) -> None:
    """Rebuilds the stories at once, then records on each story what changed in it."""
    if not applied.suppressed and not applied.released:
        return
    refresh(db, routine)
    now = _iso(_now())
    what = f"{exception['rule_id']} ({exception['reason'][:200]})"
    for counts, comment in (
        (applied.suppressed, f"suppressed by exception {exception['id']} for {what}"),
        (applied.released, f"no longer suppressed by exception {exception['id']} for {what}"),
    ):
        if counts:
            db.run(
                "exceptions/record_on_stories",
                rows=[{"key": k, "count": n} for k, n in sorted(counts.items())],
                exception=exception["id"],
                action=action,
                comment=comment,
                actor=actor,
                ts=now,
                change_id=_change_id(),
            )


def _expiry(value: str | None, now: datetime) -> str:
    if value is None:
        return _iso(now + timedelta(DEFAULT_DAYS))
    text = time_bound(_text(value, "the expiry", 64), "expiresAt")
    assert text is not None
    moment = _moment(text)
    if moment <= now:
        raise ExceptionError(f"the expiry {value!r} has passed: give a time to come")
    if moment > now + timedelta(MAX_DAYS):
        raise ExceptionError(f"an exception expires at most {MAX_DAYS} days ahead")
    return text


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return json.dumps(list(value)) if value else None
    return str(value)


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = ["rule_id", *CONDITIONS, "owner", "reason", "expires_at", "status"]
    out = []
    for name in names:
        old, new = _shown(before.get(name)), _shown(after.get(name))
        if name in after and old != new:
            out.append({"field": name, "from": old, "to": new})
    return out


def create(
    db: Database,
    rule_id: str,
    conditions: Mapping[str, Iterable[str] | None],
    reason: str,
    actor: str,
    owner: str | None = None,
    expires_at: str | None = None,
    routine: bool = True,
    known_rules: Iterable[str] = (),
) -> dict[str, Any]:
    """Saves an exception: it suppresses every stored signal of its rule it matches (in
    bounded batches), the stories regroup at once, and it screens new signals until
    it expires or is revoked. Returns it as stored."""
    rule = _rule(db, rule_id, known_rules)
    parsed = Conditions.parse(conditions)
    why = _text(reason, "the reason", MAX_REASON)
    who = _text(owner, "the owner", MAX_NAME) if owner is not None else actor
    now = _now()
    expiry = _expiry(expires_at, now)
    if len(db.read("exceptions/active")) >= MAX_ACTIVE:
        raise ExceptionError(f"{MAX_ACTIVE} exceptions are active: revoke some first")
    xid = f"exception:{uuid.uuid4()}"
    row = {"id": xid, "rule_id": rule, **parsed.as_props(), "owner": who, "reason": why,
           "expires_at": expiry}  # fmt: skip
    changes = _changes({}, {**row, "status": "active"})
    db.run("exceptions/create", row=row, actor=actor, ts=_iso(now), change_id=_change_id(),
           changes=json.dumps(changes))  # fmt: skip
    exception = get(db, xid)
    _regroup(db, exception, _reconcile(db, exception), "create", actor, routine)
    return get(db, xid)


def update(
    db: Database,
    exception_id: str,
    actor: str,
    conditions: Mapping[str, Iterable[str] | None] | None = None,
    owner: str | None = None,
    reason: str | None = None,
    expires_at: str | None = None,
    comment: str | None = None,
    routine: bool = True,
) -> dict[str, Any]:
    """Changes an exception's conditions (replaced whole), owner, reason or expiry, with a
    record of what changed. New conditions, or an expired exception given a later
    expiry (active again), are applied to the rule's stored signals at once."""
    before = get(db, exception_id)
    if before["status"] == "revoked":
        raise ExceptionError("a revoked exception cannot change: create a new one")
    now = _now()
    values: dict[str, Any] = {"conditions": conditions is not None, "revoked": False}
    after: dict[str, Any] = {}
    if conditions is not None:
        if before["status"] == "expired" and expires_at is None:
            raise ExceptionError(
                "this exception has expired: give a new expiry with its new conditions"
            )
        after.update(Conditions.parse(conditions).as_props())
    if owner is not None:
        after["owner"] = _text(owner, "the owner", MAX_NAME)
    if reason is not None:
        after["reason"] = _text(reason, "the reason", MAX_REASON)
    if expires_at is not None:
        after["expires_at"] = _expiry(expires_at, now)
        after["status"] = "active"
    note = _text(comment, "the comment", MAX_REASON) if comment is not None else None
    changes = _changes(before, after)
    if not changes:
        raise ExceptionError("nothing to change: every value given is the one it has")
    values.update({k: after.get(k) for k in (*CONDITIONS, "owner", "reason", "expires_at")})
    values["status"] = after.get("status")
    xid = str(before["id"])
    db.run("exceptions/update", id=xid, values=values, action="update", actor=actor,
           ts=_iso(now), change_id=_change_id(), comment=note,
           changes=json.dumps(changes))  # fmt: skip
    exception = get(db, xid)
    touched = {c["field"] for c in changes}
    if touched & {*CONDITIONS, "status"}:
        _regroup(db, exception, _reconcile(db, exception), "update", actor, routine)
    return get(db, xid)


def revoke(
    db: Database, exception_id: str, reason: str, actor: str, routine: bool = True
) -> dict[str, Any]:
    """Revokes an exception: every signal it suppressed counts again (unless another
    exception suppresses it too), the stories regroup at once; recorded."""
    before = get(db, exception_id)
    if before["status"] == "revoked":
        raise ExceptionError(f"exception {before['id']} is already revoked")
    why = _text(reason, "the reason", MAX_REASON)
    changes = [{"field": "status", "from": before["status"], "to": "revoked"}]
    values = {"conditions": False, "revoked": True, "status": "revoked",
              **dict.fromkeys((*CONDITIONS, "owner", "reason", "expires_at"))}  # fmt: skip
    xid = str(before["id"])
    db.run("exceptions/update", id=xid, values=values, action="revoke", actor=actor,
           ts=_iso(_now()), change_id=_change_id(), comment=why,
           changes=json.dumps(changes))  # fmt: skip
    exception = {**before, "reason": why}
    _regroup(db, exception, _release_all(db, xid), "revoke", actor, routine)
    return get(db, xid)
