"""Issue 14 item 3: a leader that loses its Lease, to another holder or because the API server is
unreachable, exits non-zero before the lease can expire and makes no array call afterwards."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import kubernetes

from replica_operator.leadership import LOST_EXIT_CODE
from tests.integration.leadership import proxy
from tests.integration.leadership.conftest import LEASE_SECONDS, RENEW_SECONDS, RETRY_SECONDS, Election
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for


def _exited(process: OperatorProcess) -> float:
    assert process.process is not None
    wait_for(
        lambda: process.process is not None and process.process.poll() is not None,
        timeout=30,
        interval=0.02,
        what="the leader's exit",
    )
    return time.time()


def _take(election: Election) -> float | None:
    """Write the Lease as another holder would (read-modify-write; a renewal in between is a 409)."""
    api = kubernetes.client.CoordinationV1Api(election.cluster.api_client())
    lease = api.read_namespaced_lease(election.lease_name, election.namespace)
    assert lease.spec is not None
    lease.spec.holder_identity = "intruder"
    lease.spec.renew_time = datetime.now(UTC)
    try:
        api.replace_namespaced_lease(election.lease_name, election.namespace, lease)
    except kubernetes.client.ApiException as error:
        if error.status == 409:
            return None
        raise
    return time.time()


def test_a_leader_whose_lease_is_taken_by_another_holder_exits_at_once(election: Election) -> None:
    election.build_world()
    leader = election.candidate("candidate-a")
    election.wait_holder("candidate-a", timeout=30)
    election.replica()
    election.wait_ready()

    taken = wait_for(lambda: _take(election), timeout=10, interval=0.01, what="the Lease taken over")
    exited = _exited(leader)
    assert leader.process is not None
    assert leader.process.returncode == LOST_EXIT_CODE
    print(f"\nLease taken by another holder -> leader exited: {exited - taken:.2f} s")
    assert exited - taken < LEASE_SECONDS
    assert "leadership lost (the lease is held by intruder)" in leader.log()
    # It notices at its next renewal (one retry period, plus the time of that call).
    late = [r for r in election.array_requests() if r["started"] > taken + RETRY_SECONDS + 2.0]
    assert late == [], f"array requests after the lease was lost: {late[:3]}"
    assert election.holder() == "intruder"


def test_a_leader_cut_off_from_the_api_server_exits_before_the_standby_may_take_over(
    election: Election,
) -> None:
    election.build_world()
    with proxy.running(election.cluster.kubeconfig) as network:
        leader = election.candidate("candidate-a", kubeconfig=network.kubeconfig)
        election.wait_holder("candidate-a", timeout=30)
        election.replica()
        election.wait_ready()
        election.candidate("candidate-b", standby=True)

        cut = network.blackhole()
        exited = _exited(leader)
        assert leader.process is not None
        assert leader.process.returncode == LOST_EXIT_CODE
        election.wait_holder("candidate-b", timeout=LEASE_SECONDS + 10)
        acquired = election.acquire_time()
        print(
            f"\nAPI server unreachable -> leader exited: {exited - cut:.2f} s (renew deadline "
            f"{RENEW_SECONDS:g} s); standby leads after {acquired - cut:.2f} s"
        )
        assert "not renewed within the renew deadline" in leader.log()
        assert exited - cut <= RENEW_SECONDS + 1.0
        assert exited < acquired, "the old leader still ran when the standby took over"
        overlap = [r for r in election.array_requests() if exited < r["started"] < acquired]
        assert overlap == [], "array requests after the leader lost the lease and before the takeover"
