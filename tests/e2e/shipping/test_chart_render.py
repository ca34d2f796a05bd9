"""The chart with the real helm, no cluster: lint, render every option, reject bad values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.shipping.helpers import CHART, VALUES_ALL, Helm, find, one


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _rules(role: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(apiGroup, resource, verbs, resourceNames) for every rule, one resource at a time."""
    return {
        (group, resource, tuple(sorted(rule["verbs"])), tuple(rule.get("resourceNames", ())))
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


# --- lint -------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, VALUES_ALL], ids=["defaults", "values-all"])
def test_helm_lint_strict(helm: Helm, values: Any) -> None:
    args = ["lint", "--strict", str(CHART)] + ([f"--values={values}"] if values else [])
    result = helm.run(*args)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


# --- defaults ---------------------------------------------------------------------------------


LEADER_ARGS = [
    "--leader-elect",
    "--leader-election-namespace=iro-system",
    "--leader-election-id=iro-infinibox-replica-operator",
    "--lease-duration=15s",
    "--renew-deadline=10s",
    "--retry-period=2s",
]


def test_defaults_render_two_pods_with_leader_election(helm: Helm) -> None:
    objects = helm.template(release="iro", namespace="iro-system")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Role",
            "RoleBinding",
            "Service",
            "Deployment",
            "PodDisruptionBudget",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
        ]
    )
    deployment = one(objects, "Deployment", "iro-infinibox-replica-operator")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    container = _container(deployment)
    assert container["image"] == "ghcr.io/infinibox-replica-operator/infinibox-replica-operator:0.1.0"
    assert container["args"] == [
        "--all-namespaces",
        "--liveness-port=8080",
        "--metrics-port=9090",
        "--log-format=text",
        *LEADER_ARGS,
    ]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"healthz": 8080, "metrics": 9090}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]
    env = {e["name"]: e.get("valueFrom") for e in container["env"]}
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}  # the Lease holder identity
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert "POD_ID" not in env, "kopf peering is gone"
    assert spec["template"]["spec"]["serviceAccountName"] == "iro-infinibox-replica-operator"

    budget = one(objects, "PodDisruptionBudget", "iro-infinibox-replica-operator")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()

    service = one(objects, "Service", "iro-infinibox-replica-operator-metrics")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()

    secrets_role = one(objects, "Role", "iro-infinibox-replica-operator-secrets")
    assert secrets_role["metadata"] == {**secrets_role["metadata"], "namespace": "iro-system"}
    assert _rules(secrets_role) == {("", "secrets", ("get",), ())}


def test_leader_election_may_touch_its_own_lease_only(helm: Helm) -> None:
    objects = helm.template(release="iro", namespace="iro-system")
    role = one(objects, "Role", "iro-infinibox-replica-operator-leader-election")
    assert role["metadata"]["namespace"] == "iro-system"
    assert _rules(role) == {
        ("coordination.k8s.io", "leases", ("create",), ()),
        ("coordination.k8s.io", "leases", ("get", "update"), ("iro-infinibox-replica-operator",)),
    }
    binding = one(objects, "RoleBinding", "iro-infinibox-replica-operator-leader-election")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "iro-infinibox-replica-operator", "namespace": "iro-system"}
    ]


def test_without_leader_election_one_pod_recreate_no_lease_rights_no_budget(helm: Helm) -> None:
    objects = helm.template(
        "--set=leaderElection.enabled=false", "--set=replicaCount=1", "--set=log.level=verbose"
    )
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    args = _container(deployment)["args"]
    assert "--no-leader-elect" in args
    assert "--verbose" in args
    assert not [a for a in args if a.startswith(("--leader-election", "--lease", "--renew", "--retry"))]
    assert not find(objects, "PodDisruptionBudget")
    assert [r["metadata"]["name"] for r in find(objects, "Role")] == [
        "iro-infinibox-replica-operator-secrets"
    ]


