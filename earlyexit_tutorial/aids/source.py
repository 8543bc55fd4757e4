"""Showing the package's own code in the notebook, so the learner reads what runs."""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

# A fence's info string names the language for the highlighter: a word, never a line break or a backtick.
_LANGUAGE = re.compile(r"[A-Za-z0-9_+.-]*")
_BACKTICKS = re.compile("`+")


class Source:
    """A piece of source code that Jupyter shows highlighted and prints as plain text."""

    def __init__(self, text: str, language: str = "python") -> None:
        if not isinstance(text, str):
            raise TypeError(f"the source text must be a str, got {type(text).__name__}")
        if not isinstance(language, str):
            raise TypeError(f"language must be a str, got {type(language).__name__}")
        if not _LANGUAGE.fullmatch(language):
            raise ValueError(f"language must be a name such as 'wat' or 'python', got {language[:40]!r}")
        self.text = text
        self.language = language

    def _repr_markdown_(self) -> str:
        # Code stays code whatever it holds: a fence closes only on a line of at least as many
        # backticks, so one longer than every run in the text cannot be closed from inside it
        # (and JupyterLab renders what a live session shows as HTML, unsanitized).
        text = self._shown()
        longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}{self.language}\n{text}\n{fence}"

    def __repr__(self) -> str:
        return self._shown()

    def _shown(self) -> str:
        # A lone surrogate (from os.fsdecode, or typed as an escape) cannot be sent to the
        # notebook or a terminal as UTF-8: it is shown as its escape, \udcff.
        return self.text.encode("utf-8", "backslashreplace").decode("utf-8")


def show_source(obj: Any) -> Source:
    """The source of a function or class from this package, ready to display."""
    return Source(textwrap.dedent(inspect.getsource(obj)).rstrip())


def show_wat(text: str | bytes) -> Source:
    """WebAssembly text (a str, or UTF-8 bytes as a module file holds it), ready to display."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", "replace")  # shown, not compiled: a bad byte shows as U+FFFD
    if not isinstance(text, str):
        raise TypeError(f"show_wat takes WAT text (a str, or UTF-8 bytes), got {type(text).__name__}")
    return Source(text.rstrip(), language="wat")
