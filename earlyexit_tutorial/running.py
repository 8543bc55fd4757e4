"""Running: set up engine, store, imports and instance, then call `run`."""

from __future__ import annotations

import threading
from typing import Callable, Optional

import wasmtime

from .exit_code import ExitCode
from .guest import ModuleError, ModuleSource, compile_guest, load_module
from .host import HostBehaviour, define_env, host_function
from .interrupting import DEFAULT_TIMEOUT, Stopper, call_interruptibly, check_limits, interruptible_config
from .outcome import Outcome, call_run, short_error
from .typed import TypedRun, typed_run
from .validation import check_i32

# Default caps on what one guest may take, so a runaway module cannot eat the
# learner's machine: 64 MiB of linear memory, modest tables and counts.
DEFAULT_LIMITS = dict(memory_size=64 * 2**20, table_elements=10_000, instances=10, tables=10, memories=10)


class ExampleBusy(RuntimeError):
    """A call was made on an Example that is already running one."""


class Example:
    """The guide's example, instantiated once and ready to call many times."""

    def __init__(
        self,
        module: Optional[ModuleSource] = None,
        *,
        behaviour: HostBehaviour | str = HostBehaviour.EXIT,
        exit_code: int = 1,
        limits: Optional[dict] = None,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        # Each example owns its engine: an epoch increment then stops this
        # example's guest and nobody else's.
        self.engine = wasmtime.Engine(interruptible_config())
        self.stopper = Stopper(self.engine)
        self.set_host(behaviour, exit_code)
        progress("Compiling module...")
        self.module = compile_guest(self.engine) if module is None else load_module(self.engine, module)
        progress("Instantiating module...")
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(**{**DEFAULT_LIMITS, **(limits or {})})
        self.linker = wasmtime.Linker(self.engine)
        # The guest gets a trampoline that asks self.host each time, so the
        # widget panel can change behaviour without re-instantiating.
        define_env(self.linker, self.store, self._call_host)
        self.store.set_fuel(10_000_000)
        self.store.set_epoch_deadline(1)
        try:
            self.instance = self.linker.instantiate(self.store, self.module)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise ModuleError(f"cannot instantiate the module: {short_error(error)}") from None
        except ExitCode as exit_code:  # a start function called env.early_exit
            raise ModuleError(
                f"cannot instantiate the module: its start function called env.early_exit, which exited with code {exit_code}"
            ) from None
        except Exception as error:  # e.g. the host's HostFailure, raised inside a start function
            raise ModuleError(
                f"cannot instantiate the module: its start function called env.early_exit, which raised "
                f"{type(error).__name__}: {short_error(error)}"
            ) from error
        self.run_func: TypedRun = typed_run(self.instance, self.store)
        # A store serves one thread at a time: two calls at once (a Stop panel's
        # background call and a cell, say) could crash the kernel.
        self._busy = threading.Lock()

    def _call_host(self) -> object:
        """The guest's env.early_exit: call whatever host function is chosen now."""
        try:
            # Whatever it returns goes back to wasmtime, which rejects a value
            # from a function typed to return nothing: a clear OtherError outcome.
            return self.host()
        except BaseException as error:
            _forget_earlier_raises(error)
            raise

    def set_host(self, behaviour: HostBehaviour | str = HostBehaviour.EXIT, exit_code: int = 1) -> None:
        """Choose what the host's early_exit does on the next calls."""
        self.host = host_function(behaviour, exit_code)
        self.behaviour = HostBehaviour(behaviour)
        self.exit_code = exit_code

    def run(self, x: int = 1, y: int = 7, *, timeout: Optional[float] = DEFAULT_TIMEOUT, fuel: Optional[int] = None) -> Outcome:
        """Call the guest's run(x, y) with a deadline and an optional fuel budget."""
        check_i32("x", x)
        check_i32("y", y)
        # Checked before starting(): a call refused later would leave the Stopper expecting it.
        check_limits(timeout, fuel)
        if not self._busy.acquire(blocking=False):
            raise ExampleBusy(
                "this Example is already running a call (from a Stop panel, another thread or its own host "
                "function); wait for it to finish or stop it, then call again"
            )
        try:
            self.stopper.starting()  # a Stop pressed from now on stops this call
            return call_interruptibly(
                lambda: call_run(self.run_func, self.store, x, y), self.store, self.stopper, timeout=timeout, fuel=fuel
            )
        finally:
            self._busy.release()

    def stop(self) -> None:
        """Stop the guest that is running now (the Stop button's action)."""
        self.stopper.stop("stop")


def run_example(
    x: int = 1,
    y: int = 7,
    *,
    exit_code: int = 1,
    behaviour: HostBehaviour | str = HostBehaviour.EXIT,
    module: Optional[ModuleSource] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    fuel: Optional[int] = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Run the guide's example once, from compiling to the outcome."""
    check_i32("x", x)
    check_i32("y", y)
    example = Example(module, behaviour=behaviour, exit_code=exit_code, progress=progress)
    progress("Calling `run` function...")
    return example.run(x, y, timeout=timeout, fuel=fuel)


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
