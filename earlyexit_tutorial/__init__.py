"""Interrupting WebAssembly execution from a Python host, on wasmtime.

A port of Wasmer's `early_exit` example: the host function raises ExitCode,
the guest stops, and the host tells the outcomes apart. The notebooks show the
mechanism in plain wasmtime; this package is their playground.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the command line 2 ms

# What the notebooks and the tests use, by module; everything else stays in
# its module. Each name is imported on first use: `import earlyexit_tutorial`
# then costs nothing, so the command line answers `--help` (and a Ctrl-C at
# start-up) before wasmtime is loaded. The notebooks see no difference.
_LAZY = {
    "call_diagram": "aids.diagram",
    "early_exit_costs": "aids.cost",
    "LOOPING_WAT": "aids.endless",
    "check_exercise": "aids.exercise",
    "check_answers": "aids.selfcheck",
    "show_source": "aids.source",
    "show_wat": "aids.source",
    "GuestServer": "aids.server",
    "Request": "aids.server",
    "describe_outcome": "aids.server",
    "serve_in_process": "aids.server",
    "load_panel": "aids.load",
    "run_load": "aids.load",
    "wasi_exit": "aids.wasi_exit",
    "run_panel": "aids.widgets",
    "stop_panel": "aids.widgets",
    "NotInterruptible": "interrupting.engines",
    "Reason": "interrupting.stopper",
    "stop_every_call": "interrupting.stopper",
    "guard": "interrupting.guard",
    "interruptible_config": "interrupting.engines",
    "interruptible_engine": "interrupting.engines",
    "ExitCode": "guide.exit_code",
    "GUEST_WAT": "guide.guest",
    "ModuleError": "guide.guest",
    "compile_guest": "guide.guest",
    "load_module": "guide.guest",
    "HostFailure": "guide.host",
    "define_env": "guide.host",
    "early_exit": "guide.host",
    "ExitedEarly": "guide.outcome",
    "OtherError": "guide.outcome",
    "Interrupted": "guide.outcome",
    "Returned": "guide.outcome",
    "call_run": "guide.outcome",
    "trap_report": "guide.outcome",
    "Example": "guide.running",
    "ExampleBusy": "guide.running",
    "StartStopped": "guide.running",
    "run_example": "guide.running",
    "run_guarded": "guide.running",
    "SignatureError": "guide.typed",
    "TypedRun": "guide.typed",
    "typed_export": "guide.typed",
    "typed_run": "guide.typed",
    "I32_MAX": "_support.validation",
    "I32_MIN": "_support.validation",
    "check_i32": "_support.validation",
}

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports these
    from ._support.validation import I32_MAX, I32_MIN, check_i32
    from .aids.cost import early_exit_costs
    from .aids.diagram import call_diagram
    from .aids.endless import LOOPING_WAT
    from .aids.exercise import check_exercise
    from .aids.load import load_panel, run_load
    from .aids.selfcheck import check_answers
    from .aids.server import GuestServer, Request, describe_outcome, serve_in_process
    from .aids.source import show_source, show_wat
    from .aids.wasi_exit import wasi_exit
    from .aids.widgets import run_panel, stop_panel
    from .guide.exit_code import ExitCode
    from .guide.guest import GUEST_WAT, ModuleError, compile_guest, load_module
    from .guide.host import HostFailure, define_env, early_exit
    from .guide.outcome import ExitedEarly, Interrupted, OtherError, Returned, call_run, trap_report
    from .guide.running import Example, ExampleBusy, StartStopped, run_example, run_guarded
    from .guide.typed import SignatureError, TypedRun, typed_export, typed_run
    from .interrupting.engines import NotInterruptible, interruptible_config, interruptible_engine
    from .interrupting.guard import guard
    from .interrupting.stopper import Reason, stop_every_call


def __getattr__(name: str) -> object:
    """Import a public name's module on first use."""
    if name == "__version__":
        from ._support.version import package_version

        value = package_version()
        globals()[name] = value
        return value
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups are plain attribute reads
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones included."""
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(_LAZY)
