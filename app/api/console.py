"""The investigation console at `/`: its page and assets, built into app/console/.

The files hold no data (every story comes through /graphql with the caller's
token), so they are served to anyone; the headers keep the page from being
framed or sniffed, and its scripts to this origin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

CONSOLE = Path(__file__).resolve().parent.parent / "console"
HEADERS = {
    "Content-Security-Policy": (
        # inline styles: Cytoscape.js sizes its canvas through style attributes
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class _Assets(StaticFiles):
    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[override]
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


async def page(request: Request) -> Response:
    """Serves the console's page (every view is a #fragment of it)."""
    index = CONSOLE / "index.html"
    if not index.exists():
        return Response("the console is not built: make console", status_code=404)
    return FileResponse(index, headers=HEADERS)


def routes() -> list[Route | Mount]:
    """Returns the console's routes: the page at / and its assets."""
    return [
        Route("/", page, methods=["GET"]),
        Mount("/assets", app=_Assets(directory=CONSOLE / "assets", check_dir=False)),
    ]