def test_pod_is_locked_down(helm: Helm) -> None:
    deployment = one(helm.template(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = _container(deployment)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in _container(deployment)["volumeMounts"]


def test_cluster_wide_rbac_is_exactly_what_the_operator_needs(helm: Helm) -> None:
    cluster_role = one(helm.template(), "ClusterRole")
    group = "replication.infinibox.io"
    assert _rules(cluster_role) == {
        (group, "infiniboxes", ("get", "list", "patch", "watch"), ()),
        (group, "infiniboxes/status", ("get", "patch"), ()),
        (group, "replicas", ("get", "list", "patch", "watch"), ()),
        (group, "consistencygroupreplicas", ("get", "list", "patch", "watch"), ()),
        (group, "replicas/status", ("get", "patch"), ()),
        (group, "consistencygroupreplicas/status", ("get", "patch"), ()),
        (group, "replicadrills", ("get", "list", "patch", "watch"), ()),
        (group, "replicadrills/status", ("get", "patch"), ()),
        ("", "persistentvolumes", ("get",), ()),  # the source claim's PV, by name
        ("", "events", ("create",), ()),
        # spec.source.persistentVolumeClaim, by name; persistentVolumeClaimSelector, listed
        ("", "persistentvolumeclaims", ("get", "list"), ()),
    }


def test_target_claims_add_only_pv_and_claim_writes(helm: Helm) -> None:
    plain = _rules(one(helm.template(), "ClusterRole"))
    extended = _rules(one(helm.template("--set=rbac.targetClaims=true"), "ClusterRole"))
    assert extended - plain == {
        ("", "persistentvolumes", ("create", "delete"), ()),
        ("", "persistentvolumeclaims", ("create", "delete"), ()),
        ("", "persistentvolumes", ("list",), ()),  # a group's target PVs, by the operator's label
        ("storage.k8s.io", "storageclasses", ("get",), ()),
    }
    assert plain <= extended


def test_drills_add_only_their_pv_and_claim_writes(helm: Helm) -> None:
    """ReplicaDrill makes a static PV and claim of its snapshot: allowed only with rbac.drills."""
    plain = _rules(one(helm.template(), "ClusterRole"))
    extended = _rules(one(helm.template("--set=rbac.drills=true"), "ClusterRole"))
    assert extended - plain == {
        ("", "persistentvolumes", ("create", "delete"), ()),
        ("", "persistentvolumeclaims", ("create", "delete"), ()),
    }
    assert plain <= extended
    watched = helm.template("--set=rbac.drills=true", "--set=watchNamespaces={team-a}")
    role = next(doc for doc in watched if doc["kind"] == "Role" and doc["metadata"]["namespace"] == "team-a")
    assert ("", "persistentvolumeclaims", ("create", "delete"), ()) in _rules(role)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [f"--values={VALUES_ALL}"],
        ["--set=leaderElection.enabled=false", "--set=replicaCount=1"],
        ["--set=rbac.targetClaims=true"],
        ["--set=rbac.drills=true", "--set=watchNamespaces={team-a}"],
    ],
)
def test_rbac_has_no_wildcards_and_a_comment_per_rule(helm: Helm, values: list[str]) -> None:
    rendered = helm.run("template", "iro", str(CHART), "--namespace=iro-system", *values).stdout
    roles = [doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] in ("ClusterRole", "Role")]
    assert roles
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (role["metadata"]["name"], rule)
            assert "secrets" not in rule["resources"] or rule["verbs"] == ["get"]
            assert not {"deletecollection", "escalate", "bind", "impersonate"} & set(rule["verbs"])
            if "delete" in rule["verbs"]:  # only what a drill or a target claim made (PV and claim)
                assert set(rule["resources"]) <= {"persistentvolumes", "persistentvolumeclaims"}, rule
            if "update" in rule["verbs"]:  # only the election's own Lease is ever replaced
                assert rule["resources"] == ["leases"], rule
                assert len(rule["resourceNames"]) == 1, rule
    # Every rule is preceded by a comment saying who needs it.
    lines = rendered.splitlines()
    rule_lines = [i for i, line in enumerate(lines) if line.strip().startswith("- apiGroups:")]
    assert rule_lines
    for index in rule_lines:
        assert lines[index - 1].strip().startswith("#"), f"rule without a comment: {lines[index]!r}"


# --- every option -----------------------------------------------------------------------------


