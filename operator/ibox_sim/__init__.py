"""InfiniBox REST simulator."""
