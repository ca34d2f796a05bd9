"""Loaded by the Python of an operator a test starts with this folder on PYTHONPATH.

While the file named by ``IRO_TEST_HANG_FILE`` exists, every listing of an array's replicas
waits, without a timeout: what a call on a half-open connection with no bound would do. It
is the one wait the operator's own code no longer has, put back from outside to prove that
liveness notices it (tests/integration/operator/test_liveness.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from replica_operator.array.replicas import ReplicasMixin

_FLAG = Path(os.environ["IRO_TEST_HANG_FILE"])
_listing = ReplicasMixin.list_all_replicas


async def _hanging_listing(self: Any, *args: Any, **kwargs: Any) -> Any:
    # Another process (the test) ends the wait, so a file, polled; the test bounds its own wait.
    while _FLAG.exists():  # noqa: ASYNC110, ASYNC240
        await asyncio.sleep(0.1)
    return await _listing(self, *args, **kwargs)


ReplicasMixin.list_all_replicas = _hanging_listing  # type: ignore[method-assign]
