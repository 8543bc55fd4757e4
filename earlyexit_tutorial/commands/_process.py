"""A command as a whole process: Ctrl-C, a closed pipe or a full disk ends it in one line at most.

This module imports nothing that the interpreter has not loaded already, so the
entry points (`earlyexit_tutorial._entry`) can put its Ctrl-C handler in place
before the slow imports (argparse, wasmtime) begin: a Ctrl-C at any moment of
start-up is then "Interrupted" and status 130, never a traceback.
"""

import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would lengthen the unguarded start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Main = Callable[[Sequence[str] | None], int]

# The statuses every command shares: 1 a fault that no input should reach, 2 a command line that
# makes no sense (argparse's own status), 74 the output could not be written (a full disk: EX_IOERR
# of sysexits.h), and 130 and 141 as a shell reports a tool ended by SIGINT (Ctrl-C) or SIGPIPE
# (the reader of our output went away).
UNEXPECTED, BAD_INPUT, OUTPUT_FAILED, CTRL_C, CLOSED_PIPE = 1, 2, 74, 130, 141


def run(main: "Main", argv: "Sequence[str] | None" = None) -> int:
    """Run a command's `main` as a whole program and return its exit status."""
    _skip_the_last_collection()
    try:
        try:
            try:
                exit_on_ctrl_c()
                status = main(argv)
            except SystemExit as done:  # argparse's --help and --version
                status = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
            _flush_stdout()  # now rather than at exit, where a failed write would print a traceback
        finally:
            # What is left is the interpreter's shutdown, which would print a Ctrl-C as a traceback.
            _ignore_ctrl_c()
    except KeyboardInterrupt:  # raised where a command asked for it (raise_on_ctrl_c)
        return interrupted()
    except OSError as error:
        return _output_failed(error)
    return status


_LAST_COLLECTION_SKIPPED = False  # registered already: a process running commands by the thousand registers it once


def _skip_the_last_collection() -> None:
    """At exit, leave the objects alive then out of the interpreter's final garbage collection."""
    global _LAST_COLLECTION_SKIPPED
    if _LAST_COLLECTION_SKIPPED:
        return
    _LAST_COLLECTION_SKIPPED = True
    import atexit
    import gc

    # The interpreter's last collections walk every object still alive: over 20,000 after a run,
    # half of them wasmtime-py's ctypes bindings, several milliseconds of a one-call command's
    # start-to-end, spent freeing memory that the process hands back as it ends anyway. Frozen,
    # they are left out; nothing else changes: the other atexit handlers, the flush of the
    # streams and the clean-up of the modules still run, and what is not in a reference cycle
    # is still finalized. Registered, not done now: a command's run() called inside a notebook
    # or a test leaves that process's garbage collector as it was until the process ends.
    atexit.register(gc.freeze)


def say(line: str) -> None:
    """Write one line to stderr; with stderr closed (`2>&-`) the line is dropped, never sent to stdout."""
    if sys.stderr is None:  # print(file=None) would fall back to stdout
        return
    try:  # noqa: SIM105 - contextlib.suppress would add an import to the command line's start
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


# Ctrl-C has three regimes. From the first line of an entry point it ends the program at once
# (exit_at_once): a KeyboardInterrupt raised in the middle of an import can be swallowed by the
# import machinery ("Exception ignored in ...") and the run goes on. A guarded call into wasm swaps
# in its own handler and turns a Ctrl-C into an outcome; a command that must clean up after itself
# (the notebook copy) asks for a KeyboardInterrupt instead (raise_on_ctrl_c). After the command
# returns, Ctrl-C is ignored (_ignore_ctrl_c): the interpreter's shutdown would print a traceback.
# A program started with Ctrl-C ignored (a background job of a shell, nohup, a supervisor) was
# asked not to stop for it: then none of the three regimes is taken up, and Ctrl-C stays ignored.

_ignored_by_us = False  # SIGINT is ignored because a command of ours ended, not because it was inherited


def exit_at_once(signum: int, frame: object) -> None:
    """SIGINT handler while a command starts: say so and exit with 130, without unwinding."""
    try:  # noqa: SIM105 - contextlib.suppress would add an import to the command line's start
        sys.stdout.flush()  # keep the progress lines already printed
    except Exception:  # reentrant if the signal came during a write, a closed pipe, no stdout: nothing to save
        pass
    try:
        # Not print(): stderr may be in the middle of a write. And not fd 2 blindly: with stderr
        # closed at start, fd 2 may since have been reused by a file we opened.
        if sys.stderr is not None:
            os.write(sys.stderr.fileno(), b"Interrupted\n")
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(CTRL_C)


def exit_on_ctrl_c() -> None:
    """From here on Ctrl-C ends the program at once with one line and status 130, unless it was ignored at start."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN and not _ignored_by_us:
        return
    signal.signal(signal.SIGINT, exit_at_once)


def raise_on_ctrl_c() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt, if it was made to exit at once."""
    import signal

    # Only undo our own handler: a command's main() called from a notebook or a test keeps its caller's.
    if signal.getsignal(signal.SIGINT) is exit_at_once:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _ignore_ctrl_c() -> None:
    import signal

    global _ignored_by_us
    if signal.signal(signal.SIGINT, signal.SIG_IGN) is not signal.SIG_IGN:
        _ignored_by_us = True


def interrupted() -> int:
    """Say \"Interrupted\" and give the status of a program ended by Ctrl-C."""
    _ignore_ctrl_c()
    say("Interrupted")
    return _status_after_flush(CTRL_C)


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
    """Report an OSError that escaped a command, in one line, and choose the exit status."""
    import errno

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
        say(f"error: cannot write the output: {error.strerror}")
        return OUTPUT_FAILED
    say(f"error: {error.strerror or error}")
    return UNEXPECTED
