"""Examples are collected once dropped: no Example, store or guest memory outlives its last reference."""

from __future__ import annotations

import gc
import weakref

from earlyexit_tutorial import Example, ExitedEarly, Returned
from earlyexit_tutorial.guide.guest import _compiled

from .helpers import rss

# Grows its memory to 32 MiB when run is called, then calls the host.
GROWS_32_MIB = """
(module
  (import "env" "early_exit" (func $early_exit))
  (memory 1)
  (func (export "run") (param i32 i32) (result i32)
    (drop (memory.grow (i32.const 511)))
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 33554432))
    call $early_exit
    (i32.add (local.get 0) (local.get 1))))
"""


def test_two_thousand_dropped_examples_are_all_collected() -> None:
    for _ in range(50):  # warm up allocators and caches
        Example().run(1, 7)
    before = rss()
    # The cache is the process's: other tests' live Examples have entries in it, so
    # count only what this test's Examples leave there.
    cached_before = len(_compiled)
    refs, engines = [], []
    for i in range(2_000):
        example = Example(behaviour="exit" if i % 2 else "return")
        outcome = example.run(1, 7)
        assert isinstance(outcome, ExitedEarly if i % 2 else Returned), outcome
        refs.append(weakref.ref(example))
        engines.append(weakref.ref(example.engine))
        del example, outcome
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    growth = rss() - before
    print(f"\n2,000 Examples created, run and dropped: {alive} alive, resident memory growth {growth / 2**20:.1f} MiB")
    assert alive == 0
    # The compiled-module cache keeps neither an entry nor an engine per dropped Example.
    assert sum(ref() is not None for ref in engines) == 0
    assert len(_compiled) <= cached_before
    assert growth < 20 * 2**20


def test_forty_dropped_guests_of_32_mib_do_not_keep_their_memory() -> None:
    before = rss()
    for _ in range(40):
        example = Example(GROWS_32_MIB)
        assert isinstance(example.run(1, 7), ExitedEarly)
        del example
    growth = rss() - before
    print(f"\n40 guests of 32 MiB each, dropped: resident memory growth {growth / 2**20:.1f} MiB")
    assert growth < 100 * 2**20  # 40 kept guests would hold 1,280 MiB


def test_an_example_whose_host_raised_is_collected_with_its_outcome() -> None:
    example = Example(behaviour="error")
    outcome = example.run(1, 7)
    ref = weakref.ref(example)
    del example, outcome
    gc.collect()
    assert ref() is None


def test_an_example_stopped_at_its_deadline_is_collected_while_the_watcher_sleeps() -> None:
    from earlyexit_tutorial import LOOPING_WAT, Interrupted

    example = Example(LOOPING_WAT)
    assert isinstance(example.run(0, 0, timeout=0.05), Interrupted)  # the watcher fired this call's deadline
    engine = weakref.ref(example.engine)
    del example
    gc.collect()
    assert engine() is None, "something (the watcher thread's frame?) still holds the stopped call's engine"
