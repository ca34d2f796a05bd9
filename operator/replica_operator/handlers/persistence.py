"""What kopf persists on our objects, cut to what a handled create or change really needs.

kopf's "last handled configuration" is kept in memory instead of in an annotation on every object.

kopf's annotation storage costs one PATCH of the object (and one watch event) after each
handled create or change: a third of the writes on the way to Ready. Nothing else reads it:
kopf compares it with the new object to tell a create from a change from nothing. In memory
that comparison works the same while the process runs. After a restart (or on a new leader)
the status stands in for it: an object whose ``status.observedGeneration`` equals its
``metadata.generation`` was handled at its current spec, so it counts as unchanged (kopf then
calls the resume handler, which reconciles objects still without a replica id); any other
object counts as new, so its create handler reconciles it. Changes of our annotations, which
do not move the generation, reach the next poll's pass (its fingerprint holds the
resourceVersion).

kopf's progress annotations stay (they carry retries across restarts), but a handler that
succeeds at its first attempt leaves no trace, so that pass writes nothing: kopf would still
PATCH its ``kopf-managed`` marker onto the object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kopf

from replica_operator.api import GROUP

#: The annotation the previous storage wrote; left on old objects, never part of the essence.
LEGACY_ANNOTATION = f"{GROUP}/last-handled-configuration"


class ProgressAnnotations(kopf.AnnotationsProgressStorage):
    """kopf's annotation storage, minus the marker-only PATCH after a first-attempt success."""

    def purge(self, *, key: kopf.HandlerId, body: kopf.Body, patch: kopf.Patch) -> None:
        super().purge(key=key, body=body, patch=patch)
        marker = f"{self.prefix}/kopf-managed"
        annotations = patch.metadata.annotations
        ours = [name for name in annotations if name.startswith(f"{self.prefix}/") and name != marker]
        if marker in annotations and marker not in body.metadata.annotations and not ours:
            del annotations[marker]
            metadata = patch.get("metadata") or {}
            if not metadata.get("annotations"):
                metadata.pop("annotations", None)
            if not metadata:
                patch.pop("metadata", None)


class RememberedDiffBase(kopf.DiffBaseStorage):
    """The essence kopf last handled, by uid; :meth:`forget` drops a deleted object's."""

    def __init__(self) -> None:
        super().__init__()
        self._essences: dict[str, kopf.BodyEssence] = {}

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[kopf.FieldSpec] | None = None
    ) -> kopf.BodyEssence:
        """kopf's essence without our own annotations: kopf left them out while its marker was on
        every object; changes of them reach the next poll's pass, as before."""
        essence = super().build(body=body, extra_fields=extra_fields)
        annotations = essence.get("metadata", {}).get("annotations", {})
        self.remove_annotations(essence, [key for key in annotations if key.startswith(f"{GROUP}/")])
        self.remove_empty_stanzas(essence)
        return essence

    def __len__(self) -> int:
        return len(self._essences)

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        essence = self._essences.get(str(body.metadata.uid))
        if essence is not None:
            return essence
        status: Any = body.get("status") or {}
        observed = status.get("observedGeneration")
        if observed is not None and observed == body.metadata.get("generation"):
            return self.build(body=body)
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        self._essences[str(body.metadata.uid)] = essence

    def forget(self, uid: str) -> None:
        self._essences.pop(uid, None)
