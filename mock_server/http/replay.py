"""`--replay DIR` over REST: `POST /v1` answered from the recording where it matches, by the mock otherwise; the
recording's result files served under `/recorded/`. WebSocket clients get the mock as usual."""

from __future__ import annotations

from aiohttp import web

from mock_server import exceptions
from mock_server.config import Settings
from mock_server.http import rest
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.guard import base_url
from mock_server.replay import FILES_PATH, Recordings

RECORDINGS = web.AppKey("recordings", Recordings)


def add_routes(app: web.Application, settings: Settings) -> None:
    assert settings.replay is not None
    app[RECORDINGS] = Recordings(settings.replay)
    app.router.add_post("/v1", answer_tasks)
    app.router.add_get(FILES_PATH + "/{name}", get_recorded_file)


async def answer_tasks(request: web.Request) -> web.StreamResponse:
    body = await rest.read_body(request)
    answer = request.app[RECORDINGS].answer(
        body, has_key=bool(request.headers.get("Authorization")), base_url=base_url(request)
    )
    if answer is None:
        return await rest.answer_tasks(request, body)
    request.app[DISPATCHER].journal.record(body, answer.status, answer.body.decode(errors="replace"))
    return web.Response(body=answer.body, status=answer.status, headers=answer.headers)


async def get_recorded_file(request: web.Request) -> web.StreamResponse:
    found = request.app[RECORDINGS].files.get(request.match_info["name"])
    if found is None:
        return rest.error_response(exceptions.NOT_FOUND("The recording holds no file of this name."))
    return web.FileResponse(found.path, headers={"Content-Type": found.content_type})
