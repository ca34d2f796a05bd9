"""The mark that says a replica on an array belongs to one Kubernetes object.

Replicas are not metadata holders on InfiniBox, but their ``description`` is mutable and
filterable, so the owning object's uid goes there. That is what makes creation
idempotent: after a crash between "array created it" and "status written", the next
attempt finds the replica by its mark and adopts it instead of creating a second one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UID = re.compile(r"(?:^|\s)k8s-uid=([0-9a-fA-F-]{8,64})(?:\s|$)")
MAX_DESCRIPTION = 255


def owner_mark(uid: str, namespace: str, name: str) -> str:
    """``k8s-uid=<uid> k8s-object=<ns>/<name>``: the uid decides, the name helps humans."""
    text = f"k8s-uid={uid} k8s-object={namespace}/{name}"
    return text[:MAX_DESCRIPTION]


def owner_uid(description: str | None) -> str | None:
    """The uid in a description written by :func:`owner_mark`, or None for anyone else's replica."""
    match = _UID.search(description or "")
    return match.group(1) if match else None


def describe_owner(description: str | None) -> str:
    """Who owns a replica, for a Conflict message."""
    if not description:
        return "a replica not managed by this operator"
    uid = owner_uid(description)
    if uid is None:
        return f"a replica not managed by this operator (description {description[:80]!r})"
    objects = re.search(r"k8s-object=(\S+)", description)
    return f"the object {objects.group(1) if objects else '?'} (uid {uid})"


def foreign_uid(uid: str, descriptions: Iterable[str | None]) -> str | None:
    """The uid of another object that marked one of these replicas, or None."""
    return next((other for d in descriptions if (other := owner_uid(d)) not in (None, uid)), None)


def not_ours(uid: str, descriptions: Iterable[str | None]) -> str | None:
    """Who owns a replica pair when it is not the object with ``uid`` (for a message), else None.

    The pair (both sides of one replica) is ours when some side carries our mark and none
    carries another's. A pair nobody marked (made by hand) is nobody's: taking it is a user step.
    """
    seen = list(descriptions)
    other = next((d for d in seen if owner_uid(d) not in (None, uid)), None)
    if other is not None:
        return describe_owner(other)
    if any(owner_uid(d) == uid for d in seen):
        return None
    return describe_owner(next((d for d in seen if d), None))


_OBJECT_NAMESPACE = re.compile(r"(?:^|\s)k8s-object=([^/\s]+)/")


def marked_in_another_namespace(uid: str, namespace: str, descriptions: Iterable[str | None]) -> str | None:
    """Who owns a pair marked by an object of another namespace and never by ``uid``, else None.

    What a ReplicaDrill checks before it exposes a replica's target as a claim: an ObserveOnly
    object may report anyone's replica, but a writable snapshot of it would hand that namespace's
    data to this one. A mark of this namespace's object passes (on a DR site the marking object
    lives in the other cluster under the same namespace); so does a pair nobody marked."""
    seen = list(descriptions)
    if any(owner_uid(d) == uid for d in seen):
        return None
    for description in seen:
        if owner_uid(description) is None:
            continue
        found = _OBJECT_NAMESPACE.search(description or "")
        if found is None or found.group(1) != namespace:
            return describe_owner(description)
    return None
