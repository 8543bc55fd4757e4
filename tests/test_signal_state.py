"""The SIGINT handler swap stays true when a Ctrl-C lands at the worst moments of entering or leaving."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Wraps the C signal module the guard uses: the first time the guard puts Python's own
# handler back, a KeyboardInterrupt is raised right after, as Python's handler does for a
# Ctrl-C that lands in that instant (a kernel interrupt in a loop of quick calls hit it).
CHILD = textwrap.dedent(
    """
    import _signal as real, signal
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from earlyexit_tutorial import Example
    from earlyexit_tutorial.interrupting import _signals
    armed = [True]

    class CtrlCRightAfterTheSwapBack:
        def __getattr__(self, name):
            return getattr(real, name)

        def signal(self, signum, handler):
            old = real.signal(signum, handler)
            if handler is signal.default_int_handler and armed[0]:
                armed[0] = False
                raise KeyboardInterrupt
            return old

    example = Example()
    example.run(1, 7)
    _signals._signal = CtrlCRightAfterTheSwapBack()
    try:
        example.run(1, 7)
        print("no KeyboardInterrupt")
    except KeyboardInterrupt:
        print("KeyboardInterrupt between calls")
    for _ in range(3):
        print(example.run(1, 7).message, signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """
)


def test_a_ctrl_c_right_after_the_handler_goes_back_leaves_the_next_calls_whole() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["KeyboardInterrupt between calls"] + ["Exited early with exit code: 1 True"] * 3
