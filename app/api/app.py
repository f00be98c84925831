"""The Starlette application: /graphql, /healthz and /readyz."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from app.api.rest import routes as rest_routes
from app.api.schema import schema
from app.neo4j.database import Database
from app.settings import Settings


class StorylineGraphQL(GraphQL):
    """Strawberry's ASGI app with the database in every request's context."""

    def __init__(self, db: Database, settings: Settings, **kwargs: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **kwargs)
        self.db = db
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"db": self.db, "settings": self.settings, "request": request, "response": response}


def create_app(db: Database, settings: Settings | None = None) -> Starlette:
    """Builds the app around a connected database."""
    settings = settings or Settings.from_env()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await run_in_threadpool(db.ping):
            return JSONResponse({"status": "ready", "neo4j": "answers"})
        return JSONResponse({"status": "not ready", "neo4j": "does not answer"}, status_code=503)

    graphql = StorylineGraphQL(db, settings)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        *rest_routes(db, settings),
    ]
    app = Starlette(routes=routes)
    app.state.db = db
    app.state.settings = settings
    return app