def test_values_all_renders_every_option(helm: Helm) -> None:
    objects = helm.template(f"--values={VALUES_ALL}", release="rel", namespace="ops")
    deployment = one(objects, "Deployment", "iro-all")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    container = _container(deployment)
    args = container["args"]
    assert args[:2] == ["--namespace=iro-all-apps-a", "--namespace=iro-all-apps-b"]
    assert "--all-namespaces" not in args
    binding = one(objects, "MutatingAdmissionPolicyBinding", "iro-all-finalizer")
    (selector,) = binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert selector["values"] == ["iro-all-apps-a", "iro-all-apps-b"]  # only where the operator runs
    for arg in (
        "--liveness-port=8081",
        "--metrics-port=9091",
        "--log-format=json",
        "--debug",
        "--leader-elect",
        "--leader-election-namespace=ops",
        "--leader-election-id=iro-all-leader",
        "--lease-duration=20s",
        "--renew-deadline=12s",
        "--retry-period=3s",
        "--target-claim-namespace=iro-all-dr-a",
        "--target-claim-namespace=iro-all-dr-b",
    ):
        assert arg in args
    assert args[-1] == "--extra-flag=1"
    assert container["image"] == (
        "registry.example.com:5000/storage/infinibox-replica-operator@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    assert container["imagePullPolicy"] == "Always"
    env = {e["name"]: e for e in container["env"]}
    assert env["REPLICA_OPERATOR_EXTRA"]["value"] == "yes"
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert container["livenessProbe"]["periodSeconds"] == 15
    assert container["readinessProbe"]["failureThreshold"] == 2
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"example.com/scrape": "true"}
    assert pod["metadata"]["labels"]["team"] == "storage"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "iro-all-sa"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"][0]["key"] == "dedicated"
    assert "nodeAffinity" in spec["affinity"]
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["terminationGracePeriodSeconds"] == 45

    sa = one(objects, "ServiceAccount", "iro-all-sa")
    assert sa["metadata"]["annotations"] == {"example.com/owner": "storage-team"}
    service = one(objects, "Service", "iro-all-metrics")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["port"] == 9091
    assert service["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    monitor = one(objects, "ServiceMonitor", "iro-all")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "5s"}
    ]
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == "50%"

    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in find(objects, "Role")}
    assert set(roles) == {
        ("iro-all-apps-a", "iro-all-watch"),
        ("iro-all-apps-b", "iro-all-watch"),
        ("ops", "iro-all-events"),
        ("ops", "iro-all-leader-election"),
        ("iro-all-creds", "iro-all-secrets"),
    }
    bindings = {(b["metadata"]["namespace"], b["metadata"]["name"]) for b in find(objects, "RoleBinding")}
    assert bindings == set(roles)
    assert ("coordination.k8s.io", "leases", ("get", "update"), ("iro-all-leader",)) in _rules(
        roles[("ops", "iro-all-leader-election")]
    )
    assert _rules(roles[("ops", "iro-all-events")]) == {("", "events", ("create",), ())}
    cluster_rules = _rules(one(objects, "ClusterRole"))
    # Cluster-scoped: the arrays, the PersistentVolumes; with rbac.targetClaims the target claims
    # (in any namespace the spec names, as the operator allows) and the target StorageClass.
    assert {resource for _, resource, _, _ in cluster_rules} == {
        "infiniboxes",
        "infiniboxes/status",
        "persistentvolumes",
        "persistentvolumeclaims",
        "storageclasses",
    }


