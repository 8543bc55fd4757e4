"""Running: set up engine, store, imports and instance, then call `run`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import wasmtime

from .._support.validation import check_i32, check_store_limits
from ..interrupting.guard import (
    DEFAULT_TIMEOUT,
    GuardedCall,
    Reason,
    Stopper,
    check_limits,
    engine_stopper,
    interruptible_engine,
)
from .exit_code import ExitCode
from .guest import ModuleError, ModuleSource, compile_guest, compile_module
from .host import HostBehaviour, ImportKey, make_host, offered_imports
from .host_record import HostRecord, LearnerHost, check_shape_once, define_hosts
from .outcome import ExitedEarly, Interrupted, OtherError, Outcome, Returned, guarded_outcome, short_error, what_it_did
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
    returns the result (None for none, a tuple for several). An i32 or i64 result
    must be an int in the signed range (-2**31..2**31-1 for an i32): return
    `v - 2**32` for an unsigned i32 above 2**31-1; an f32 or f64 result may be an
    int or a float. A result that does not fit its type ends the call as an
    OtherError naming the function. Raise `ExitCode(n)` from any of them to end the
    call as `ExitedEarly`; `SystemExit`, `KeyboardInterrupt` and the other
    exceptions that are not `Exception`s leave `run()` as they came (a Ctrl-C is
    the `Interrupted` outcome). `env.early_exit` is the tutorial's own (`behaviour`
    and `exit_code` choose what it does) unless you offer one; a guest need not import it.

    `limits` caps what the guest may take, as `wasmtime.Store.set_limits` does:
    `memory_size` (bytes of linear memory, per memory), `table_elements`,
    `instances`, `tables` and `memories`. Keys not given keep the tutorial's
    defaults (64 MiB of memory). Lower them to see what a guest does when a
    `memory.grow` is refused: `Example(module, limits={"memory_size": 2**20})`
    lets it grow to one MiB (16 pages), then `memory.grow` returns -1.

    `engine` shares one engine among many Examples, as a server does (a store per
    request): give an engine made by `interruptible_engine()` and, as `module`, a
    `wasmtime.Module` compiled on it, and no Example compiles anything. On an engine
    without fuel (`interruptible_engine(fuel=False)`) a call with `fuel=` is refused. Without it
    each Example makes an engine of its own (and loads a given Module into it).
    Either way `stop()` stops this Example's call only.

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
        engine: wasmtime.Engine | None = None,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        # The cheap checks first, before the slow compile.
        self.host, self.behaviour, self.exit_code = _checked_host(behaviour, exit_code)
        timeout, fuel = check_limits(timeout, fuel)
        store_limits = check_store_limits(limits, DEFAULT_LIMITS)
        self._imports = offered_imports(imports)
        # What this Example's host functions raised in its current call: see host_record.py.
        self._record = HostRecord()
        # The call running now, and a stop pressed for a call announced but not begun.
        self._stop_lock = threading.Lock()
        self._call: GuardedCall | None = None
        self._announced = self._stop_pending = False
        if engine is None:
            # An engine of its own: an epoch increment then stops this example's guest and nobody else's.
            self.engine = interruptible_engine()
            self.stopper = Stopper(self.engine)
        else:
            if not isinstance(engine, wasmtime.Engine):
                raise TypeError(f"engine must be a wasmtime.Engine, got {type(engine).__name__}")
            self.engine = engine
            self.stopper = engine_stopper(engine)  # NotInterruptible for an engine the guard cannot stop
        self._own_engine = engine is None
        progress("Compiling module...")
        if module is None:
            self.module, name = compile_guest(self.engine), "the tutorial's guest"
        elif engine is not None and isinstance(module, wasmtime.Module):
            self.module, name = module, "the given wasmtime.Module"  # compiled on `engine`: nothing to do
        else:
            self.module, name = compile_module(self.engine, module)
        check_shape_once(self.module, name, self._imports)
        progress("Instantiating module...")
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(**store_limits)
        self.linker = wasmtime.Linker(self.engine)
        # The guest's imports: the learner's functions, or the tutorial's early_exit.
        self._hosts: dict[ImportKey, LearnerHost] = define_hosts(self, self.module, self._imports)
        # The start function, if any, runs here: under the guard, like `run`.
        given = engine is not None and isinstance(module, wasmtime.Module)  # taken as compiled on `engine`
        self.instance = self._instantiate(timeout, fuel, module_from_engine=given)
        self.typed_run: TypedRun = typed_run(self.instance, self.store)
        # The Example's own call of the same export: a host's exception comes out as the
        # wasm error that carried it, and the outcome is told from self._record.
        self._run = TypedRun(self.typed_run.func, own_hosts=True)
        # A store serves one thread at a time: two calls at once (a Stop panel's
        # background call and a cell, say) could crash the kernel.
        self._busy = threading.Lock()

    def _instantiate(self, timeout: float | None, fuel: int | None, module_from_engine: bool) -> wasmtime.Instance:
        """Instantiate the module under the guard; a start function that fails is one clear line."""
        failure: BaseException | None = None
        self._record.raised = None
        with GuardedCall(self.store, self.stopper, timeout=timeout, fuel=fuel) as guard:
            try:
                instance = self.linker.instantiate(self.store, self.module)
            except BaseException as error:  # a host's KeyboardInterrupt too
                failure = self._record.outcome_error(error, public=True)  # wasmtime-py's call: the public path
        stopped = guard.what_stopped(failure)
        reason = None if stopped is None else stopped.reason
        if failure is None:
            # A Ctrl-C counts even if the start function finished: nothing ran long
            # enough to be stopped, so it is an ordinary one. A deadline or Stop that
            # came as the start function finished stopped nothing: the instance is whole.
            if reason is Reason.CTRL_C:
                raise KeyboardInterrupt
            return instance
        if reason is not None:
            why = what_it_did(reason, guard.timeout, guard.fuel)
            raise StartStopped(f"cannot instantiate the module: its start function {why}", reason) from None
        if isinstance(failure, (wasmtime.Trap, wasmtime.WasmtimeError)):
            hint = ""
            if module_from_engine and not isinstance(failure, wasmtime.Trap):
                hint = " (was the module compiled on the engine given as engine=?)"
            raise ModuleError(f"cannot instantiate the module: {short_error(failure)}{hint}") from None
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
        """Call run(x, y), x and y already checked; `host`, a checked choice for early_exit, is taken first.

        What `run_guarded(guard, lambda: call_run(...))` does, in one frame, and told
        from what this Example's own host functions raised (see `_sorted`).
        """
        guard = GuardedCall(self.store, self.stopper, timeout=timeout, fuel=fuel)  # checks the limits
        # The busy check first, so a refused call changes nothing: _hold() inline, for its common case.
        if not self._busy.acquire(blocking=False):
            self._hold()  # raises ExampleBusy (or takes the Example, if the other call has just ended)
        try:
            if host is not None:
                self.host, self.behaviour, self.exit_code = host
            with self._stop_lock:  # a stop() from now on stops this call
                self._call = guard
                pending, self._announced, self._stop_pending = self._stop_pending, False, False
            if pending:
                guard.stop()  # pressed while the call was announced: it begins stopped
            try:
                with guard:
                    try:
                        self._record.raised = None
                        outcome: Outcome = Returned(self._run.call_unchecked(self.store, x, y))
                    except BaseException as error:  # noqa: BLE001 - sorted, or raised again below
                        outcome = self._sorted(error)
            except KeyboardInterrupt as ctrl_c:  # the guard's own, entering or leaving: a Ctrl-C it caught
                if guard.reason is not Reason.CTRL_C:
                    raise
                outcome = OtherError(ctrl_c)
            # The guard's say: a call it stopped is Interrupted, whatever it ended with.
            failure = outcome.error if type(outcome) is OtherError else None
            stopped = guard.what_stopped(failure)
            if stopped is not None:
                return Interrupted(stopped.reason, stopped.error, stopped.timeout, stopped.fuel_consumed)
            if failure is not None and not isinstance(failure, Exception):
                raise failure  # SystemExit, a host's own KeyboardInterrupt...: as they came
            return outcome
        finally:
            self._call = None
            self._busy.release()

    def _sorted(self, error: BaseException) -> Outcome:
        """The outcome of a call that raised `error`: call_run's arms, told from what our hosts raised.

        A host's exception, whatever wasm reported (wasmtime-py may have given this
        call another thread's: see host_record.py); else wasm's own error or trap.
        """
        raised = self._record.outcome_error(error, public=self._run.public)
        if isinstance(raised, ExitCode):
            return ExitedEarly(raised)  # the host asked the guest to stop
        return OtherError(raised)  # a trap, an error we did not plan for, or a BaseException raised again above

    def _announce(self) -> None:
        """A call is on its way (a Stop panel's, on another thread): a stop() from now until it begins is kept."""
        with self._stop_lock:
            if not self._announced:  # announced twice: keep a stop already pressed
                self._announced, self._stop_pending = True, False

    def stop(self) -> None:
        """Stop this Example's guest running now (the Stop button's action); a no-op when idle."""
        with self._stop_lock:
            call = self._call
            if call is None and self._announced:
                self._stop_pending = True
                return
        if call is not None:
            call.stop()  # this call only, even on an engine other Examples share
        elif self._own_engine:
            # Idle: on an engine of its own, a guard() call on its store is this Example's guest too.
            self.stopper.stop(Reason.STOP)


def _checked_host(behaviour: HostBehaviour | str, exit_code: int) -> tuple[Callable[[], None], HostBehaviour, int]:
    """The tutorial's early_exit for `behaviour` and `exit_code`, with both as checked values."""
    behaviour, code = HostBehaviour(behaviour), ExitCode(exit_code).code
    return make_host(behaviour, code), behaviour, code


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
