"""Function signatures, written and compared the way the tutorial prints them."""

from __future__ import annotations

from typing import Any

import wasmtime

# (params, results) as wasm type names.
Signature = tuple[tuple[str, ...], tuple[str, ...]]

RUN_SIGNATURE: Signature = (("i32", "i32"), ("i32",))
EARLY_EXIT_SIGNATURE: Signature = ((), ())


def signature_of(ty: Any) -> Signature | None:
    """Return the (params, results) of a FuncType, or None for a non-function."""
    if not isinstance(ty, wasmtime.FuncType):
        return None
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def describe(ty: Any) -> str:
    """Write a signature (or a FuncType, or any other extern type) as `(i32, i32) -> i32`."""
    sig = ty if isinstance(ty, tuple) else signature_of(ty)
    if sig is None:
        kind = type(ty).__name__.replace("Type", "").lower()
        return f"a {kind}, not a function"
    params, results = sig
    result = results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"
    return "(" + ", ".join(params) + ") -> " + result


def matches(ty: Any, expected: Signature) -> bool:
    """Tell whether an extern type is a function with the expected signature."""
    return signature_of(ty) == expected


def func_type(sig: Signature) -> wasmtime.FuncType:
    """Build the wasmtime FuncType for a signature."""
    return wasmtime.FuncType([_valtype(p) for p in sig[0]], [_valtype(r) for r in sig[1]])


def _valtype(name: str) -> wasmtime.ValType:
    return getattr(wasmtime.ValType, name)()
