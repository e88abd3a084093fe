"""Which URLs the mock may reach on a client's behalf (media downloads, webhooks, uploads).

Fetching a URL for a client is a server-side request: by default only loopback addresses, what a local
tool needs; `--allow-host` adds hosts, `*` allows any.

A URL must not turn a mock against itself: a web page can submit a task (a cross-site `text/plain` POST) whose
webhook is `http://127.0.0.1:8080/__mock/reset`, and that request would come from the mock, with no Origin. Two
defences, one rule (`names_mock_api`: the task endpoint `/v1` and the control API, sample media aside):
- here, a URL on this machine, however its host is spelt (`127.1`, `2130706433`, `[::ffff:127.0.0.1]`,
  `localhost.`, the mock's own names), may not name such a path, on any port: another mock is refused too;
- every request the mock sends carries `OUTBOUND_HEADER`, and a mock refuses it on such a path
  (`http/guard.py`): that covers names this policy cannot know lead back (a LAN address, a DNS name). The
  header is no secret: it grants nothing, only takes away, and a web page cannot add a header to a
  cross-site request without a preflight the mock never grants.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from yarl import URL

TASK_PATH = "/v1"
CONTROL_PREFIX = "/__mock"
SAMPLE_MEDIA_PREFIX = CONTROL_PREFIX + "/media/"  # files the mock fetches from itself: inputs in tests

OUTBOUND_HEADER = "X-Mock-Outbound"
OUTBOUND_HEADERS = {OUTBOUND_HEADER: "1"}  # on every request the mock sends

_REPEATED_SLASHES = re.compile("/{2,}")


def names_mock_api(path: str) -> bool:
    """Whether a percent-decoded path is a mock's task endpoint or control API (its sample media aside), read
    generously: any case, repeated slashes, a trailing slash."""
    path = _REPEATED_SLASHES.sub("/", path).lower()
    if path.startswith(SAMPLE_MEDIA_PREFIX):
        return False
    return path.rstrip("/") in (TASK_PATH, CONTROL_PREFIX) or path.startswith(CONTROL_PREFIX + "/")


class HostPolicy:
    def __init__(self, allowed: tuple[str, ...] = (), own_names: tuple[str, ...] = ()) -> None:
        """`allowed`: the hosts of --allow-host; `own_names`: names the mock is reached by besides loopback
        (its --host, the host of --public-url)."""
        self.allow_any = "*" in allowed
        self.allowed = {host.lower() for host in allowed}
        self.own_names = {name.lower().rstrip(".") for name in own_names if name}

    def allows(self, url: str) -> bool:
        return self.refusal(url) is None

    def refusal(self, url: str) -> str | None:
        """Why the mock may not send a request to `url`, or None when it may."""
        try:
            parts = URL(url)
        except ValueError:
            return "it is not a URL the mock can reach"
        host = (parts.host or "").lower()
        if not host:
            return "it names no host"
        if not (self.allow_any or host in self.allowed or _is_loopback(host)):
            return (
                f"the mock may not reach {host} (allow it with --allow-host {host}, "
                f"LIPSYNC_MOCK_ALLOWED_HOSTS={host}, or Settings(allowed_hosts=('{host}',)) in the pytest plugin)"
            )
        # yarl's path is the one the request will carry: percent-decoded, dot segments resolved.
        if self._is_this_machine(host) and names_mock_api(parts.path):
            return f"{parts.path} on {host} is a mock's task endpoint or control API, which the mock never calls"
        return None

    def _is_this_machine(self, host: str) -> bool:
        host = host.rstrip(".")
        if host == "localhost" or host.endswith(".localhost") or host in self.own_names:
            return True
        address = _address(host)
        return address is not None and (address.is_loopback or address.is_unspecified)


def _is_loopback(host: str) -> bool:
    """What is reached without --allow-host: loopback addresses as written plainly, and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a client would connect to for `host` written as an address, in any spelling the system's
    resolver takes (`127.1`, `2130706433`, `0x7f.0.0.1`); an IPv4-mapped IPv6 address as its IPv4 one."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
