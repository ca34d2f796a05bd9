"""Remote authorization: the peer array's credentials, sent only when an array asks for them.

Evidence (infinisdk 289.1.4 ``core/api/api.py`` ``API.request``; the SDK repository's
``tests/test_core/test_remote_authorization.py``): an operation that also acts on the peer
array may be refused with ``403 REMOTE_PERMISSION_REQUIRED``; the SDK then repeats it with
an ``X-Remote-Authorization`` header:

* single form, arrays without multi-target async replication (feature
  ``multi_target_async_replication`` absent and version < 8.4): ``Basic <b64(user:pass)>``
  of the peer of the link the path names (``/links/<id>``, ``/replicas/<id>``), else of the
  first related system;
* multi-peer form otherwise: ``Basic <peer>=<b64>;<peer>=<b64>`` for every related system,
  ``<peer>`` being the address the peer's SDK object was made with (``str(InfiniBox)``).

Intended difference: the SDK keeps the header on its session for every later request; this
client sends it on the one repeated request only, so a peer's password travels only where
an array asked for it.
"""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pydantic import SecretStr

from replica_operator.array.models import Link

__all__ = [
    "REMOTE_AUTHORIZATION_HEADER",
    "PeerCredentials",
    "RemoteCredentials",
    "linked_object",
    "multi_peer_header",
    "resolve_credentials",
    "single_peer_header",
]

REMOTE_AUTHORIZATION_HEADER = "X-Remote-Authorization"

#: Collections whose objects name a link, so the path names the peer (SDK ``_LINK_BEARING_URL_SEGMENTS``).
_LINKED_PATH = re.compile(r"/api/rest/(links|replicas|rg_replicas)/(\d+)(?:/|$)")


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """A peer array's login; ``address`` names it in the multi-peer header (its management host)."""

    address: str
    username: str
    password: SecretStr = field(repr=False)


#: Given a link, the credentials of the array at its other end, or None if the operator has none.
#: May be a plain function or a coroutine function (e.g. one that reads a Secret).
RemoteCredentials = Callable[[Link], PeerCredentials | Awaitable[PeerCredentials | None] | None]


async def resolve_credentials(lookup: RemoteCredentials, link: Link) -> PeerCredentials | None:
    found = lookup(link)
    if inspect.isawaitable(found):
        return await found
    return found


def _encoded(credentials: PeerCredentials) -> str:
    raw = f"{credentials.username}:{credentials.password.get_secret_value()}"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def single_peer_header(credentials: PeerCredentials) -> str:
    """``Basic <b64>``: the form arrays before 8.4 take."""
    return "Basic " + _encoded(credentials)


def multi_peer_header(peers: Sequence[PeerCredentials]) -> str:
    """``Basic host=b64;host=b64``: the form of arrays with multi-target async replication."""
    return "Basic " + ";".join(f"{peer.address}={_encoded(peer)}" for peer in peers)


def linked_object(path: str) -> tuple[str, int] | None:
    """``("replicas", 7)`` for ``/api/rest/replicas/7/suspend``: the object whose link names the peer."""
    match = _LINKED_PATH.search(path)
    return (match.group(1), int(match.group(2))) if match else None
