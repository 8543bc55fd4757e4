"""The guest: the WebAssembly module that calls back into the host."""

from __future__ import annotations

import os
import re
import stat
import weakref
from pathlib import Path
from typing import Iterator, Optional, Union

import wasmtime

from .printable import clip, display_path
from .signatures import RUN_SIGNATURE, EARLY_EXIT_SIGNATURE, describe, matches

# The guest of the guide, in WebAssembly text. `run` calls the host's
# `early_exit` first; the addition after it only happens if the host lets
# the call return normally.
GUEST_WAT = """\
(module
  ;; The host provides this function; the guest only knows its name and type.
  (import "env" "early_exit" (func $early_exit))

  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    ;; Ask the host whether to go on. Our host answers by raising ExitCode,
    ;; so execution never comes back here.
    call $early_exit

    ;; Only reached when early_exit returns normally.
    local.get $x
    local.get $y
    i32.add)
)
"""

ModuleSource = Union[str, bytes, os.PathLike]

WASM_MAGIC = b"\0asm"


class ModuleError(ValueError):
    """A module that cannot be loaded or does not fit the tutorial's host."""


_compiled: "weakref.WeakKeyDictionary[wasmtime.Engine, wasmtime.Module]" = weakref.WeakKeyDictionary()


def compile_guest(engine: wasmtime.Engine) -> wasmtime.Module:
    """Compile the tutorial's guest for `engine`, once per engine."""
    module = _compiled.get(engine)
    if module is None:
        module = wasmtime.Module(engine, GUEST_WAT)
        _compiled[engine] = module
    return module


def read_source(source: ModuleSource) -> tuple[Union[str, bytes], str]:
    """Return a module's text or bytes, and a name for it in messages.

    Bytes are a binary or WAT; a Path is always a file. A string is a file if
    one of that name exists, else WAT text if it looks like WAT (it starts
    with "(" or ";;", or spans lines), else a file path.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        # wasmtime.wat2wasm returns a bytearray, a FileUpload widget a memoryview.
        return bytes(source), "the module in the given bytes"  # a singular name: "... does not export"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"a module must be WAT text, wasm bytes or a file path, got {type(source).__name__}")
    if isinstance(source, str) and not source.strip().strip("\ufeff"):
        raise ModuleError("the module source is empty: give WAT text, wasm bytes or a file path")
    if isinstance(source, str) and _looks_like_wat(source) and not os.path.exists(source):
        if source.strip().endswith((".wat", ".wasm")):
            # A file name that starts like WAT ("(copy) guest.wasm") but names no file: say what it was taken for.
            return source, f"the given WAT text (no file is named {clip(source.strip(), 60)!r})"
        return source, "the given WAT text"
    return _read_file(Path(source))


def _looks_like_wat(text: str) -> bool:
    # Text over several lines is WAT, even with a typo before its first "(": no path has a line break.
    return text.lstrip("\ufeff \t\r\n").startswith(("(", ";;")) or "\n" in text.strip()


# The store caps a guest's memory at 64 MiB; a module file larger than that is
# refused before it is read whole (the guide's guest is under 200 bytes).
MAX_MODULE_BYTES = 64 * 2**20

_NOT_REGULAR = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _read_file(path: Path) -> tuple[Union[str, bytes], str]:
    """Read a module file: a regular file of at most MAX_MODULE_BYTES, WAT text or a binary."""
    name = display_path(path)
    try:
        _check_regular_file(os.stat(path), name)
        # O_NONBLOCK: if the file became a FIFO since the check, opening it must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as file:
            _check_regular_file(os.fstat(fd), name)
            data = file.read(MAX_MODULE_BYTES + 1)
    except ModuleError:
        raise
    except ValueError:  # e.g. an embedded NUL character: no file can have that name
        raise ModuleError(f"module path is not a valid file name: {clip(str(path), 60)!r}") from None
    except FileNotFoundError:
        raise ModuleError(f"module file not found: {name}") from None
    except OSError as error:
        raise ModuleError(f"cannot read module file {name}: {error.strerror}") from None
    if len(data) > MAX_MODULE_BYTES:  # it grew after the check
        raise ModuleError(f"module file {name} is larger than {MAX_MODULE_BYTES // 2**20} MiB, too large for a module here")
    if path.suffix == ".wasm" and not data.startswith(WASM_MAGIC):
        raise ModuleError(f"{name} is not a WebAssembly binary: it does not start with the \\0asm magic bytes")
    if not data.startswith(WASM_MAGIC):
        try:
            return data.decode("utf-8"), name
        except UnicodeDecodeError:
            raise ModuleError(f"{name} is neither a WebAssembly binary nor UTF-8 WAT text") from None
    return data, name


def _check_regular_file(info: os.stat_result, name: str) -> None:
    """Refuse anything but a regular file of at most MAX_MODULE_BYTES, before reading it."""
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFDIR:
        raise ModuleError(f"module path is a directory, not a file: {name}")
    if kind != stat.S_IFREG:
        # /dev/zero would be read without end, a FIFO would wait for a writer.
        what = _NOT_REGULAR.get(kind, "not a regular file")
        raise ModuleError(f"module path {name} is {what}, not a regular file")
    if info.st_size > MAX_MODULE_BYTES:
        size = info.st_size / 2**20
        raise ModuleError(
            f"module file {name} is {size:.1f} MiB, larger than the {MAX_MODULE_BYTES // 2**20} MiB a module may have here"
        )


def _compile_message(error: wasmtime.WasmtimeError, name: str, wat: Optional[str] = None) -> str:
    """Turn wasmtime's compile error into one line that says where."""
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
        line = _function_line(wat, index) if wat is not None else None
        place = f"which begins on line {line}" if line else f"at byte offset {offset}"
        return f"cannot compile {name}: {problem}, in function {index}, {place}"
    return f"cannot compile {name}: {what}" + (f" ({cause})" if cause and cause != what else "")


