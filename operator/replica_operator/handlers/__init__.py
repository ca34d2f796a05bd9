"""kopf wiring: the only code that knows kopf. Importing registers the handlers.

The work behind each handler is in :mod:`replica_operator.controller`.
"""

from . import drills, wiring
from .launch import prepare_operator

__all__ = ["drills", "prepare_operator", "wiring"]
