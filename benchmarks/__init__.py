"""Measurements behind `make bench` (benchmarks/bench.py): what an early exit costs."""
