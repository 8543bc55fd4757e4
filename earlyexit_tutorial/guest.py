"""The guest: the WebAssembly module that calls back into the host."""

from __future__ import annotations

import os
import stat
import weakref
from pathlib import Path
from typing import Union

import wasmtime

from .compile_errors import compile_message
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
        raise ModuleError(compile_message(error, name, wat)) from None
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
