"""Where the main thread is when the guard's SIGINT handler runs, and so whether the handler may raise there.

`handler_place(frame, block_frame)` answers OWN, GLUE, HOST or BLOCK; the guard
names its own entering and leaving code with `never_raise_in`.
`main_thread_in_host` asks the same of the main thread from another thread.
"""

from __future__ import annotations

import sys
from types import CodeType, FrameType
from typing import Any

from .._support import _epoch_callback
from . import _calls
from ._calls import WatchedCall

# Where the SIGINT handler runs, as `handler_place` tells it.
OWN = "own"  # the guard's own code (entering or leaving a call) or the epoch callback: never raise here
GLUE = "glue"  # wasmtime-py's Python around a call into wasm (or the typed fast path): the trap will say it
HOST = "host"  # a host function called from wasm: raising here leaves it, and the guest traps
BLOCK = "block"  # other Python code in the `with` block: raise KeyboardInterrupt, as Python would

# The code objects in which the handler never raises, whatever calls them: the
# guard adds its entering and leaving code (`never_raise_in`). The epoch callback
# is never raised in either (an exception there would reach C): `handler_place`
# asks `_epoch_callback.CALLBACK_CODE`, set once the callback exists.
NEVER_RAISE: set[CodeType] = set()

# The modules whose code is the Python glue of a call into wasm: wasmtime-py's own
# (its call wrapper, its host trampoline and what they call, ctypes among it) and
# our typed fast path.
_GLUE_MODULES = ("wasmtime", "ctypes", "earlyexit_tutorial._support._fastcall")


def never_raise_in(*functions: Any) -> None:
    """Name functions in which (or below which) the SIGINT handler must not raise."""
    NEVER_RAISE.update(function.__code__ for function in functions)


def _is_glue(frame: FrameType) -> bool:
    return frame.f_globals.get("__name__", "").startswith(_GLUE_MODULES)


def _is_host_trampoline(frame: FrameType) -> bool:
    # wasmtime-py calls every host function from one ctypes callback, `trampoline` in `wasmtime._func`.
    return frame.f_code.co_name == "trampoline" and frame.f_globals.get("__name__") == "wasmtime._func"


def handler_place(frame: FrameType | None, block_frame: FrameType | None) -> str:
    """Where the main thread was when the SIGINT handler ran: OWN, GLUE, HOST or BLOCK.

    The protocol. `frame` is the frame the handler interrupted, `block_frame` the
    frame that entered the innermost guarded call. Looking from `frame` outwards up
    to `block_frame`: a frame whose code is in NEVER_RAISE (or the epoch callback's)
    makes it OWN. An innermost frame of wasmtime-py's, of ctypes or of our typed fast
    path makes it GLUE: raising there would lose the trap the call is about to raise,
    or escape wasmtime-py's host trampoline outside its `try` into C (a crash). Further
    out, wasmtime-py's trampoline (`wasmtime._func.trampoline`) means a host function
    runs: HOST if the frame the trampoline called is the host's own, GLUE if it is
    the trampoline's glue (ctypes, wasmtime-py). Anything else is the block's own
    Python code: BLOCK.
    """
    if frame is None:
        return BLOCK
    if frame.f_code in NEVER_RAISE or frame.f_code is _epoch_callback.CALLBACK_CODE:
        return OWN
    if _is_glue(frame):
        return GLUE
    place = BLOCK
    called = frame
    while frame is not None and frame is not block_frame:
        if frame.f_code in NEVER_RAISE:
            return OWN
        if place is BLOCK and _is_host_trampoline(frame):
            # Keep looking outwards: the guard's own code may be further out.
            place = GLUE if _is_glue(called) else HOST
        called, frame = frame, frame.f_back
    return place


def main_thread_in_host(innermost: WatchedCall) -> bool:
    """Tell, from another thread, whether the main thread runs a host function of its innermost call now."""
    # The frame the main thread is in (CPython and PyPy keep it for every thread):
    # the place the handler would find, were the signal sent now.
    frame = sys._current_frames().get(_calls.MAIN_THREAD or 0)
    try:
        return frame is not None and handler_place(frame, innermost.block_frame) is HOST
    finally:
        del frame  # a frame held here would hold the main thread's locals
