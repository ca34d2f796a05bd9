"""The two clusters the runbook command speaks to, and its bounded waits with a progress display.

Every call has a short timeout: a site that is gone (the reason for an unplanned failover)
shows up as unreachable within seconds, never as a hang.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException

from replica_operator.api import GROUP, VERSION

from .state import SiteView

REQUEST_TIMEOUT = (3.0, 10.0)
"""(connect, read) seconds of each call the command makes."""

POLL_SECONDS = 1.0


class StepFailed(Exception):
    """A runbook step cannot go on; the message is the reason the command exits with."""


@dataclass
class Site:
    """One cluster (kubeconfig and context) and the namespace and kind of the object there."""

    name: str
    kubeconfig: str | None
    context: str | None
    namespace: str
    plural: str = "replicas"
    _api: kubernetes.client.CustomObjectsApi | None = field(default=None, init=False, repr=False)

    def api(self) -> kubernetes.client.CustomObjectsApi:
        if self._api is None:
            client = kubernetes.config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=self.kubeconfig, context=self.context, persist_config=False
            )
            self._api = kubernetes.client.CustomObjectsApi(client)
        return self._api

    def view(self, name: str, plural: str | None = None) -> SiteView:
        """The object as this site's API server returns it, or why it could not be read."""
        try:
            body = self.api().get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural or self.plural, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            if error.status == 404:
                return SiteView(self.name)
            return SiteView(self.name, error=f"HTTP {error.status} {error.reason}")
        except (urllib3.exceptions.HTTPError, OSError, kubernetes.config.ConfigException) as error:
            return SiteView(self.name, error=type(error).__name__)
        return SiteView(self.name, body=body if isinstance(body, dict) else None)

    def patch(self, name: str, patch: dict[str, Any]) -> None:
        """A merge patch of the object (spec and metadata), as ``kubectl patch --type merge``."""
        try:
            self.api().patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, self.plural, name, patch, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            raise StepFailed(f"site {self.name}: patch refused: {_message(error)}") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise StepFailed(f"site {self.name}: unreachable ({type(error).__name__})") from None


def _message(error: ApiException) -> str:
    """The API server's own message (a CEL rule's text names the field), else the HTTP status."""
    try:
        return str(json.loads(error.body or "{}").get("message") or f"HTTP {error.status}")
    except ValueError:
        return f"HTTP {error.status} {error.reason}"


def create(site: Site, plural: str, body: dict[str, Any]) -> None:
    """Create an object of ours on ``site``; one that exists already is left as it is."""
    try:
        site.api().create_namespaced_custom_object(
            GROUP, VERSION, site.namespace, plural, body, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as error:
        if error.status != 409:
            raise StepFailed(f"site {site.name}: create refused: {_message(error)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise StepFailed(f"site {site.name}: unreachable ({type(error).__name__})") from None


def delete(site: Site, plural: str, name: str) -> None:
    """Delete an object of ours on ``site`` (its finalizer does the rest); gone already is fine."""
    try:
        site.api().delete_namespaced_custom_object(
            GROUP, VERSION, site.namespace, plural, name, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as error:
        if error.status != 404:
            raise StepFailed(f"site {site.name}: delete refused: {_message(error)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise StepFailed(f"site {site.name}: unreachable ({type(error).__name__})") from None


Probe = Callable[[], tuple[bool, str | None, str]]
"""(done, failure, progress): a failure ends the wait at once with that reason."""


def wait(what: str, probe: Probe, *, timeout: float, echo: Callable[[str], None]) -> float:
    """Poll ``probe`` until done; show each new progress line; return the seconds it took."""
    started = time.monotonic()
    shown = ""
    while True:
        done, failure, progress = probe()
        elapsed = time.monotonic() - started
        if failure is not None:
            raise StepFailed(f"{what}: {failure}")
        if done:
            echo(f"  done: {what} ({elapsed:.1f} s)")
            return elapsed
        if progress != shown:
            echo(f"  ... {what}: {progress}")
            shown = progress
        if elapsed >= timeout:
            raise StepFailed(f"{what}: not done within {timeout:.0f} s; last seen: {progress}")
        time.sleep(POLL_SECONDS)
