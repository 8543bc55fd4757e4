"""Compile errors in the learner's terms: one line, and a place in their WAT text rather than in the binary."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import wasmtime


def compile_message(error: wasmtime.WasmtimeError, name: str, wat: Optional[str] = None) -> str:
    """wasmtime's compile error for the module called `name`, as one line that says where."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    what = lines[0] if lines else "unknown error"
    where = next((line[len("--> "):] for line in lines if line.startswith("--> ")), None)
    if where is not None:
        # wasmtime names WAT text "<anon>:LINE:COL"; keep only the position.
        position = where.rsplit(":", 2)[-2:]
        return f"cannot compile {name}: {what} at line {position[0]}, column {position[1]}"
    cause = lines[-1] if len(lines) > 1 else ""
    cause = re.sub(r"^\d+: ", "", cause)  # wasmtime numbers its chain of causes: "1: Invalid input..."
    function = _FUNCTION.search(what)
    invalid = _INVALID.match(cause)
    if function and invalid:
        # A validation error (a type mismatch, say) points into the binary; say which function instead.
        index, offset, problem = int(function.group(1)), invalid.group(1), invalid.group(2)
        line = function_line(wat, index) if wat is not None else None
        place = f"which begins on line {line}" if line else f"at byte offset {offset}"
        return f"cannot compile {name}: {problem}, in function {index}, {place}"
    return f"cannot compile {name}: {what}" + (f" ({cause})" if cause and cause != what else "")


_FUNCTION = re.compile(r"::function\[(\d+)\]")
_INVALID = re.compile(r"Invalid input WebAssembly code at offset (\d+): (.+)")


def function_line(wat: str, index: int) -> Optional[int]:
    """The line where function `index` begins in WAT text, or None if it cannot be told."""
    # A function is a "(func" directly in the module (a definition) or in an import; other
    # "(func"s (in a type, an export) define none. WAT puts imports first, as the index space does.
    starts = [
        start for start, keyword, parent in _parens(wat) if keyword == "func" and parent in (None, "module", "import")
    ]
    if index >= len(starts):
        return None
    return wat.count("\n", 0, starts[index]) + 1


_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<line_comment>;;[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<open>\()|(?P<close>\))|(?P<atom>[^\s()\";]+)|(?P<other>.)",
    re.S,
)
_BLOCK_COMMENT_MARK = re.compile(r"\(;|;\)")


def _parens(wat: str) -> Iterator[tuple[int, Optional[str], Optional[str]]]:
    """Each "(" of WAT text outside strings and comments: its position, its keyword and its parent's keyword."""
    stack: list[Optional[str]] = []  # the keyword of each "(" still open
    opened: Optional[int] = None  # a "(" whose keyword is the next token
    pos = 0
    while pos < len(wat):
        if wat.startswith("(;", pos):
            pos = _block_comment_end(wat, pos)
            continue
        match = _TOKEN.match(wat, pos)
        assert match is not None  # the last alternative matches any character
        pos, kind = match.end(), match.lastgroup
        if kind in ("space", "line_comment"):
            continue
        if opened is not None:
            keyword = match.group() if kind == "atom" else None
            yield opened, keyword, stack[-1] if stack else None
            stack.append(keyword)
            opened = None
        if kind == "open":
            opened = match.start()
        elif kind == "close" and stack:
            stack.pop()


def _block_comment_end(wat: str, pos: int) -> int:
    """Where the block comment that starts at `pos` ends; block comments nest: (; (; ;) ;)."""
    depth = 0
    for mark in _BLOCK_COMMENT_MARK.finditer(wat, pos):
        depth += 1 if mark.group() == "(;" else -1
        if depth == 0:
            return mark.end()
    return len(wat)
