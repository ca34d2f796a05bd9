"""What the operator asks of Kubernetes besides what kopf does: Secrets, status patches, listings.

The official ``kubernetes`` client is synchronous, so each call runs in a worker thread;
one client object, no global state.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from replica_operator import metrics
from replica_operator.api import GROUP, VERSION, CustomResource

log = logging.getLogger(__name__)
COMPONENT = "infinibox-replica-operator"
REQUEST_TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds of every call: a half-open connection fails the call instead of
freezing the pass (and the array's poller) that waits on it."""


LIST_PAGE_SIZE = 500


def _older(version: str, than: str) -> bool:
    return version.isdigit() and than.isdigit() and int(version) < int(than)


def cluster_events_namespace() -> str:
    """Where Events about cluster-scoped objects go: the operator's own namespace (as kopf does)."""
    return os.environ.get("POD_NAMESPACE") or "default"


class KubeError(Exception):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0 when none arrived)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def refusal(error: ApiException) -> str:
    """The HTTP reason and the API server's own message (a validation's, an admission policy's),
    which says why: "Unprocessable Entity" alone does not. The message is cut at 300 characters."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):  # a body that is not a Status object
        message = None
    return f"{error.reason}: {str(message)[:300]}" if message else str(error.reason)


@dataclass(frozen=True)
class Listing:
    """Which objects of one kind exist, as of one resourceVersion (a LIST, every page).

    ``namespaces`` is what was listed: None for every namespace.
    """

    uids: frozenset[str]
    resource_version: str
    namespaces: frozenset[str] | None


@dataclass(frozen=True)
class SecretData:
    """A Secret's values (decoded) and the version they were read at."""

    resource_version: str
    values: dict[str, SecretStr]

    def get(self, key: str) -> SecretStr | None:
        return self.values.get(key)


