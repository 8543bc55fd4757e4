"""The host function `early_exit` and the `env` namespace the guest imports."""

from __future__ import annotations

from enum import Enum
from typing import Callable

import wasmtime

from .exit_code import ExitCode
from .signatures import EARLY_EXIT_SIGNATURE, func_type


class HostBehaviour(str, Enum):
    """What the host's `early_exit` does when the guest calls it."""

    EXIT = "exit"  # raise ExitCode(code): the guide's early exit
    RETURN = "return"  # return normally, so the guest goes on
    ERROR = "error"  # raise some other error, the guide's third arm

    @classmethod
    def _missing_(cls, value: object) -> None:
        # Enum's own message ("'x' is not a valid HostBehaviour") does not say what is.
        choices = ", ".join(repr(member.value) for member in cls)
        raise ValueError(f"host behaviour must be one of {choices}, got {value!r}")


class HostFailure(RuntimeError):
    """The 'some other error' the host raises to show the guide's third outcome."""


def early_exit(code: int = 1) -> Callable[[], None]:
    """Make a host function that stops the guest by raising ExitCode(code)."""
    ExitCode(code)  # check the code now, in plain Python, not inside wasm

    def early_exit() -> None:
        # A fresh exception each call: re-raising one object would chain every
        # call's traceback and wasm backtrace onto it.
        raise ExitCode(code)

    return early_exit


def host_function(behaviour: HostBehaviour | str = HostBehaviour.EXIT, code: int = 1) -> Callable[[], None]:
    """Make the host's `early_exit` for one of the three behaviours."""
    behaviour = HostBehaviour(behaviour)
    ExitCode(code)  # a bad code is refused whatever the behaviour, never kept silently
    if behaviour is HostBehaviour.EXIT:
        return early_exit(code)
    if behaviour is HostBehaviour.RETURN:
        return lambda: None

    def failing_early_exit() -> None:
        raise HostFailure("the host function failed on purpose")

    return failing_early_exit


def define_env(linker: wasmtime.Linker, store: wasmtime.Store, function: Callable[[], None]) -> None:
    """Offer `function` to the guest as env.early_exit, with type () -> ()."""
    linker.define(store, "env", "early_exit", wasmtime.Func(store, func_type(EARLY_EXIT_SIGNATURE), function))
