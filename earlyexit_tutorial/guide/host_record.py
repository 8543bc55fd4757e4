"""The Example's own host functions, and the record of what they raised in its current call.

wasmtime-py hands a host function's exception to the caller through one
module-wide variable, which the caller reads once wasm has returned. Wasm runs
without the GIL, so with calls on several threads another thread's host may
overwrite that variable first: a call then gets another thread's exception, or a
"python exception" trap for its own, or another thread's exception in place of
its own trap. So every host function an Example gives its guest records what it
raised in the Example's `HostRecord` (a store serves one call at a time, so that
is this call's), and the call's outcome is told from the record, never from the
variable (see `HostRecord.outcome_error`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, cast

import wasmtime

from .._support._fastcall import forget_host_exception
from ..interrupting.guard import host_call
from .guest import check_shape
from .host import ImportKey, define_env, import_key, result_check, result_fast_path

# What a call on the public path says when wasmtime-py gave it another thread's exception for its trap.
LOST_TRAP = "the guest trapped, but wasmtime-py reported another thread's host exception in its place"


class HostRecord:
    """What the host functions of one Example raised in its current call (one call at a time)."""

    __slots__ = ("raised", "_reported")

    def __init__(self) -> None:
        self.raised: BaseException | None = None  # set by a host function as its exception leaves it
        self._reported: TracebackType | None = None  # the traceback the last outcome held

    def outcome_error(self, error: BaseException, *, public: bool) -> BaseException:
        """What a call into wasm that raised `error` ended with: a host's own exception if one raised.

        `public`: the call went through wasmtime-py's public path, which raises what it found in
        its module-wide variable, perhaps another thread's; the fast path raises wasm's own error.
        """
        raised, self.raised = self.raised, None
        if raised is None:
            if (
                public
                and isinstance(error, Exception)
                and not isinstance(error, (wasmtime.Trap, wasmtime.WasmtimeError))
            ):
                # No host of ours raised, yet the call raised a Python exception: another thread's
                # host exception, which the variable gave this call in place of its own trap.
                # Which trap that was is lost (the fast path, once set up, never reads the variable).
                return wasmtime.Trap(LOST_TRAP)
            return error
        forget_host_exception(raised)  # out of wasmtime-py's variable: no other call may raise it
        if raised is not error:
            raised.__context__ = error  # as wasmtime-py does: the error that carried it out of wasm
        self._reported = _cut_earlier_traceback(raised, self._reported)
        return raised


def _cut_earlier_traceback(error: BaseException, reported: TracebackType | None) -> TracebackType | None:
    """Cut from `error`'s traceback what an earlier outcome reported (`reported`); return what is left.

    A learner's host may raise one prepared object on every call (`stop = ExitCode(1)`, then
    `raise stop`). Each raise puts that call's frames in front of the object's old traceback, the
    very object the last outcome reported: without the cut it grows with every call (~90,000
    frames kept alive after 10,000 calls).
    """
    tb = error.__traceback__
    if reported is not None:
        while tb is not None:
            if tb.tb_next is reported:
                tb.tb_next = None
                break
            tb = tb.tb_next
    return error.__traceback__


class RecordingExample(Protocol):
    """What the host functions need of their Example."""

    host: Callable[[], None]  # the tutorial's early_exit chosen now
    store: wasmtime.Store
    linker: wasmtime.Linker
    _record: HostRecord


def define_hosts(
    example: RecordingExample, module: wasmtime.Module, offered: dict[ImportKey, Any]
) -> dict[ImportKey, LearnerHost]:
    """Define each function `module` imports in the Example's linker: the learner's, or the tutorial's early_exit.

    Returns the LearnerHosts the Example must keep: its trampolines hold them only weakly.
    """
    # wasmtime keeps each host function until the store dies, and the store is the
    # Example's: a function holding the Example strongly would keep both forever. So
    # each one is a trampoline that reaches what it calls weakly: the Example, or the
    # LearnerHost the Example keeps for a function of the learner's (which may refer to the Example).
    hosts: dict[ImportKey, LearnerHost] = {}
    store, linker = example.store, example.linker
    for key, func_type, check in imported_functions(module):
        if key in offered:
            host = hosts[key] = LearnerHost(offered[key], example._record)
            linker.define(
                store, *key, wasmtime.Func(store, func_type, learner_trampoline(weakref.ref(host), func_type, check))
            )
        else:  # check_shape let through only the tutorial's env.early_exit, typed () -> ()
            define_env(linker, store, early_exit_trampoline(weakref.ref(example), check))
    return hosts


def early_exit_trampoline(example_ref: weakref.ref[Any], check: Callable[[Any], Any]) -> Callable[[], Any]:
    """The function wasmtime calls for env.early_exit: the Example's host, reached weakly, its raise recorded."""

    def early_exit() -> Any:
        example: RecordingExample | None = example_ref()
        if example is None:  # a guest runs only inside a call on its Example, which keeps it alive
            return None
        try:
            # Under the guard: a Ctrl-C, deadline or Stop ends it. It asks example.host each
            # time, so a panel can change the behaviour without re-instantiating.
            result = host_call(example.host)
            return None if result is None else check(result)  # () -> (): check() refuses anything else
        except BaseException as error:
            example._record.raised = error
            raise

    return early_exit


