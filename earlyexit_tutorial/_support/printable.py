"""Text from outside (file names, error messages, a learner's input) made safe to show on one line."""

import os
import re
from typing import Union

# C0 and C1 control characters and the Unicode line and paragraph separators (a message stays one line),
# lone surrogates (what os.fsdecode makes of bytes that are not UTF-8, which no
# encoder accepts) and the two non-characters XML 1.0 forbids.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` with each unprintable character written as its Python escape (`\\n`, `\\x1b`, `\\udcff`)."""
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)


def clip(text: str, chars: int) -> str:
    """`text` cut to at most `chars` characters, with an ellipsis where it was cut."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def display_path(path: Union[str, "os.PathLike[str]"]) -> str:
    """A file path as a terminal shows it, with bytes that are not UTF-8 written as `\\xff`."""
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate that no file name can hold, typed in by hand
        return printable(os.fspath(path))
    return printable(raw.decode("utf-8", "backslashreplace"))


# What XML 1.0 forbids in a document, even written as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` ready for XML content or a quoted attribute: markup escaped, forbidden characters as escapes."""
    text = _NOT_XML.sub(lambda match: repr(match.group())[1:-1], text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
