"""The learner's own host functions: Example(module, imports={"env": {"tick": tick}})."""

from __future__ import annotations

import _thread
import gc
import time
import weakref

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    Interrupted,
    ModuleError,
    OtherError,
    Returned,
    interruptible_config,
    run_example,
)

# Calls env.tick until the host stops it; returns how many calls it made if tick ever returns 0.
TICKING_WAT = """\
(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (local $n i32)
    (loop $again
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $again (call $tick (local.get $n))))
    (local.get $n))
)
"""

# Imports no early_exit: run returns double(x) + y.
DOUBLING_WAT = """\
(module
  (import "env" "double" (func $double (param i32) (result i32)))
  (func (export "run") (param i32 i32) (result i32)
    (i32.add (call $double (local.get 0)) (local.get 1)))
)
"""

TWO_IMPORTS_WAT = """\
(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (import "env" "tock" (func $tock (param i64 f64)))
  (func (export "run") (param i32 i32) (result i32) (call $tick (local.get 0))))
"""

MEMORY_IMPORT_WAT = """\
(module
  (import "env" "memory" (memory 1))
  (func (export "run") (param i32 i32) (result i32) (i32.const 0)))
"""


def test_a_call_budget_ends_the_call_early_with_the_code_the_host_function_raised() -> None:
    seen: list[int] = []

    def tick(n: int) -> int:
        seen.append(n)
        if len(seen) == 3:
            raise ExitCode(42)
        return 1  # go on

    outcome = Example(TICKING_WAT, imports={"env": {"tick": tick}}).run(1, 7)
    assert outcome == ExitedEarly(ExitCode(42))
    assert seen == [1, 2, 3]  # three calls, with the wasm argument as a Python int


def test_a_host_function_returns_its_result_to_the_guest() -> None:
    outcome = Example(TICKING_WAT, imports={"env": {"tick": lambda n: int(n < 5)}}).run(1, 7)
    assert outcome == Returned(5)


def test_a_guest_need_not_import_early_exit() -> None:
    example = Example(DOUBLING_WAT, imports={"env": {"double": lambda v: 2 * v}})
    assert example.run(20, 2) == Returned(42)
    assert run_example(3, 4, module=DOUBLING_WAT, imports={"env": {"double": lambda v: 2 * v}}) == Returned(10)


def test_the_learner_may_override_early_exit() -> None:
    calls: list[str] = []

    def my_early_exit() -> None:
        calls.append("mine")
        raise ExitCode(7)

    # The tutorial's guest, the tutorial's behaviour asked for: the learner's function wins.
    example = Example(behaviour="exit", exit_code=1, imports={"env": {"early_exit": my_early_exit}})
    assert example.run(1, 7) == ExitedEarly(ExitCode(7))
    assert calls == ["mine"]
    keep_going = Example(GUEST_WAT, imports={"env": {"early_exit": lambda: None}})
    assert keep_going.run(1, 7) == Returned(8)


def test_a_missing_import_is_one_clear_module_error_naming_it_and_its_type() -> None:
    with pytest.raises(ModuleError) as info:
        Example(TWO_IMPORTS_WAT, imports={"env": {"tick": lambda n: n}})
    message = str(info.value)
    assert message.startswith("the given WAT text imports env.tock, which the tutorial's host does not provide")
    assert "(i64, f64) -> ()" in message and "\n" not in message


def test_a_typo_in_an_offered_name_is_named_with_the_missing_import() -> None:
    with pytest.raises(
        ModuleError, match=r"imports env\.tick, .*imports= offers env\.tik, which the module does not import"
    ):
        Example(TICKING_WAT, imports={"env": {"tik": lambda n: 0}})


def test_a_wasmtime_func_is_refused_with_both_types_and_the_process_survives() -> None:
    # Its own type cannot be read without the store it was made in; handing it
    # the Example's store would abort the process, so it never gets that far.
    store = wasmtime.Store()
    func = wasmtime.Func(store, wasmtime.FuncType([], []), lambda: None)
    with pytest.raises(ModuleError) as info:
        Example(TICKING_WAT, imports={"env": {"tick": func}})
    message = str(info.value)
    assert "imports env.tick as (i32) -> i32" in message and "wasmtime.Func" in message
    assert Example(TICKING_WAT, imports={"env": {"tick": lambda n: 0}}).run(1, 7) == Returned(1)  # still alive


def test_a_function_that_cannot_take_the_declared_arguments_is_a_mistyped_import() -> None:
    def tick() -> int:
        return 0

    with pytest.raises(
        ModuleError,
        match=r"imports env\.tick as \(i32\) -> i32, "
        r"but the function offered for it, tick\(\), cannot take 1 argument$",
    ):
        Example(TICKING_WAT, imports={"env": {"tick": tick}})


