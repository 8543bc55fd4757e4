"""The guide's four steps through the package: error type, host function, typed run, outcomes."""

from __future__ import annotations

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    HostFailure,
    ModuleError,
    OtherError,
    Returned,
    SignatureError,
    call_run,
    compile_guest,
    define_env,
    early_exit,
    load_module,
    run_example,
    typed_export,
    typed_run,
)
from earlyexit_tutorial.guide.guest import check_shape

from .conftest import OWN_WAT

# 1. Setting up ---------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 255, 2**31, 2**32 - 1])
def test_exit_code_prints_its_number_and_compares_by_code(code):
    assert str(ExitCode(code)) == str(code)
    assert ExitCode(code) == ExitCode(code)
    assert ExitCode(code).code == code
    assert repr(ExitCode(code)) == f"ExitCode({code})"
    assert len({ExitCode(code), ExitCode(code)}) == 1


def test_exit_codes_with_different_codes_differ():
    assert ExitCode(1) != ExitCode(2)
    assert ExitCode(1) != 1


@pytest.mark.parametrize("code", [-1, 2**32, -(2**40)])
def test_exit_code_out_of_u32_is_a_clear_value_error(code):
    with pytest.raises(ValueError, match=rf"exit code must be in 0\.\.4294967295, got {code}"):
        ExitCode(code)


@pytest.mark.parametrize("code", [1.0, "1", None, True])
def test_exit_code_must_be_an_integer(code):
    with pytest.raises(TypeError, match="exit code must be an integer"):
        ExitCode(code)


# 2. The host function and the guest -----------------------------------------------


def test_early_exit_raises_the_configured_code():
    host = early_exit(42)
    with pytest.raises(ExitCode) as caught:
        host()
    assert caught.value.code == 42


def test_early_exit_rejects_a_bad_code_before_any_wasm_runs():
    with pytest.raises(ValueError):
        early_exit(-5)


def test_guest_imports_env_early_exit_and_exports_run():
    module = compile_guest(wasmtime.Engine())
    assert [(i.module, i.name) for i in module.imports] == [("env", "early_exit")]
    assert [e.name for e in module.exports] == ["run"]
    check_shape(module)  # does not raise


def test_guest_is_compiled_once_per_engine():
    engine = wasmtime.Engine()
    assert compile_guest(engine) is compile_guest(engine)
    assert compile_guest(wasmtime.Engine()) is not compile_guest(engine)


def _instance(host):
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    define_env(linker, store, host)
    return store, linker.instantiate(store, compile_guest(engine))


def test_the_same_exception_object_comes_back_out_of_the_guest():
    raised = ExitCode(9)

    def host():
        raise raised

    store, instance = _instance(host)
    with pytest.raises(ExitCode) as caught:
        typed_run(instance, store)(store, 1, 7)
    assert caught.value is raised


# 3. Typed run ---------------------------------------------------------------------


def test_typed_run_returns_the_sum_when_the_host_returns():
    store, instance = _instance(lambda: None)
    run = typed_run(instance, store)
    assert run(store, 1, 7) == 8
    assert run(store, 2**31 - 1, 1) == -(2**31)  # i32 arithmetic wraps inside the guest


def test_typed_export_names_both_signatures_on_mismatch():
    store, instance = _instance(lambda: None)
    with pytest.raises(SignatureError, match=r"has signature \(i32, i32\) -> i32, expected \(i64\) -> i32"):
        typed_export(instance, store, "run", (("i64",), ("i32",)))


def test_typed_export_of_a_missing_name():
    store, instance = _instance(lambda: None)
    with pytest.raises(LookupError, match="does not export `walk`"):
        typed_export(instance, store, "walk", (("i32", "i32"), ("i32",)))


@pytest.mark.parametrize("x", [2**31, -(2**31) - 1])
def test_typed_run_refuses_values_that_would_wrap(x):
    store, instance = _instance(lambda: None)
    with pytest.raises(ValueError, match="x must be in the i32 range"):
        typed_run(instance, store)(store, x, 0)


# Outcomes -------------------------------------------------------------------------


