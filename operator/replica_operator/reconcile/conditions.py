"""metav1.Condition bookkeeping: a condition's transition time moves only when its status does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from replica_operator.api import Condition, ConditionStatus

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
MAX_MESSAGE = 1024


@dataclass(frozen=True)
class Verdict:
    """A condition before timestamps: what the rules say now."""

    type: str
    status: ConditionStatus
    reason: str
    message: str


def camel_reason(text: str) -> str:
    """``OUT_OF_SYNC`` -> ``OutOfSync``: array words as condition reasons."""
    words = [w for w in _NOT_ALNUM.split(text) if w]
    return "".join(w[:1].upper() + w[1:].lower() for w in words) or "Unknown"


def merge(
    previous: Sequence[Condition], verdicts: Iterable[Verdict], *, generation: int, now: datetime
) -> list[Condition]:
    """New conditions from verdicts; unchanged statuses keep their lastTransitionTime."""
    before = {c.type: c for c in previous}
    merged: list[Condition] = []
    for verdict in verdicts:
        old = before.get(verdict.type)
        transitioned = old is None or old.status != verdict.status
        merged.append(
            Condition(
                type=verdict.type,
                status=verdict.status,
                reason=verdict.reason,
                message=verdict.message[:MAX_MESSAGE],
                observed_generation=generation,
                last_transition_time=now if transitioned or old is None else old.last_transition_time,
            )
        )
    return merged


def find(conditions: Sequence[Condition], condition_type: str) -> Condition | None:
    return next((c for c in conditions if c.type == condition_type), None)
