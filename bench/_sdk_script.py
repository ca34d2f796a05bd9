"""The baseline: what an admin's plain sequential ``infinisdk`` script does for N volumes.

``python -m bench._sdk_script SOURCE_URL TARGET_URL PREFIX COUNT TIMEOUT`` logs in to both
arrays, finds the volumes named ``PREFIX*`` on the source (one paged listing), replicates
each one in turn (``replicas.replicate_entity(vol, link=link, remote_pool=pool)``), then
waits, replica by replica, until the SDK sees it SYNCHRONIZED (or SYNC_IN_PROGRESS: for ASYNC
that is a periodic job, which only starts after the initial sync). Prints one JSON line
with the timings. Runs in its own process so that it shares no GIL with the bench.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from infinisdk import InfiniBox

DONE_STATES = frozenset({"SYNCHRONIZED", "SYNC_IN_PROGRESS"})


def _system(url: str) -> InfiniBox:
    parts = urlsplit(url)
    system = InfiniBox((parts.hostname, parts.port), auth=("admin", "admin"))
    system.login()
    return system


def replicate(source_url: str, target_url: str, prefix: str, count: int, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    source, target = _system(source_url), _system(target_url)
    link = source.links.get(name="to-ibox-2")
    remote_pool = target.pools.get(name="pool-1")
    volumes = sorted(
        (volume for volume in source.volumes.find(source.volumes.fields.name.like(prefix))),
        key=lambda volume: volume.get_name(),
    )
    if len(volumes) != count:
        raise SystemExit(f"found {len(volumes)} volumes named {prefix}*, expected {count}")
    listed = time.monotonic()
    replicas = [
        source.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool) for volume in volumes
    ]
    created = time.monotonic()
    deadline = created + timeout
    polls = 0
    for replica in replicas:
        while True:
            polls += 1
            state = str(replica.get_sync_state(from_cache=False) or "").upper()
            if state in DONE_STATES:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"replica {replica.id} still {state} after {timeout:.0f} s")
            time.sleep(0.2)
    synchronized = time.monotonic()
    return {
        "replicas": count,
        "login_and_list_seconds": round(listed - started, 2),
        "create_seconds": round(created - listed, 2),
        "creates_per_second": round(count / (created - listed), 1),
        "wait_polls": polls,
        "seconds_to_all_synchronized": round(synchronized - started, 2),
    }


def main(argv: list[str]) -> int:
    source_url, target_url, prefix, count, timeout = argv
    print(json.dumps(replicate(source_url, target_url, prefix, int(count), float(timeout))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
