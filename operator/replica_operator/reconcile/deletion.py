"""What deleting an object removes: every replica that carries its mark, on both arrays (issue 14, item 6).

Status may not know them all: a crash between "the array created the replica" and "status
written" leaves a marked source replica and its peer that no id in status names. The
observer finds them by the mark; this module orders the Delete steps: SOURCE replicas
first (deleting one removes its peer), then TARGET replicas no deleted source took along.
"""

from __future__ import annotations

from .observed import ArrayReplica, Observation, SideName
from .steps import Delete


def replicas_to_delete(observed: Observation) -> tuple[tuple[SideName, ArrayReplica], ...]:
    """The object's replicas, each once, with the side (spec.source or spec.target array) it is on."""
    seen: dict[tuple[str, int], tuple[SideName, ArrayReplica]] = {}
    for name in (SideName.SOURCE, SideName.TARGET):
        replica = observed.side(name).replica
        if replica is not None:
            seen[(replica.array, replica.id)] = (name, replica)
    for replica in observed.marked:
        name = SideName.SOURCE if replica.array == observed.source.array else SideName.TARGET
        seen.setdefault((replica.array, replica.id), (name, replica))
    return tuple(sorted(seen.values(), key=lambda found: not found[1].is_source))


def deletion_steps(
    found: tuple[tuple[SideName, ArrayReplica], ...], observed: Observation
) -> tuple[Delete, ...]:
    """One Delete per replica; a TARGET whose SOURCE is deleted here goes with it (no step of its own)."""
    steps: list[Delete] = []
    taken_along: set[tuple[str, int]] = set()
    for name, replica in found:
        if (replica.array, replica.id) in taken_along:
            continue
        if replica.is_source:
            if replica.remote_id is not None:
                taken_along.add((observed.side(name.other).array, replica.remote_id))
            steps.append(Delete(side=name, replica_id=replica.id))
        else:
            steps.append(Delete(side=name, replica_id=replica.id, force_on_target=True))
    return tuple(steps)
