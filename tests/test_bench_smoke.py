"""The benchmark's helpers run and give positive numbers (the targets live in benchmarks/bench.py)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import calls, interrupts
from benchmarks.stats import per_call_us_summary, summarize


def test_summarize() -> None:
    s = summarize([3.0, 1.0, 2.0, 10.0])
    assert (s.min, s.median, s.n) == (1.0, 2.5, 4)
    assert s.median <= s.p90 <= 10.0
    with pytest.raises(ValueError):
        summarize([])


def test_per_call_us_is_positive() -> None:
    s = per_call_us_summary("x + 1", {"x": 1}, repeat=2, min_time=0.001)
    assert 0 < s.min <= s.median


def test_python_call_costs() -> None:
    costs = calls.python_call_costs(repeat=1, min_time=0.001)
    assert set(costs) == {"fast", "fallback", "func"}
    for arms in costs.values():
        assert set(arms) == {"normal", "exit"}
        assert all(s.min > 0 for s in arms.values())


def test_guard_costs() -> None:
    costs = calls.guard_costs(repeat=1, min_time=0.001)
    assert set(costs) == {"typed", "guarded"}
    for arms in costs.values():
        assert set(arms) == {"normal", "exit"}
        assert all(s.min > 0 for s in arms.values())


def test_guard_api_costs() -> None:
    costs = calls.guard_api_costs(repeat=1, min_time=0.001)
    assert set(costs) == {"plain", "guarded"}
    for arms in costs.values():
        assert set(arms) == {"normal", "exit"}
        assert all(s.min > 0 for s in arms.values())


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_node_call_costs() -> None:
    costs = calls.node_call_costs(repeat=1, min_time=0.001)
    assert costs is not None and set(costs) == {"normal", "exit"}
    assert all(s.min > 0 for s in costs.values())


def test_node_missing_skips_the_row(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert calls.node_call_costs(repeat=1) is None
    assert calls.node_version() is None


@pytest.mark.parametrize("name", list(interrupts.LATENCY_ROWS))
def test_interrupt_latencies(python_sigint_handler, name: str) -> None:
    latencies = interrupts.LATENCY_ROWS[name](2)
    if latencies is None:
        pytest.skip("SIGINT needs the main thread and Python's own handler")
    assert len(latencies) == 2
    assert all(0 < t < interrupts.PATIENCE for t in latencies)
