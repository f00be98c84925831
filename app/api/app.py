"""The Starlette application: /graphql, /healthz, /readyz, /metrics, REST, and the worker."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from app.api.auth import Authenticator, AuthMiddleware
from app.api.console import routes as console_routes
from app.api.guards import BodyLimit, IngestGate, SameOrigin
from app.api.rest import denied, error
from app.api.rest import routes as rest_routes
from app.api.schema import schema
from app.investigation.evidence import gather
from app.investigation.exports import to_cytoscape, to_graphml
from app.investigation.graph import build_graph
from app.investigation.ocsf import findings
from app.investigation.report import render_report
from app.links import load_links
from app.metrics import exposition
from app.neo4j.database import Database
from app.pipeline import Pipeline, Worker, queued
from app.retention import Pruner, parse_age
from app.settings import Settings
from app.webhook import load_webhook

GRAPH_FORMATS = ("json", "cytoscape", "graphml")


class StorylineGraphQL(GraphQL):
    """Strawberry's ASGI app with the database in every request's context."""

    def __init__(
        self, db: Database, settings: Settings, pipeline: Pipeline, gate: IngestGate,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(schema, graphql_ide="graphiql", **kwargs)
        self.db = db
        self.settings = settings
        self.pipeline = pipeline
        self.gate = gate
        self.links = load_links(settings.links_file)  # a bad file stops start-up
        self.webhook = load_webhook(settings)  # so does a bad action webhook

    # strawberry types the context as None unless the view is made generic over it
    async def get_context(  # type: ignore[override]
        self, request: Any, response: Any
    ) -> dict[str, Any]:
        return {"db": self.db, "settings": self.settings, "pipeline": self.pipeline,
                "gate": self.gate, "links": self.links, "webhook": self.webhook,
                "request": request, "response": response}  # fmt: skip


def create_app(db: Database, settings: Settings | None = None) -> Starlette:
    """Builds the app around a connected database.

    While it runs (its lifespan), a background worker runs the pipeline's stage
    on what ingest queued, unless STORYLINE_PIPELINE_WORKER=off, and retention
    (STORYLINE_RETENTION) between its cycles; with STORYLINE_KAFKA_TOPICS, a Kafka
    consumer writes what the topics bring.
    """
    settings = settings or Settings.from_env()
    pipeline = Pipeline.default(settings)
    # STORYLINE_RETENTION: checked here, so that a bad age stops the start with its reason
    pruner = Pruner(parse_age(settings.retention)) if settings.retention else None
    consumer = None
    if settings.kafka.topics:
        from app.kafka.consumer import Background

        consumer = Background(db, settings.kafka, settings.ingest_batch_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = Worker(db, pipeline, pruner=pruner).start() if settings.pipeline_worker else None
        if consumer is not None:
            consumer.start()
        try:
            yield
        finally:
            if consumer is not None:
                await run_in_threadpool(consumer.stop)
            if worker is not None:
                await run_in_threadpool(worker.stop)

    async def metrics_page(request: Request) -> Response:
        if refused := denied(request, "read"):
            return refused
        state = await run_in_threadpool(queued, db)
        return Response(exposition(state), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await run_in_threadpool(db.ping):
            return JSONResponse({"status": "ready", "neo4j": "answers"})
        return JSONResponse({"status": "not ready", "neo4j": "does not answer"},
                            status_code=503, headers={"Retry-After": "5"})  # fmt: skip

    async def story_graph(request: Request) -> Response:
        if refused := denied(request, "read"):
            return refused
        fmt = request.query_params.get("format", "json")
        if fmt not in GRAPH_FORMATS:
            return error(400, f"unknown format {fmt!r}: use one of {', '.join(GRAPH_FORMATS)}")
        story_id = request.path_params["id"]
        graph = await run_in_threadpool(build_graph, db, story_id)
        if graph is None:
            return error(404, f"no story {story_id!r}")
        if fmt == "graphml":
            return Response(to_graphml(graph), media_type="application/graphml+xml")
        return JSONResponse(to_cytoscape(graph) if fmt == "cytoscape" else graph)

    async def story_ocsf(request: Request) -> Response:
        if refused := denied(request, "read"):
            return refused
        story_id = request.path_params["id"]
        evidence = await run_in_threadpool(gather, db, story_id, False)
        if evidence is None:
            return error(404, f"no story {story_id[:80]!r}")
        headers = {"Storyline-Truncated": "true"} if evidence.truncated else None
        return JSONResponse(findings(evidence), headers=headers)

    async def story_report(request: Request) -> Response:
        if refused := denied(request, "read"):
            return refused
        story_id = request.path_params["id"]
        evidence = await run_in_threadpool(gather, db, story_id)
        if evidence is None:
            return error(404, f"no story {story_id[:80]!r}")
        name = f"story-{evidence.story['id'][:8]}.md"
        return Response(
            render_report(evidence),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    gate = IngestGate(settings.max_concurrent_ingests)
    graphql = StorylineGraphQL(db, settings, pipeline, gate)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),  # subscriptions: graphql-transport-ws, graphql-ws
        Route("/api/v1/stories/{id}/graph", story_graph, methods=["GET"]),
        Route("/api/v1/stories/{id}/ocsf", story_ocsf, methods=["GET"]),
        Route("/api/v1/stories/{id}/report.md", story_report, methods=["GET"]),
        *rest_routes(db, settings, pipeline, gate),
        *console_routes(),
    ]
    auth = Authenticator(settings.tokens_path)
    middleware = [  # outermost first: size, then who asks, then from where
        Middleware(BodyLimit, limit=settings.max_body_bytes),
        Middleware(AuthMiddleware, auth=auth),
        Middleware(SameOrigin, allowed_origins=settings.allowed_origins),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.auth = auth
    app.state.ingest_gate = gate
    app.state.db = db
    app.state.settings = settings
    return app
