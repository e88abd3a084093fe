"""Which hosts the mock may reach on a client's behalf (media downloads, webhooks, uploads).

Fetching a URL for a client is a server-side request: by default only loopback addresses, what a local
tool needs; `--allow-host` adds hosts, `*` allows any.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class HostPolicy:
    def __init__(self, allowed: tuple[str, ...] = ()) -> None:
        self.allow_any = "*" in allowed
        self.allowed = {host.lower() for host in allowed}

    def allows(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if not host:
            return False
        if self.allow_any or host in self.allowed or host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def refusal(self, url: str) -> str:
        host = urlsplit(url).hostname or url
        return (
            f"the mock may not reach {host} (allow it with --allow-host {host}, LIPSYNC_MOCK_ALLOWED_HOSTS={host}, "
            f"or Settings(allowed_hosts=('{host}',)) in the pytest plugin)"
        )
