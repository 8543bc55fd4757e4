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
    "call_diagram": "diagram",
    "early_exit_costs": "cost",
    "LOOPING_WAT": "endless",
    "check_exercise": "exercise",
    "check_answers": "selfcheck",
    "show_source": "source",
    "show_wat": "source",
    "wasi_exit": "wasi_exit",
    "run_panel": "widgets",
    "stop_panel": "widgets",
    "GuardedCall": "interrupting",
    "NotInterruptible": "interrupting",
    "Reason": "interrupting",
    "Stopper": "interrupting",
    "call_interruptibly": "running",
    "guard": "interrupting",
    "interruptible_config": "interrupting",
    "interruptible_engine": "interrupting",
    "ExitCode": "exit_code",
    "GUEST_WAT": "guest",
    "ModuleError": "guest",
    "compile_guest": "guest",
    "load_module": "guest",
    "HostFailure": "host",
    "define_env": "host",
    "early_exit": "host",
    "ExitedEarly": "outcome",
    "OtherError": "outcome",
    "Interrupted": "outcome",
    "Returned": "outcome",
    "call_run": "outcome",
    "trap_report": "outcome",
    "Example": "running",
    "ExampleBusy": "running",
    "StartStopped": "running",
    "run_example": "running",
    "run_guarded": "running",
    "SignatureError": "typed",
    "TypedRun": "typed",
    "typed_export": "typed",
    "typed_run": "typed",
    "I32_MAX": "validation",
    "I32_MIN": "validation",
    "check_i32": "validation",
}

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports these
    from .cost import early_exit_costs
    from .diagram import call_diagram
    from .endless import LOOPING_WAT
    from .exercise import check_exercise
    from .exit_code import ExitCode
    from .guest import GUEST_WAT, ModuleError, compile_guest, load_module
    from .host import HostFailure, define_env, early_exit
    from .interrupting import GuardedCall, NotInterruptible, Reason, Stopper, guard, interruptible_config, interruptible_engine
    from .outcome import ExitedEarly, Interrupted, OtherError, Returned, call_run, trap_report
    from .running import Example, ExampleBusy, StartStopped, call_interruptibly, run_example, run_guarded
    from .selfcheck import check_answers
    from .source import show_source, show_wat
    from .typed import SignatureError, TypedRun, typed_export, typed_run
    from .validation import I32_MAX, I32_MIN, check_i32
    from .wasi_exit import wasi_exit
    from .widgets import run_panel, stop_panel


def __getattr__(name: str) -> object:
    """Import a public name's module on first use."""
    if name == "__version__":
        value = _version()
        globals()[name] = value
        return value
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups are plain attribute reads
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version() -> str:
    """The installed distribution's version: pyproject.toml's, as pip recorded it."""
    # Read on first use only: importlib.metadata costs several milliseconds to import.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("earlyexit-tutorial")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones included."""
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(_LAZY)
