"""`storyline serve`, `storyline tokens` and `storyline neo4j`: running the service."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from app.api.auth import Authenticator, add_token, exposure_problem, read_tokens, revoke_token
from app.errors import InputError
from app.settings import Settings


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
        print(f"the console at http://{host}:{port}/")
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
