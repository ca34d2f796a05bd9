"""The check every operator test ends with: a traceback in the operator's log fails the test."""

from __future__ import annotations

import pytest

from tests.support.operator import assert_no_unexpected_tracebacks, unexpected_tracebacks

LOG = """[2026-12-02 00:00:00,001] kopf.activities.startup [INFO    ] Activity 'startup' succeeded.
[2026-12-02 00:00:01,002] kopf.objects         [ERROR   ] [ns/a] Handler 'reconcile' failed with an exception.
Traceback (most recent call last):
  File "x.py", line 1, in f
RuntimeError: client has been closed
[2026-12-02 00:00:02,003] kopf.objects         [INFO    ] [ns/b] Handler 'reconcile' succeeded.
"""


def test_a_traceback_is_found_with_its_record_and_nothing_after() -> None:
    found = unexpected_tracebacks(LOG, {})
    assert len(found) == 1
    assert "client has been closed" in found[0]
    assert "[ns/a]" in found[0]
    assert "[ns/b]" not in found[0]


def test_an_allowed_traceback_passes_and_the_rest_fail() -> None:
    assert unexpected_tracebacks(LOG, {"client has been closed": "why"}) == []
    assert unexpected_tracebacks(LOG, {"something else": "why"})
    with pytest.raises(AssertionError, match="1 unexpected traceback"):
        assert_no_unexpected_tracebacks(LOG, "test")


def test_a_clean_log_passes() -> None:
    assert_no_unexpected_tracebacks(LOG.replace("Traceback (most recent call last):", ""), "test")
