"""The chaos suite's invariants, as pure functions over the simulator's request log and the arrays'
final state (issue 14): each returns the violations it found, as sentences; empty means it held.

The log is ``/_sim/requests`` followed without a gap: each entry has ``seq``, ``system``,
``method``, ``path``, ``status`` (what the client got, 0 when it got nothing), ``array_status``
(the array's own answer, 0 when the request never reached it), ``started`` (wall time) and
``client`` (the User-Agent; the operator's names its pod: ``infinibox-replica-operator/<v> (<pod>)``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replica_operator.reconcile.ownership import owner_uid

OPERATOR_AGENT = "infinibox-replica-operator/"
_POD = re.compile(r"\(([^()]+)\)\s*$")
_REPLICA_CALL = re.compile(r"^/api/rest/replicas/(?P<id>\d+)(?:/(?P<action>[a-z_]+))?/?$")
_MUTATING = frozenset({"PUT", "POST", "DELETE", "PATCH"})
#: The array endpoints of the one-shot actions, and the ``spec.action.type`` each carries out.
ACTION_ENDPOINTS: Mapping[str, str] = {
    "sync": "SyncNow",
    "switch_role": "SwitchRole",
    "change_role": "ChangeRole",
}

#: A replica on one array: (system, replica id). Ids are per array.
Key = tuple[str, int]


def pod_of(entry: Mapping[str, Any]) -> str | None:
    """The pod an operator request came from, "" for an operator without POD_NAME, None for
    anyone else (the tests' own reads)."""
    client = str(entry.get("client") or "")
    if not client.startswith(OPERATOR_AGENT):
        return None
    match = _POD.search(client)
    return match.group(1) if match else ""


def replica_call(entry: Mapping[str, Any]) -> tuple[Key, str | None] | None:
    """The replica a mutating request acts on, and the action endpoint (None for PUT/DELETE)."""
    if entry["method"] not in _MUTATING:
        return None
    match = _REPLICA_CALL.match(entry["path"])
    if match is None:
        return None
    return (entry["system"], int(match["id"])), match["action"]


def check_log_complete(entries: Sequence[Mapping[str, Any]], first_seq: int) -> list[str]:
    """The log followed from ``first_seq`` lost nothing to the simulator's ring (consecutive seqs)."""
    expected, found = first_seq, []
    for entry in entries:
        if entry["seq"] != expected:
            found.append(f"request log: seq {expected}..{entry['seq'] - 1} lost before they were read")
        expected = entry["seq"] + 1
    return found


def check_foreign_mutations(
    entries: Iterable[Mapping[str, Any]], protected: Mapping[Key, str], since: float
) -> list[str]:
    """(i) No mutating request on a replica marked by another live object. ``protected``: the
    replicas of live owners that asked for nothing after ``since`` (their spec never changes and no
    one touches their arrays), named by their owner: every mutating request on one is someone
    else's (an ObserveOnly or Full object naming the same volume, or a stale id)."""
    found = []
    for entry in entries:
        call = replica_call(entry)
        if call is None or pod_of(entry) is None or entry["started"] < since:
            continue
        if call[0] in protected:
            found.append(
                f"(i) {entry['method']} {entry['path']} on {entry['system']} (seq {entry['seq']}): "
                f"replica owned by {protected[call[0]]}"
            )
    return found


@dataclass(frozen=True)
class ActionSet:
    """The adversary wrote ``spec.action {id, type}`` on the object with ``uid`` at wall time ``at``."""

    uid: str
    action_id: str
    type: str
    at: float


def check_actions_once(
    entries: Iterable[Mapping[str, Any]], actions: Sequence[ActionSet], marks: Mapping[Key, Iterable[str]]
) -> tuple[list[str], int]:
    """(ii) Each action id executed at most once. An executed action is a request to an action
    endpoint the array answered 2xx itself (whatever the client got); it belongs to the objects
    whose marks the replica carried (``marks``: every uid seen on it, both sides of a pair; a
    take-over re-marks it). Each execution is matched to the oldest action id of its type set on
    one of those objects before it and not matched yet; one left without an id means some id ran
    twice. Returns the violations and the executions counted."""
    pending: dict[tuple[str, str], list[ActionSet]] = defaultdict(list)
    for action in sorted(actions, key=lambda a: a.at):
        pending[(action.uid, action.type)].append(action)
    executed = sorted(
        (e for e in entries if _executed_action(e) is not None and pod_of(e) is not None),
        key=lambda e: float(e["started"]),
    )
    found = []
    for entry in executed:
        key, kind = _executed_action(entry)  # type: ignore[misc]
        uids = set(marks.get(key, ()))
        if not uids:
            found.append(
                f"(ii) {entry['path']} on {entry['system']} (seq {entry['seq']}): no object's replica"
            )
            continue
        ready = [a for uid in uids for a in pending[(uid, kind)] if a.at <= entry["started"]]
        if not ready:
            found.append(
                f"(ii) {kind} executed on {entry['system']} replica {key[1]} (seq {entry['seq']}) "
                f"with no action id of {sorted(uids)} left to run: an id ran twice"
            )
            continue
        oldest = min(ready, key=lambda a: a.at)
        pending[(oldest.uid, kind)].remove(oldest)
    return found, len(executed)


def _executed_action(entry: Mapping[str, Any]) -> tuple[Key, str] | None:
    call = replica_call(entry)
    if call is None or call[1] not in ACTION_ENDPOINTS or entry["method"] != "POST":
        return None
    if not 200 <= int(entry.get("array_status") or 0) < 300:
        return None
    return call[0], ACTION_ENDPOINTS[call[1]]


def check_owners(
    replicas: Iterable[Mapping[str, Any]], live_uids: Iterable[str], orphaned: Iterable[Key]
) -> list[str]:
    """(iii) Every replica on the arrays (each a listing row plus ``system`` and ``peer_system``,
    the array of its peer) has exactly one live
    owner (its mark names a live object) or an ``Orphaned`` Event named it or its peer."""
    live, left = set(live_uids), set(orphaned)
    found = []
    for replica in replicas:
        key: Key = (replica["system"], int(replica["id"]))
        uid = owner_uid(replica.get("description"))
        if uid in live or key in left or _peer(replica) in left:
            continue
        owner = f"the gone object {uid}" if uid else "no object"
        found.append(
            f"(iii) replica {key[1]} on {key[0]} is marked by {owner} and no Orphaned Event names it"
        )
    return found


def _peer(replica: Mapping[str, Any]) -> Key | None:
    remote, system = replica.get("remote_replica_id"), replica.get("peer_system")
    return (str(system), int(remote)) if remote is not None and system else None


def check_no_duplicates(replicas: Iterable[Mapping[str, Any]]) -> list[str]:
    """(iv) No two replicas of one entity on one link (each row plus ``system``)."""
    groups: dict[tuple[str, Any, Any, Any], list[int]] = defaultdict(list)
    for replica in replicas:
        entity = (
            replica["system"],
            replica.get("link_id"),
            replica.get("entity_type"),
            replica.get("local_entity_id"),
        )
        groups[entity].append(int(replica["id"]))
    return [
        f"(iv) {entity[2]} {entity[3]} on {entity[0]} link {entity[1]} has replicas {sorted(ids)}"
        for entity, ids in groups.items()
        if len(ids) > 1
    ]


@dataclass(frozen=True)
class Tenure:
    """``pod`` held the Lease from ``acquired`` (its ``acquireTime``, wall time) until the next one."""

    pod: str
    acquired: float


def check_only_the_leader(entries: Iterable[Mapping[str, Any]], tenures: Sequence[Tenure]) -> list[str]:
    """(v) A standby sends no array request: every operator request started while its pod held the
    Lease (the holder at a time is the latest tenure acquired at or before it)."""
    ordered = sorted(tenures, key=lambda t: t.acquired)
    found = []
    for entry in entries:
        pod = pod_of(entry)
        if pod is None:
            continue
        holder = next((t.pod for t in reversed(ordered) if t.acquired <= entry["started"]), None)
        if pod != holder:
            found.append(
                f"(v) {entry['method']} {entry['path']} on {entry['system']} (seq {entry['seq']}) from "
                f"{pod or 'an unnamed pod'} while {holder or 'nobody'} held the Lease"
            )
    return found


def orphaned_keys(events: Iterable[Mapping[str, Any]], systems: Mapping[str, str]) -> set[Key]:
    """The replicas ``Orphaned`` Events name: "replica <id> (source array <InfiniBox>) is left ...",
    the InfiniBox mapped to its system by ``systems``."""
    pattern = re.compile(r"replica (\d+) \(source array ([^)]+)\)")
    keys: set[Key] = set()
    for event in events:
        match = pattern.search(str(event.get("message") or "")) if event.get("reason") == "Orphaned" else None
        if match and match[2] in systems:
            keys.add((systems[match[2]], int(match[1])))
    return keys


def marks_of(replicas: Iterable[Mapping[str, Any]]) -> dict[Key, str]:
    """Each marked replica's owner uid (rows plus ``system``)."""
    found = {}
    for replica in replicas:
        uid = owner_uid(replica.get("description"))
        if uid:
            found[(replica["system"], int(replica["id"]))] = uid
    return found