def test_a_function_offered_for_a_memory_import_is_a_mistyped_import() -> None:
    with pytest.raises(
        ModuleError, match=r"imports env\.memory as a memory, not a function, but imports= offers a function for it"
    ):
        Example(MEMORY_IMPORT_WAT, imports={"env": {"memory": lambda: None}})


def test_an_offered_function_the_module_does_not_import_is_refused() -> None:
    # Refused, not ignored: a host function that never runs, with nothing to say so,
    # would leave the learner puzzling over why their counter stays at zero.
    with pytest.raises(
        ModuleError,
        match=r"^imports= offers env\.tock, which the given WAT text does not import \(it imports env\.double\)$",
    ):
        Example(DOUBLING_WAT, imports={"env": {"double": lambda v: v, "tock": lambda: None}})


@pytest.mark.parametrize(
    "imports, message",
    [
        ([("env", "tick")], "^imports must be a dict"),
        ({"env": [lambda n: 0]}, r"^imports\['env'\] must be a dict of names to functions"),
        ({"env": {"tick": 5}}, r"^imports\['env'\]\['tick'\] must be a function, got int$"),
        ({1: {"tick": lambda n: 0}}, "^imports: a module name must be a str, got int 1$"),
    ],
    ids=["list", "names-list", "not-callable", "module-name"],
)
def test_an_imports_argument_of_the_wrong_shape_is_a_type_error(imports: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Example(TICKING_WAT, imports=imports)  # type: ignore[arg-type]


def test_a_ctrl_c_in_a_learners_host_function_leaves_it_at_once(python_sigint_handler: None) -> None:
    # The function runs under the guard: the Ctrl-C raises inside it, so its long sleep ends now.
    def tick(n: int) -> int:
        _thread.interrupt_main()
        time.sleep(5)
        return 1

    example = Example(TICKING_WAT, imports={"env": {"tick": tick}})
    started = time.monotonic()
    outcome = example.run(1, 7, timeout=30)
    assert isinstance(outcome, Interrupted) and outcome.reason == "ctrl-c"
    assert time.monotonic() - started < 2
    assert Example(TICKING_WAT, imports={"env": {"tick": lambda n: 0}}).run(1, 7) == Returned(1)


def test_an_example_whose_host_function_refers_to_it_is_collected() -> None:
    def tick(n: int) -> int:
        # The Example itself, from its own host function: bound below, and deleted
        # further down so that only a weak reference is left to it.
        return int(example.run is None)  # noqa: F821 - ruff sees the later del, not the call before it

    example = Example(TICKING_WAT, imports={"env": {"tick": tick}})
    assert example.run(1, 7) == Returned(1)
    ref = weakref.ref(example)
    del example
    gc.collect()
    assert ref() is None


def test_a_wasmtime_module_is_taken_when_the_guard_can_stop_it() -> None:
    module = wasmtime.Module(wasmtime.Engine(interruptible_config()), GUEST_WAT)
    assert Example(module).run(1, 7) == ExitedEarly(ExitCode(1))
    plain = wasmtime.Module(wasmtime.Engine(), GUEST_WAT)
    with pytest.raises(
        ModuleError, match=r"^the given wasmtime\.Module cannot run under the guard: .*interruptible_config"
    ):
        Example(plain)


GROWING_WAT = """\
(module
  (memory 1)
  (func (export "run") (param i32 i32) (result i32)
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (memory.size)))
"""


def test_the_limits_example_in_the_docstring_caps_memory_at_one_mib() -> None:
    assert 'limits={"memory_size": 2**20}' in (Example.__doc__ or "")
    assert Example(GROWING_WAT, limits={"memory_size": 2**20}).run(1, 7) == Returned(16)  # 16 pages of 64 KiB


def test_a_start_function_stopped_by_a_learners_function_does_not_blame_early_exit() -> None:
    def tick() -> None:
        raise ExitCode(4)

    wat = '(module (import "env" "tick" (func $tick)) (func $start call $tick) (start $start)'
    wat += ' (func (export "run") (param i32 i32) (result i32) (local.get 0)))'
    with pytest.raises(ModuleError) as refused:
        Example(wat, imports={"env": {"tick": tick}})
    assert str(refused.value) == (
        "cannot instantiate the module: its start function called a host function, which exited with code 4"
    )


# A host function's result, checked against its wasm type -------------------------------------------

RESULTS_WAT = """\
(module
  (import "env" "i32" (func $i32 (result i32)))
  (import "env" "i64" (func $i64 (result i64)))
  (import "env" "f64" (func $f64 (result f64)))
  (import "env" "pair" (func $pair (result i32 i32)))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (if (result i32) (i32.eq (local.get $x) (i32.const 1)) (then (call $i32))
      (else (if (result i32) (i32.eq (local.get $x) (i32.const 2)) (then (i32.wrap_i64 (call $i64)))
        (else (if (result i32) (i32.eq (local.get $x) (i32.const 3)) (then (i32.trunc_f64_s (call $f64)))
          (else (i32.add (call $pair)))))))))
)
"""


def results_example(i32: object = 0, i64: object = 0, f64: object = 0.0, pair: object = (0, 0)) -> Example:
    """An Example whose four host functions return the given values: run(1, 0) calls env.i32, run(2, 0) env.i64..."""
    funcs = {"i32": lambda: i32, "i64": lambda: i64, "f64": lambda: f64, "pair": lambda: pair}
    return Example(RESULTS_WAT, imports={"env": funcs})


@pytest.mark.parametrize(
    "x, values, error, message",
    [
        (
            1,
            {"i32": 2**31},
            ValueError,
            "host function env.i32 returned 2147483648, outside the i32 range "
            "-2147483648..2147483647 (for an unsigned value above 2147483647, return value - 2**32)",
        ),
        (1, {"i32": 0xFFFFFFFF}, ValueError, "host function env.i32 returned 4294967295, outside the i32 range"),
        (1, {"i32": 10**30}, ValueError, "host function env.i32 returned 1000000000000000000000000000000, outside"),
        (1, {"i32": 2**1000}, ValueError, "host function env.i32 returned a number of about 302 digits, outside"),
        (1, {"i32": True}, TypeError, "host function env.i32 returned True, expected an int for its i32 result"),
        (1, {"i32": 1.5}, TypeError, "host function env.i32 returned 1.5, expected an int for its i32 result"),
        (
            2,
            {"i64": 2**64 + 7},
            ValueError,
            "host function env.i64 returned 18446744073709551623, outside the i64 "
            "range -9223372036854775808..9223372036854775807 (for an unsigned value above 9223372036854775807, "
            "return value - 2**64)",
        ),
        (3, {"f64": "5"}, TypeError, "host function env.f64 returned '5', expected a float or an int for its f64"),
        (3, {"f64": 10**400}, ValueError, "host function env.f64 returned a number of about 401 digits, too large"),
        (4, {"pair": 5}, TypeError, r"host function env.pair returned 5, expected 2 values (i32, i32)"),
        (4, {"pair": (1, 2, 3)}, TypeError, r"host function env.pair returned (1, 2, 3), expected 2 values"),
        (4, {"pair": (1, 2**31)}, ValueError, "host function env.pair returned 2147483648, outside the i32 range"),
    ],
    ids=[
        "2**31",
        "masked",
        "10**30",
        "2**1000",
        "True",
        "float-for-i32",
        "i64",
        "str-for-f64",
        "huge-for-f64",
        "int-for-pair",
        "three-for-pair",
        "pair-out-of-range",
    ],
)
def test_a_host_result_that_does_not_fit_its_wasm_type_is_an_other_error_naming_it(
    x: int, values: dict, error: type, message: str
) -> None:
    outcome = results_example(**values).run(x, 0)
    assert isinstance(outcome, OtherError) and type(outcome.error) is error, outcome
    assert str(outcome.error).startswith(message)
    assert "\n" not in str(outcome.error) and len(str(outcome.error)) < 300


def test_host_results_that_fit_reach_the_guest() -> None:
    assert results_example(i32=-(2**31)).run(1, 0) == Returned(-(2**31))
    assert results_example(i32=0xFFFFFFFF - 2**32).run(1, 0) == Returned(-1)  # unsigned, the way the message says
    assert results_example(i64=2**63 - 1).run(2, 0) == Returned(-1)  # wrapped to i32 by the guest itself
    assert results_example(f64=5).run(3, 0) == Returned(5)  # an int is a fine f64
    assert results_example(f64=7.9).run(3, 0) == Returned(7)
    assert results_example(pair=[20, 22]).run(4, 0) == Returned(42)  # a list does as well as a tuple


@pytest.mark.parametrize("error", [SystemExit(3), GeneratorExit(), KeyboardInterrupt()], ids=lambda e: type(e).__name__)
def test_a_base_exception_from_a_learners_host_function_leaves_run_as_it_came(error: BaseException) -> None:
    # KeyboardInterrupt too, raised by the host's own code with no Ctrl-C: as Python would raise it.
    def tick(n: int) -> int:
        raise error

    example = Example(TICKING_WAT, imports={"env": {"tick": tick}})
    with pytest.raises(type(error)) as caught:
        example.run(1, 7)
    assert caught.value is error
    example._hosts[("env", "tick")].function = lambda n: 0
    assert example.run(1, 7) == Returned(1)  # the Example is still usable
