"""Examples on several threads at once: each call's outcome is its own, and many Examples share one engine."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    LOOPING_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    Interrupted,
    ModuleError,
    NotInterruptible,
    OtherError,
    Returned,
    interruptible_engine,
)
from earlyexit_tutorial._support import _fastcall
from earlyexit_tutorial.guide import host_record, typed

UNREACHABLE_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (func (export "run") (param i32 i32) (result i32) unreachable))
"""

CALLS = 2_000


def kind(outcome: object) -> str:
    """An outcome in a few words, for counting."""
    if isinstance(outcome, ExitedEarly):
        return f"exited early with {outcome.code}"
    if isinstance(outcome, OtherError) and isinstance(outcome.error, wasmtime.Trap):
        code = outcome.error.trap_code
        return f"trap {code.name if code is not None else outcome.error.message}"
    return repr(outcome)


def outcomes_on_three_threads(calls: int = CALLS) -> dict[str, Counter[str]]:
    """Three threads, each with its own Example, `calls` calls each: what each thread's outcomes were."""
    examples = {
        "exit 1": Example(exit_code=1),
        "exit 2": Example(exit_code=2),
        "unreachable": Example(UNREACHABLE_WAT),
    }
    seen: dict[str, Counter[str]] = {name: Counter() for name in examples}
    start = threading.Barrier(len(examples))

    def work(name: str) -> None:
        example = examples[name]
        start.wait()
        for _ in range(calls):
            seen[name][kind(example.run(1, 7))] += 1

    threads = [threading.Thread(target=work, args=(name,)) for name in examples]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return seen


