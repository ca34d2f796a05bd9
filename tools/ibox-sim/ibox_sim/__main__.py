"""``python -m ibox_sim`` is ``ibox-sim``."""

from ibox_sim.cli import main

main()
