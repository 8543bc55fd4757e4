"""The command line: run the guide's example headless and report the outcome."""

# Only `sys` (always loaded) is imported up here: until run_program() starts, a
# Ctrl-C prints the interpreter's traceback, so loading this module must be instant.
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would lengthen that window
if TYPE_CHECKING:
    import argparse
    from typing import IO, Optional, Sequence

# Exit statuses: 0 the guest exited early as expected; 1 the expectation
# failed (it returned, trapped, ran out of time or fuel); 2 bad usage or a
# module that cannot be loaded; 74 the output could not be written (a full
# disk: EX_IOERR of sysexits.h); 130 stopped with Ctrl-C and 141 the reader
# of our output went away, as a shell reports a tool ended by SIGINT or SIGPIPE.
EXPECTED, UNEXPECTED, BAD_INPUT, OUTPUT_FAILED, CTRL_C, CLOSED_PIPE = 0, 1, 2, 74, 130, 141


def build_parser() -> "argparse.ArgumentParser":
    """The argument parser of `earlyexit-tutorial`."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def print_help(self, file: "Optional[IO[str]]" = None) -> None:
            # argparse ignores a failed write, so `--help > /dev/full` would succeed in silence.
            file = file or sys.stdout
            if file is not None:  # None when started with stdout closed (>&-)
                file.write(self.format_help())

    parser = Parser(
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
    parser.add_argument(
        "--module", metavar="PATH", help="a .wat or .wasm file importing env.early_exit and exporting run"
    )
    parser.add_argument("--timeout", metavar="SECONDS", help="stop the guest after this many seconds (default 10)")
    parser.add_argument("--fuel", metavar="N", help="stop the guest after this much fuel (default: unlimited)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and trap details")
    return parser


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        # Ctrl-C outside the guest (while compiling, say): no traceback.
        print("Interrupted", file=sys.stderr)
        return CTRL_C
    except OSError:
        raise  # writing the output failed: run_program says so in one line
    except Exception as error:
        # A fault of ours, not of the input: still one line, with the traceback on request.
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"error: unexpected {type(error).__name__}: {error} (run with --verbose for details)", file=sys.stderr)
        return UNEXPECTED


def run_program(argv: "Optional[Sequence[str]]" = None) -> int:
    """Run the command line as a whole program: Ctrl-C, a closed pipe or a full disk end it in one line at most."""
    try:
        try:
            try:
                _exit_on_ctrl_c()
                status = main(argv)
            except SystemExit as done:  # argparse's --help and usage errors
                status = done.code if isinstance(done.code, int) else (0 if done.code is None else BAD_INPUT)
            _flush_stdout()  # now rather than at exit, where a failed write would print a traceback
        finally:
            # What is left is the interpreter's shutdown, which would print a Ctrl-C as a traceback.
            _ignore_ctrl_c()
    except KeyboardInterrupt:
        _ignore_ctrl_c()
        _say("Interrupted")
        return _status_after_flush(CTRL_C)
    except OSError as error:
        return _output_failed(error)
    return status


# Ctrl-C has three regimes in the program. Until the guest is about to be called, it ends
# the program at once (_exit_at_once): a KeyboardInterrupt raised in the middle of an import
# can be swallowed by the import machinery ("Exception ignored in ...") and the run goes on.
# Around the guest's call, it raises KeyboardInterrupt, which the guarded call turns into an
# outcome (_raise_on_ctrl_c, called by _run). After main() returns, it is ignored (_ignore_ctrl_c):
# the interpreter's shutdown would print it as a traceback.


def _exit_at_once(signum: int, frame: object) -> None:
    """SIGINT handler while the program starts: say so and exit with 130, without unwinding."""
    import os

    try:
        sys.stdout.flush()  # keep the progress lines already printed
    except Exception:  # reentrant if the signal came during a write, or a closed pipe: nothing to save
        pass
    try:
        os.write(2, b"Interrupted\n")  # not print(): stderr may be in the middle of a write
    except OSError:
        pass
    os._exit(CTRL_C)


def _exit_on_ctrl_c() -> None:
    import signal

    signal.signal(signal.SIGINT, _exit_at_once)


def _raise_on_ctrl_c() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt, if run_program had made it exit at once."""
    import signal

    # Only undo our own handler: main() called from a notebook or a test keeps its caller's.
    if signal.getsignal(signal.SIGINT) is _exit_at_once:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _ignore_ctrl_c() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _say(line: str) -> None:
    """Write one line to stderr, unless stderr itself is gone."""
    if sys.stderr is None:  # started with stderr closed (2>&-)
        return
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _flush_stdout() -> None:
    if sys.stdout is not None:  # None when started with stdout closed (>&-): nothing to write to
        sys.stdout.flush()