_FUNCTION = re.compile(r"::function\[(\d+)\]")
_INVALID = re.compile(r"Invalid input WebAssembly code at offset (\d+): (.+)")


def _function_line(wat: str, index: int) -> Optional[int]:
    """The line where function `index` begins in WAT text, or None if it cannot be told."""
    # A function is a "(func" directly in the module (a definition) or in an import; other
    # "(func"s (in a type, an export) define none. WAT puts imports first, as the index space does.
    starts = [start for start, keyword, parent in _parens(wat) if keyword == "func" and parent in (None, "module", "import")]
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


def load_module(engine: wasmtime.Engine, source: ModuleSource) -> wasmtime.Module:
    """Compile a learner's module (WAT text, wasm bytes, or a file: a Path or a string naming one) and check its shape."""
    data, name = read_source(source)
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate, say
            raise ModuleError(f"{name} cannot be encoded as UTF-8: {error.reason} at position {error.start}") from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as some editors write
    if not data:
        raise ModuleError(f"{name} is empty")
    if data.startswith(b"\0") and not data.startswith(WASM_MAGIC):
        # A NUL cannot start WAT text either, and wasmtime's message would list bytes over many lines.
        raise ModuleError(f"{name} is not a WebAssembly binary: no \\0asm magic bytes at the start")
    if not data.startswith(WASM_MAGIC):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ModuleError(f"{name} is neither a WebAssembly binary nor UTF-8 WAT text") from None
    try:
        module = wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as error:
        wat = None if data.startswith(WASM_MAGIC) else data.decode("utf-8")
        raise ModuleError(_compile_message(error, name, wat)) from None
    check_shape(module, name)
    return module


def check_shape(module: wasmtime.Module, name: str = "the module") -> None:
    """Raise ModuleError unless the module imports only env.early_exit and exports run."""
    for imp in module.imports:
        if (imp.module, imp.name) != ("env", "early_exit"):
            raise ModuleError(
                f"{name} imports {imp.module}.{imp.name}, which the tutorial's host does not "
                "provide (it provides only env.early_exit)"
            )
        if not matches(imp.type, EARLY_EXIT_SIGNATURE):
            raise ModuleError(
                f"{name} imports env.early_exit as {describe(imp.type)}, "
                f"expected {describe(EARLY_EXIT_SIGNATURE)}"
            )
    exports = {exp.name: exp.type for exp in module.exports}
    if "run" not in exports:
        raise ModuleError(f"{name} does not export a function named `run`")
    if not matches(exports["run"], RUN_SIGNATURE):
        raise ModuleError(f"{name} exports `run` as {describe(exports['run'])}, expected {describe(RUN_SIGNATURE)}")
