"""The typed call path gives the same answers as Func.__call__, only faster."""

from __future__ import annotations

import threading

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from earlyexit_tutorial import (
    I32_MAX,
    I32_MIN,
    Example,
    ExitCode,
    Interrupted,
    TypedRun,
    compile_guest,
    define_env,
    typed_run,
)
from earlyexit_tutorial._support import _fastcall
from earlyexit_tutorial.guide import typed

from .helpers import wrap_i32

# Same import and export as the tutorial's guest; the body after the call is
# chosen per test to trap in a given way.
TRAP_WATS = {
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "(drop (i32.div_s (local.get 0) (i32.const 0))) i32.const 0",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "(drop (i32.div_s (i32.const -2147483648) (i32.const -1))) i32.const 0",
}

EDGES = [I32_MIN, I32_MIN + 1, -7, -1, 0, 1, 7, I32_MAX - 1, I32_MAX]

# The suite runs on every wasmtime major pyproject.toml allows (make test-oldest):
# the fast path is set up only on the tested ones, the public call everywhere else.
INSTALLED = _fastcall.wasmtime_version()
FAST_PATH = _fastcall.version_supported(INSTALLED)


class Guest:
    """One instance whose host function is whatever `self.host` is at call time."""

    def __init__(self, wat: str | None = None) -> None:
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        self.host = lambda: None
        self.host_calls = 0
        define_env(linker, self.store, self._host)
        module = compile_guest(self.engine) if wat is None else wasmtime.Module(self.engine, wat)
        self.instance = linker.instantiate(self.store, module)
        self.run = typed_run(self.instance, self.store)
        self.func = self.run.func

    def _host(self) -> None:
        self.host_calls += 1
        self.host()


def trapping_wat(body: str) -> str:
    return f"""(module
      (import "env" "early_exit" (func $early_exit))
      (func (export "run") (param i32 i32) (result i32) call $early_exit {body}))"""


@pytest.fixture
def guest() -> Guest:
    return warm(Guest())


def warm(g: Guest) -> Guest:
    # A first call may take the public path (the first one in a process does); the fast one is set up after.
    g.run(g.store, 0, 0)
    g.run(g.store, 0, 0)
    return g


def test_fast_path_is_used_exactly_on_the_tested_majors(guest: Guest) -> None:
    fast = getattr(guest.run._call, "__qualname__", "").startswith("_make_i32_call.")
    assert fast is FAST_PATH, f"wasmtime {INSTALLED}"
    assert guest.run.public is not FAST_PATH
    assert (_fastcall.make_fast_i32_call(guest.func) is not None) is FAST_PATH
    if not FAST_PATH:
        assert guest.run._call == guest.func  # the public Func.__call__


@pytest.mark.parametrize("x", EDGES)
@pytest.mark.parametrize("y", EDGES)
def test_edge_values_match_func_call(guest: Guest, x: int, y: int) -> None:
    expected = guest.func(guest.store, x, y)
    assert guest.run(guest.store, x, y) == expected == wrap_i32(x + y)


@settings(max_examples=300, deadline=None)
@given(st.integers(I32_MIN, I32_MAX), st.integers(I32_MIN, I32_MAX))
def test_many_values_match_func_call(x: int, y: int) -> None:
    g = _shared_guest()
    assert g.run(g.store, x, y) == g.func(g.store, x, y) == wrap_i32(x + y)


_guest: list[Guest] = []


def _shared_guest() -> Guest:
    # Hypothesis runs a test many times; one instance for all of them.
    if not _guest:
        _guest.append(warm(Guest()))
    return _guest[0]


def test_exit_code_comes_back_as_the_same_object(guest: Guest) -> None:
    exit_code = ExitCode(42)

    def host() -> None:
        raise exit_code

    guest.host = host
    for _ in range(3):  # and the buffers go back to the pool each time
        with pytest.raises(ExitCode) as caught:
            guest.run(guest.store, 1, 7)
        assert caught.value is exit_code
    guest.host = lambda: None
    assert guest.run(guest.store, 1, 7) == 8


def test_base_exceptions_from_the_host_come_back_as_themselves(guest: Guest) -> None:
    class Stop(BaseException):
        pass

    stop = Stop()

    def host() -> None:
        raise stop

    guest.host = host
    with pytest.raises(Stop) as caught:
        guest.run(guest.store, 1, 7)
    assert caught.value is stop


@pytest.mark.parametrize("code", list(TRAP_WATS))
def test_traps_come_back_as_trap_with_their_code(code: wasmtime.TrapCode) -> None:
    g = Guest(trapping_wat(TRAP_WATS[code]))
    with pytest.raises(wasmtime.Trap) as public:
        g.func(g.store, 1, 7)
    for _ in range(3):  # a first call (perhaps the public path), then the fast path
        with pytest.raises(wasmtime.Trap) as caught:
            g.run(g.store, 1, 7)
        assert caught.value.trap_code == public.value.trap_code == code
    assert (g.run._call is not g.func) is FAST_PATH


