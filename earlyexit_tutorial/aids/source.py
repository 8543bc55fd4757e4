"""Showing the package's own code in the notebook, so the learner reads what runs."""

from __future__ import annotations

import inspect
import textwrap
from typing import Any


class Source:
    """A piece of source code that Jupyter shows highlighted and prints as plain text."""

    def __init__(self, text: str, language: str = "python") -> None:
        self.text = text
        self.language = language

    def _repr_markdown_(self) -> str:
        return f"```{self.language}\n{self.text}\n```"

    def __repr__(self) -> str:
        return self.text


def show_source(obj: Any) -> Source:
    """The source of a function or class from this package, ready to display."""
    return Source(textwrap.dedent(inspect.getsource(obj)).rstrip())


def show_wat(text: str | bytes) -> Source:
    """WebAssembly text (a str, or UTF-8 bytes as a module file holds it), ready to display."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")  # shown, not compiled: a bad byte shows as U+FFFD
    return Source(text.rstrip(), language="wat")
