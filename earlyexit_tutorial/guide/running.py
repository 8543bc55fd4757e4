"""Running: set up engine, store, imports and instance, then call `run`."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, cast

import wasmtime

from .._support.validation import check_i32, check_store_limits
from ..interrupting.guard import (
    DEFAULT_TIMEOUT,
    GuardedCall,
    Reason,
    Stopper,
    check_limits,
    host_call,
    interruptible_engine,
)
from .exit_code import ExitCode
from .guest import ModuleError, ModuleSource, check_shape, compile_guest, compile_module
from .host import HostBehaviour, ImportKey, define_env, import_key, make_host, offered_imports
from .outcome import OtherError, Outcome, call_run, guarded_outcome, short_error, what_it_did
from .typed import TypedRun, typed_run

# Default caps on what one guest may take, so a runaway module cannot eat the
# learner's machine: 64 MiB of linear memory, modest tables and counts.
DEFAULT_LIMITS = dict(memory_size=64 * 2**20, table_elements=10_000, instances=10, tables=10, memories=10)


class ExampleBusy(RuntimeError):
    """A call was made on an Example that is already running one."""


class StartStopped(ModuleError):
    """The module's start function was stopped: deadline, fuel budget, Stop or Ctrl-C."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


def run_guarded(guard: GuardedCall, call: Callable[[], Outcome]) -> Outcome:
    """Run `call` inside `guard` and return its outcome, told as Interrupted if the host stopped it."""
    with guard:
        try:
            outcome = call()
        except BaseException as error:  # noqa: BLE001 - e.g. KeyboardInterrupt from a host function
            outcome = OtherError(error)
    return guarded_outcome(outcome, guard)


