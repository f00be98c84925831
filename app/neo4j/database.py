"""The driver lifecycle and running cypher/ files by name.

Cypher lives in cypher/*.cypher; Python names the file and passes $parameters.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, Query
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from app import metrics
from app.errors import CypherFileError, DatabaseBusy, DatabaseError, DatabaseUnavailable
from app.neo4j.launcher import LocalNeo4j
from app.resources import cypher_dir
from app.settings import Secret, Settings

_IN_TRANSACTIONS = re.compile(r"\bIN\s+(\d+\s+)?(CONCURRENT\s+)?TRANSACTIONS\b", re.I)


@functools.cache
def cypher(name: str) -> str:
    """Returns the text of cypher/<name>.cypher (for example 'ingest/merge_events')."""
    path = cypher_dir() / f"{name}.cypher"
    if not path.is_file():
        raise CypherFileError(f"no cypher file {path}")
    return path.read_text()


def statements(text: str) -> list[str]:
    """Splits a file of `;`-terminated statements, dropping `//` comment lines."""
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
    return [part.strip() for part in body.split(";") if part.strip()]


def cypher_files() -> list[Path]:
    """Lists every cypher/**/*.cypher file."""
    return sorted(cypher_dir().rglob("*.cypher"))


# The cypher files a request ran, when it asked (app/api/trace.py): set per request,
# seen by the threads its resolvers run in (contextvars travel with them).
_TRACE: ContextVar[list[dict[str, Any]] | None] = ContextVar("cypher_trace", default=None)
MAX_TRACED = 100  # statements recorded per request
MAX_TRACED_ITEMS = 1000  # items kept of a list parameter


def trace_into(trace: list[dict[str, Any]] | None) -> None:
    """From now on in this context, records each cypher file run, with its parameters,
    into `trace` (None: stop recording)."""
    _TRACE.set(trace)


def _plain(value: Any) -> tuple[Any, bool]:
    """Returns a parameter as JSON values (lists cut to MAX_TRACED_ITEMS), and whether cut."""
    if isinstance(value, Mapping):
        items = [(k, _plain(v)) for k, v in value.items()]
        return {k: v for k, (v, _) in items}, any(cut for _, (_, cut) in items)
    if isinstance(value, list | tuple):
        kept = [_plain(v) for v in value[:MAX_TRACED_ITEMS]]
        return [v for v, _ in kept], len(value) > MAX_TRACED_ITEMS or any(c for _, c in kept)
    if value is None or isinstance(value, str | int | float | bool):
        return value, False
    return str(value), False


def _note(name: str, params: Mapping[str, Any]) -> None:
    trace = _TRACE.get()
    if trace is None or len(trace) >= MAX_TRACED:
        return
    parameters, cut = _plain(params)
    trace.append(
        {
            "file": f"cypher/{name}.cypher",
            "text": cypher(name),
            "parameters": parameters,
            "cut": cut,
        }
    )


class _Unprinted(list[Any]):
    """A list parameter whose repr is short.

    The driver (neo4j 6.4, every Bolt version) formats its debug line for every
    RUN, logging on or off, with the repr of every parameter: for a batch's
    rows that took as long as encoding them (about 20 ms per 5,000 events).
    Its encoders take any list, so only the debug line changes.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"[{len(self)} items]"


def _sendable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Returns the parameters with each top-level list made an _Unprinted."""
    return {k: _Unprinted(v) if type(v) is list else v for k, v in params.items()}


@dataclass(frozen=True)
class Target:
    """Where the app's Neo4j is: a URI, credentials and a database name."""

    uri: str
    user: str
    password: Secret
    database: str | None = None


T = TypeVar("T")

log = logging.getLogger(__name__)

# Retries of a transaction that failed on a transient error: a deadlock with a
# concurrent writer, a lost connection, a leader switch. The driver's managed
# transactions wait a second before the first retry and double it; the locks a
# deadlock's loser wanted are free again as soon as the winner commits, most often
# within a few tens of milliseconds.
RETRY_SECONDS = 30.0  # how long, from its first failure, as the driver does
RETRY_FIRST_DELAY = 0.02  # seconds before the first retry; doubled after each one
RETRY_MAX_DELAY = 2.0


