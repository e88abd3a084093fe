"""The control API's JavaScript client, served by the mock itself at /__mock/client.mjs (`static/client.mjs`).

A JavaScript test suite loads it from the mock it drives, so it needs no package from npm and always matches that
mock's control API. Like the dashboard's files it is served outside the control API's token guard: it is code,
holds nothing secret, and its calls carry the token (`new MockControl(base, { token })`). It is served only while
the control API is on.
"""

from __future__ import annotations

from aiohttp import web

from mock_server.http.control import PREFIX
from mock_server.http.dashboard import STATIC, file_response

PATH = f"{PREFIX}/client.mjs"
SCRIPT = STATIC / "client.mjs"


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, client_script)


async def client_script(request: web.Request) -> web.Response:
    return file_response(SCRIPT)
