"""The guide's early exit in plain wasmtime: a host function raises ExitCode(1) and the guest stops.

    python early_exit.py

Prints the guide's four lines, ending with "Exited early with exit code: 1". Needs only
wasmtime (`pip install wasmtime`) and the standard library. The code is notebook 01's
cells tagged plain-wasmtime, in order (a test checks that the two agree).
"""

import operator

import wasmtime


class ExitCode(Exception):
    """The host's request to stop the guest, carrying an unsigned 32-bit exit code."""

    def __init__(self, code: int) -> None:
        code = operator.index(code)  # any integer; 1.5 or "1" is refused with a TypeError
        if not 0 <= code <= 2**32 - 1:  # the range of Rust's u32
            raise ValueError(f"exit code must be in 0..4294967295, got {code}")
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return str(self.code)


GUEST_WAT = """\
(module
  ;; The host provides this function; the guest only knows its name and type.
  (import "env" "early_exit" (func $early_exit))

  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    ;; Ask the host whether to go on. Our host answers by raising ExitCode,
    ;; so execution never comes back here.
    call $early_exit

    ;; Only reached when early_exit returns normally.
    local.get $x
    local.get $y
    i32.add)
)
"""


def early_exit() -> None:
    """The host function the guest imports as env.early_exit: it stops the guest."""
    raise ExitCode(1)


engine = wasmtime.Engine()
store = wasmtime.Store(engine)

print("Compiling module...")
module = wasmtime.Module(engine, GUEST_WAT)

print("Instantiating module...")
linker = wasmtime.Linker(engine)
linker.define(store, "env", "early_exit", wasmtime.Func(store, wasmtime.FuncType([], []), early_exit))
instance = linker.instantiate(store, module)


run = instance.exports(store).get("run")
if not isinstance(run, wasmtime.Func):
    raise TypeError("the guest does not export a function named `run`")
i32 = wasmtime.ValType.i32()
params, results = run.type(store).params, run.type(store).results
if (params, results) != ([i32, i32], [i32]):
    raise TypeError(f"`run` takes {params} and returns {results}; expected [i32, i32] and [i32]")


def call_run(x: int, y: int) -> None:
    """Call the guest's run(x, y) and handle the guide's three outcomes."""
    try:
        value = run(store, x, y)
    except ExitCode as exit_code:
        # The host stopped the guest: what this example expects.
        print(f"Exited early with exit code: {exit_code}")
    except Exception as error:
        # A trap, or an error the host did not plan for.
        raise RuntimeError(f"Unknown error `{error}` found. expected `ExitCode`") from error
    else:
        # The guest ran to the end: the host function let it go on.
        raise RuntimeError(f"Expected early termination with `ExitCode`, found: {value}")


print("Calling `run` function...")
call_run(1, 7)
