"""Who may talk to the mock, and where it says it lives.

The mock usually runs on a developer's machine, next to a browser. A web page can send requests to
127.0.0.1 too, and a DNS-rebinding page can even read the answers under a name of its own. So:
- a request whose Host is neither an IP address, a loopback name, the name the mock was told to bind to,
  nor the host of `--public-url` is refused (a rebinding page's Host is its own domain);
- a write to the control API must be JSON (a page cannot send that cross-origin without a preflight the mock
  never grants) and carry no Origin, or the mock's own (its dashboard); a WebSocket likewise: a browser sends
  every page's Origin with the upgrade, SDKs and curl send none;
- a request a mock sent (a webhook, an upload, a media download: `outbound.OUTBOUND_HEADER`) may not reach the
  task endpoint or the control API, whatever it was told to call (see `outbound.py`);
- the URLs the mock hands out are built from `--public-url` or from the address the client connected to,
  never from the Host header.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from aiohttp import web

from mock_server import exceptions, namespaces
from mock_server.config import Settings
from mock_server.http import connections
from mock_server.http.app_keys import SETTINGS
from mock_server.outbound import CONTROL_PREFIX, OUTBOUND_HEADER, names_mock_api

CONTROL_TOKEN_HEADER = "X-Mock-Control-Token"

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@lru_cache(maxsize=256)  # parsing is most of the check, and clients send the same few Host values
def _hostname(host_header: str) -> str | None:
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:  # "[::1" and the like: no host at all
        return None


def host_is_known(host_header: str, settings: Settings) -> bool:
    host = _hostname(host_header)
    if host is None:
        return False
    if host in ("localhost", settings.host.lower()) or host.endswith(".localhost"):
        return True
    if settings.public_url and host == (urlsplit(settings.public_url).hostname or "").lower():
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.netloc.lower() == (request.host or "").lower() and parts.scheme in ("http", "https")


def check_request(request: web.Request) -> None:
    """Refuses (raises) a request from an unknown host, a mock's own request to an API, or a control API write or
    WebSocket a web page could have sent; then gives the body until --request-timeout to arrive."""
    settings = request.app[SETTINGS]
    if not host_is_known(request.host or "", settings):
        raise exceptions.UNKNOWN_HOST(
            "The Host header names a host this mock does not serve; start it with --public-url to add a name.",
            parameter="Host",
        )
    if OUTBOUND_HEADER in request.headers and names_mock_api(request.path):
        raise exceptions.FORBIDDEN_SELF_REQUEST(
            "A mock's webhooks, uploads and media downloads may not call a mock's task endpoint or control API.",
            parameter=OUTBOUND_HEADER,
        )
    if settings.control and request.path.startswith(CONTROL_PREFIX + "/") and request.method in WRITES:
        if not is_same_origin(request):
            raise exceptions.FORBIDDEN_ORIGIN(
                "The control API takes writes from its own pages only.", parameter="Origin"
            )
        if request.content_type != "application/json":
            raise exceptions.INVALID_CONTROL_REQUEST(
                "Control API writes must be sent as Content-Type: application/json.", parameter="Content-Type"
            )
    elif is_websocket_upgrade(request) and not is_same_origin(request):
        raise exceptions.FORBIDDEN_ORIGIN(
            "WebSockets are taken from the mock's own pages, and from clients that send no Origin.",
            parameter="Origin",
        )
    connections.limit_body_time(request, settings.request_timeout)


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def request_namespace(request: web.Request) -> str | None:
    """The namespace a request names with X-Mock-Namespace, None without the header; a bad name is a 400."""
    name = request.headers.get(namespaces.HEADER)
    if name is None:
        return None
    try:
        return namespaces.check_name(name)
    except ValueError as error:
        raise exceptions.INVALID_MOCK_NAMESPACE(f"{namespaces.HEADER}: {error}.", parameter=namespaces.HEADER) from None


def may_inject_faults(request: web.Request) -> bool:
    """X-Mock-Fault is a control: honoured only with the control API on, and with its token when one is set."""
    settings = request.app[SETTINGS]
    return settings.control and carries_control_token(request, settings.control_token)


def carries_control_token(request: web.Request, token: str | None) -> bool:
    """Whether the request carries the control token (any request does when there is none), compared in
    constant time."""
    if token is None:
        return True
    return hmac.compare_digest(request.headers.get(CONTROL_TOKEN_HEADER, "").encode(), token.encode())


def not_a_websocket_upgrade() -> web.Response:
    """The answer to a plain GET /v1: that path upgrades to the WebSocket, or takes task arrays by POST."""
    error = exceptions.METHOD_NOT_ALLOWED("GET /v1 is the WebSocket endpoint; send task arrays with POST /v1.")
    return web.json_response(exceptions.errors_body(error), status=error.status, headers={"Allow": "POST"})


def base_url(request: web.Request) -> str:
    """Where clients reach this server, for the URLs it hands out: `--public-url`, or the local address the
    client's connection arrived at (its own socket, not a header the client wrote)."""
    settings = request.config_dict[SETTINGS]  # the control API, a sub-application, finds the mock's too
    if settings.public_url:
        return settings.public_url
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return f"http://{settings.host}:{settings.port}"
    address, port = sockname[0], sockname[1]
    host = f"[{address}]" if ":" in address else address
    return f"{request.scheme}://{host}:{port}"
