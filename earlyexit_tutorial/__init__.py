"""Interrupting WebAssembly execution from a Python host, on wasmtime.

A port of Wasmer's `early_exit` example: the host function raises ExitCode,
the guest stops, and the host tells the outcomes apart. The notebooks show the
mechanism in plain wasmtime; this package is their playground.
"""

from .exit_code import ExitCode
from .guest import GUEST_WAT, ModuleError, compile_guest, load_module
from .host import HostFailure, define_env, early_exit
from .interrupting import Stopper, call_interruptibly, interruptible_config
from .outcome import ExitedEarly, Interrupted, OtherError, Returned, call_run, trap_report
from .running import Example, ExampleBusy, run_example
from .typed import SignatureError, TypedRun, typed_export, typed_run
from .validation import I32_MAX, I32_MIN, check_i32

# The diagram is drawn in notebooks, not on the command line: import it on
# first use, so `python -m earlyexit_tutorial` starts faster.
_LAZY = {"call_diagram": "diagram"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What the notebooks and the tests use; everything else stays in its module.
__all__ = [
    "GUEST_WAT",
    "I32_MAX",
    "I32_MIN",
    "Example",
    "ExampleBusy",
    "ExitCode",
    "ExitedEarly",
    "HostFailure",
    "Interrupted",
    "ModuleError",
    "OtherError",
    "Returned",
    "SignatureError",
    "Stopper",
    "TypedRun",
    "call_diagram",
    "call_interruptibly",
    "call_run",
    "check_i32",
    "compile_guest",
    "define_env",
    "early_exit",
    "interruptible_config",
    "load_module",
    "run_example",
    "trap_report",
    "typed_export",
    "typed_run",
]