class LearnerHost:
    """One of the learner's host functions as its Example holds it: the function and the Example's record."""

    __slots__ = ("function", "record", "__weakref__")

    def __init__(self, function: Callable[..., Any], record: HostRecord) -> None:
        self.function = function
        self.record = record


def learner_trampoline(
    host_ref: weakref.ref[LearnerHost], func_type: wasmtime.FuncType, check: Callable[[Any], Any]
) -> Callable[..., Any]:
    """The function wasmtime calls for one of the learner's imports: theirs, reached weakly, its raise recorded."""
    low, high, none_ok = result_fast_path(func_type)

    def host_function(*args: Any) -> Any:
        host = host_ref()
        if host is None:  # a guest runs only inside a call on its Example, which keeps its hosts alive
            return None
        try:
            result = host_call(host.function, args)
            # check()'s common cases first, inline: this runs on every host call.
            if type(result) is int and low <= result <= high or result is None and none_ok:
                return result
            return check(result)
        except BaseException as error:
            host.record.raised = error
            raise

    return host_function


# What a module needs of an Example, worked out once per module: many Examples may share one.
_SHAPE_CHECKED: weakref.WeakSet[wasmtime.Module] = weakref.WeakSet()
_IMPORTED: weakref.WeakKeyDictionary[wasmtime.Module, tuple] = weakref.WeakKeyDictionary()


def check_shape_once(module: wasmtime.Module, name: str, offered: dict[ImportKey, Any]) -> None:
    """check_shape(module, name, offered); for a module without functions of the learner's, once per module."""
    # With imports= it runs every time: keeping the functions it passed would keep them alive,
    # and with them whatever they refer to (their Example, say), for as long as the module lives.
    if offered or module not in _SHAPE_CHECKED:
        check_shape(module, name, offered)
        if not offered:
            _SHAPE_CHECKED.add(module)


def imported_functions(module: wasmtime.Module) -> tuple[tuple[ImportKey, wasmtime.FuncType, Callable], ...]:
    """Each function `module` imports, once (a module may import a name twice): its key, type and result check."""
    found = _IMPORTED.get(module)
    if found is None:
        unique: dict[ImportKey, tuple[ImportKey, wasmtime.FuncType, Callable]] = {}
        for imp in module.imports:
            key = import_key(imp)
            func_type = cast(wasmtime.FuncType, imp.type)  # check_shape let through functions only
            unique.setdefault(key, (key, func_type, result_check(key, func_type)))
        found = _IMPORTED[module] = tuple(unique.values())
    return found