@pytest.mark.skipif(not FAST_PATH, reason=f"no fast path on wasmtime {INSTALLED}, an untested major")
def test_epoch_interrupt_through_the_fast_path(endless_wat_file) -> None:
    example = Example(endless_wat_file, behaviour="return")
    example.typed_run._call = _fastcall.make_fast_i32_call(example.typed_run.func)
    outcome = example.run(1, 7, timeout=0.05)
    assert isinstance(outcome, Interrupted) and outcome.reason == "deadline"
    assert outcome.error.trap_code == wasmtime.TrapCode.INTERRUPT


def test_host_may_call_run_again(guest: Guest) -> None:
    inner: list[int] = []
    depth = [0]

    def host() -> None:
        if depth[0] == 0:  # one level of re-entry, on the same store and thread
            depth[0] += 1
            inner.append(guest.run(guest.store, 100, 200))

    guest.host = host
    assert guest.run(guest.store, 1, 7) == 8
    assert inner == [300]


def test_separate_instances_in_threads() -> None:
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        g = Guest()
        try:
            for i in range(2000):
                assert g.run(g.store, i, offset) == i + offset
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k * 10_000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("state", ["first call", "fast path", "fallback"])
@pytest.mark.parametrize(
    "x, y, error",
    [
        (2**31, 0, ValueError),
        (0, I32_MIN - 1, ValueError),
        (2**64, 0, ValueError),
        (True, 0, TypeError),
        (0, 1.0, TypeError),
        ("1", 0, TypeError),
    ],
)
def test_out_of_range_ints_are_refused(monkeypatch, state: str, x, y, error) -> None:
    if state == "fallback":
        monkeypatch.setattr(typed, "make_fast_i32_call", lambda func: None)
    g = Guest() if state == "first call" else warm(Guest())
    calls = g.host_calls
    with pytest.raises(error):
        g.run(g.store, x, y)
    assert g.host_calls == calls  # refused before the guest ran


def assert_an_exit_code_comes_through_as_itself(g: Guest, code: int) -> None:
    """On the public call path too, the host's ExitCode object comes back out of the guest."""
    exit_code = ExitCode(code)

    def host() -> None:
        raise exit_code

    g.host = host
    with pytest.raises(ExitCode) as caught:
        g.run(g.store, 1, 7)
    assert caught.value is exit_code


def test_fallback_when_the_fast_path_is_disabled(monkeypatch) -> None:
    monkeypatch.setattr(typed, "make_fast_i32_call", lambda func: None)
    g = Guest()
    for x, y in [(1, 7), (I32_MAX, 1), (I32_MIN, -1)]:
        assert g.run(g.store, x, y) == wrap_i32(x + y)
    assert g.run._call == g.func  # the public Func.__call__
    assert_an_exit_code_comes_through_as_itself(g, 3)


@pytest.mark.parametrize("version", ["49.0.0", "51.0.0", None, "garbage"])
def test_untested_wasmtime_versions_get_no_fast_path(monkeypatch, version) -> None:
    monkeypatch.setattr(_fastcall, "wasmtime_version", lambda: version)
    g = Guest()
    assert _fastcall.make_fast_i32_call(g.func) is None
    assert g.run(g.store, 1, 7) == 8
    assert g.run(g.store, 2, 7) == 9
    assert g.run._call == g.func


def test_an_unknown_newer_wasmtime_takes_the_public_call(monkeypatch) -> None:
    # Through the real version lookup, as a wasmtime released after this package would be seen.
    import importlib.metadata

    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "51.0.0" if name == "wasmtime" else real_version(name)
    )
    monkeypatch.setattr(_fastcall, "_dist_info_version", lambda folder: None)  # the thorough way, then
    _fastcall.wasmtime_version.cache_clear()
    try:
        assert _fastcall.wasmtime_version() == "51.0.0"
        g = Guest()
        for x, y in [(1, 7), (2, 7), (I32_MAX, 1)]:  # past the call that would set up the fast path
            assert g.run(g.store, x, y) == wrap_i32(x + y)
        assert g.run._call == g.func
        assert_an_exit_code_comes_through_as_itself(g, 5)
    finally:
        _fastcall.wasmtime_version.cache_clear()


def test_the_version_is_read_from_the_one_dist_info_folder_beside_the_package(tmp_path) -> None:
    import importlib.metadata

    (tmp_path / "wasmtime").mkdir()
    assert _fastcall._dist_info_version(str(tmp_path)) is None
    (tmp_path / "wasmtime-51.0.2.dist-info").mkdir()
    (tmp_path / "wasmtime_other-1.0.dist-info").mkdir()
    assert _fastcall._dist_info_version(str(tmp_path)) == "51.0.2"
    (tmp_path / "wasmtime-50.0.0.dist-info").mkdir()  # two installs: this way cannot tell which is imported
    assert _fastcall._dist_info_version(str(tmp_path)) is None
    assert _fastcall._dist_info_version(str(tmp_path / "missing")) is None
    _fastcall.wasmtime_version.cache_clear()
    try:
        assert _fastcall.wasmtime_version() == importlib.metadata.version("wasmtime")
    finally:
        _fastcall.wasmtime_version.cache_clear()


