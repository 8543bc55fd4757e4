"""The host function `early_exit` and the `env` namespace the guest imports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

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
        if not isinstance(value, str):
            raise TypeError(f"host behaviour must be one of {choices}, got {type(value).__name__} {value!r}")
        raise ValueError(f"host behaviour must be one of {choices}, got {value!r}")


class HostFailure(RuntimeError):
    """The 'some other error' the host raises to show the guide's third outcome."""


def early_exit(code: int = 1) -> Callable[[], None]:
    """Make a host function that stops the guest by raising ExitCode(code)."""
    return _raising(ExitCode(code).code)  # the code is checked now, in plain Python, not inside wasm


def _raising(code: int) -> Callable[[], None]:
    """The early_exit for a code already checked."""

    def early_exit() -> None:
        # A fresh exception each call: re-raising one object would chain every
        # call's traceback and wasm backtrace onto it.
        raise ExitCode(code)

    return early_exit


def host_function(behaviour: HostBehaviour | str = HostBehaviour.EXIT, code: int = 1) -> Callable[[], None]:
    """Make the host's `early_exit` for one of the three behaviours."""
    # A bad code is refused whatever the behaviour, never kept silently.
    return make_host(HostBehaviour(behaviour), ExitCode(code).code)


def make_host(behaviour: HostBehaviour, code: int) -> Callable[[], None]:
    """The host's `early_exit` for a behaviour and a code already checked."""
    if behaviour is HostBehaviour.EXIT:
        return _raising(code)
    if behaviour is HostBehaviour.RETURN:
        return lambda: None

    def failing_early_exit() -> None:
        raise HostFailure("the host function failed on purpose")

    return failing_early_exit


def define_env(linker: wasmtime.Linker, store: wasmtime.Store, function: Callable[[], None]) -> None:
    """Offer `function` to the guest as env.early_exit, with type () -> ()."""
    linker.define(store, "env", "early_exit", wasmtime.Func(store, func_type(EARLY_EXIT_SIGNATURE), function))


ImportKey = tuple[str, str]  # (module, name), as the guest's import declaration names it
EARLY_EXIT: ImportKey = ("env", "early_exit")  # the import the tutorial's host provides


def import_key(imp: wasmtime.ImportType) -> ImportKey:
    """The (module, name) a guest's import declaration names."""
    # wasmtime types the name as optional for the old module-linking proposal; a core module's
    # import always has one (possibly empty).
    return (imp.module, "" if imp.name is None else imp.name)


def offered_imports(imports: Mapping[str, Mapping[str, Any]] | None) -> dict[ImportKey, Any]:
    """The learner's `imports={"env": {"tick": tick}}` as {("env", "tick"): tick}, its shape checked."""
    if imports is None:
        return {}
    if not isinstance(imports, Mapping):
        raise TypeError(f'imports must be a dict like {{"env": {{"tick": tick}}}}, got {type(imports).__name__}')
    offered: dict[ImportKey, Any] = {}
    for module, names in imports.items():
        if not isinstance(module, str):
            raise TypeError(f"imports: a module name must be a str, got {type(module).__name__} {module!r}")
        if not isinstance(names, Mapping):
            raise TypeError(
                f'imports[{module!r}] must be a dict of names to functions, like {{"tick": tick}}, '
                f"got {type(names).__name__}"
            )
        for name, value in names.items():
            if not isinstance(name, str):
                raise TypeError(f"imports[{module!r}]: a name must be a str, got {type(name).__name__} {name!r}")
            # A wasmtime object (Func, Memory, ...) is callable or not; either way the shape check
            # says why it cannot be used, naming both types. Anything else must be a function.
            if not callable(value) and not is_wasmtime_extern(value):
                raise TypeError(f"imports[{module!r}][{name!r}] must be a function, got {type(value).__name__}")
            offered[(module, name)] = value
    return offered


def is_wasmtime_extern(value: object) -> bool:
    """Tell whether `value` is a wasmtime object a module can import: a Func, Memory, Global, Table or Instance."""
    return isinstance(value, (wasmtime.Func, wasmtime.Memory, wasmtime.Global, wasmtime.Table, wasmtime.Instance))
