"""The argocd-cm snippet (file and docs) carries exactly the .lua files, one script per kind."""

from __future__ import annotations

import yaml

from tests.unit.shipping import argocd_cm
from tests.unit.shipping.argocd_health import KINDS, SCRIPTS


def test_configmap_file_is_generated_from_the_lua_files() -> None:
    assert argocd_cm.CONFIGMAP.read_text() == argocd_cm.render(), (
        "deploy/argocd/argocd-cm.yaml is stale: python -m tests.unit.shipping.argocd_cm --write"
    )


def test_docs_snippet_is_generated_from_the_lua_files() -> None:
    assert argocd_cm.doc_snippet(argocd_cm.DOC.read_text()) == argocd_cm.doc_block(), (
        "the argocd-cm snippet in docs/argocd.md is stale: python -m tests.unit.shipping.argocd_cm --write"
    )


def test_snippet_values_are_byte_for_byte_the_scripts() -> None:
    configmap = yaml.safe_load(argocd_cm.CONFIGMAP.read_text())
    assert configmap["metadata"]["name"] == "argocd-cm"
    assert set(configmap["data"]) == {argocd_cm.key(kind) for kind in KINDS}
    for kind in KINDS:
        assert configmap["data"][argocd_cm.key(kind)] == SCRIPTS[kind].read_text()


def test_both_replication_kinds_get_the_one_replication_script() -> None:
    configmap = yaml.safe_load(argocd_cm.CONFIGMAP.read_text())
    replica = configmap["data"][argocd_cm.key("Replica")]
    group = configmap["data"][argocd_cm.key("ConsistencyGroupReplica")]
    assert (
        replica == group == (argocd_cm.ROOT / "deploy" / "argocd" / "health" / "replication.lua").read_text()
    )


def test_keys_follow_argo_cds_group_kind_form() -> None:
    assert argocd_cm.key("Replica") == "resource.customizations.health.replication.infinibox.io_Replica"