def _status_after_flush(status: int) -> int:
    try:
        _flush_stdout()
    except OSError as error:
        return _output_failed(error)
    return status


def _output_failed(error: OSError) -> int:
    """Report an OSError that escaped the command line, in one line, and choose the exit status."""
    import errno
    import os

    # What is still buffered goes nowhere, so the interpreter's own flush at exit cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    if isinstance(error, BrokenPipeError):
        return CLOSED_PIPE  # the reader has gone, as `| head` does: nothing to say, and nobody to say it to
    if error.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)):
        _say(f"error: cannot write the output: {error.strerror}")
        return OUTPUT_FAILED
    _say(f"error: {error.strerror or error}")
    return UNEXPECTED


def _run(args: "argparse.Namespace") -> int:
    # Imported here so that `--help` and usage errors answer fast.
    from pathlib import Path

    from .guest import ModuleError
    from .interrupting import DEFAULT_TIMEOUT, Reason, check_limits
    from .outcome import ExitedEarly, OtherError, Interrupted, trap_report
    from .running import Example, StartStopped
    from .validation import check_i32, parse_int

    try:
        x = check_i32("x", parse_int("x", args.x))
        y = check_i32("y", parse_int("y", args.y))
        code = parse_int("--exit-code", args.exit_code)
        timeout = DEFAULT_TIMEOUT if args.timeout is None else _parse_seconds(args.timeout)
        fuel = None if args.fuel is None else parse_int("--fuel", args.fuel)
        check_limits(timeout, fuel)
        # A Path, never the text itself: on the command line --module always names a file,
        # even one called "(copy) guest.wat".
        if args.module == "":
            raise ModuleError("the module source is empty: --module needs a file path")
        module = None if args.module is None else Path(args.module)
        # The start function, if any, gets the same deadline and fuel as `run`.
        example = Example(module, behaviour=args.host, exit_code=code, timeout=timeout, fuel=fuel, progress=print)
    except (ValueError, TypeError) as error:  # ModuleError is a ValueError
        if args.verbose:
            import traceback

            traceback.print_exc()  # then the one-line message and status 2, as without --verbose
        prefix = "" if isinstance(error, ModuleError) else "bad input: "
        print(f"error: {prefix}{error}", file=sys.stderr)
        # A start function stopped by Ctrl-C ends like any Ctrl-C.
        return CTRL_C if isinstance(error, StartStopped) and error.reason is Reason.KERNEL else BAD_INPUT
    _raise_on_ctrl_c()  # the guarded call below turns a Ctrl-C into an Interrupted outcome
    print("Calling `run` function...")
    outcome = example.run(x, y, timeout=timeout, fuel=fuel)
    print(outcome.message)
    if args.verbose and isinstance(outcome, (OtherError, Interrupted)):
        import wasmtime

        if isinstance(outcome.error, wasmtime.Trap):
            print(trap_report(outcome.error), file=sys.stderr)
    if isinstance(outcome, ExitedEarly):
        return EXPECTED
    if isinstance(outcome, Interrupted) and outcome.reason is Reason.KERNEL:
        return CTRL_C
    return UNEXPECTED


def _parse_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--timeout must be a number of seconds, got {text!r}") from None
