"""``replica-operator-demo`` (``make demo``): the whole thing on one machine, in a live table, then gone.

It starts a local control plane (etcd + kube-apiserver), two simulated arrays
(``ibox-sim``) and the operator, applies ``examples/``, and shows the objects going
from INITIALIZING to SYNCHRONIZED, with a type change asked for during INITIALIZING
that the operator defers and then applies. Everything it started is stopped at the
end (Ctrl-C, SIGTERM, ``--once``, a timeout or an error) and its temp dir removed.

``controlplane``, ``ibox_sim`` and ``rich`` are dev/demo tools, not operator runtime
dependencies: they are imported lazily, only when the demo runs.

- ``parts``: the pieces it starts and talks to (simulated arrays, operator, cluster);
- ``screen``: the table (live with ``rich`` on a terminal, plain text elsewhere);
- ``story``: what happens in which order, the type change, the exit code.
"""

from .story import run_demo

__all__ = ["run_demo"]
