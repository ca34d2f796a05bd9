"""When to repeat a failed request, and how patiently.

The decision is made on the mapped exception alone: :mod:`.errors` already encodes
whether a request may have reached the array (:class:`~.errors.OutcomeUnknown`), so
the rule is short: repeat :class:`~.errors.Unavailable` failures, except a lost answer to
a request that is not safe to repeat and a TLS verification failure (configuration,
not weather). The waiting itself (exponential backoff with jitter) is ``stamina``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from replica_operator.array.errors import CLIENT_CLOSED, OutcomeUnknown, Unavailable

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy", "is_idempotent", "should_retry"]

#: Methods whose repetition leaves the array as one request would (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_PERMANENT_CODES = frozenset({"TLS_ERROR", CLIENT_CLOSED})


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def should_retry(error: Exception) -> bool:
    """Whether repeating the request that failed with ``error`` is safe and may help."""
    if isinstance(error, OutcomeUnknown):
        return False
    return isinstance(error, Unavailable) and error.code not in _PERMANENT_CODES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for repeating one call: at most ``attempts`` tries within ``timeout`` seconds.

    ``timeout`` counts from the first try, so it should outlast one read timeout.

    Waits grow from ``wait_initial`` by ``wait_exp_base`` per attempt up to ``wait_max``,
    plus up to ``wait_jitter`` seconds of random jitter so that many callers do not retry
    in lockstep.
    """

    attempts: int = 5
    timeout: float = 45.0
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 1.0
    wait_exp_base: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if min(self.wait_initial, self.wait_max, self.wait_jitter) < 0 or self.wait_exp_base < 1:
            raise ValueError("waits must not be negative and wait_exp_base must be at least 1")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt only."""
        return cls(attempts=1)
