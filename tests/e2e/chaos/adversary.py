"""The randomized adversary of issue 14 and the run that ends with the invariant checks.

One seeded ``random.Random`` (``CHAOS_SEED`` replays a run; the seed is printed) draws, round after
round, an operation and its target: spec edits, deletions and re-creations, SIGKILL of the
leader, API server restarts, simulator faults (5xx and dropped answers, before and after the
array acted, on every endpoint), link down/up and an InfiniBox url pointed at the other array.
Which operation happens when depends on the seed; how the operator and the API server answer
does not, so a replay repeats the schedule, not every timing."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import kubernetes

from tests.e2e.chaos import invariants as inv
from tests.e2e.chaos.watch import LeaseWatcher, LogFollower, MarkWatcher
from tests.e2e.chaos.world import TAKE_OVER, Pods, Thing, World
from tests.support.arrays import SimArrays

#: The endpoints the faults aim at (regex on the path, methods): every one the operator calls.
ENDPOINTS: list[tuple[str, list[str] | None]] = [
    ("^/api/rest/replicas$", ["POST"]),
    (r"^/api/rest/replicas/\d+$", ["PUT", "DELETE"]),
    (r"^/api/rest/replicas/\d+/(suspend|resume)$", ["POST"]),
    (r"^/api/rest/replicas/\d+/(switch_role|change_role|sync)$", ["POST"]),
    (r"^/api/rest/replicas/\d+/change_type_to_(sync|async)$", ["POST"]),
    ("^/api/rest/(replicas|links|system|config)", ["GET"]),
    ("^/api/rest/", None),
]
#: Operation -> weight.
OPERATIONS = {
    "edit": 12,
    "delete": 2,
    "recreate": 2,
    "fault": 3,
    "clear-faults": 2,
    "link": 1,
    "url": 0.7,
    "kill-leader": 1,
    "restart-apiserver": 0.5,
}
#: The least time between two operations of these kinds (seconds): each must have an effect.
SPACING = {"kill-leader": 15.0, "restart-apiserver": 30.0, "url": 10.0, "link": 6.0}


@dataclass
class Figures:
    seed: int
    rounds: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    api_restarts: int = 0
    faults_injected: int = 0
    leader_exits: list[int] = field(default_factory=list)
    requests_checked: int = 0
    actions_executed: int = 0
    violations: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    leaders: int = 0
    protected_replicas: int = 0

    def report(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rounds": self.rounds,
            "operations": dict(sorted(self.operations.items())),
            "kills": self.kills,
            "api_restarts": self.api_restarts,
            "leader_exits_after_losing_the_lease": len(self.leader_exits),
            "leaders": self.leaders,
            "protected_replicas": self.protected_replicas,
            "faults_injected": self.faults_injected,
            "requests_checked": self.requests_checked,
            "actions_executed": self.actions_executed,
            "invariant_violations": len(self.violations),
            "first_violations": self.violations[:20],
            **self.phases,
        }


def seed_from_environment() -> int:
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
    print(f"chaos: CHAOS_SEED={seed}", flush=True)
    return seed


class Adversary:
    def __init__(self, world: World, pods: Pods, seed: int) -> None:
        self.world, self.pods = world, pods
        self.rng = random.Random(seed)
        self.figures = Figures(seed)
        self.actions: list[inv.ActionSet] = []
        self.last: dict[str, float] = {}
        self.link_down = self.url_swapped = False
        self.log = LogFollower(SimArrays(world.simulator))
        self.leases = LeaseWatcher(world.cluster.kubeconfig, world.system_namespace, pods.lease)
        self.marks = MarkWatcher(SimArrays(world.simulator))
        self.protected: dict[inv.Key, str] = {}
        self.protected_since = 0.0
        self.events: list[dict[str, Any]] = []

    # -- the run ---------------------------------------------------------------------------------
    def start(self) -> None:
        for poller in (self.log.poller, self.leases.poller, self.marks.poller):
            poller.start()

    def protect(self) -> None:
        """Record the protected objects' replicas (both sides): from now on no one may mutate them."""
        for thing in self.world.things:
            if thing.part == "protected":
                status = (self.world.get(thing) or {}).get("status") or {}
                self.protected[("ibox-1", int(status["replicaId"]))] = thing.ref
                self.protected[("ibox-2", int(status["remoteReplicaId"]))] = thing.ref
        self.protected_since = time.time()

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.figures.rounds += 1
            self.figures.leader_exits += self.pods.supervise()
            kinds, weights = zip(*OPERATIONS.items(), strict=True)
            kind = self.rng.choices(kinds, weights)[0]
            if time.time() - self.last.get(kind, 0.0) < SPACING.get(kind, 0.0):
                continue
            self.last[kind] = time.time()
            getattr(self, "_" + kind.replace("-", "_"))()
            self.figures.operations[kind] += 1
            time.sleep(self.rng.uniform(0.05, 0.4))  # the adversary's pace: behaviour, not a wait

    def calm(self) -> None:
        """The adversary stops: faults cleared, link up, url back, both pods running."""
        self.world.arrays.admin("DELETE", "/_sim/faults")
        self.world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
        self.world.point(self.world.source, "ibox-1")
        self.figures.leader_exits += self.pods.supervise()

    # -- the operations ----------------------------------------------------------------------------
    def _pick(self, *parts: str, alive: bool = True) -> Thing | None:
        found = [t for t in self.world.things if t.part in parts and t.alive == alive]
        return self.rng.choice(found) if found else None

    def _edit(self) -> None:
        thing = self._pick("mover", "intruder")
        if thing is None:
            return
        body = self.world.get(thing)
        if body is None:
            return
        spec = body["spec"]
        choice = self.rng.choice(["type", "suspended", "rpo", "action", "management", "deletion"])
        self.figures.operations[f"edit:{choice}"] += 1
        if choice == "type":
            sync = spec.get("replicationType") != "SYNC"
            patch = (
                {"replicationType": "SYNC", "rpo": None, "syncInterval": None} if sync else dict(BASE_ASYNC)
            )
            if (spec.get("action") or {}).get("type") in ("SyncNow", "SwitchRole"):
                patch["action"] = None  # the schema ties these to one type: the user drops it
        elif choice == "suspended":
            patch = {"suspended": not spec.get("suspended", False)}
        elif choice == "rpo":
            if spec.get("replicationType") == "SYNC":
                return
            patch = {
                "rpo": self.rng.choice(["5m", "10m", "15m"]),
                "syncInterval": self.rng.choice(["30s", "1m"]),
            }
        elif choice == "action":
            kinds = (
                ["SwitchRole", "ChangeRole"]
                if spec.get("replicationType") == "SYNC"
                else ["SyncNow", "ChangeRole"]
            )
            kind = self.rng.choice(kinds)
            action_id = f"{kind.lower()}-{uuid.uuid4().hex[:8]}"
            patch = {"action": {"id": action_id, "type": kind}}
            # Recorded before the write: the operator may act on it before the answer is back.
            self.actions.append(inv.ActionSet(body["metadata"]["uid"], action_id, kind, time.time()))
        elif choice == "management":
            patch = {
                "managementPolicy": "ObserveOnly" if spec.get("managementPolicy") != "ObserveOnly" else "Full"
            }
        else:
            patch = {"deletionPolicy": "Orphan" if spec.get("deletionPolicy") != "Orphan" else "Delete"}
        try:
            self.world.patch(thing, {"spec": patch})
        except kubernetes.client.ApiException as error:
            if error.status != 422:
                raise
            self.figures.operations["edit:refused-by-the-schema"] += 1

    def _delete(self) -> None:
        thing = self._pick("mover", "intruder")
        if thing is not None and thing.plural == "replicas":  # groups are edited, not re-created
            self.world.delete(thing)

    def _recreate(self) -> None:
        """Re-create a deleted object once it is gone; a replica of its entity left behind (marked
        by the gone object) is taken over, as a user would."""
        thing = self._pick("mover", "intruder", alive=False)
        if thing is None or self.world.get(thing) is not None:
            return
        annotations, existing = None, False
        if thing.part == "mover":
            live = self.world.live_uids()
            replicas = self.world.arrays.replicas("ibox-1", local_entity_id=thing.entity_id)
            left = [r for r in replicas if inv.owner_uid(r.get("description")) not in live]
            if left:
                annotations = {TAKE_OVER: str(left[0]["id"])}
            existing = not replicas and bool(
                self.world.arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{thing.volume}")
            )
        self.world.create(thing, annotations, existing=existing)

    def _fault(self) -> None:
        path, methods = self.rng.choice(ENDPOINTS)
        spec: dict[str, Any] = {
            "error_rate": self.rng.choice([0.0, 0.2, 0.5]),
            "drop_rate": self.rng.choice([0.0, 0.2, 0.5]),
            "phase": self.rng.choice(["before", "after"]),
            "path_regex": path,
            "methods": methods,
        }
        if not spec["error_rate"] and not spec["drop_rate"]:
            spec["error_rate"] = 0.3
        self.world.arrays.admin("PUT", "/_sim/faults", spec)
        self.figures.faults_injected += 1

    def _clear_faults(self) -> None:
        self.world.arrays.admin("DELETE", "/_sim/faults")

    def _link(self) -> None:
        self.link_down = not self.link_down
        state = "DOWN" if self.link_down else "UP"
        self.world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": state})

    def _url(self) -> None:
        self.url_swapped = not self.url_swapped
        self.world.point(self.world.source, "ibox-2" if self.url_swapped else "ibox-1")

    def _kill_leader(self) -> None:
        process = self.pods.by_name(self.leases.holder())
        if process is None:
            return
        self.pods.kill(process)
        self.figures.kills += 1
        self.pods.supervise()  # a new pod starts at once, as a standby or racing for the Lease

    def _restart_apiserver(self) -> None:
        plane = self.world.cluster.control_plane
        if plane is None:
            return
        plane.stop_apiserver()
        time.sleep(self.rng.uniform(0.5, 6.0))  # the outage's length is the fault injected
        plane.start_apiserver()
        self.figures.api_restarts += 1

    # -- the checks ----------------------------------------------------------------------------------
    def stop(self) -> None:
        for poller in (self.log.poller, self.leases.poller, self.marks.poller):
            poller.stop()

    def check(self) -> list[str]:
        """Stop recording and run every invariant over the log and the final arrays."""
        self.stop()
        entries = self.log.entries
        listing = self.marks.listing()
        self.marks.add(listing)
        marks = self.marks.marks
        systems = {self.world.source: "ibox-1", self.world.target: "ibox-2"}
        found = inv.check_log_complete(entries, self.log.first_seq)
        found += inv.check_foreign_mutations(entries, self.protected, self.protected_since)
        actions, executed = inv.check_actions_once(entries, self.actions, marks)
        found += actions
        found += inv.check_owners(
            listing, self.world.live_uids(), inv.orphaned_keys(self.world.events(), systems)
        )
        found += inv.check_no_duplicates(listing)
        found += inv.check_only_the_leader(entries, self.leases.tenures)
        self.figures.requests_checked = len(entries)
        self.figures.leaders = len(self.leases.tenures)
        self.figures.protected_replicas = len(self.protected)
        self.figures.actions_executed = executed
        self.figures.violations += found
        self.dump(listing)
        return found

    def dump(self, listing: list[dict[str, Any]]) -> None:
        """Everything the checks read, as JSON in a temporary file (named on stdout): a violation
        is investigated from it."""
        things = [
            {"ref": t.ref, "part": t.part, "kind": t.kind, "entity": t.entity_id, "alive": t.alive}
            for t in self.world.things
        ]
        record = {
            "figures": self.figures.report(),
            "violations": self.figures.violations,
            "requests": self.log.entries,
            "tenures": [dataclasses.asdict(t) for t in self.leases.tenures],
            "actions": [dataclasses.asdict(a) for a in self.actions],
            "marks": [[*key, sorted(uids)] for key, uids in self.marks.marks.items()],
            "protected": [[*key, ref] for key, ref in self.protected.items()],
            "listing": listing,
            "events": [e for e in self.events if e["reason"] in ("Orphaned", "Deleted", "TakenOver")],
            "things": things,
        }
        handle, path = tempfile.mkstemp(prefix="chaos-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(record, out)
        print(f"chaos: what the checks read is in {path}", flush=True)


BASE_ASYNC = {"replicationType": "ASYNC", "rpo": "5m", "syncInterval": "30s"}
