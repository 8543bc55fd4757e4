"""The host function `early_exit` and the `env` namespace the guest imports."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import wasmtime

from .._support.printable import clip, printable
from .._support.validation import shown
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


# The ranges of the integer results a host function may return, by wasm type: signed, as
# wasmtime-py takes them (it would wrap anything else silently).
_INT_RANGES = {"i32": (-(2**31), 2**31 - 1, "2**32"), "i64": (-(2**63), 2**63 - 1, "2**64")}


def result_check(key: ImportKey, func_type: wasmtime.FuncType) -> Callable[[Any], Any]:
    """A function that returns a host function's result as wasmtime takes it, or raises naming the import.

    The result of an import typed with no results must be None; with one, a value of
    that type; with several, a tuple or list of that many. An i32 or i64 is an int
    in the signed range (a bool is refused); an f32 or f64 an int or a float, handed
    on as a float. A wrong type is a TypeError, a value out of range a ValueError.
    """
    results = tuple(str(result) for result in func_type.results)
    name = clip(printable(f"{key[0]}.{key[1]}"), 60)
    checks = tuple(_value_check(name, kind) for kind in results)
    if not results:

        def nothing(value: Any) -> None:
            if value is not None:
                raise TypeError(
                    f"host function {name} returned {shown(value)}, expected None: its type returns nothing"
                )

        return nothing
    if len(results) == 1:
        return checks[0]
    expected = f"{len(results)} values ({', '.join(results)})"

    def several(values: Any) -> Any:
        if not isinstance(values, (tuple, list)) or len(values) != len(checks):
            raise TypeError(f"host function {name} returned {shown(values)}, expected {expected}")
        return [check(value) for check, value in zip(checks, values, strict=True)]

    return several


def result_fast_path(func_type: wasmtime.FuncType) -> tuple[int, int, bool]:
    """What result_check lets through at once, for a caller to test inline: (low, high, None allowed).

    An int in low..high for a single i32 or i64 result (an empty range otherwise), and
    None when the type has no results.
    """
    results = tuple(str(result) for result in func_type.results)
    if len(results) == 1 and results[0] in _INT_RANGES:
        low, high, _ = _INT_RANGES[results[0]]
        return low, high, False
    return 1, 0, not results


def _value_check(name: str, kind: str) -> Callable[[Any], Any]:
    """The check of one result of wasm type `kind` from the host function `name`."""
    if kind in _INT_RANGES:
        low, high, modulus = _INT_RANGES[kind]

        def integer(value: Any) -> int:
            if type(value) is int and low <= value <= high:  # the common case, first
                return value
            if isinstance(value, bool) or not hasattr(type(value), "__index__"):
                raise TypeError(f"host function {name} returned {shown(value)}, expected an int for its {kind} result")
            number = operator.index(value)
            if not low <= number <= high:
                raise ValueError(
                    f"host function {name} returned {shown(number)}, outside the {kind} range {low}..{high} "
                    f"(for an unsigned value above {high}, return value - {modulus})"
                )
            return number

        return integer
    if kind in ("f32", "f64"):

        def real(value: Any) -> float:
            if type(value) is float:
                return value
            if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
                raise TypeError(
                    f"host function {name} returned {shown(value)}, expected a float or an int for its {kind} result"
                )
            try:
                number = float(value)
            except OverflowError:
                raise ValueError(f"host function {name} returned {shown(value)}, too large for an {kind}") from None
            if kind == "f32" and math.isfinite(number) and abs(number) > _F32_MAX:
                raise ValueError(f"host function {name} returned {shown(value)}, too large for an f32")
            return number

        return real
    return lambda value: value  # references and the like: wasmtime-py converts and checks them


_F32_MAX = 3.4028234663852886e38
