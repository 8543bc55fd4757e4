"""The argument parser's parts: usage errors in one line, `--version`, and `--timeout -inf` taken as a value.

Imported only when a command line has arguments to parse: argparse and what it
loads cost the command's cold start a few milliseconds.
"""

import argparse
import sys

from .._support.printable import one_line
from ._process import BAD_INPUT, say

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from _typeshed import SupportsWrite


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, and whose help fails loudly on a full disk."""

    def error(self, message: str) -> "NoReturn":
        """Say what is wrong with the command line in one line, and exit with status 2."""
        # argparse quotes the arguments it refuses: they may hold anything, of any length.
        say(f"{self.prog}: error: {one_line(message, 1000)} (see {self.prog} --help)")
        self.exit(BAD_INPUT)

    def print_help(self, file: "SupportsWrite[str] | None" = None) -> None:
        """Write the help to stdout; a failed write raises (argparse would ignore it)."""
        write_stdout(self.format_help(), file)

    # argparse's overloads only narrow the namespace's type; this one takes the same arguments.
    def parse_known_args(  # type: ignore[override]
        self, args: "Sequence[str] | None" = None, namespace: "Any" = None
    ) -> "Any":
        """Parse as argparse does, but take `--timeout -inf` as the value -inf rather than an unknown option."""
        args = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(_attach_dash_values(args, self._value_options()), namespace)

    def _value_options(self) -> "set[str]":
        return {option for action in self._actions if action.nargs is None for option in action.option_strings}


def _attach_dash_values(args: "list[str]", value_options: "set[str]") -> "list[str]":
    """`--opt -x` as `--opt=-x` when -x is no option: argparse takes only plain negative numbers as values."""
    joined: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return joined + args[i:]
        following = args[i + 1] if i + 1 < len(args) else None
        if (
            arg in value_options
            and following
            and following.startswith("-")
            and not following.startswith("--")
            and following != "-h"
        ):
            joined.append(f"{arg}={following}")
            i += 2
            continue
        joined.append(arg)
        i += 1
    return joined


class VersionAction(argparse.Action):
    """`--version`: print the command's name and the package's version, then exit."""

    def __init__(
        self, option_strings: "Sequence[str]", dest: str = argparse.SUPPRESS, help: "str | None" = None
    ) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: "Any", values: "Any", option_string: "str | None" = None
    ) -> None:
        from .._support.version import package_version  # read from the installed metadata only when asked for

        write_stdout(f"{parser.prog} {package_version()}\n")
        parser.exit()


def write_stdout(text: str, file: "SupportsWrite[str] | None" = None) -> None:
    """Write to `file` or stdout; nothing when started with stdout closed (`>&-`)."""
    file = file or sys.stdout
    if file is not None:
        file.write(text)
