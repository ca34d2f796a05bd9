"""Constrained strings shared by the models. Every string has a ``maxLength`` so CEL rules stay in budget."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
ACTION_ID_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"

ObjectName = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
"""The name of a Kubernetes object (a DNS subdomain), e.g. an InfiniBox or a Secret."""

NamespaceName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
"""The name of a Kubernetes namespace (a DNS label)."""

SecretKey = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]
"""A key in a Secret's data."""

EntityName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
"""A name on an InfiniBox array: volume, filesystem, consistency group, snapshot, pool, link."""

ActionId = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=ACTION_ID_PATTERN)]
"""The id of a one-shot action; a new id runs the action again."""

Url = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=URL_PATTERN)]
"""An http or https URL."""

ArrayText = Annotated[str, StringConstraints(max_length=256)]
"""A short free-form value reported by an array (a state, a role, a version)."""

Message = Annotated[str, StringConstraints(max_length=32768)]
"""A human-readable message."""
