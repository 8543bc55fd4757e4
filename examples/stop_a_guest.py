"""Stop a WebAssembly guest that never returns: on Ctrl-C, or after --timeout SECONDS.

    python stop_a_guest.py                 # press Ctrl-C: "Stopped by Ctrl-C.", exit status 130
    python stop_a_guest.py --timeout 2     # after 2 s: a line naming the deadline, exit status 1

The exit statuses are the tutorial's command line's: 1 for a guest that was called and did
not finish (here: stopped at its deadline), 2 for bad input (a --timeout that is no number of
seconds), 130 for Ctrl-C. Needs only wasmtime (`pip install wasmtime`) and the standard library.

Why a signal handler alone cannot do it: Python runs a signal handler (the one
that raises KeyboardInterrupt, say) only between bytecodes of the main thread.
While the main thread is inside wasm, no bytecode runs, so the handler waits for
a return that never comes. Two things still work while the guest runs: the
C-level part of Python's handler, which writes a byte to the file descriptor
given to signal.set_wakeup_fd, and other Python threads (wasmtime releases the
GIL). So one watcher thread waits on that descriptor, with the timeout as its
own deadline, and moves the engine's epoch on; the guest traps at its next loop
header or function call.
"""

import argparse
import math
import signal
import socket
import sys
import threading

import wasmtime

# A guest with a bug: a loop that never ends and never calls the host.
SPIN_WAT = '(module (func (export "spin") (loop $forever (br $forever))))'

CTRL_C, DEADLINE = "Ctrl-C", "deadline"


def seconds(text: str) -> float:
    """A --timeout value: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, got {text}")
    return value


def watch(wakeup: socket.socket, timeout: float | None, engine: wasmtime.Engine, why: list[str]) -> None:
    """Wait for a Ctrl-C (a byte on `wakeup`) or the deadline, then stop the guest."""
    # None waits for ever; a huge timeout is as good as none (and would overflow the C call).
    wakeup.settimeout(None if timeout is None or timeout > threading.TIMEOUT_MAX else timeout)
    try:
        wakeup.recv(1)
        why.append(CTRL_C)
    except TimeoutError:
        why.append(DEADLINE)
    engine.increment_epoch()  # after `why` is set: the guest's trap means the reason is known


def main() -> int:
    """Run the endless guest until Ctrl-C or the deadline; return the exit status."""
    parser = argparse.ArgumentParser(description="Run a guest that never returns, and stop it.")
    parser.add_argument("--timeout", type=seconds, help="stop the guest after this many seconds")
    timeout = parser.parse_args().timeout

    # Ctrl-C first of all: from here on none is lost, even one pressed while the
    # module compiles (it waits in the socket and stops the guest as it starts).
    # A socket pair, not a pipe: on Windows set_wakeup_fd takes only a socket.
    wakeup, wakeup_writer = socket.socketpair()
    wakeup_writer.setblocking(False)  # set_wakeup_fd requires it
    # The descriptor before the handler: a Ctrl-C between the two lines then raises
    # KeyboardInterrupt (caught below). The other way round, it would meet the handler
    # that does nothing, with no descriptor yet to carry its byte: lost.
    signal.set_wakeup_fd(wakeup_writer.fileno())
    # A handler that does nothing: the C level still writes the byte, and no
    # KeyboardInterrupt can be raised inside wasmtime's own Python code.
    signal.signal(signal.SIGINT, lambda signum, frame: None)

    config = wasmtime.Config()
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    spin = wasmtime.Instance(store, wasmtime.Module(engine, SPIN_WAT), []).exports(store)["spin"]
    store.set_epoch_deadline(1)  # before the watcher starts: its one increment always stops the guest

    why: list[str] = []
    threading.Thread(target=watch, args=(wakeup, timeout, engine, why), daemon=True).start()
    print("Running `spin`, a guest that never returns (Ctrl-C stops it)...", flush=True)
    try:
        spin(store)
    except wasmtime.Trap as trap:
        if trap.trap_code != wasmtime.TrapCode.INTERRUPT:
            raise
    if why == [CTRL_C]:
        print("Stopped by Ctrl-C.", file=sys.stderr)
        return 130  # the shell's status for a program ended by SIGINT
    print(f"Stopped: the guest was still running at its {timeout:g} s deadline (--timeout).", file=sys.stderr)
    return 1  # the guest was called and did not finish, as the command line's status 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # pressed before the handler above was in place
        print("Stopped by Ctrl-C.", file=sys.stderr)
        sys.exit(130)
