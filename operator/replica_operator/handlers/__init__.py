"""kopf wiring: events -> reconcile -> array calls -> status patches. Importing registers the handlers."""

from . import wiring
from .runtime import Runtime

__all__ = ["Runtime", "wiring"]
