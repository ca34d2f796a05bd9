"""What an array can do, read the way infinisdk's ``compat`` reads it.

infinisdk 289.1.4 (``infinibox/compatibility.py``) decides from two facts read at connect:
the system ``version`` (``GET system``) and the feature list (``GET _features``; a 404
means "no features", as on old arrays). A feature whose ``enabled`` is false counts as
absent. The predicates below repeat the SDK's rules one for one; each names its rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from replica_operator.array.models import EntityType, ReplicationType, SystemInfo

__all__ = ["ArrayVersion", "Capabilities", "Feature", "features_from"]

#: infinisdk pads versions to five parts before comparing (``_VERSION_TUPLE_LEN``).
_VERSION_PARTS = 5


@dataclass(frozen=True, slots=True, order=True)
class ArrayVersion:
    """A system version such as ``7.3.10.0`` or ``8.6.0-dev12``; a ``-dev`` build sorts before its release."""

    parts: tuple[int, ...]
    released: bool = True
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> ArrayVersion:
        """Digits before an optional ``-suffix`` (SDK ``InfiniboxVersion.parse``); unreadable parts read 0."""
        numbers, _, suffix = text.strip().partition("-")
        parts = tuple(int(part) if part.isdigit() else 0 for part in numbers.split("."))
        padded = (parts + (0,) * _VERSION_PARTS)[: max(len(parts), _VERSION_PARTS)]
        return cls(parts=padded, released=not suffix.startswith("dev"), text=text)

    def at_least(self, *minimum: int) -> bool:
        wanted = (minimum + (0,) * _VERSION_PARTS)[: max(len(minimum), _VERSION_PARTS)]
        return self.parts >= wanted

    def __str__(self) -> str:
        return self.text or ".".join(str(part) for part in self.parts)


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    version: int
    enabled: bool = True


def features_from(result: Any) -> dict[str, Feature]:
    """The ``_features`` list as a mapping; malformed items are left out (the SDK would fail on them)."""
    features: dict[str, Feature] = {}
    for item in result if isinstance(result, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        version = item.get("version")
        enabled = item.get("enabled", True)
        features[item["name"]] = Feature(
            name=item["name"],
            version=version if isinstance(version, int) and not isinstance(version, bool) else 0,
            enabled=enabled is not False,
        )
    return features


@dataclass(frozen=True, slots=True)
class Capabilities:
    """One array's version and features, with the predicates the operator relies on."""

    system: SystemInfo
    features: Mapping[str, Feature] = field(default_factory=dict)

    @property
    def version(self) -> ArrayVersion:
        return ArrayVersion.parse(self.system.version)

    def feature_version(self, name: str) -> int | None:
        """The feature's version, or None when the array lacks it or has it disabled."""
        feature = self.features.get(name)
        return feature.version if feature is not None and feature.enabled else None

    def has_feature(self, name: str) -> bool:
        return self.feature_version(name) is not None

    @property
    def enabled_features(self) -> tuple[str, ...]:
        return tuple(sorted(name for name in self.features if self.has_feature(name)))

    @property
    def has_sync_job_states(self) -> bool:
        """``version >= 3.0``: replica state is ``ACTIVE`` plus job states (SDK ``has_sync_job_states``)."""
        return self.version.at_least(3, 0)

    @property
    def has_sync_replication(self) -> bool:
        """``version >= 4.0``: SYNC replicas, type changes, switch role (SDK ``has_sync_replication``)."""
        return self.version.at_least(4, 0)

    @property
    def has_replica_auto_create(self) -> bool:
        """Feature ``replica_auto_create``; the SDK then keeps the staging area on delete unless told."""
        return self.has_feature("replica_auto_create")

    @property
    def has_nas_replication(self) -> bool:
        """Feature ``filesystem_replicas``: filesystems can be replicated (SDK ``has_nas_replication``)."""
        return self.has_feature("filesystem_replicas")

    @property
    def has_active_active(self) -> bool:
        return self.has_feature("active_active")

    @property
    def has_multi_target_async_replication(self) -> bool:
        """Feature ``multi_target_async_replication`` if the array lists it, else ``version >= 8.4``."""
        if self.feature_version("multi_target_async_replication") is not None:
            return True
        return self.version.at_least(8, 4)

    @property
    def has_auth_sessions(self) -> bool:
        return self.has_feature("api_auth_sessions") or self.has_feature("api/auth_sessions")

    def missing_for(self, replication_type: ReplicationType, entity_type: EntityType) -> str | None:
        """Why this array cannot hold such a replica (None if it can): a reason to show, not an array error.

        SYNC needs 4.0 (SDK ``has_sync_replication``), ACTIVE_ACTIVE the ``active_active``
        feature, filesystems ``filesystem_replicas`` (SDK ``has_nas_replication``) and, per
        Infinidat's documentation (support article 6211370060957), ASYNC replication only.
        """
        if replication_type is ReplicationType.SYNC and not self.has_sync_replication:
            return f"SYNC replication needs InfiniBox 4.0 or later; {self.system.name} runs {self.version}"
        if replication_type is ReplicationType.ACTIVE_ACTIVE and not self.has_active_active:
            return f"ACTIVE_ACTIVE replication needs the array feature active_active ({self.system.name})"
        if entity_type is EntityType.FILESYSTEM:
            if not self.has_nas_replication:
                return (
                    f"filesystem replication needs the array feature filesystem_replicas ({self.system.name})"
                )
            if replication_type is not ReplicationType.ASYNC:
                return f"filesystems replicate ASYNC only, not {replication_type}"
        return None