def test_call_run_sorts_the_three_arms():
    store, instance = _instance(early_exit(1))
    outcome = call_run(typed_run(instance, store), store, 1, 7)
    assert outcome == ExitedEarly(ExitCode(1))
    assert outcome.message == "Exited early with exit code: 1"

    store, instance = _instance(lambda: None)
    outcome = call_run(typed_run(instance, store), store, 1, 7)
    assert outcome == Returned(8)
    assert outcome.message == "Expected early termination with `ExitCode`, found: 8"

    boom = RuntimeError("boom")

    def host():
        raise boom

    store, instance = _instance(host)
    outcome = call_run(typed_run(instance, store), store, 1, 7)
    assert isinstance(outcome, OtherError) and outcome.error is boom
    assert outcome.message == "Unknown error `boom` found. expected `ExitCode`"


def test_a_trap_is_another_error_with_a_one_line_message():
    example = Example('(module (func (export "run") (param i32 i32) (result i32) unreachable))')
    outcome = example.run(1, 7)
    assert isinstance(outcome, OtherError) and isinstance(outcome.error, wasmtime.Trap)
    assert (
        outcome.message
        == "Unknown error `wasm trap: wasm `unreachable` instruction executed` found. expected `ExitCode`"
    )


@pytest.mark.parametrize(
    "behaviour, expected",
    [
        ("exit", "Exited early with exit code: 3"),
        ("return", "Expected early termination with `ExitCode`, found: 9"),
        ("error", "Unknown error `the host function failed on purpose` found. expected `ExitCode`"),
    ],
)
def test_example_for_each_host_behaviour(behaviour, expected):
    assert Example(behaviour=behaviour, exit_code=3).run(4, 5).message == expected


def test_other_error_keeps_the_original_exception():
    outcome = Example(behaviour="error").run(1, 7)
    assert isinstance(outcome.error, HostFailure)


def test_the_store_keeps_working_after_every_outcome():
    example = Example()
    for behaviour, kind in [("exit", ExitedEarly), ("error", OtherError), ("return", Returned), ("exit", ExitedEarly)]:
        example.set_host(behaviour, 5)
        assert isinstance(example.run(2, 3), kind)
    assert example.run(2, 3) == ExitedEarly(ExitCode(5))


def test_run_example_prints_progress_lines_in_order():
    lines = []
    outcome = run_example(1, 7, progress=lines.append)
    assert lines == ["Compiling module...", "Instantiating module...", "Calling `run` function..."]
    assert outcome.message == "Exited early with exit code: 1"


# The learner's own module ------------------------------------------------------------


def test_own_module_as_wat_text_file_and_wasm(own_wat_file, own_wasm_file):
    for source in (OWN_WAT, own_wat_file, str(own_wat_file), own_wasm_file, own_wasm_file.read_bytes()):
        assert Example(source).run(1, 7).message == "Exited early with exit code: 1"
        assert Example(source, behaviour="return").run(3, 4).value == 10  # 2*3 + 4


def test_own_module_shape_errors_are_clear():
    engine = wasmtime.Engine()
    with pytest.raises(ModuleError, match="does not export a function named `run`"):
        load_module(engine, '(module (import "env" "early_exit" (func)))')
    with pytest.raises(ModuleError, match=r"exports `run` as \(i32\) -> i32, expected \(i32, i32\) -> i32"):
        load_module(engine, '(module (func (export "run") (param i32) (result i32) local.get 0))')
    with pytest.raises(ModuleError, match="imports env.print, which the tutorial's host does not provide"):
        load_module(
            engine,
            '(module (import "env" "print" (func)) (func (export "run") (param i32 i32) (result i32) i32.const 0))',
        )
    with pytest.raises(ModuleError, match="at line 1, column"):
        load_module(engine, '(module (func (export "run") (oops)))')


def test_guest_wat_is_what_the_example_runs():
    assert "call $early_exit" in GUEST_WAT
    assert '(import "env" "early_exit"' in GUEST_WAT


def test_wat_read_from_a_file_as_bytes_is_shown_as_text():
    from earlyexit_tutorial.aids.source import show_wat

    shown = show_wat(OWN_WAT.encode("utf-8"))
    assert repr(shown) == OWN_WAT.rstrip()
    assert shown._repr_markdown_() == f"```wat\n{OWN_WAT.rstrip()}\n```"


def test_the_examples_typed_run_is_named_as_the_notebook_names_it():
    example = Example()
    assert isinstance(example.typed_run.func, wasmtime.Func)
    with pytest.raises(ExitCode):  # callable as run(store, x, y), outside the guard
        example.typed_run(example.store, 1, 7)
    assert not hasattr(example, "run_func")  # one name for it, the one the notebook uses
