"""The mock's own pages and files under /__mock/, beside the control API: the dashboard (`/__mock/ui`) and the
sample media shipped for tests (`/__mock/media/<name>`).

They are mounted on the main application, outside the control API's token guard: a browser cannot send a
header when it opens a page, and the mock fetches sample media without one. Neither holds anything secret —
the dashboard's data comes from the control API, which the page calls with the token.
"""

from __future__ import annotations

import html
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from mock_server.http.control import PREFIX
from mock_server.lifecycle import LifecycleMode

STATIC = resources.files("mock_server.http") / "static"
# By path, not as the package mock_server.testing: importing that would import the app this module is part of.
SAMPLE_MEDIA = resources.files("mock_server") / "testing" / "media"
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
}
# The page loads nothing from elsewhere and runs no inline script: a browser enforces that too.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Replaced by the lifecycle modes when the page is served: they are named once, in lifecycle.py, and the script
# reads them from the page.
LIFECYCLE_MODES_MARK = "<!-- lifecycle modes -->"
PAGE = "dashboard.html"


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/ui", page)
    app.router.add_get(f"{PREFIX}/ui/{{name}}", static_file)
    app.router.add_get(f"{PREFIX}/media/{{name}}", sample_media)


def sample_media_names() -> list[str]:
    return sorted(entry.name for entry in SAMPLE_MEDIA.iterdir() if entry.name.endswith((".mp4", ".wav")))


async def page(request: web.Request) -> web.Response:
    """The page, with the lifecycle modes; at /__mock/ui and under its own name."""
    options = "".join(f"<option>{html.escape(mode)}</option>" for mode in LifecycleMode)
    text = (STATIC / PAGE).read_text().replace(LIFECYCLE_MODES_MARK, options)
    return _response(text.encode(), "text/html")


async def static_file(request: web.Request) -> web.Response:
    file = _named(STATIC, request.match_info["name"])
    return await page(request) if file.name == PAGE else file_response(file)


async def sample_media(request: web.Request) -> web.Response:
    return file_response(_named(SAMPLE_MEDIA, request.match_info["name"]))


def _named(folder: Traversable, name: str) -> Traversable:
    """A file directly in `folder`, by a plain name (no path, no hidden file); 404 otherwise."""
    if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(tuple(CONTENT_TYPES)):
        raise web.HTTPNotFound()
    found = folder / name
    if not found.is_file():
        raise web.HTTPNotFound()
    return found


def file_response(file: Traversable) -> web.Response:
    """One of the mock's own files, never cached: a mock upgraded in place serves its new files at once."""
    return _response(file.read_bytes(), CONTENT_TYPES[file.name[file.name.rfind(".") :]])


def _response(body: bytes, content_type: str) -> web.Response:
    charset = "utf-8" if content_type.startswith("text/") else None
    response = web.Response(body=body, content_type=content_type, charset=charset)
    response.headers["Cache-Control"] = "no-store"
    if content_type == "text/html":
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response
