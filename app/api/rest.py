"""REST routes: POST /api/v1/events (ingest) and the dead-letter store."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.adapters import UnknownFormat, get_adapter
from app.api.auth import principal_of
from app.api.guards import BUSY, RETRY_AFTER, IngestGate
from app.deadletter import list_letters
from app.errors import DatabaseUnavailable, InputError, PayloadTooLarge
from app.framing import decode_body, decode_text, split_lines
from app.ingest import ingest, resubmit
from app.neo4j.database import Database
from app.pipeline import Pipeline, wait_processed
from app.settings import Settings


def error(status: int, message: str) -> JSONResponse:
    """Returns a JSON error body with a status code."""
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """Reads a request body, stopping with PayloadTooLarge as soon as it passes the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body passes the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def unavailable(message: str) -> JSONResponse:
    """Returns 503 with Retry-After: the database is not answering."""
    return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "5"})


def denied(request: Request, scope: str) -> JSONResponse | None:
    """Returns a 403 when the request's token lacks a scope, else None."""
    if principal_of(request).can(scope):
        return None
    return error(403, f"this API token lacks the {scope!r} scope")


WAITS = ("committed", "processed")


def routes(db: Database, settings: Settings, pipeline: Pipeline, gate: IngestGate) -> list[Route]:
    """Returns the REST routes bound to a database (and the pipeline `wait` drains)."""

    async def post_events(request: Request) -> Response:
        if refused := denied(request, "ingest"):
            return refused
        format_name = request.query_params.get("format", "storyline")
        try:
            get_adapter(format_name)
        except UnknownFormat as exc:
            return error(400, str(exc))
        wait = request.query_params.get("wait", "committed")
        if wait not in WAITS:
            return error(400, f"wait must be one of {', '.join(WAITS)}, not {wait!r}")
        if not gate.enter():
            return JSONResponse({"error": BUSY}, status_code=503,
                                headers={"Retry-After": RETRY_AFTER})  # fmt: skip
        try:
            if not await run_in_threadpool(db.ping):
                return unavailable("Neo4j does not answer")
            return await _ingest(request, format_name, wait)
        except DatabaseUnavailable as exc:
            # batches acknowledged before it went are stored; resending the body
            # is harmless (ingest is idempotent)
            return unavailable(f"{exc}; what this request wrote before is stored, and "
                               "sending it again is harmless")  # fmt: skip
        finally:
            gate.leave()

    async def _ingest(request: Request, format_name: str, wait: str) -> Response:
        try:
            body = await read_body(request, settings.max_body_bytes)
            body = decode_body(body, settings.max_body_bytes)
            text, not_utf8 = decode_text(body)
            del body  # the text is what is kept while the batches are written
        except PayloadTooLarge as exc:
            return error(413, str(exc))
        except InputError as exc:
            return error(400, str(exc))
        except ClientDisconnect:
            return error(400, "the client disconnected before the body was complete")
        if not text.strip():
            return error(400, "the body is empty: send a JSON array, NDJSON or log lines")

        def run() -> dict[str, Any]:
            report = ingest(
                db,
                format_name,
                split_lines(text),
                batch_size=settings.ingest_batch_size,
                origin="http",
                after_batch=None,
            )
            if wait == "processed":
                wait_processed(db, report.last_batch, pipeline)
            answer = report.as_dict()
            answer["warnings"] += [
                {"position": n, "warnings": [f"line {n} held bytes that are not UTF-8: "
                                             "they were read as U+FFFD"]}
                for n in not_utf8
            ]  # fmt: skip
            return answer

        try:
            report = await run_in_threadpool(run)
        except InputError as exc:
            return error(400, str(exc))
        return JSONResponse(report)

    async def get_dead_letters(request: Request) -> Response:
        if refused := denied(request, "admin"):
            return refused
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            return error(400, "limit must be a whole number")
        fmt = request.query_params.get("format")
        letters = await run_in_threadpool(list_letters, db, fmt, None, min(max(limit, 1), 10000))
        return JSONResponse({"dead_letters": letters})

    async def post_resubmit(request: Request) -> Response:
        if refused := denied(request, "admin"):
            return refused
        ids = request.query_params.getlist("id") or None
        result = await run_in_threadpool(resubmit, db, ids)
        return JSONResponse(result)

    return [
        Route("/api/v1/events", post_events, methods=["POST"]),
        Route("/api/v1/dead-letters", get_dead_letters, methods=["GET"]),
        Route("/api/v1/dead-letters/resubmit", post_resubmit, methods=["POST"]),
    ]