def public_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call through the public Func.__call__, as on a wasmtime without the fast path."""
    monkeypatch.setattr(typed, "make_fast_i32_call", lambda func: None)
    monkeypatch.setattr(typed, "make_own_hosts_i32_call", lambda func: None, raising=False)


EXPECTED = {"exit 1": "exited early with 1", "exit 2": "exited early with 2", "unreachable": "trap UNREACHABLE"}


@pytest.mark.skipif(not _fastcall.version_supported(_fastcall.wasmtime_version()), reason="no fast path here")
def test_outcomes_never_cross_threads() -> None:
    seen = outcomes_on_three_threads()
    assert seen == {name: Counter({EXPECTED[name]: CALLS}) for name in EXPECTED}


def test_outcomes_never_cross_threads_on_the_public_call_either(monkeypatch) -> None:
    # Without the fast path every call goes through Func.__call__, which raises what it finds in
    # wasmtime-py's shared variable: a host's exception still comes out as its own, and a trap
    # given another thread's exception comes out as a trap (whose code wasmtime-py lost).
    public_only(monkeypatch)
    seen = outcomes_on_three_threads()
    assert seen["exit 1"] == Counter({"exited early with 1": CALLS})
    assert seen["exit 2"] == Counter({"exited early with 2": CALLS})
    assert set(seen["unreachable"]) <= {"trap UNREACHABLE", f"trap {host_record.LOST_TRAP}"}
    assert seen["unreachable"]["trap UNREACHABLE"] > 0


@pytest.mark.parametrize("path", ["fast", "public"])
def test_an_exception_of_ours_that_wasmtime_py_lost_is_still_ours(monkeypatch, path: str) -> None:
    # What another thread's call does to wasmtime-py's shared variable, done on purpose: a thread
    # that empties it as soon as a host's exception lands there, before this call can read it.
    from wasmtime import _func

    if path == "public":
        public_only(monkeypatch)
    example = Example(exit_code=3)
    stolen: list[BaseException] = []
    done = threading.Event()

    def thief() -> None:
        while not done.is_set() and not stolen:
            value = _func.LAST_EXCEPTION
            if value is not None:
                _func.LAST_EXCEPTION = None
                stolen.append(value)
            time.sleep(0)

    thread = threading.Thread(target=thief, daemon=True)
    thread.start()
    outcomes: Counter[str] = Counter()
    give_up = time.monotonic() + 20
    try:
        while not stolen and time.monotonic() < give_up:
            outcomes[kind(example.run(1, 7))] += 1
    finally:
        done.set()
        thread.join(5)
    assert set(outcomes) == {"exited early with 3"}
    if path == "public":  # the fast path never leaves it there long enough to be stolen, most runs
        assert stolen and isinstance(stolen[0], ExitCode)


# One engine, one compiled module, a store per request ---------------------------------------------


def test_many_examples_share_one_engine_and_one_compiled_module() -> None:
    engine = interruptible_engine()
    module = wasmtime.Module(engine, GUEST_WAT)
    examples = [Example(module, engine=engine, exit_code=code) for code in (1, 2, 3)]
    assert all(example.engine is engine and example.module is module for example in examples)
    assert [example.run(1, 7) for example in examples] == [ExitedEarly(ExitCode(code)) for code in (1, 2, 3)]
    # The tutorial's own guest is compiled once per engine, too.
    assert Example(engine=engine).module is Example(engine=engine).module


def test_a_shared_engine_must_be_one_the_guard_can_stop() -> None:
    with pytest.raises(NotInterruptible):
        Example(engine=wasmtime.Engine())
    with pytest.raises(TypeError, match="^engine must be a wasmtime.Engine, got str$"):
        Example(engine="engine")  # type: ignore[arg-type]


def test_a_module_compiled_on_another_engine_is_a_clear_module_error() -> None:
    module = wasmtime.Module(interruptible_engine(), GUEST_WAT)
    with pytest.raises(ModuleError, match=r"^cannot instantiate the module: .*engine given as engine="):
        Example(module, engine=interruptible_engine())


def test_stopping_one_example_leaves_its_neighbours_on_the_same_engine_running() -> None:
    engine = interruptible_engine()
    module = wasmtime.Module(engine, LOOPING_WAT)  # loops while x is 0; returns at once otherwise
    stopped, neighbour = Example(module, engine=engine), Example(module, engine=engine)
    outcomes: dict[str, object] = {}

    def run(name: str, example: Example, timeout: float) -> None:
        outcomes[name] = example.run(0, 0, timeout=timeout)

    threads = [
        threading.Thread(target=run, args=("stopped", stopped, 30)),
        threading.Thread(target=run, args=("neighbour", neighbour, 1.5)),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while not (stopped.busy and neighbour.busy) and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.1)
    stopped.stop()
    threads[0].join(10)
    assert isinstance(outcomes["stopped"], Interrupted) and outcomes["stopped"].reason == "stop"
    assert neighbour.busy  # still running: the stop was not its
    threads[1].join(10)
    # It ran to its own deadline, not cut short by its neighbour's stop.
    assert isinstance(outcomes["neighbour"], Interrupted) and outcomes["neighbour"].reason == "deadline"


def test_a_stop_pressed_while_a_call_is_announced_is_kept_for_that_call_only() -> None:
    engine = interruptible_engine()
    module = wasmtime.Module(engine, LOOPING_WAT)
    announced, other = Example(module, engine=engine), Example(module, engine=engine, behaviour="return")
    announced._announce()
    announced.stop()
    assert other.run(1, 7, timeout=5) == Returned(8)  # the other Example's call is not the announced one
    started = time.monotonic()
    outcome = announced.run(0, 0, timeout=5)
    assert isinstance(outcome, Interrupted) and outcome.reason == "stop"
    assert time.monotonic() - started < 1
    assert announced.run(1, 7) == ExitedEarly(ExitCode(1))  # kept for one call, not for ever


@pytest.mark.parametrize("path", ["fast", "public"])
def test_a_trap_given_another_threads_exception_by_wasmtime_py_is_still_a_trap(monkeypatch, path: str) -> None:
    # Another thread's host exception, left in wasmtime-py's shared variable as this call traps.
    from wasmtime import _func

    if path == "public":
        public_only(monkeypatch)
    example = Example(UNREACHABLE_WAT)
    example.run(1, 7)  # the first call of a process may take the public path: past it
    theirs = ExitCode(9)
    monkeypatch.setattr(_func, "LAST_EXCEPTION", theirs)
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, wasmtime.Trap), outcome
    if path == "fast":  # wasm's own trap, and the other thread's exception left where its caller looks
        assert outcome.error.trap_code == wasmtime.TrapCode.UNREACHABLE
        assert _func.LAST_EXCEPTION is theirs
    else:  # Func.__call__ raised theirs in place of the trap: a trap still, saying what was lost
        assert outcome.error.message == host_record.LOST_TRAP


@pytest.mark.parametrize("path", ["fast", "public"])
def test_an_exit_leaves_nothing_of_ours_in_wasmtime_pys_shared_variable(monkeypatch, path: str) -> None:
    from wasmtime import _func

    if path == "public":
        public_only(monkeypatch)
    example = Example(exit_code=4)
    for _ in range(3):
        assert example.run(1, 7) == ExitedEarly(ExitCode(4))
        assert _func.LAST_EXCEPTION is None  # no other call can be handed our exit code


@pytest.mark.parametrize("path", ["fast", "public"])
def test_an_example_run_inside_another_examples_host_function_keeps_its_outcome_to_itself(
    monkeypatch, path: str
) -> None:
    if path == "public":
        public_only(monkeypatch)
    inner = Example(exit_code=2)
    inner_outcomes: list[object] = []

    def tick() -> None:  # the outer guest's env.early_exit: it runs the inner guest, then lets the outer go on
        inner_outcomes.append(inner.run(1, 7))

    outer = Example(GUEST_WAT, imports={"env": {"early_exit": tick}})
    for _ in range(3):
        assert outer.run(1, 7) == Returned(8)  # the inner call's ExitCode(2) is not the outer call's
    assert inner_outcomes == [ExitedEarly(ExitCode(2))] * 3

    def tick_then_exit() -> None:
        inner_outcomes.append(inner.run(1, 7))
        raise ExitCode(5)

    outer._hosts[("env", "early_exit")].function = tick_then_exit
    assert outer.run(1, 7) == ExitedEarly(ExitCode(5))
    assert inner_outcomes[-1] == ExitedEarly(ExitCode(2))


def test_an_idle_example_on_a_shared_engine_stops_nobody_elses_call() -> None:
    from earlyexit_tutorial import guard

    engine = interruptible_engine()
    module = wasmtime.Module(engine, LOOPING_WAT)
    idle, busy = Example(module, engine=engine), Example(module, engine=engine)
    store = busy.store
    reasons: list[object] = []

    def run() -> None:
        with pytest.raises(wasmtime.Trap), guard(store, timeout=1.0) as call:
            busy.typed_run(store, 0, 0)  # loops until its own deadline
        reasons.append(call.reason)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    idle.stop()  # nothing of its own runs: it must not stop the guard() call on its neighbour's store
    thread.join(10)
    assert reasons == ["deadline"]
