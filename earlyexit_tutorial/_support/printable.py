"""Text from outside (file names, error messages, a module's names, a learner's input) made safe to show on one line.

The patterns are compiled on first use (the re module caches them): only error
paths need them, and a command's cold start should not pay for them.
"""

import os
import re
from collections.abc import Iterable
from typing import Union

# C0 and C1 control characters and the Unicode line and paragraph separators (a message stays one line),
# the bidirectional controls (which make a terminal show text in another order than it is written),
# lone surrogates (what os.fsdecode makes of bytes that are not UTF-8, which no
# encoder accepts) and the two non-characters XML 1.0 forbids.
_UNPRINTABLE = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"

# How much of a name (an import's, a function's, a module's) a message shows.
NAME_CHARS = 60
# How many names of a list a message shows before "and N more".
LISTED_NAMES = 3


def printable(text: str) -> str:
    """`text` with each unprintable character written as its Python escape (`\\n`, `\\x1b`, `\\udcff`)."""
    # Every character of _UNPRINTABLE is one str.isprintable() refuses: most text (a module's
    # names, say) is then shown as it is without the regex, which a cold start would compile.
    if text.isprintable():
        return text
    return re.sub(_UNPRINTABLE, _escape, text)


def _escape(match: "re.Match[str]") -> str:
    return repr(match.group())[1:-1]


def clip(text: str, chars: int) -> str:
    """`text` cut to at most `chars` characters, with an ellipsis where it was cut."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def one_line(text: str, chars: int = NAME_CHARS) -> str:
    """`text` as one printable line of at most `chars` characters: the package's way to show outside text."""
    # Escapes only lengthen the text, so the first chars + 1 characters decide both what is shown
    # and whether it was cut: a name of a megabyte costs no more than one of a line.
    head = text[: chars + 1]
    shown = printable(head)
    if len(shown) <= chars and len(head) == len(text):
        return shown
    pieces, used = [], 0
    for char in head:  # cut between characters, never inside an escape ("\x1" would mislead)
        piece = printable(char)
        if used + len(piece) > chars - 1:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + "…"


def listed(names: Iterable[str], shown: int = LISTED_NAMES) -> str:
    """Names for a one-line message: each as one_line shows it, the first few only, then "and N more"."""
    names = list(names)
    head = ", ".join(one_line(name) for name in names[:shown])
    rest = len(names) - shown
    return f"{head} and {rest:,} more" if rest > 0 else head


def display_path(path: Union[str, "os.PathLike[str]"]) -> str:
    """A file path as a terminal shows it, with bytes that are not UTF-8 written as `\\xff`."""
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate that no file name can hold, typed in by hand
        return printable(os.fspath(path))
    return printable(raw.decode("utf-8", "backslashreplace"))


# What XML 1.0 forbids in a document, even written as a character reference.
_NOT_XML = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"


def xml_text(text: str) -> str:
    """`text` ready for XML content or a quoted attribute: markup escaped, forbidden characters as escapes."""
    text = re.sub(_NOT_XML, _escape, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