class Example:
    """The guide's example, instantiated once and ready to call many times.

    `module` is the guest: WAT text, wasm bytes, a file path or a wasmtime.Module
    (None: the tutorial's own). It must export `run(i32, i32) -> i32`.

    `imports` offers your own host functions, by the names the guest imports:
    `imports={"env": {"tick": tick}}`. Each gets the wasm type the module declares
    for it: it is called with the wasm parameters as Python ints and floats, and
    returns the result (or None). Raise `ExitCode(n)` from any of them to end the
    call as `ExitedEarly`. `env.early_exit` is the tutorial's own (`behaviour` and
    `exit_code` choose what it does) unless you offer one; a guest need not import it.

    `limits` caps what the guest may take, as `wasmtime.Store.set_limits` does:
    `memory_size` (bytes of linear memory, per memory), `table_elements`,
    `instances`, `tables` and `memories`. Keys not given keep the tutorial's
    defaults (64 MiB of memory). Lower them to see what a guest does when a
    `memory.grow` is refused: `Example(module, limits={"memory_size": 2**20})`
    lets it grow to one MiB (16 pages), then `memory.grow` returns -1.

    `timeout` and `fuel` bound the module's start function, if it has one.
    """

    def __init__(
        self,
        module: ModuleSource | wasmtime.Module | None = None,
        *,
        behaviour: HostBehaviour | str = HostBehaviour.EXIT,
        exit_code: int = 1,
        imports: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
        limits: dict | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        fuel: int | None = None,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        # The cheap checks first, before the slow compile.
        self.host, self.behaviour, self.exit_code = _checked_host(behaviour, exit_code)
        timeout, fuel = check_limits(timeout, fuel)
        store_limits = check_store_limits(limits, DEFAULT_LIMITS)
        self._imports = offered_imports(imports)
        # Each example owns its engine: an epoch increment then stops this
        # example's guest and nobody else's.
        self.engine = interruptible_engine()
        self.stopper = Stopper(self.engine)
        progress("Compiling module...")
        if module is None:
            self.module, name = compile_guest(self.engine), "the tutorial's guest"
        else:
            self.module, name = compile_module(self.engine, module)
        check_shape(self.module, name, self._imports)
        progress("Instantiating module...")
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(**store_limits)
        self.linker = wasmtime.Linker(self.engine)
        self._define_imports()
        # The start function, if any, runs here: under the guard, like `run`.
        self.instance = self._instantiate(timeout, fuel)
        self.typed_run: TypedRun = typed_run(self.instance, self.store)
        # A store serves one thread at a time: two calls at once (a Stop panel's
        # background call and a cell, say) could crash the kernel.
        self._busy = threading.Lock()

    def _define_imports(self) -> None:
        """Give the guest each host function it imports: the learner's own, or the tutorial's early_exit."""
        # wasmtime keeps each host function until the store dies, and the store is
        # the Example's: a function holding the Example strongly would keep both
        # forever. So each one is a trampoline that reaches the Example weakly and
        # looks the function up there (the learner's own may refer to the Example).
        example = weakref.ref(self)
        defined: set[ImportKey] = set()
        for imp in self.module.imports:
            key = import_key(imp)
            if key in defined:  # a module may import one name more than once; a linker holds it once
                continue
            defined.add(key)
            if key in self._imports:
                func_type = cast(wasmtime.FuncType, imp.type)  # check_shape let through functions only
                func = wasmtime.Func(self.store, func_type, _learner_trampoline(example, key))
                self.linker.define(self.store, *key, func)
            else:  # check_shape let through only the tutorial's env.early_exit
                # It asks self.host each time, so a panel can change the behaviour without re-instantiating.
                define_env(self.linker, self.store, _host_trampoline(example))

    def _instantiate(self, timeout: float | None, fuel: int | None) -> wasmtime.Instance:
        """Instantiate the module under the guard; a start function that fails is one clear line."""
        failure: BaseException | None = None
        with GuardedCall(self.store, self.stopper, timeout=timeout, fuel=fuel) as guard:
            try:
                instance = self.linker.instantiate(self.store, self.module)
            except BaseException as error:  # a host's KeyboardInterrupt too
                failure = error
        stopped = guard.what_stopped(failure)
        reason = None if stopped is None else stopped.reason
        if failure is None:
            # A Ctrl-C counts even if the start function finished: nothing ran long
            # enough to be stopped, so it is an ordinary one. A deadline or Stop that
            # came as the start function finished stopped nothing: the instance is whole.
            if reason is Reason.KERNEL:
                raise KeyboardInterrupt
            return instance
        if reason is not None:
            why = what_it_did(reason, guard.timeout, guard.fuel)
            raise StartStopped(f"cannot instantiate the module: its start function {why}", reason) from None
        if isinstance(failure, (wasmtime.Trap, wasmtime.WasmtimeError)):
            raise ModuleError(f"cannot instantiate the module: {short_error(failure)}") from None
        # Without imports of the learner's, the only host function a start function can call is ours.
        host = "a host function" if self._imports else "env.early_exit"
        if isinstance(failure, ExitCode):
            raise ModuleError(
                f"cannot instantiate the module: its start function called {host}, which exited with code {failure}"
            ) from None
        if isinstance(failure, Exception):  # e.g. the host's HostFailure, raised inside a start function
            raise ModuleError(
                f"cannot instantiate the module: its start function called {host}, which raised "
                f"{type(failure).__name__}: {short_error(failure)}"
            ) from failure
        raise failure  # SystemExit and the like go on as they came

    def _call_host(self) -> object:
        """The guest's env.early_exit: call whatever host function is chosen now."""
        # Whatever it returns goes back to wasmtime, which rejects a value
        # from a function typed to return nothing: a clear OtherError outcome.
        return self._call_learner(self.host, ())

    def _call_learner(self, function: Callable[..., Any], args: tuple) -> Any:
        """Call a host function under the guard (a Ctrl-C in it ends the call)."""
        try:
            return host_call(lambda: function(*args))
        except BaseException as error:
            _forget_earlier_raises(error)
            raise

    def set_host(self, behaviour: HostBehaviour | str = HostBehaviour.EXIT, exit_code: int = 1) -> None:
        """Choose what the tutorial's early_exit does on the next calls (refused while a call runs)."""
        choice = _checked_host(behaviour, exit_code)
        self._hold()
        try:
            self.host, self.behaviour, self.exit_code = choice
        finally:
            self._busy.release()

    @property
    def busy(self) -> bool:
        """Whether a call on this Example is running now."""
        return self._busy.locked()

    def _hold(self) -> None:
        """Take the Example for one action (release `_busy` after it), or raise ExampleBusy if a call is running."""
        # Not a context manager: this is on every call's path, and contextlib's costs about a microsecond.
        if not self._busy.acquire(blocking=False):
            raise ExampleBusy(
                "this Example is already running a call (from a Stop panel, another thread or its own host "
                "function); wait for it to finish or stop it, then call again"
            )

    def run(
        self, x: int = 1, y: int = 7, *, timeout: float | None = DEFAULT_TIMEOUT, fuel: int | None = None
    ) -> Outcome:
        """Call the guest's run(x, y) with a deadline and an optional fuel budget."""
        x, y = check_i32("x", x), check_i32("y", y)  # refused here, not turned into an OtherError
        return self._run_checked(x, y, timeout=timeout, fuel=fuel)

    def _run_with_host(
        self,
        x: int,
        y: int,
        behaviour: HostBehaviour | str,
        exit_code: int,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        fuel: int | None = None,
    ) -> Outcome:
        """Choose what early_exit does, then call run(x, y): one step, refused whole while a call runs."""
        x, y = check_i32("x", x), check_i32("y", y)
        return self._run_checked(x, y, timeout=timeout, fuel=fuel, host=_checked_host(behaviour, exit_code))

    def _run_checked(
        self,
        x: int,
        y: int,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        fuel: int | None = None,
        host: tuple[Callable[[], None], HostBehaviour, int] | None = None,
    ) -> Outcome:
        """Call run(x, y), x and y already checked; `host`, a checked choice for early_exit, is taken first."""
        guard = GuardedCall(self.store, self.stopper, timeout=timeout, fuel=fuel)  # checks the limits
        self._hold()  # the busy check comes first: a refused call changes nothing
        try:
            if host is not None:
                self.host, self.behaviour, self.exit_code = host
            self.stopper.starting()  # a Stop pressed from now on stops this call
            return run_guarded(guard, lambda: call_run(self.typed_run.call_unchecked, self.store, x, y))
        finally:
            self._busy.release()

    def stop(self) -> None:
        """Stop the guest that is running now (the Stop button's action)."""
        self.stopper.stop(Reason.STOP)


def _checked_host(behaviour: HostBehaviour | str, exit_code: int) -> tuple[Callable[[], None], HostBehaviour, int]:
    """The tutorial's early_exit for `behaviour` and `exit_code`, with both as checked values."""
    behaviour, code = HostBehaviour(behaviour), ExitCode(exit_code).code
    return make_host(behaviour, code), behaviour, code


def _host_trampoline(example_ref: weakref.ref[Example]) -> Callable[[], Any]:
    """The function wasmtime calls for env.early_exit: the Example's host, reached weakly."""

    def early_exit() -> Any:
        example = example_ref()
        # A guest runs only inside a call on its Example, which keeps it alive.
        return None if example is None else example._call_host()

    return early_exit


def _learner_trampoline(example_ref: weakref.ref[Example], key: ImportKey) -> Callable[..., Any]:
    """The function wasmtime calls for the learner's import `key`: their function, reached weakly."""

    def host_function(*args: Any) -> Any:
        example = example_ref()
        return None if example is None else example._call_learner(example._imports[key], args)

    return host_function


def run_example(
    x: int = 1,
    y: int = 7,
    *,
    exit_code: int = 1,
    behaviour: HostBehaviour | str = HostBehaviour.EXIT,
    module: ModuleSource | wasmtime.Module | None = None,
    imports: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    fuel: int | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Run the guide's example once, from compiling to the outcome."""
    x, y = check_i32("x", x), check_i32("y", y)  # before the slow set-up, not after it
    example = Example(
        module, behaviour=behaviour, exit_code=exit_code, imports=imports, timeout=timeout, fuel=fuel, progress=progress
    )
    progress("Calling `run` function...")
    return example._run_checked(x, y, timeout=timeout, fuel=fuel)


def _forget_earlier_raises(error: BaseException) -> None:
    """Cut from `error`'s traceback the frames that earlier raises of the same object left there."""
    # A learner's host may raise one prepared object on every call (`stop = ExitCode(1)`, then
    # `raise stop`). Each raise puts this call's frames in front of the old traceback, so without
    # the cut it grows with every call: ~90,000 frames kept alive after 10,000 calls. This call's
    # frames come first; the old traceback begins where the last call caught it, in call_run.
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        if tb.tb_next.tb_frame.f_code is call_run.__code__:
            tb.tb_next = None
            return
        tb = tb.tb_next
