"""A bounded fuzz test of the module loader: every input loads or is a ModuleError.

Random bytes, mutated copies of the guest's binary, mutated WAT text and
randomly shaped modules go through load_module and, when they load, through
Example(module=...) and one run(1, 7) under a deadline. Nothing may raise
anything but ModuleError, crash or hang. A fixed seed keeps it repeatable;
`pytest -s` prints how many inputs loaded and how many were rejected.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    Example,
    ExitCode,
    ExitedEarly,
    Interrupted,
    ModuleError,
    OtherError,
    Returned,
    load_module,
)

from .helpers import cli, limited_memory

SEED = 20240606
COUNTS = {"random bytes": 400, "mutated wasm": 600, "mutated WAT": 600, "module shapes": 400}
RUN_TIMEOUT = 1.0  # seconds for each run of a module that loaded
RUN_FUEL = 1_000_000
SLOWEST_LOAD = 5.0  # seconds: load_module has no deadline, so any single input this slow is a failure
WHOLE_RUN = 120.0  # seconds: the watchdog for the whole fuzz run

OUTCOME_TYPES = (ExitedEarly, Returned, OtherError, Interrupted)
LIMIT_PAGES = 1024  # the default 64 MiB memory limit, in 64 KiB pages


# --- generators -------------------------------------------------------------------


def random_bytes(rng: random.Random) -> bytes:
    """Random bytes, sometimes behind a wasm header so the parser goes further."""
    body = rng.randbytes(rng.randrange(0, 80))
    prefix = rng.choice([b"", b"\0asm", b"\0asm\x01\0\0\0", b"\0asm\x01\0\0\0\x01", b"(module", b"\xef\xbb\xbf"])
    return prefix + body


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """Apply one to four random edits to a byte string."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(out) + 1) if out else 0
        if op == 0 and out:  # flip one bit
            i = min(i, len(out) - 1)
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and out:  # overwrite a byte
            i = min(i, len(out) - 1)
            out[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:  # insert bytes
            out[i:i] = rng.randbytes(rng.randint(1, 4))
        elif op == 3:  # delete a run
            del out[i : i + rng.randint(1, 6)]
        elif op == 4 and out:  # duplicate a chunk
            j = rng.randrange(len(out))
            out[i:i] = out[j : j + rng.randint(1, 12)]
        else:  # truncate
            del out[rng.randrange(len(out) + 1) :]
    return bytes(out)


CHARS = list('()$;"\n\t 0123456789abcdefghijklmnopqrstuvwxyz._-=') + ["é", "\x00", "\ufeff", "\ud800", "λ", "\r"]
TOKENS = [
    "(",
    ")",
    "i32",
    "i64",
    "func",
    "param",
    "result",
    "local.get",
    "call",
    "export",
    "import",
    '"run"',
    "0",
    "-1",
    ";;",
    "(;",
    ";)",
]


def mutate_text(rng: random.Random, text: str) -> str:
    """Apply one to three random character or token edits to WAT text."""
    out = list(text)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        i = rng.randrange(len(out) + 1)
        if op == 0 and out:
            del out[min(i, len(out) - 1)]
        elif op == 1:
            out.insert(i, rng.choice(CHARS))
        elif op == 2 and out:
            out[min(i, len(out) - 1)] = rng.choice(CHARS)
        elif op == 3:
            out[i:i] = list(" " + rng.choice(TOKENS) + " ")
        else:  # drop a whole line
            lines = "".join(out).split("\n")
            del lines[rng.randrange(len(lines))]
            out = list("\n".join(lines))
    return "".join(out)


@dataclass
class Shape:
    """A randomly shaped module, with what the tutorial must make of it."""

    wat: str
    fits: bool  # imports only env.early_exit: () -> () and exports run: (i32, i32) -> i32
    instantiates: bool = True  # under the default limits, with a host that exits early
    calls_exit: bool = False  # run calls early_exit first
    notes: list[str] = field(default_factory=list)


# (module, name, kind, the rest of the import's type)
GOOD_EXIT = ("env", "early_exit", "func", "")
IMPORTS = [
    GOOD_EXIT,
    GOOD_EXIT,
    ("env", "early_exit", "func", " (param i32)"),
    ("env", "early_exit", "func", " (result i32)"),
    ("env", "early_exit", "global", " i32"),
    ("env", "early_exit", "memory", " 1"),
    ("env", "memory", "memory", " 1"),
    ("env", "abort", "func", ""),
    ("wasi_snapshot_preview1", "fd_write", "func", " (param i32 i32 i32 i32) (result i32)"),
    ("wasi_snapshot_preview1", "proc_exit", "func", " (param i32)"),
]
RUN_SIGNATURES = [
    ("(param i32 i32) (result i32)", True),
    ("(param i32 i32) (result i32)", True),
    ("(param i32) (result i32)", False),
    ("(param i32 i32)", False),
    ("(result i32)", False),
    ("(param i64 i64) (result i64)", False),
    ("(param i32 i32) (result i32 i32)", False),
    ("(param f32 f32) (result f32)", False),
]


def random_shape(rng: random.Random) -> Shape:
    """Build a random but valid module and predict whether the tutorial accepts it."""
    parts: list[str] = []
    fits = True
    aim = rng.random() < 0.5  # half the shapes aim to fit, so both sides of the check get exercised
    exit_func: str | None = None
    has_memory_import = False
    for n in range(rng.choice([0, 1, 1, 1, 2, 3])):
        imported = GOOD_EXIT if aim else rng.choice(IMPORTS)
        module, name, kind, rest = imported
        if kind == "memory":
            if has_memory_import:
                continue  # one memory is enough; two would need multi-memory
            has_memory_import = True
        ident = f"$imp{n}"
        parts.append(f'(import "{module}" "{name}" ({kind} {ident}{rest}))')
        if imported == GOOD_EXIT:
            exit_func = exit_func or ident
        else:
            fits = False
    shape = Shape(wat="", fits=fits)
    if not has_memory_import and rng.random() < 0.5:
        pages = rng.choice([0, 1, 2, LIMIT_PAGES, LIMIT_PAGES + 1, 65536])
        parts.append(f"(memory {pages})")
        if pages > LIMIT_PAGES:
            shape.instantiates = False
            shape.notes.append(f"memory {pages}")
    run_kind = (
        "func"
        if aim
        else rng.choice(["func", "func", "func", "func", "memory", "global", "table", "none", "other-name"])
    )
    if run_kind == "func":
        signature, right = RUN_SIGNATURES[0] if aim else rng.choice(RUN_SIGNATURES)
        if right:
            shape.calls_exit = exit_func is not None and rng.random() < 0.7
            call = f"(call {exit_func}) " if shape.calls_exit else ""
            body = call + "(i32.add (local.get 0) (local.get 1))"
        else:
            body = "unreachable"
            shape.fits = False
        parts.append(f'(func $run (export "run") {signature} {body})')
    else:
        shape.fits = False
        if run_kind == "memory" and not has_memory_import and not any(p.startswith("(memory") for p in parts):
            parts.append('(memory (export "run") 1)')
        elif run_kind == "global":
            parts.append('(global (export "run") i32 (i32.const 7))')
        elif run_kind == "table":
            parts.append('(table (export "run") 1 funcref)')
        elif run_kind == "other-name":
            parts.append('(func (export "Run") (param i32 i32) (result i32) (local.get 0))')
    if rng.random() < 0.3:
        kind = rng.choice(["nop", "unreachable", "exit"])
        if kind == "exit" and exit_func is None:
            kind = "nop"
        parts.append(f"(func $start {'call ' + exit_func if kind == 'exit' else kind}) (start $start)")
        if kind != "nop":
            shape.instantiates = False
            shape.notes.append(f"start {kind}")
    if rng.random() < 0.3:
        parts.append('(global (export "counter") (mut i32) (i32.const 0))')
    rng.shuffle(parts)  # imports must come first in WAT text: put them back in front
    parts.sort(key=lambda p: not p.startswith("(import"))
    shape.wat = "(module\n  " + "\n  ".join(parts) + "\n)\n"
    return shape


# A second base binary for mutation, with more sections than the guide's guest.
RICH_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (memory (export "memory") 1 4)
  (global $count (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $run $helper)
  (data (i32.const 16) "early exit")
  (func $helper (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func $start (global.set $count (i32.const 1)))
  (start $start)
  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""


# --- the run -----------------------------------------------------------------------


@dataclass
class Tally:
    """What happened to the fuzz inputs, by kind."""

    tried: Counter = field(default_factory=Counter)
    loaded: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    instantiated: Counter = field(default_factory=Counter)
    not_instantiated: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    surprises: list[str] = field(default_factory=list)

    def report(self) -> str:
        """A small table of the counts, one line per kind of input."""
        lines = [
            f"fuzz (seed {SEED}): {sum(self.tried.values())} inputs, "
            f"{sum(self.loaded.values())} loaded, {sum(self.rejected.values())} rejected with ModuleError, "
            f"slowest load {self.slowest * 1000:.1f} ms"
        ]
        for kind in self.tried:
            lines.append(
                f"  {kind:14} tried {self.tried[kind]:4}  loaded {self.loaded[kind]:4}"
                f"  rejected {self.rejected[kind]:4}"
                f"  instantiated {self.instantiated[kind]:4}  not instantiated {self.not_instantiated[kind]:4}"
            )
        lines.append("  outcomes of run(1, 7): " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())))
        return "\n".join(lines)


def inputs(rng: random.Random) -> Iterator[tuple[str, object, Shape | None]]:
    """Every fuzz input: (kind, source, shape or None), in a fixed order for the seed."""
    binaries = [bytes(wasmtime.wat2wasm(GUEST_WAT)), bytes(wasmtime.wat2wasm(RICH_WAT))]
    for _ in range(COUNTS["random bytes"]):
        yield "random bytes", random_bytes(rng), None
    for _ in range(COUNTS["mutated wasm"]):
        yield "mutated wasm", mutate_bytes(rng, rng.choice(binaries)), None
    for _ in range(COUNTS["mutated WAT"]):
        text = mutate_text(rng, GUEST_WAT)
        # Half as text, half as bytes (surrogates pass through as invalid UTF-8).
        yield "mutated WAT", text if rng.random() < 0.5 else text.encode("utf-8", "surrogatepass"), None
    for _ in range(COUNTS["module shapes"]):
        shape = random_shape(rng)
        yield "module shapes", (shape.wat if rng.random() < 0.5 else bytes(wasmtime.wat2wasm(shape.wat))), shape


def fuzz_one(engine: wasmtime.Engine, kind: str, source: object, shape: Shape | None, tally: Tally) -> None:
    """Load one input; if it loads, instantiate it and run it once under a deadline."""
    tally.tried[kind] += 1
    start = time.monotonic()
    try:
        load_module(engine, source)  # type: ignore[arg-type]
    except ModuleError as error:
        tally.rejected[kind] += 1
        assert str(error) and "\n" not in str(error), f"{kind}: unclear message {str(error)!r}"
        if shape is not None and shape.fits:
            tally.surprises.append(f"rejected a module that fits: {error}\n{shape.wat}")
        return
    finally:
        tally.slowest = max(tally.slowest, time.monotonic() - start)
    tally.loaded[kind] += 1
    if shape is not None and not shape.fits:
        tally.surprises.append(f"loaded a module that does not fit:\n{shape.wat}")
    try:
        example = Example(source)  # type: ignore[arg-type]
    except ModuleError:
        tally.not_instantiated[kind] += 1
        if shape is not None and shape.instantiates:
            tally.surprises.append(f"could not instantiate:\n{shape.wat}")
        return
    tally.instantiated[kind] += 1
    if shape is not None and not shape.instantiates:
        tally.surprises.append(f"instantiated although {shape.notes}:\n{shape.wat}")
    outcome = example.run(1, 7, timeout=RUN_TIMEOUT, fuel=RUN_FUEL)
    assert isinstance(outcome, OUTCOME_TYPES), f"{kind}: {outcome!r}"
    tally.outcomes[type(outcome).__name__] += 1
    if shape is not None:
        expected = ExitedEarly(ExitCode(1)) if shape.calls_exit else Returned(8)
        if outcome != expected:
            tally.surprises.append(f"run(1, 7) gave {outcome!r}, expected {expected!r}:\n{shape.wat}")


def run_fuzz(tally: Tally, errors: list[BaseException]) -> None:
    """The whole fuzz run; any exception other than ModuleError is kept in `errors`."""
    rng = random.Random(SEED)
    engine = wasmtime.Engine()
    kind, source = "", None
    try:
        for kind, source, shape in inputs(rng):
            fuzz_one(engine, kind, source, shape, tally)
    except BaseException as error:  # noqa: BLE001 - reported by the test
        report = AssertionError(f"{type(error).__name__}: {error} while fuzzing a {kind} input: {source!r:.300}")
        report.__cause__ = error
        errors.append(report)


def test_fuzz_module_loader() -> None:
    tally = Tally()
    errors: list[BaseException] = []
    # A watchdog thread: a hang fails the test instead of stalling the suite.
    worker = threading.Thread(target=run_fuzz, args=(tally, errors), name="fuzz", daemon=True)
    worker.start()
    worker.join(WHOLE_RUN)
    assert not worker.is_alive(), f"the fuzz run hung: {tally.report()}"
    print("\n" + tally.report())
    if errors:
        raise errors[0]
    assert not tally.surprises, "\n\n".join(tally.surprises[:5])
    assert sum(tally.tried.values()) == sum(COUNTS.values())
    assert tally.tried == Counter(COUNTS)
    assert tally.slowest < SLOWEST_LOAD
    # The fuzz must exercise both sides, or it proves little.
    for kind in ("mutated wasm", "mutated WAT", "module shapes"):
        assert tally.loaded[kind] > 0 and tally.rejected[kind] > 0, tally.report()
    assert tally.instantiated["module shapes"] > 0 and tally.not_instantiated["module shapes"] > 0


def test_shape_generator_matches_the_loader_by_hand() -> None:
    # The shape oracle itself, checked on two hand-made shapes.
    good = Shape(
        wat=(
            '(module (import "env" "early_exit" (func $e)) (func (export "run") (param i32 i32) (result i32) '
            "(call $e) (i32.add (local.get 0) (local.get 1))))"
        ),
        fits=True,
        calls_exit=True,
    )
    tally = Tally()
    fuzz_one(wasmtime.Engine(), "module shapes", good.wat, good, tally)
    assert tally.loaded["module shapes"] == 1 and tally.outcomes == Counter({"ExitedEarly": 1}) and not tally.surprises
    wrong = Shape(wat=good.wat, fits=False, calls_exit=True)  # a wrong prediction must be noticed
    fuzz_one(wasmtime.Engine(), "module shapes", wrong.wat, wrong, tally)
    assert len(tally.surprises) == 1 and tally.surprises[0].startswith("loaded a module that does not fit")


@pytest.mark.parametrize("seed", range(5))
def test_mutations_change_their_input(seed: int) -> None:
    rng = random.Random(seed)
    binary = bytes(wasmtime.wat2wasm(GUEST_WAT))
    assert mutate_bytes(rng, binary) != binary or mutate_bytes(rng, binary) != binary
    assert mutate_text(rng, GUEST_WAT) != GUEST_WAT or mutate_text(rng, GUEST_WAT) != GUEST_WAT


# --- the command line with odd values: one line, never a traceback, never a hang -----------------

CLI_ODD_VALUES = [
    "",
    " ",
    "-",
    "0x10",
    "1_0",
    "\u0663",
    "1e3",
    "inf",
    "-inf",
    "nan",
    "1e400",
    "-0",
    "9" * 30,
    "1.5",
    "\t7\n",
    "+5",
    "2147483648",
    "-2147483649",
    "4294967296",
    "\u00a0",
    "(module)",
    ";;x",
    "/",
    "~",
    "\x1b[31m",
    "\u00e9",
    "1e-320",
    "a" * 300,
    "exit",
    "return",
    "error",
]
CLI_OPTIONS = ["--exit-code", "--timeout", "--fuel", "--module", "--host", "--no-early-exit", None, None]
CLI_RUNS = 60


def _cli_modules(folder) -> list[bytes]:
    """Module paths a hostile user would try, as bytes (one is not UTF-8)."""
    import os

    (folder / "(copy) guest.wat").write_text(GUEST_WAT)
    (folder / ";;x").write_text(GUEST_WAT)
    (folder / "latin1.wat").write_bytes(b"(module) ;; caf\xe9")
    os.mkfifo(folder / "fifo.wat")
    (folder / "a_directory").mkdir()
    paths = [
        os.fsencode(folder / name) for name in ("(copy) guest.wat", ";;x", "latin1.wat", "fifo.wat", "a_directory")
    ]
    paths.append(os.fsencode(folder) + b"/nope\xff.wat")
    if os.path.exists("/dev/zero"):
        paths.append(b"/dev/zero")
    return paths


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs POSIX FIFOs and rlimits")
def test_fuzz_command_line(tmp_path) -> None:
    import subprocess

    rng = random.Random(SEED)
    modules = _cli_modules(tmp_path)
    argvs: list[list[bytes]] = [[b"--module", path] for path in modules]  # each odd file once, for certain
    while len(argvs) < CLI_RUNS:
        argv: list[bytes] = []
        for _ in range(rng.randint(1, 4)):
            option = rng.choice(CLI_OPTIONS)
            if option == "--module":
                argv += [b"--module", rng.choice(modules + [v.encode() for v in CLI_ODD_VALUES[:8]])]
                continue
            if option:
                argv.append(option.encode())
            if option != "--no-early-exit":
                argv.append(rng.choice(CLI_ODD_VALUES).encode("utf-8"))
        argvs.append(argv)
    failures = []
    for argv in argvs:
        try:
            result = cli(*argv, timeout=20, text=False, preexec_fn=limited_memory)
        except subprocess.TimeoutExpired:
            failures.append((argv, "hung"))
            continue
        errors = result.stderr.decode("utf-8", "replace").splitlines()
        if b"Traceback" in result.stdout + result.stderr or "Fatal Python error" in "\n".join(errors):
            failures.append((argv, "traceback: " + errors[-1] if errors else ""))
        elif result.returncode not in (0, 1, 2):
            failures.append((argv, f"status {result.returncode}"))
        elif result.returncode == 2 and not errors[0].startswith("usage:") and len(errors) != 1:
            failures.append((argv, f"{len(errors)} lines on stderr"))
    assert not failures, "\n".join(f"{argv}: {what}" for argv, what in failures)
