"""Notebook 04's server: many guests at once on one engine and one compiled module, a store per request.

Each request runs in a new store under its own `guard()`, so it has its own
deadline and can be stopped on its own (`Request.stop()`). The guest's host
function raises `ExitCode(code)`; wasmtime-py keeps a host function's exception
in one global shared by every thread, so a thread may be handed another's. The
host therefore records what it raised per thread, and the outcome is built from
that record, never from what the call re-raised.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import cast

import wasmtime

from ..guide.exit_code import ExitCode
from ..guide.outcome import ExitedEarly, Interrupted, OtherError, Outcome, Returned, guarded_outcome
from ..interrupting.guard import DEFAULT_TIMEOUT, GuardedCall, guard, interruptible_engine

# The server's guest: one module, one export per kind of request, each (i32) -> i32.
SERVER_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit (param i32)))
  (memory 1)
  ;; work(n): 0 + 1 + ... + (n - 1), one loop step at a time
  (func (export "work") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
  ;; exit(code): ask the host to stop this guest with `code`
  (func (export "exit") (param $code i32) (result i32)
    (call $early_exit (local.get $code))
    (i32.const -1))
  ;; spin(x): loop forever
  (func (export "spin") (param $x i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0))
  ;; grow(x): take one more page of memory until refused, then say how many pages it has
  (func (export "grow") (param $x i32) (result i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (memory.size))
)
"""

KINDS = ("work", "exit", "spin", "grow")
PAGE = 65536  # bytes in one page of wasm memory
MEMORY_LIMIT_PAGES = 4  # what a store may grow its memory to: `grow` returns this
SPIN_TIMEOUT = 0.05  # the deadline of a looping guest, in seconds, unless its request says otherwise


class Request:
    """One request to the server: which export to call, its argument and its deadline."""

    def __init__(self, kind: str, arg: int = 0, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        if not isinstance(kind, str):
            raise TypeError(f"kind must be a str, one of {', '.join(KINDS)}; got {type(kind).__name__}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if isinstance(arg, bool) or not isinstance(arg, int):
            raise TypeError(f"arg must be an int, got {type(arg).__name__}")
        if not 0 <= arg < 2**31:
            raise ValueError(f"arg must be in 0..{2**31 - 1}, got {arg}")
        self.kind, self.arg, self.timeout = kind, arg, timeout
        self.started = threading.Event()  # set once the guest runs
        self._lock = threading.Lock()
        self._call: GuardedCall | None = None
        self._stop_asked = False

    def __repr__(self) -> str:
        return f"Request({self.kind!r}, {self.arg})"

    @property
    def expected(self) -> str:
        """The label of the outcome this request should have (see `describe_outcome`)."""
        if self.kind == "work":
            return f"returned {_i32(self.arg * (self.arg - 1) // 2)}"
        if self.kind == "exit":
            return f"exited early {self.arg}"
        if self.kind == "grow":
            return f"returned {MEMORY_LIMIT_PAGES}"
        return "stopped: deadline" if self.timeout is not None else "stopped: stop"

    def stop(self) -> None:
        """Stop this request's guest, from any thread; before it starts, it starts stopped."""
        with self._lock:
            self._stop_asked = True
            call = self._call
        if call is not None:
            call.stop()

    def _attach(self, call: GuardedCall) -> None:
        with self._lock:
            self._call = call
            stop = self._stop_asked
        if stop:
            call.stop()  # not begun yet: it begins stopped


def _i32(value: int) -> int:
    """`value` wrapped to a signed 32-bit integer, as wasm's i32.add leaves it."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


class _Raised(threading.local):
    """What the server's host function raised on this thread during the current call, if anything."""

    error: BaseException | None = None


class GuestServer:
    """One engine and one compiled module, serving each request in a new store under its own guard."""

    def __init__(self) -> None:
        self.engine = interruptible_engine()
        self.module = wasmtime.Module(self.engine, SERVER_WAT)  # compiled once, shared by every request
        self._raised = _Raised()
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_func("env", "early_exit", wasmtime.FuncType([wasmtime.ValType.i32()], []), self._exit)

    def _exit(self, code: int) -> None:
        error = ExitCode(code & 0xFFFFFFFF)
        self._raised.error = error  # this thread's own record: wasmtime-py's is shared by all
        raise error

    def handle(self, request: Request) -> Outcome:
        """Serve one request: a new store, the call under its own guard, the outcome from this thread's record."""
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=MEMORY_LIMIT_PAGES * PAGE)
        func = cast(wasmtime.Func, self.linker.instantiate(store, self.module).exports(store)[request.kind])
        call = guard(store, timeout=request.timeout)
        request._attach(call)
        self._raised.error = None
        with call:
            request.started.set()
            try:
                outcome: Outcome = Returned(func(store, request.arg))
            except BaseException as error:  # noqa: BLE001 - any of them is the call's outcome
                outcome = OtherError(error)
        mine = self._raised.error
        self._raised.error = None
        if isinstance(mine, ExitCode):
            # What the call re-raised may be another thread's exception: trust the record.
            outcome = ExitedEarly(mine)
        elif isinstance(outcome, OtherError) and isinstance(outcome.error, ExitCode):
            # Another thread's ExitCode, handed to this call in place of its own trap.
            outcome = OtherError(wasmtime.Trap("the guest trapped (its trap was replaced by another thread's error)"))
        return guarded_outcome(outcome, call)


def describe_outcome(outcome: Outcome) -> str:
    """A few words for an outcome, the same on every run: "returned 8", "exited early 3", "stopped: deadline"."""
    if isinstance(outcome, Returned):
        return f"returned {outcome.value}"
    if isinstance(outcome, ExitedEarly):
        return f"exited early {outcome.code}"
    if isinstance(outcome, Interrupted):
        return f"stopped: {outcome.reason}"
    code = getattr(outcome.error, "trap_code", None)
    return f"trapped: {code.name}" if code is not None else f"failed: {type(outcome.error).__name__}"


_PROCESS_SERVER: tuple[int, GuestServer] | None = None


def serve_in_process(kind: str, arg: int = 0) -> str:
    """Serve one request in this process (a pool worker's function, fork or spawn) and describe its outcome."""
    global _PROCESS_SERVER
    # One server per process: a forked child must not use its parent's engine.
    if _PROCESS_SERVER is None or _PROCESS_SERVER[0] != os.getpid():
        _PROCESS_SERVER = (os.getpid(), GuestServer())
    timeout = SPIN_TIMEOUT if kind == "spin" else DEFAULT_TIMEOUT
    return describe_outcome(_PROCESS_SERVER[1].handle(Request(kind, arg, timeout=timeout)))


def timed(handle: Callable[[Request], Outcome], request: Request) -> tuple[Outcome, float]:
    """Serve `request` with `handle`; return its outcome and the seconds it took."""
    start = time.perf_counter()
    outcome = handle(request)
    return outcome, time.perf_counter() - start
