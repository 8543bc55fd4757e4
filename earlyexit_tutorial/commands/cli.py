"""The command line: run the guide's example headless and report the outcome.

The command starts in `earlyexit_tutorial._entry.tutorial`, which takes over Ctrl-C before this module
is imported. Values are parsed from text here and checked by the package's own
functions (run_example), which say what is wrong in one line: this module prints
that line and exits with status 2.

Timeouts follow the package's rule: `--timeout inf` (or any number too large for
a float, or `none`) means no deadline; 0, negatives, -inf and nan are refused.
"""

import sys

from .._support.printable import one_line
from ._process import BAD_INPUT, CLOSED_PIPE, CTRL_C, OUTPUT_FAILED, UNEXPECTED, say

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs start-up time
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace
    from typing import Any

    from ..guide.outcome import Outcome

    Namespace = argparse.Namespace | SimpleNamespace  # what parse_args returns: one attribute per option

PROG = "earlyexit-tutorial"

# The most an error line shows: room for a file path of the longest kind (4,096 bytes on Linux).
ERROR_CHARS = 5000

# Exit statuses: 0 the guest exited early as expected; 1 the expectation failed; 2 bad usage or a
# module that cannot be loaded. 2 (bad usage), 74, 130 and 141 (a failed write, Ctrl-C, a closed pipe)
# are shared by every command of the package.
EXPECTED = 0

# What each status means, for --help, the README and the documentation alike (a test compares them).
EXIT_STATUSES = (
    (EXPECTED, "the guest exited early, as the guide expects"),
    (UNEXPECTED, "it did not: the guest returned, trapped, or ran out of time or fuel"),
    (BAD_INPUT, "bad input, or a module that cannot be loaded (or whose start function ran past --timeout or --fuel)"),
    (OUTPUT_FAILED, "the output could not be written (a full disk)"),
    (CTRL_C, "stopped with Ctrl-C"),
    (CLOSED_PIPE, "the reader of the output went away (a closed pipe)"),
)


def _epilog() -> str:
    lines = ["exit status:"] + [f"  {status:<4} {meaning}" for status, meaning in EXIT_STATUSES]
    return "\n".join(lines)


def build_parser() -> "argparse.ArgumentParser":
    """The argument parser of `earlyexit-tutorial`."""
    import argparse

    from ._parser import OneLineParser, VersionAction

    parser = OneLineParser(
        prog=PROG,
        description="Run the early-exit example: the guest calls the host's early_exit,\n"
        "which stops it by raising ExitCode.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the status table's lines
    )
    parser.add_argument("x", nargs="?", default=DEFAULTS["x"], help="first argument of run (i32, default 1)")
    parser.add_argument("y", nargs="?", default=DEFAULTS["y"], help="second argument of run (i32, default 7)")
    parser.add_argument(
        "--exit-code",
        default=DEFAULTS["exit_code"],
        metavar="N",
        help="code the host exits with (0..4294967295, default 1)",
    )
    parser.add_argument(
        "--host",
        choices=["exit", "return", "error"],
        default=DEFAULTS["host"],
        help="what early_exit does: exit early (default), return normally, or raise another error",
    )
    parser.add_argument(
        "--no-early-exit", dest="host", action="store_const", const="return", help="same as --host return"
    )
    parser.add_argument(
        "--module", metavar="PATH", help="a .wat or .wasm file importing env.early_exit and exporting run"
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="stop the guest after this many seconds (default 10); inf, or none, for no deadline",
    )
    parser.add_argument("--fuel", metavar="N", help="stop the guest after this much fuel (default: unlimited)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and trap details")
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    return parser


# What a command line without arguments means, for the parser and for the shortcut past it alike.
DEFAULTS: "dict[str, Any]" = dict(
    x="1", y="7", exit_code="1", host="exit", module=None, timeout=None, fuel=None, verbose=False
)


