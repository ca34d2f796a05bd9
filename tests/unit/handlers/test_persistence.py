"""What kopf persists on our objects: nothing after a first-attempt success, the diff base in memory."""

from __future__ import annotations

from typing import Any

import kopf

from replica_operator.api import GROUP
from replica_operator.handlers.persistence import LEGACY_ANNOTATION, ProgressAnnotations, RememberedDiffBase


def _body(generation: int = 1, status: dict[str, Any] | None = None, **annotations: str) -> kopf.Body:
    metadata = {
        "name": "r",
        "namespace": "ns",
        "uid": "u-1",
        "generation": generation,
        "annotations": annotations,
    }
    return kopf.Body({"metadata": metadata, "spec": {"rpo": "5m"}, **({"status": status} if status else {})})


def test_a_handler_that_succeeds_at_once_leaves_no_patch() -> None:
    storage, body, patch = ProgressAnnotations(prefix=GROUP), _body(), kopf.Patch()
    storage.store(
        key=kopf.HandlerId("apply_spec"), record={"started": "t", "success": True}, body=body, patch=patch
    )
    storage.purge(key=kopf.HandlerId("apply_spec"), body=body, patch=patch)
    assert not patch


def test_a_retried_handler_keeps_its_progress_and_the_marker() -> None:
    storage, body, patch = ProgressAnnotations(prefix=GROUP), _body(), kopf.Patch()
    storage.store(
        key=kopf.HandlerId("apply_spec"), record={"started": "t", "retries": 1}, body=body, patch=patch
    )
    annotations = patch["metadata"]["annotations"]
    assert f"{GROUP}/kopf-managed" in annotations
    assert any(key.endswith("apply_spec") for key in annotations)


def test_the_diff_base_is_remembered_and_forgotten() -> None:
    storage = RememberedDiffBase()
    body = _body()
    assert storage.fetch(body=body) is None  # new: kopf calls the create handler
    storage.store(body=body, patch=kopf.Patch(), essence=storage.build(body=body))
    assert storage.fetch(body=body) == storage.build(body=body)
    assert len(storage) == 1
    storage.forget("u-1")
    assert len(storage) == 0


def test_after_a_restart_the_observed_generation_stands_in_for_the_diff_base() -> None:
    storage = RememberedDiffBase()
    handled = _body(generation=2, status={"observedGeneration": 2})
    assert storage.fetch(body=handled) == storage.build(body=handled)  # unchanged: resume only
    changed_meanwhile = _body(generation=3, status={"observedGeneration": 2})
    assert storage.fetch(body=changed_meanwhile) is None  # handled as new: reconciled now


def test_our_annotations_are_not_part_of_the_essence() -> None:
    storage = RememberedDiffBase()
    ours = {LEGACY_ANNOTATION: "{}", f"{GROUP}/recreate-missing": "true"}
    essence = storage.build(body=_body(**ours, team="a"))
    assert essence["metadata"]["annotations"] == {"team": "a"}
    assert "metadata" not in storage.build(body=_body(**ours))
