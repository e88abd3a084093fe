"""Namespaces: one mock shared by many test workers, each seeing only its own work.

A request carrying `X-Mock-Namespace: NAME` works in that namespace: its tasks and uploads belong to it (the
namespace is part of their owner, see `owner_of`), and the journal entries, fault rules, lifecycle choices
and deliveries it makes are kept under it. Control calls with the header see and reset only that namespace;
control calls without it see everything, and a reset without it resets everything. Requests without the
header work in the default namespace, "".
"""

from __future__ import annotations

import hashlib
import re

HEADER = "X-Mock-Namespace"
DEFAULT = ""
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def check_name(name: str) -> str:
    """A namespace from a header; ValueError when it is not 1-64 letters, digits, dots, dashes or underscores."""
    if not _NAME.match(name):
        raise ValueError("a namespace is 1 to 64 letters, digits, '.', '-' or '_'")
    return name


def owner_of(key: str, namespace: str = DEFAULT) -> str:
    """Whose work a request is: a digest of its API key — so tasks, uploads and sessions belong to the key that
    made them (as on a real account) and no key is kept in clear — within its namespace."""
    digest = hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()[:32]  # JSON allows lone surrogates
    return f"{namespace}/{digest}" if namespace else digest


def namespace_of(owner: str) -> str:
    """The namespace of an owner made by `owner_of`."""
    return owner.rpartition("/")[0]
