"""Admission policies in tests: the chart's finalizer policy (a MutatingAdmissionPolicy), installed
the way helm renders it, and a ValidatingAdmissionPolicy that denies what a test must see refused."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from replica_operator.api import API_VERSION, FINALIZER
from tests.support.kube import Cluster
from tests.support.wait import wait_for

CHART = Path(__file__).resolve().parents[2] / "charts" / "infinibox-replica-operator"
TEMPLATE = "templates/finalizer-policy.yaml"


def finalizer_policy(release: str, namespaces: tuple[str, ...] = ()) -> str:
    """The policy and its binding as ``helm template`` renders them (``namespaces``: watchNamespaces)."""
    from controlplane.binaries import ensure_helm

    command = [str(ensure_helm()), "template", release, str(CHART), "--show-only", TEMPLATE]
    if namespaces:
        command += ["--set-json", f"watchNamespaces={json.dumps(list(namespaces))}"]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def install_finalizer_policy(cluster: Cluster, release: str, namespace: str, *, scoped: bool = True) -> str:
    """Apply the policy (bound to ``namespace`` only when ``scoped``) and wait until the API server
    applies it (a server-side dry-run create shows the finalizer); the rendered YAML, to delete it."""
    rendered = finalizer_policy(release, (namespace,) if scoped else ())
    cluster.kubectl("apply", "-f", "-", input=rendered)
    probe = {
        "apiVersion": API_VERSION,
        "kind": "Replica",
        "metadata": {"name": "finalizer-policy-probe", "namespace": namespace},
        "spec": {"source": {"array": "a", "volume": "v"}, "target": {"array": "b", "pool": "p"}},
    }

    def effective() -> bool:
        created = cluster.kubectl(
            "create", "--dry-run=server", "-o", "json", "-f", "-", input=yaml.safe_dump(probe), check=False
        )
        return created.returncode == 0 and FINALIZER in json.loads(created.stdout)["metadata"].get(
            "finalizers", []
        )

    wait_for(effective, timeout=30, interval=0.25, what="the finalizer policy to take effect")
    return rendered


def deny_requests(
    cluster: Cluster, name: str, rule: dict[str, Any], expression: str, message: str, namespace: str = ""
) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy (and its binding) denying the requests of ``rule`` for which
    ``expression`` is false, in ``namespace`` only when one is given; returns its removal. The caller
    waits until the API server applies it (each has its own probe)."""
    scope = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    manifests = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [rule]},
                "validations": [{"expression": expression, "message": message}],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                **({"matchResources": scope} if namespace else {}),
            },
        },
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests))
    return lambda: cluster.kubectl(
        "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name
    )
