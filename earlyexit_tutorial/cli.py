"""The command line: run the guide's example headless and report the outcome."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

# Exit statuses: 0 the guest exited early as expected; 1 the expectation
# failed (it returned, trapped, ran out of time or fuel); 2 bad usage or a
# module that cannot be loaded; 130 stopped with Ctrl-C, as shells expect.
EXPECTED, UNEXPECTED, BAD_INPUT, CTRL_C = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `earlyexit-tutorial`."""
    parser = argparse.ArgumentParser(
        prog="earlyexit-tutorial",
        description="Run the early-exit example: the guest calls the host's early_exit, "
        "which stops it by raising ExitCode.",
    )
    parser.add_argument("x", nargs="?", default="1", help="first argument of run (i32, default 1)")
    parser.add_argument("y", nargs="?", default="7", help="second argument of run (i32, default 7)")
    parser.add_argument("--exit-code", default="1", metavar="N", help="code the host exits with (0..4294967295, default 1)")
    parser.add_argument(
        "--host",
        choices=["exit", "return", "error"],
        default="exit",
        help="what early_exit does: exit early (default), return normally, or raise another error",
    )
    parser.add_argument(
        "--no-early-exit", dest="host", action="store_const", const="return", help="same as --host return"
    )
    parser.add_argument("--module", metavar="PATH", help="your own .wat or .wasm importing env.early_exit and exporting run")
    parser.add_argument("--timeout", metavar="SECONDS", help="stop the guest after this many seconds (default 10)")
    parser.add_argument("--fuel", metavar="N", help="stop the guest after this much fuel (default: unlimited)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and trap details")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        # Ctrl-C outside the guest (while compiling, say): no traceback.
        print("Interrupted", file=sys.stderr)
        return CTRL_C


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `--help` and usage errors answer fast.
    from .guest import ModuleError
    from .interrupting import DEFAULT_TIMEOUT, check_limits
    from .outcome import ExitedEarly, OtherError, Interrupted, trap_report
    from .running import Example
    from .validation import check_i32, parse_int

    try:
        x = check_i32("x", parse_int("x", args.x))
        y = check_i32("y", parse_int("y", args.y))
        code = parse_int("--exit-code", args.exit_code)
        timeout = DEFAULT_TIMEOUT if args.timeout is None else _parse_seconds(args.timeout)
        fuel = None if args.fuel is None else parse_int("--fuel", args.fuel)
        check_limits(timeout, fuel)
        # The start function, if any, gets the same deadline and fuel as `run`.
        example = Example(args.module, behaviour=args.host, exit_code=code, timeout=timeout, fuel=fuel, progress=print)
    except (ValueError, TypeError) as error:  # ModuleError is a ValueError
        if args.verbose:
            import traceback

            traceback.print_exc()  # then the one-line message and status 2, as without --verbose
        prefix = "" if isinstance(error, ModuleError) else "bad input: "
        print(f"error: {prefix}{error}", file=sys.stderr)
        # A start function stopped by Ctrl-C ends like any Ctrl-C.
        return CTRL_C if getattr(error, "reason", None) == "kernel" else BAD_INPUT
    print("Calling `run` function...")
    outcome = example.run(x, y, timeout=timeout, fuel=fuel)
    print(outcome.message)
    if args.verbose and isinstance(outcome, (OtherError, Interrupted)):
        import wasmtime

        if isinstance(outcome.error, wasmtime.Trap):
            print(trap_report(outcome.error), file=sys.stderr)
    if isinstance(outcome, ExitedEarly):
        return EXPECTED
    if isinstance(outcome, Interrupted) and outcome.reason == "kernel":
        return CTRL_C
    return UNEXPECTED


def _parse_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--timeout must be a number of seconds, got {text!r}") from None