def test_missing_private_pieces_get_no_fast_path(monkeypatch) -> None:
    monkeypatch.setattr(_fastcall, "_private_parts", lambda: None)
    g = Guest()
    assert _fastcall.make_fast_i32_call(g.func) is None
    assert isinstance(g.run, TypedRun) and g.run(g.store, 1, 7) == 8


@pytest.mark.parametrize("version, ok", [("50.0.1", True), ("50.1.0rc1", True), ("5.0.0", False), ("500.0", False)])
def test_version_supported(version: str, ok: bool) -> None:
    assert _fastcall.version_supported(version) is ok


@pytest.mark.skipif(not FAST_PATH, reason=f"no fast path on wasmtime {INSTALLED}, an untested major")
def test_a_trap_leaves_the_fast_paths_buffers_ready_for_the_next_call() -> None:
    # Traps when x is 0, adds otherwise: the trap's pointer is handed over, the buffer's set back.
    g = Guest(trapping_wat("(if (i32.eqz (local.get 0)) (then unreachable)) (i32.add (local.get 0) (local.get 1))"))
    g.run(g.store, 1, 1)  # the first call may take the public path
    for _ in range(3):
        with pytest.raises(wasmtime.Trap) as caught:
            g.run(g.store, 0, 7)
        assert caught.value.trap_code == wasmtime.TrapCode.UNREACHABLE
        assert g.run(g.store, 1, 7) == 8
    assert not g.run.public


@pytest.mark.skipif(not FAST_PATH, reason=f"no fast path on wasmtime {INSTALLED}, an untested major")
def test_the_own_hosts_call_raises_what_wasm_reported_and_leaves_the_variable_to_its_caller() -> None:
    from wasmtime import _func

    g = Guest()
    exit_code = ExitCode(6)

    def host() -> None:
        raise exit_code

    g.host = host
    call = _fastcall.make_own_hosts_i32_call(g.func)
    assert call is not None
    with pytest.raises(wasmtime.WasmtimeError) as caught:
        call(g.store, 1, 7)
    assert not isinstance(caught.value, wasmtime.Trap)
    assert _func.LAST_EXCEPTION is exit_code  # left there: the caller knows it was its own
    _fastcall.forget_host_exception(ExitCode(6))  # an equal one, not the same: not ours to take
    assert _func.LAST_EXCEPTION is exit_code
    _fastcall.forget_host_exception(exit_code)
    assert _func.LAST_EXCEPTION is None


def test_no_own_hosts_call_without_the_fast_path(monkeypatch, guest: Guest) -> None:
    monkeypatch.setattr(_fastcall, "wasmtime_version", lambda: "51.0.0")
    assert _fastcall.make_own_hosts_i32_call(guest.func) is None


def test_an_export_is_found_without_reading_every_export_one_by_one(monkeypatch) -> None:
    # wasmtime-py's instance.exports(store) reads export i by index, each read walking the list:
    # quadratic (8,000 exports: seconds). typed_export never goes through it.
    funcs = "".join(f'(func (export "f{i}") (result i32) i32.const {i})' for i in range(300))
    wat = f'(module (memory (export "mem") 1) {funcs} (func (export "run") (param i32 i32) (result i32) local.get 0))'
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), [])
    monkeypatch.setattr(wasmtime.Instance, "exports", lambda self, store: pytest.fail("read every export"))
    assert typed.typed_export(instance, store, "run", (("i32", "i32"), ("i32",)))(store, 5, 0) == 5
    assert typed.typed_export(instance, store, "f299", ((), ("i32",)))(store) == 299
    with pytest.raises(LookupError, match="does not export `nope`"):
        typed.typed_export(instance, store, "nope", ((), ()))
    with pytest.raises(typed.SignatureError, match="export `mem` is a memory"):
        typed.typed_export(instance, store, "mem", ((), ()))


@pytest.mark.skipif(not FAST_PATH, reason=f"no fast path on wasmtime {INSTALLED}, an untested major")
def test_once_the_version_is_known_a_typed_run_is_fast_from_its_first_call() -> None:
    # A server makes an Example per request and calls it once: that call must not be the slow one.
    _fastcall.wasmtime_version()
    g = Guest()
    assert g.run(g.store, 1, 7) == 8
    assert not g.run.public


def test_the_shape_check_reads_the_type_of_run_only(monkeypatch) -> None:
    # Reading an export's type costs a few microseconds in wasmtime-py: at 8,000 exports, more
    # than the rest of an Example. The names are read to find `run`; the types of the others never.
    from earlyexit_tutorial.guide.guest import check_shape

    funcs = "".join(f'(func (export "f{i}") (result i32) i32.const {i})' for i in range(300))
    module = wasmtime.Module(
        wasmtime.Engine(),
        f'(module (import "env" "early_exit" (func)) {funcs} '
        '(func (export "run") (param i32 i32) (result i32) local.get 0))',
    )
    read: list[str] = []
    real = wasmtime.ExportType.type
    monkeypatch.setattr(wasmtime.ExportType, "type", property(lambda self: read.append(self.name) or real.fget(self)))
    check_shape(module, "the module")
    assert read == ["run"]
