"""Compile errors in the learner's terms: one line, and a place in their WAT text rather than in the binary."""

from __future__ import annotations

import re

import wasmtime


def compile_message(error: wasmtime.WasmtimeError, name: str, wat: str | None = None) -> str:
    """wasmtime's compile error for the module called `name`, as one line that says where."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    what = lines[0] if lines else "unknown error"
    where = next((line[len("--> ") :] for line in lines if line.startswith("--> ")), None)
    if where is not None:
        # wasmtime names WAT text "<anon>:LINE:COL"; keep only the position.
        position = where.rsplit(":", 2)[-2:]
        return f"cannot compile {name}: {what} at line {position[0]}, column {position[1]}"
    cause = lines[-1] if len(lines) > 1 else ""
    cause = re.sub(r"^\d+: ", "", cause)  # wasmtime numbers its chain of causes: "1: Invalid input..."
    function = re.search(_FUNCTION, what)
    invalid = re.match(_INVALID, cause)
    if function and invalid:
        # A validation error (a type mismatch, say) points into the binary; say which function instead.
        index, offset, problem = int(function.group(1)), invalid.group(1), invalid.group(2)
        line = function_line(wat, index) if wat is not None else None
        place = f"which begins on line {line}" if line else f"at byte offset {offset}"
        return f"cannot compile {name}: {problem}, in function {index}, {place}"
    return f"cannot compile {name}: {what}" + (f" ({cause})" if cause and cause != what else "")


# Patterns as text, compiled on first use (the re module caches them): only a failed compile needs them.
_FUNCTION = r"::function\[(\d+)\]"
_INVALID = r"Invalid input WebAssembly code at offset (\d+): (.+)"


def function_line(wat: str, index: int) -> int | None:
    """The line where function `index` begins in WAT text, or None if it cannot be told."""
    # A function is a "(func" directly in the module (a definition) or in an import; other
    # "(func"s (in a type, an export) define none. WAT puts imports first, as the index space does.
    # The work is a few passes of the regex engine and str.count over the text, never a Python step
    # per token: a module of 50 MiB is named in about the time wasmtime takes to refuse it.
    text = _blank_strings_and_comments(wat)
    field_depth = 1 if re.match(_MODULE, text) else 0  # a bare list of fields is a module too
    depth = counted = seen = 0
    imported_func = re.compile(_IMPORTED_FUNC)
    for match in re.finditer(_FIELD, text):
        start = match.start()
        depth += text.count("(", counted, start) - text.count(")", counted, start)
        counted = start
        if depth != field_depth:
            continue
        if match.group(1) == "import":
            imported = imported_func.match(text, match.end())
            if imported is None:
                continue  # a memory, table or global
            start = imported.start(1)
        if seen == index:
            return wat.count("\n", 0, start) + 1
        seen += 1
    return None


_MODULE = r"\s*\(\s*module(?![^\s()])"
_FIELD = r"\(\s*(func|import)(?![^\s()])"
_IMPORTED_FUNC = r"\s*(\()\s*func(?![^\s()])"  # after the import's names, blanked
_HIDDEN = r'"|;;|\(;'  # where a string, a line comment or a block comment begins
_STRING_REST = r'(?s)[^"\\]*(?:\\.[^"\\]*)*"?'


def _blank_strings_and_comments(wat: str) -> str:
    """`wat` with each string and comment replaced by as many spaces, so that their parentheses do not count."""
    hidden, string_rest = re.compile(_HIDDEN), re.compile(_STRING_REST)
    pieces: list[str] = []
    pos = 0
    while (found := hidden.search(wat, pos)) is not None:
        start = found.start()
        mark = found.group()
        if mark == '"':
            # The pattern matches the empty string, so it matches anywhere: never None.
            end = string_rest.match(wat, found.end()).end()  # type: ignore[union-attr]
        elif mark == ";;":
            end = wat.find("\n", start)
            end = len(wat) if end < 0 else end
        else:
            end = _block_comment_end(wat, start)
        pieces += (wat[pos:start], " " * (end - start))
        pos = end
    pieces.append(wat[pos:])
    return "".join(pieces)


_BLOCK_COMMENT_MARK = r"\(;|;\)"


def _block_comment_end(wat: str, pos: int) -> int:
    """Where the block comment that starts at `pos` ends; block comments nest: (; (; ;) ;)."""
    depth = 0
    for mark in re.compile(_BLOCK_COMMENT_MARK).finditer(wat, pos):
        depth += 1 if mark.group() == "(;" else -1
        if depth == 0:
            return mark.end()
    return len(wat)
