"""Kubernetes operator for InfiniBox replication."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infinibox-replica-operator")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
