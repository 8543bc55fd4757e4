"""The commands' entry points: both console scripts and `python -m earlyexit_tutorial` start here.

Each takes over Ctrl-C first, then imports its command: a Ctrl-C at any moment of
start-up is "Interrupted" and status 130, never a traceback (`commands/_process.py`).
"""

from .commands._process import exit_on_ctrl_c, interrupted, run

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would lengthen the unguarded start
if TYPE_CHECKING:
    from collections.abc import Sequence


def tutorial(argv: "Sequence[str] | None" = None) -> int:
    """`earlyexit-tutorial`: run the guide's example headless and return the exit status."""
    try:
        exit_on_ctrl_c()
        from .commands.cli import main
    except KeyboardInterrupt:  # in the instant before the handler was in place
        return interrupted()
    return run(main, argv)


def notebooks(argv: "Sequence[str] | None" = None) -> int:
    """`earlyexit-tutorial-notebooks`: copy the notebooks into a folder and return the exit status."""
    try:
        exit_on_ctrl_c()
        from .commands.copy_notebooks import main
    except KeyboardInterrupt:  # in the instant before the handler was in place
        return interrupted()
    return run(main, argv)