class Kube:
    """One Kubernetes API client for the operator's own reads and status writes."""

    def __init__(
        self, api_client: kubernetes.client.ApiClient, timeout: tuple[float, float] = REQUEST_TIMEOUT
    ) -> None:
        self._core = kubernetes.client.CoreV1Api(api_client)
        self._custom = kubernetes.client.CustomObjectsApi(api_client)
        self._storage = kubernetes.client.StorageV1Api(api_client)
        self._timeout = timeout

    async def _call(self, verb: str, resource: str, method: Callable[..., Any], *args: Any) -> Any:
        """Run one client call in a worker thread, bounded by the timeout, counted by result."""
        result = "error"
        try:
            answer = await asyncio.to_thread(method, *args, _request_timeout=self._timeout)
            result = "ok"
            return answer
        except ApiException as error:
            result = "ok" if error.status == 404 else "error"
            raise
        except urllib3.exceptions.HTTPError as error:
            timed_out = isinstance(error, urllib3.exceptions.TimeoutError) or isinstance(
                getattr(error, "reason", None), urllib3.exceptions.TimeoutError
            )
            result = "timeout" if timed_out else "error"
            raise
        finally:
            metrics.KUBE_REQUESTS.labels(verb, resource, result).inc()

    async def _checked(
        self,
        verb: str,
        resource: str,
        doing: str,
        method: Callable[..., Any],
        *args: Any,
        absent: int | None = None,
    ) -> Any:
        """``_call``, its failures as ``KubeError("cannot <doing>: ...")``; None when the
        server answers ``absent`` (404 for a read or delete of what is gone, 409 for a create of
        what exists)."""
        try:
            return await self._call(verb, resource, method, *args)
        except ApiException as error:
            if absent is not None and error.status == absent:
                return None
            raise KubeError(error.status or 0, f"cannot {doing}: {refusal(error)}") from None
        except urllib3.exceptions.HTTPError as error:
            raise KubeError(0, f"cannot {doing}: {type(error).__name__}") from None

    @classmethod
    def from_environment(cls, read_timeout: float = REQUEST_TIMEOUT[1]) -> Kube:
        """In-cluster credentials when running in a pod, else ``$KUBECONFIG`` / ``~/.kube/config``."""
        configuration = kubernetes.client.Configuration()
        # One attempt per call: the caller's pass retries with backoff, so a frozen server costs
        # one timeout per call, not urllib3's default of four.
        configuration.retries = False
        try:
            kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        timeout = (min(REQUEST_TIMEOUT[0], read_timeout), read_timeout)
        return cls(kubernetes.client.ApiClient(configuration), timeout)

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data, or None when it does not exist."""
        secret = await self._checked(
            "get",
            "secrets",
            f"read Secret {namespace}/{name}",
            self._core.read_namespaced_secret,
            name,
            namespace,
            absent=404,
        )
        if secret is None:
            return None
        values = {
            key: SecretStr(base64.b64decode(value).decode("utf-8", errors="replace"))
            for key, value in (secret.data or {}).items()
        }
        version = secret.metadata.resource_version if secret.metadata is not None else None
        return SecretData(version or "", values)

    async def read_volume_objects(
        self, namespace: str, claim: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A claim and the PersistentVolume it is bound to, as the API serves them (camelCase);
        None for what does not exist (yet). Read at the moment of the pass: a re-check on each poll
        notices a claim that got bound, so no watch on claims is needed."""
        found = await self._read_core(
            "persistentvolumeclaims", self._core.read_namespaced_persistent_volume_claim, claim, namespace
        )
        volume_name = ((found or {}).get("spec") or {}).get("volumeName")
        if not volume_name:
            return found, None
        return found, await self._read_core(
            "persistentvolumes", self._core.read_persistent_volume, volume_name
        )

    async def read_cluster_object(self, resource: str, name: str) -> dict[str, Any] | None:
        """A PersistentVolume or a StorageClass by name (camelCase), None when absent."""
        method = {
            "persistentvolumes": self._core.read_persistent_volume,
            "storageclasses": self._storage.read_storage_class,
        }[resource]
        return await self._read_core(resource, method, name)

    async def create_volume_object(self, manifest: dict[str, Any]) -> None:
        """Create a PersistentVolume or a claim; one that exists already is left as it is (409)."""
        meta = manifest["metadata"]
        call: Callable[..., Any]
        args: tuple[Any, ...]
        if manifest["kind"] == "PersistentVolume":
            resource, call, args = "persistentvolumes", self._core.create_persistent_volume, (manifest,)
        else:
            resource = "persistentvolumeclaims"
            call, args = self._core.create_namespaced_persistent_volume_claim, (meta["namespace"], manifest)
        await self._checked("create", resource, f"create {resource} {meta['name']}", call, *args, absent=409)

    async def delete_volume_object(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete a PersistentVolume or a claim; one already gone is fine (404)."""
        call: Callable[..., Any]
        args: tuple[Any, ...]
        if kind == "PersistentVolume":
            resource, call, args = "persistentvolumes", self._core.delete_persistent_volume, (name,)
        else:
            resource = "persistentvolumeclaims"
            call, args = self._core.delete_namespaced_persistent_volume_claim, (name, namespace)
        await self._checked("delete", resource, f"delete {resource} {name}", call, *args, absent=404)

    async def list_volume_objects(
        self, kind: str, namespace: str | None, label_selector: str
    ) -> list[dict[str, Any]]:
        """Claims in ``namespace`` (or PersistentVolumes, ``namespace`` None) matching the selector,
        camelCase. One call: a selector group holds at most MAX_MEMBERS claims."""
        method: Callable[..., Any]
        if namespace is None:
            resource, method = "persistentvolumes", self._core.list_persistent_volume
        else:
            resource = "persistentvolumeclaims"
            method = functools.partial(self._core.list_namespaced_persistent_volume_claim, namespace)
        method = functools.partial(method, label_selector=label_selector)
        answer = await self._checked("list", resource, f"list {resource}", method)
        items = self._core.api_client.sanitize_for_serialization(answer).get("items") or []
        return [dict(item) for item in items]

    async def _read_core(
        self, resource: str, method: Callable[..., Any], *args: str
    ) -> dict[str, Any] | None:
        what = f"{resource} {'/'.join(reversed(args))}"
        answer = await self._checked("get", resource, f"read {what}", method, *args, absent=404)
        if answer is None:
            return None
        serialized: dict[str, Any] = self._core.api_client.sanitize_for_serialization(answer)
        return serialized

    async def list_uids(
        self, resource: CustomResource, namespaces: tuple[str, ...] = (), label_selector: str | None = None
    ) -> Listing:
        """The uids of every object of ``resource`` (in ``namespaces``, or all; matching
        ``label_selector``, e.g. this shard's), paged.

        Each page is one bounded call; the pages after the first are served at the first one's
        resourceVersion (the API server's continue tokens), so the whole is one consistent view.
        """
        uids: set[str] = set()
        version = ""
        async for first, page in self._pages(resource, namespaces, label_selector):
            uids.update(str(item["metadata"]["uid"]) for item in page.get("items") or ())
            meta = page.get("metadata") or {}
            # Several namespaces are several views: the oldest bounds what the whole proves.
            if first and (not version or _older(str(meta.get("resourceVersion")), version)):
                version = str(meta.get("resourceVersion") or "")
        return Listing(frozenset(uids), version, frozenset(namespaces) if namespaces else None)

    async def list_objects(
        self, resource: CustomResource, label_selector: str, namespaces: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Every object of ``resource`` that matches ``label_selector``, in the cluster or, when
        ``namespaces`` are given (the operator may list only there), in those namespaces; paged."""
        found: list[dict[str, Any]] = []
        async for _, page in self._pages(resource, namespaces, label_selector):
            found.extend(dict(item) for item in page.get("items") or ())
        return found

    async def read_object(self, resource: CustomResource, namespace: str, name: str) -> dict[str, Any] | None:
        """A namespaced custom object as stored now, or None when it does not exist."""
        found = await self._checked(
            "get",
            resource.plural,
            f"read {name}",
            self._custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            resource.plural,
            name,
            absent=404,
        )
        return None if found is None else dict(found)

    async def _pages(
        self, resource: CustomResource, namespaces: tuple[str, ...], label_selector: str | None
    ) -> AsyncIterator[tuple[bool, Any]]:
        """Every page of a LIST in each namespace (or the cluster), with whether it is the first
        of its namespace: one bounded call each, continued at the first page's resourceVersion."""
        for namespace in namespaces or (None,):
            token: str | None = None
            while True:
                page = await self._list_page(resource, namespace, token, label_selector)
                yield token is None, page
                token = (page.get("metadata") or {}).get("continue") or None
                if token is None:
                    break

    async def _list_page(
        self, resource: CustomResource, namespace: str | None, token: str | None, label_selector: str | None
    ) -> Any:
        paging: dict[str, Any] = {"limit": LIST_PAGE_SIZE, **({"_continue": token} if token else {})}
        if label_selector:
            paging["label_selector"] = label_selector
        if namespace is None:
            method = functools.partial(self._custom.list_cluster_custom_object, **paging)
            return await self._checked(
                "list", resource.plural, f"list {resource.plural}", method, GROUP, VERSION, resource.plural
            )
        method = functools.partial(self._custom.list_namespaced_custom_object, **paging)
        return await self._checked(
            "list",
            resource.plural,
            f"list {resource.plural}",
            method,
            GROUP,
            VERSION,
            namespace,
            resource.plural,
        )

    async def patch_status(
        self, resource: CustomResource, namespace: str | None, name: str, status: dict[str, Any]
    ) -> str | None:
        """Merge-patch ``status`` (None values remove fields); the new resourceVersion, None if gone."""
        body = {"status": status}
        scope = (resource.plural,) if namespace is None else (namespace, resource.plural)
        method = (
            self._custom.patch_cluster_custom_object_status
            if namespace is None
            else self._custom.patch_namespaced_custom_object_status
        )
        subresource = f"{resource.plural}/status"
        patched = await self._checked(
            "patch",
            subresource,
            f"patch status of {name}",
            method,
            GROUP,
            VERSION,
            *scope,
            name,
            body,
            absent=404,
        )
        if patched is None:
            return None
        return str(patched["metadata"]["resourceVersion"])

    async def post_event(self, involved: dict[str, Any], *, type: str, reason: str, message: str) -> None:
        """Record a core/v1 Event on an object (cluster-scoped objects get theirs in our namespace).

        Events are best effort: a failure is logged and never stops a reconciliation.
        """
        metadata = involved["metadata"]
        namespace = metadata.get("namespace") or cluster_events_namespace()
        now = datetime.now(UTC)
        event = kubernetes.client.CoreV1Event(
            metadata=kubernetes.client.V1ObjectMeta(name=f"{metadata['name']}.{uuid.uuid4().hex[:16]}"),
            involved_object=kubernetes.client.V1ObjectReference(
                api_version=involved["apiVersion"],
                kind=involved["kind"],
                name=metadata["name"],
                namespace=metadata.get("namespace"),
                uid=metadata.get("uid"),
            ),
            type=type,
            reason=reason,
            message=message[:1024],
            first_timestamp=now,
            last_timestamp=now,
            event_time=None,
            count=1,
            source=kubernetes.client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=os.environ.get("POD_NAME") or socket.gethostname(),
        )
        try:
            await self._call("create", "events", self._create_event, namespace, event)
        except ApiException as error:
            log.warning("event %s on %s/%s not posted: %s", reason, namespace, metadata["name"], error.reason)
        except urllib3.exceptions.HTTPError as error:
            log.warning(
                "event %s on %s/%s not posted: %s",
                reason,
                namespace,
                metadata["name"],
                error.__class__.__name__,
            )

    def _create_event(
        self, namespace: str, event: kubernetes.client.CoreV1Event, _request_timeout: tuple[float, float]
    ) -> None:
        # The answer is not needed; not deserialising it saves most of the call's CPU.
        response: Any = self._core.create_namespaced_event(
            namespace, event, _preload_content=False, _request_timeout=_request_timeout
        )
        response.read()
        response.release_conn()

    # -- what a ReplicaDrill and a target claim read and make: a static PersistentVolume and its claim

    async def read_volume_object(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A PersistentVolume (``namespace`` None) or PersistentVolumeClaim as a dict, None if absent."""
        if namespace is None:
            return await self._read_core("persistentvolumes", self._core.read_persistent_volume, name)
        return await self._read_core(
            "persistentvolumeclaims", self._core.read_namespaced_persistent_volume_claim, name, namespace
        )
