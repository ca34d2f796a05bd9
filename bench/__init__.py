"""Benchmarks (not tests). Each scenario module defines ``NAME`` and ``run() -> dict`` of figures."""
