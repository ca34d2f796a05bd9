"""Checking an InfiniBox's configuration before a client is built from it.

A URL the client refuses or a CA bundle that does not parse is the user's to fix, not
a crash: it becomes ``Connected=False/InvalidConfiguration`` on the InfiniBox and the
same reason on every object that uses it. Messages name the field and never repeat
its value (a URL with userinfo carries a password; a CA Secret is a Secret).
"""

from __future__ import annotations

import ssl

import httpx

from replica_operator.api import InfiniBoxSpec
from replica_operator.reconcile import Problem

INVALID_CONFIGURATION = "InvalidConfiguration"
MAX_PORT = 65535


def _invalid(message: str) -> Problem:
    # Not retryable by waiting: only an edit of the InfiniBox or its Secret changes the answer.
    return Problem(INVALID_CONFIGURATION, message, retryable=False)


def url_problem(url: str) -> Problem | None:
    """Why ``spec.url`` cannot be used (the same checks as InfiniBoxClient), or None."""
    try:
        parsed = httpx.URL(url)
        userinfo, scheme, host, port = parsed.userinfo, parsed.scheme, parsed.host, parsed.port
    except (httpx.InvalidURL, ValueError):
        # httpx says "Invalid port" for ports it cannot read (e.g. above 65535), idna refuses
        # hosts such as xn--.example (a ValueError, raised when the host is read); their text
        # may quote the URL, so only the field is named.
        return _invalid("spec.url is not a valid URL (check the host name and that the port is 1-65535)")
    if userinfo:
        return _invalid("spec.url must not carry credentials (user@ or user:password@); use the Secret")
    if scheme not in ("http", "https") or not host:
        return _invalid("spec.url must look like https://host[:port]")
    if port is not None and not 1 <= port <= MAX_PORT:
        return _invalid(f"spec.url has port {port}; a port is 1-{MAX_PORT}")
    return None


def ca_problem(spec: InfiniBoxSpec, ca_pem: str | None) -> Problem | None:
    """Why the CA bundle from ``spec.tls.caSecretRef`` cannot be used, or None."""
    if ca_pem is None or spec.tls is None or spec.tls.ca_secret_ref is None:
        return None
    ref = spec.tls.ca_secret_ref
    try:
        ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as error:
        return _invalid(
            f"spec.tls.caSecretRef: key {ref.key} of Secret {ref.namespace}/{ref.name} "
            f"is not a PEM certificate bundle ({type(error).__name__})"
        )
    return None


def configuration_problem(spec: InfiniBoxSpec, ca_pem: str | None) -> Problem | None:
    """The first reason the spec (with its CA bundle) cannot make a client, or None."""
    return url_problem(spec.url) or ca_problem(spec, ca_pem)