def retrying(attempt: Callable[[], T]) -> T:
    """Runs `attempt` (one whole transaction) until it succeeds or fails for good.

    A transient failure is retried after a pause that starts short, doubles, and
    is jittered (so that two writers that deadlocked do not meet again at once),
    for up to RETRY_SECONDS after the first failure; the last failure is then raised.
    """
    deadline = None
    delay = RETRY_FIRST_DELAY
    while True:
        try:
            return attempt()
        except (Neo4jError, DriverError) as exc:
            deadline = deadline or time.monotonic() + RETRY_SECONDS
            if not exc.is_retryable() or time.monotonic() + delay > deadline:
                raise
            reason = getattr(exc, "code", None) or type(exc).__name__
            metrics.TRANSACTION_RETRIES.labels(reason).inc()
            # INFO: under concurrent writers a deadlock is routine, and the metric counts it
            notes = "".join(f" {note}" for note in getattr(exc, "__notes__", ()))
            log.info("transaction retried after %s%s", reason, notes)
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, RETRY_MAX_DELAY)


def _raise_if_transient(exc: Neo4jError) -> None:
    """Raises DatabaseBusy for a transient error that `retrying` gave up on (a
    client answers it as 'retry later', not as a failure of the request)."""
    if exc.is_retryable():
        raise DatabaseBusy(
            f"Neo4j failed the transaction with a transient error, {exc.code} "
            f"({exc.message}), after retries: try again later",
            exc.code,
        ) from exc


@contextmanager
def _naming(name: str | None) -> Iterator[None]:
    """Notes on the error of a failing statement the cypher file it ran, for the retry's log."""
    try:
        yield
    except Neo4jError as exc:
        if name is not None:
            exc.add_note(f"in cypher/{name}.cypher")
        raise


def _in_transaction(session: Any, work: Callable[[Any], T]) -> T:
    """Runs `work` in one explicit transaction of `session` and commits it (rolled
    back if `work` raises)."""
    with session.begin_transaction() as tx:
        result = work(tx)
        tx.commit()
        return result


