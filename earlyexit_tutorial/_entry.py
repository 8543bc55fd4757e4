"""The commands' entry points: both console scripts and `python -m earlyexit_tutorial` start here.

Each takes over Ctrl-C first, then imports its command: a Ctrl-C at any moment of
start-up is "Interrupted" and status 130, never a traceback (`commands/_process.py`).
This module imports nothing at its top: the console script's own `from ... import`
of it is the one moment no handler of ours can cover, so it is kept as short as can be.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would lengthen the unguarded start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def tutorial(argv: "Sequence[str] | None" = None) -> int:
    """`earlyexit-tutorial`: run the guide's example headless and return the exit status."""
    return _start("cli", argv)


def notebooks(argv: "Sequence[str] | None" = None) -> int:
    """`earlyexit-tutorial-notebooks`: copy the notebooks into a folder and return the exit status."""
    return _start("copy_notebooks", argv)


def _start(command: str, argv: "Sequence[str] | None") -> int:
    """Take over Ctrl-C, then import the command's module and run its main()."""
    try:
        # Inside the try: a Ctrl-C while the handler's own module loads is caught here too.
        from .commands._process import exit_on_ctrl_c, run

        exit_on_ctrl_c()
        main: Callable[[Sequence[str] | None], int]
        if command == "cli":
            from .commands.cli import main
        else:
            from .commands.copy_notebooks import main
    except KeyboardInterrupt:  # in the instant before the handler was in place
        from .commands._process import interrupted

        return interrupted()
    return run(main, argv)
