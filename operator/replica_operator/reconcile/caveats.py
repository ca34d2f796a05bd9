"""What keeps the rules from trusting a replica as read: a field not understood, a type not managed.

The array client reads tolerantly (one odd value spoils one field, not a page); these
findings make sure the rules never act on the strength of a field that was not read.
"""

from __future__ import annotations

from .observed import ArrayReplica, Problem


def unreadable_replica(replica: ArrayReplica, array: str) -> Problem | None:
    """Why the replica cannot be compared with the spec: a field the operator could not read, or a
    type it does not manage. Nothing is changed on the strength of a value that was not understood."""
    if replica.parse_problems:
        return Problem(
            "UnreadableField",
            f"replica {replica.id} on {array} has fields the operator cannot read "
            f"({'; '.join(replica.parse_problems)}); nothing is changed until the array "
            "reports them readably",
        )
    if replica.replication_type is None:
        return Problem(
            "UnmanagedType",
            f"replica {replica.id} on {array} is {replica.type_name or 'of no replication type'}, which the "
            "operator does not manage; it only reports it",
        )
    return None