class Transaction:
    """One open write transaction, with Database's read/run by cypher file name."""

    def __init__(self, tx: Any) -> None:
        self.tx = tx

    def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Runs the statement of cypher/<name>.cypher in this transaction; returns its rows."""
        _note(name, params)
        with _naming(name):
            return [record.data() for record in self.tx.run(cypher(name), _sendable(params))]

    read = run


class Database:
    """One driver for the app's lifetime; runs named cypher files and raw queries."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.driver: Driver = self._driver()
        self._probe: Driver | None = None  # a second driver that gives up fast (ping)
        self._probe_lock = threading.Lock()

    def _driver(self, **config: Any) -> Driver:
        return GraphDatabase.driver(
            self.target.uri,
            auth=(self.target.user, self.target.password.reveal()),
            user_agent="storyline",
            # "property key does not exist" and the like: normal on a sparse or young
            # graph, and logged by the driver as warnings for every such query
            notifications_disabled_classifications=["UNRECOGNIZED"],
            **config,
        )

    def close(self) -> None:
        """Closes the driver."""
        self.driver.close()
        if self._probe is not None:
            self._probe.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Any]:
        """Opens a session in read or write access mode."""
        access = WRITE_ACCESS if write else READ_ACCESS
        with self.driver.session(database=self.target.database, default_access_mode=access) as s:
            yield s

    def ping(self, timeout: float = 1.0) -> bool:
        """Tells whether Neo4j answers a query within about `timeout` seconds (no retries).

        The app's driver retries for up to 30 s when Neo4j is gone, which is right
        for a write and wrong for a readiness probe or for telling a client to come
        back later: the probe driver connects and answers within the timeout or not.
        """
        with self._probe_lock:
            if self._probe is None:
                self._probe = self._driver(
                    connection_timeout=timeout, connection_acquisition_timeout=timeout,
                    max_transaction_retry_time=0, max_connection_pool_size=2,
                )  # fmt: skip
        try:
            with self._probe.session(database=self.target.database) as s:
                s.run(Query("RETURN 1", timeout=timeout)).consume()
        except (ServiceUnavailable, SessionExpired, Neo4jError, DriverError, OSError):
            return False
        return True

    def query(
        self,
        text: str,
        params: Mapping[str, Any] | None = None,
        write: bool = False,
        values_only: bool = False,
        name: str | None = None,
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Runs one statement in a transaction (retried on transient errors); returns
        its columns and rows.

        `values_only`: the statement returns no nodes, relationships or paths (only
        maps, lists and values), so its rows are taken as the driver decodes them,
        without `Record.data()`'s walk through every nested value. `name`: the cypher
        file the text is from, which a retry's log line names.
        """

        def work(tx: Any) -> tuple[list[str], list[dict[str, Any]]]:
            with _naming(name):
                result = tx.run(text, _sendable(params or {}))
                keys = list(result.keys())
                if values_only:
                    return keys, [dict(record) for record in result]
                return keys, [record.data() for record in result]

        def attempt() -> tuple[list[str], list[dict[str, Any]]]:
            with self.session(write=write) as s:
                return _in_transaction(s, work)

        in_transactions = bool(_IN_TRANSACTIONS.search(text))
        try:
            if in_transactions:
                # CALL { ... } IN TRANSACTIONS commits on its own: auto-commit only
                with self.session(write=write) as s:
                    return work(s)
            return retrying(attempt)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise DatabaseUnavailable(f"Neo4j does not answer: {exc}") from exc
        except Neo4jError as exc:
            if not in_transactions:  # its inner transactions may have committed
                _raise_if_transient(exc)
            if exc.code == "Neo.ClientError.Statement.AccessMode":
                raise DatabaseError(
                    "this statement writes, and the session is read-only: "
                    "run it with --write (or a write transaction) if you mean it",
                    exc.code,
                ) from exc
            raise DatabaseError(f"{exc.code}: {exc.message}", exc.code) from exc

    def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Runs the write statement of cypher/<name>.cypher; returns its rows."""
        _note(name, params)
        return self.query(cypher(name), params, write=True, name=name)[1]

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Runs the read statement of cypher/<name>.cypher; returns its rows."""
        _note(name, params)
        return self.query(cypher(name), params, write=False, name=name)[1]

    def read_values(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Like `read`, for a statement that returns only maps, lists and values (see
        `query`): the rule reads of a large batch, where `Record.data()` cost as much
        as the query itself. tests/test_cypher_files.py runs each statement read this
        way and fails on a node, relationship or path anywhere in its rows."""
        _note(name, params)
        return self.query(cypher(name), params, write=False, values_only=True, name=name)[1]

    def transaction(self, work: Callable[[Transaction], T]) -> T:
        """Runs `work` in one write transaction (retried whole on transient errors)."""

        def attempt() -> T:
            with self.session(write=True) as s:
                return _in_transaction(s, lambda tx: work(Transaction(tx)))

        try:
            return retrying(attempt)
        except (ServiceUnavailable, SessionExpired) as exc:
            raise DatabaseUnavailable(f"Neo4j does not answer: {exc}") from exc
        except Neo4jError as exc:
            _raise_if_transient(exc)
            raise DatabaseError(f"{exc.code}: {exc.message}", exc.code) from exc

    def run_script(self, name: str) -> int:
        """Runs every statement of a multi-statement file, each in its own auto-commit."""
        count = 0
        with self.session(write=True) as s:
            for statement in statements(cypher(name)):
                s.run(Query(statement)).consume()
                count += 1
        return count

    def apply_constraints(self) -> int:
        """Applies cypher/constraints.cypher (idempotent); returns the statement count."""
        count = self.run_script("constraints")
        with self.session(write=False) as s:
            s.run("CALL db.awaitIndexes(300)").consume()
        return count


def connect(settings: Settings, local: LocalNeo4j | None = None) -> Database:
    """Connects to NEO4J_URI, or to the local server (which must be started)."""
    if settings.neo4j_uri:
        if settings.neo4j_password is None:
            raise DatabaseError("NEO4J_URI is set but NEO4J_PASSWORD is not")
        target = Target(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password,
            settings.neo4j_database,
        )
    else:
        local = local or LocalNeo4j(settings.local)
        target = Target(local.bolt_uri, local.user, local.password(), settings.neo4j_database)
    return Database(target)
