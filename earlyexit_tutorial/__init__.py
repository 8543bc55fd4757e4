"""Interrupting WebAssembly execution from a Python host, on wasmtime.

A port of Wasmer's `early_exit` example: the host function raises ExitCode,
the guest stops, and the host tells the outcomes apart.
"""

from .exit_code import ExitCode
from .guest import GUEST_WAT, ModuleError, compile_guest, load_module
from .host import HostBehaviour, HostFailure, define_env, early_exit, host_function
from .interrupting import DEFAULT_TIMEOUT, GuardedCall, NotInterruptible, Reason, Stopper, interruptible_config
from .outcome import ExitedEarly, OtherError, Interrupted, Outcome, Returned, call_run, trap_report
from .running import Example, ExampleBusy, StartStopped, call_interruptibly, run_example
from .signatures import RUN_SIGNATURE, describe
from .typed import SignatureError, TypedRun, typed_export, typed_run
from .validation import I32_MAX, I32_MIN, check_i32

# The diagram is drawn in notebooks, not on the command line: import it on
# first use, so `python -m earlyexit_tutorial` starts faster.
_LAZY = {"CallDiagram": "diagram", "call_diagram": "diagram"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TIMEOUT",
    "GUEST_WAT",
    "I32_MAX",
    "I32_MIN",
    "RUN_SIGNATURE",
    "CallDiagram",
    "Example",
    "ExampleBusy",
    "ExitCode",
    "ExitedEarly",
    "GuardedCall",
    "HostBehaviour",
    "HostFailure",
    "Interrupted",
    "ModuleError",
    "NotInterruptible",
    "OtherError",
    "Outcome",
    "Reason",
    "Returned",
    "SignatureError",
    "StartStopped",
    "Stopper",
    "TypedRun",
    "call_diagram",
    "call_interruptibly",
    "call_run",
    "check_i32",
    "compile_guest",
    "define_env",
    "describe",
    "early_exit",
    "host_function",
    "interruptible_config",
    "load_module",
    "run_example",
    "trap_report",
    "typed_export",
    "typed_run",
]
