"""The I/O shell around the rules: observe the arrays, run the rules, execute, write status.

``reconcile`` decides, this package does: :mod:`.observe` reads both sides,
:mod:`.execute` runs the steps (via :mod:`.create` for a new replica), :mod:`.report`
writes status, Events and metrics, :mod:`.reconciler` sequences one pass (its per-object
memory is :mod:`.memory`), :mod:`.runtime` polls the arrays through :mod:`.connections`.
:mod:`.adapter` is the only translation between array models and the rules' terms.
Collaborators come in as the protocols of :mod:`.ports`. No kopf here (that is
:mod:`replica_operator.handlers`); docs/architecture.md draws the whole pass.
"""

from .adapter import problem_from, to_array_replica
from .connections import ArrayConnection, Arrays, LookupProblem, infinibox_client
from .create import build_request
from .drill import DrillController
from .execute import EXECUTORS, Executor, StepContext, execute
from .memory import Backoff, Memories, ObjectMemory
from .ports import ArrayClient, ClientFactory, InfiniBoxLookup, KubeSide, Registry
from .reconciler import Outcome, Reconciler, Trigger
from .runtime import Indexes, Runtime, in_use_verdict
from .shards import other_shards_objects

__all__ = [
    "EXECUTORS",
    "ArrayClient",
    "ArrayConnection",
    "Arrays",
    "Backoff",
    "ClientFactory",
    "DrillController",
    "Executor",
    "Indexes",
    "InfiniBoxLookup",
    "KubeSide",
    "LookupProblem",
    "Memories",
    "ObjectMemory",
    "Outcome",
    "Reconciler",
    "Registry",
    "Runtime",
    "StepContext",
    "Trigger",
    "build_request",
    "execute",
    "in_use_verdict",
    "infinibox_client",
    "other_shards_objects",
    "problem_from",
    "to_array_replica",
]