def test_include_crds_ships_our_crds_only(helm: Helm) -> None:
    ours = {
        doc["metadata"]["name"]: doc
        for path in sorted((ROOT / "crds").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    plain = {
        o["metadata"]["name"]: o for o in find(helm.template("--include-crds"), "CustomResourceDefinition")
    }
    assert plain == ours


def test_the_finalizer_policy_matches_the_operators_rule_and_can_be_left_out(helm: Helm) -> None:
    policy = one(helm.template(), "MutatingAdmissionPolicy", "iro-infinibox-replica-operator-finalizer")
    (condition,) = policy["spec"]["matchConditions"]
    assert 'deletionPolicy.orValue("Delete") == "Delete"' in condition["expression"]
    assert 'managementPolicy.orValue("Full") == "Full"' in condition["expression"]
    assert "matchResources" not in one(helm.template(), "MutatingAdmissionPolicyBinding")["spec"]
    disabled = helm.template("--set=finalizerPolicy.enabled=false")
    assert not find(disabled, "MutatingAdmissionPolicy")
    assert not find(disabled, "MutatingAdmissionPolicyBinding")


def test_one_replica_has_no_disruption_budget(helm: Helm) -> None:
    assert not find(helm.template("--set=replicaCount=1"), "PodDisruptionBudget")
    assert find(helm.template("--set=replicaCount=3"), "PodDisruptionBudget")


def test_secret_namespaces_replace_the_release_namespace(helm: Helm) -> None:
    objects = helm.template('--set-json=secretNamespaces=["creds-a","creds-b"]', namespace="ops")
    roles = [r for r in find(objects, "Role") if r["metadata"]["name"].endswith("-secrets")]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["creds-a", "creds-b"]
    assert all(_rules(r) == {("", "secrets", ("get",), ())} for r in roles)


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set=log.format=yaml"], "at '/log/format': value must be one of 'text', 'json'"),
        (["--set=log.level=trace"], "at '/log/level'"),
        (["--set=image.pullPolicy=Sometimes"], "at '/image/pullPolicy'"),
        (["--set=leaderElection.leaseDuration=15"], "at '/leaderElection/leaseDuration'"),
        (["--set=leaderElection.leaseDuration=1500ms"], "at '/leaderElection/leaseDuration'"),
        (["--set=leaderElection.retryPeriod=soon"], "at '/leaderElection/retryPeriod'"),
        (["--set=leaderElection.id=Not_A_Name"], "at '/leaderElection/id'"),
        (["--set=replicaCount=0"], "at '/replicaCount'"),
        (["--set=replicas=3"], "additional properties 'replicas' not allowed"),
        (["--set=peering.enabled=true"], "additional properties 'peering' not allowed"),
        (['--set-json=watchNamespaces=["Not_A_Namespace"]'], "at '/watchNamespaces/0'"),
        (['--set-json=secretNamespaces=["ops","ops"]'], "at '/secretNamespaces'"),
        (["--set=metrics.port=70000"], "at '/metrics/port'"),
        (["--set=health.port=http"], "at '/health/port'"),
        (["--set=securityContext.runAsUser=0"], "at '/securityContext/runAsUser'"),
        (["--set=metrics.service.type=LoadBalancer"], "at '/metrics/service/type'"),
        (["--set=metrics.serviceMonitor.interval=often"], "at '/metrics/serviceMonitor/interval'"),
        (['--set-json=extraEnv=[{"value":"x"}]'], "at '/extraEnv/0'"),
        (["--set=podDisruptionBudget.minAvailable=half"], "at '/podDisruptionBudget/minAvailable'"),
        (["--set=image.digest=latest"], "at '/image/digest'"),
        (["--set=rbac.create=yes"], "at '/rbac/create'"),
    ],
)
def test_schema_rejects_bad_values_naming_the_field(helm: Helm, args: list[str], message: str) -> None:
    result = helm.run("template", "iro", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set=metrics.serviceMonitor.enabled=true", "--set=metrics.service.enabled=false"],
            "metrics.serviceMonitor.enabled needs metrics.service.enabled",
        ),
        (
            ["--set=serviceAccount.create=false"],
            "serviceAccount.name is required when serviceAccount.create is false",
        ),
        (["--set=leaderElection.enabled=false"], "replicaCount > 1 needs leaderElection.enabled"),
    ],
)
def test_templates_reject_inconsistent_values(helm: Helm, args: list[str], message: str) -> None:
    result = helm.run("template", "iro", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


# --- the chart speaks the operator's CLI --------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            [],
            {
                "all_namespaces": True,
                "namespaces": (),
                "log_format": "text",
                "verbose": False,
                "leader_elect": True,
                "leader_election_namespace": "iro-system",
                "leader_election_id": "iro-infinibox-replica-operator",
                "lease_duration": timedelta(seconds=15),
                "renew_deadline": timedelta(seconds=10),
                "retry_period": timedelta(seconds=2),
            },
        ),
        (
            [
                "--set=leaderElection.enabled=false",
                "--set=replicaCount=1",
                "--set=log.level=verbose",
                '--set-json=watchNamespaces=["a","b"]',
            ],
            {"namespaces": ("a", "b"), "leader_elect": False, "verbose": True},
        ),
        (
            [f"--values={VALUES_ALL}", "--set-json=extraArgs=[]"],
            {
                "liveness_port": 8081,
                "metrics_port": 9091,
                "log_format": "json",
                "debug": True,
                "leader_election_id": "iro-all-leader",
                "lease_duration": timedelta(seconds=20),
                "renew_deadline": timedelta(seconds=12),
                "retry_period": timedelta(seconds=3),
                "target_claim_namespaces": ("iro-all-dr-a", "iro-all-dr-b"),
            },
        ),
    ],
    ids=["defaults", "no-election", "values-all"],
)
def test_rendered_args_parse_with_replica_operator_run(
    helm: Helm, values: list[str], expected: dict[str, Any]
) -> None:
    """The Deployment's args, read by the real `replica-operator run` option parser."""
    from replica_operator.cli import main

    deployment = find(helm.template(*values), "Deployment")[0]
    args = _container(deployment)["args"]
    context = main.commands["run"].make_context("run", list(args))
    assert context.params.items() >= expected.items(), context.params
