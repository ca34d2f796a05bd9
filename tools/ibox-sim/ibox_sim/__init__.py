"""InfiniBox REST simulator (``ibox-sim``); the contract is docs/simulator.md.

Entry points: :class:`ibox_sim.server.SimulatorServer` (in-process, thread or event loop),
:func:`ibox_sim.testing.run_simulator` (the CLI as a child process), :mod:`ibox_sim.cli`
(``ibox-sim``), :class:`ibox_sim.clock.ManualClock` (time under a test's control).
"""