def parse_args(argv: "Sequence[str] | None" = None) -> "Namespace":
    """The command line's arguments; with none at all, DEFAULTS, without loading argparse."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        # The common start, in half the time: argparse and what it loads (gettext, locale,
        # shutil for the terminal's width) cost more than the rest of a cold start but wasmtime.
        from types import SimpleNamespace  # loaded with the interpreter already

        return SimpleNamespace(**DEFAULTS)
    return build_parser().parse_args(argv)


def main(argv: "Sequence[str] | None" = None) -> int:
    """Run the command line and return its exit status."""
    args = parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        # Ctrl-C outside the guest, when main() runs without the entry point's handler: no traceback.
        say("Interrupted")
        return CTRL_C
    except OSError:
        raise  # writing the output failed: the entry point says so in one line
    except Exception as error:
        # A fault of ours, not of the input: still one line, with the traceback on request.
        _traceback_if(args.verbose)
        what = one_line(f"{type(error).__name__}: {error}", ERROR_CHARS)
        say(f"error: unexpected {what} (run with --verbose for details)")
        return UNEXPECTED


def _run(args: "Namespace") -> int:
    """Run the example as `args` ask and return the exit status."""
    from ..guide.running import run_example  # here, so that --help and usage errors answer before wasmtime loads

    try:
        # The package checks every value (x, y, the exit code, the limits) and says what is wrong.
        outcome = run_example(**_example_arguments(args), progress=print)
    except (ValueError, TypeError) as error:  # a ModuleError is a ValueError
        return _refused(args, error)
    print(outcome.message)
    _trap_details(args, outcome)
    return _status(outcome)


def _example_arguments(args: "Namespace") -> "dict[str, Any]":
    """The command line's text as run_example's arguments; text that is no value at all raises ValueError."""
    from pathlib import Path

    from .._support.validation import parse_int
    from ..guide.guest import ModuleError

    if args.module == "":  # Path("") would be the current folder
        raise ModuleError("the module source is empty: --module needs a file path")
    arguments: dict[str, Any] = dict(
        x=parse_int("x", args.x),
        y=parse_int("y", args.y),
        exit_code=parse_int("--exit-code", args.exit_code),
        behaviour=args.host,
        # A Path, never the text itself: on the command line --module always names a file,
        # even one called "(copy) guest.wat".
        module=None if args.module is None else Path(args.module),
        fuel=None if args.fuel is None else parse_int("--fuel", args.fuel),
    )
    if args.timeout is not None:  # else run_example's default deadline
        arguments["timeout"] = parse_seconds(args.timeout)
    return arguments


def parse_seconds(text: str) -> "float | None":
    """`--timeout`'s text as seconds: a number (inf, or one too large for a float: no deadline), or None for `none`."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)  # "1e400" is inf: no deadline, as the package's rule says
    except ValueError:
        raise ValueError(f"--timeout must be a number of seconds, got {one_line(repr(text), 80)}") from None


def _refused(args: "Namespace", error: Exception) -> int:
    """Report a value or module the package refused, in one line, and choose the exit status."""
    from ..guide.guest import ModuleError
    from ..guide.running import StartStopped
    from ..interrupting.guard import Reason

    _traceback_if(args.verbose)  # then the one-line message and status 2, as without --verbose
    prefix = "" if isinstance(error, ModuleError) else "bad input: "
    say(f"error: {prefix}{one_line(str(error), ERROR_CHARS)}")
    # A start function stopped by Ctrl-C ends like any Ctrl-C.
    return CTRL_C if isinstance(error, StartStopped) and error.reason is Reason.CTRL_C else BAD_INPUT


def _trap_details(args: "Namespace", outcome: "Outcome") -> None:
    """With --verbose, the trap's code and wasm backtrace on stderr."""
    from ..guide.outcome import Interrupted, OtherError, trap_report

    if args.verbose and isinstance(outcome, (OtherError, Interrupted)):
        import wasmtime

        if isinstance(outcome.error, wasmtime.Trap):
            say(trap_report(outcome.error))


def _status(outcome: "Outcome") -> int:
    from ..guide.outcome import ExitedEarly, Interrupted
    from ..interrupting.guard import Reason

    if isinstance(outcome, ExitedEarly):
        return EXPECTED
    if isinstance(outcome, Interrupted) and outcome.reason is Reason.CTRL_C:
        return CTRL_C
    return UNEXPECTED


# How much of each traceback line --verbose shows: wasmtime's error text holds the module's names.
TRACEBACK_LINE_CHARS = 1000


def _traceback_if(verbose: bool) -> None:
    """The traceback of the error being handled, on stderr if asked for and if stderr is open."""
    if verbose and sys.stderr is not None:  # print_exc(file=None) would fall back to stdout
        import traceback

        # Line by line through one_line: a name from the module could clear the screen or split a line.
        for line in traceback.format_exc().splitlines():
            sys.stderr.write(one_line(line, TRACEBACK_LINE_CHARS) + "\n")
        sys.stderr.flush()
