"""A claim selector's consistency group (issue 17 item 2), the pure part: the selector as the API
server reads it, which claims make up the group or why it waits, the group's name, and the member
changes that bring the group on the array in line with the claims.

The operator creates and owns that group; the rest of the replica's life is the consistencyGroup
path's. See docs/pvc.md "Groups of claims".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replica_operator.api import LabelSelector, SelectorOperator

from .desired import EntityKind
from .observed import Problem
from .volumes import CsiVolume, bound_volume, parse_pv

OWNER_KEY = "k8s-owner"
"""The metadata key on an owned group whose value is :func:`~.ownership.owner_mark` (CGs have no
description, but are metadata holders: infinibox-api.md §9)."""


def selector_string(selector: LabelSelector) -> str:
    """The ``labelSelector`` query text of a LabelSelector (matchLabels and matchExpressions ANDed).

    An empty selector selects every claim of the namespace, as in Kubernetes.
    """
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for term in selector.match_expressions or ():
        values = ",".join(term.values or ())
        if term.operator is SelectorOperator.IN:
            terms.append(f"{term.key} in ({values})")
        elif term.operator is SelectorOperator.NOT_IN:
            terms.append(f"{term.key} notin ({values})")
        elif term.operator is SelectorOperator.EXISTS:
            terms.append(term.key)
        else:
            terms.append(f"!{term.key}")
    return ",".join(terms)


@dataclass(frozen=True)
class ClaimVolume:
    """A selected claim and what its bound PV names on the array."""

    claim: str
    volume: CsiVolume


def _names(claims: Iterable[str]) -> str:
    return ", ".join(sorted(claims))


def selected_volumes(
    claims: Sequence[Mapping[str, Any]], volumes: Mapping[str, Mapping[str, Any]]
) -> list[ClaimVolume] | Problem:
    """The selected claims' volumes, or why the group waits or is refused (naming the claims).

    A claim being deleted is no longer selected. No claim: wait (an empty group is never made).
    A claim not bound yet: wait for it. A PV of another driver, a treeq, a malformed handle, or
    claims of both block (iscsi, fc) and file (nfs) protocols: refused (a group holds one dataset
    type).
    """
    live = [c for c in claims if not (c.get("metadata") or {}).get("deletionTimestamp")]
    if not live:
        return Problem(
            "NoClaimsSelected",
            "no PersistentVolumeClaim in this namespace matches spec.source.persistentVolumeClaimSelector; "
            "the group is made once one does (an empty consistency group is not created)",
        )
    waiting: list[str] = []  # only their names are told: each waits to be bound to a PV that exists
    refused: list[tuple[str, Problem]] = []
    found: list[ClaimVolume] = []
    for claim in live:
        name = str(claim["metadata"]["name"])
        bound = bound_volume(claim, name)
        if isinstance(bound, Problem) and bound.retryable:
            waiting.append(name)
            continue
        if isinstance(bound, Problem):
            refused.append((name, bound))
            continue
        pv = volumes.get(bound)
        if pv is None:
            waiting.append(name)
            continue
        parsed = parse_pv(pv)
        if isinstance(parsed, Problem):
            refused.append((name, parsed))
        else:
            found.append(ClaimVolume(name, parsed))
    if refused:
        reason = refused[0][1].reason
        detail = "; ".join(f"{name}: {problem.message}" for name, problem in sorted(refused, key=_first))
        return Problem(reason, f"PersistentVolumeClaims refused: {detail}", retryable=False)
    if waiting:
        return Problem(
            "ClaimNotBound",
            f"waiting for PersistentVolumeClaims {_names(waiting)} to be bound to a PersistentVolume",
        )
    kinds = {item.volume.kind for item in found}
    if len(kinds) > 1:
        by_kind = {kind: _names(i.claim for i in found if i.volume.kind is kind) for kind in sorted(kinds)}
        return Problem(
            "MixedProtocols",
            "a consistency group holds one dataset type: volumes (iscsi, fc) of "
            f"{by_kind[EntityKind.VOLUME]} and filesystems (nfs) of {by_kind[EntityKind.FILESYSTEM]}; "
            "narrow persistentVolumeClaimSelector",
            retryable=False,
        )
    return sorted(found, key=lambda i: i.claim)


def _first(item: tuple[str, Problem]) -> str:
    return item[0]


@dataclass(frozen=True)
class Membership:
    """The member changes to make on the source array: dataset ids to add and to remove."""

    add: tuple[int, ...]
    remove: tuple[int, ...]

    @property
    def changes(self) -> bool:
        return bool(self.add or self.remove)


def membership(wanted: Iterable[int], current: Iterable[int]) -> Membership:
    """From the members the array has now (re-read before acting) to exactly ``wanted``."""
    want, have = set(wanted), set(current)
    return Membership(add=tuple(sorted(want - have)), remove=tuple(sorted(have - want)))
