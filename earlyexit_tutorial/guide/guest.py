"""The guest: the WebAssembly module that calls back into the host."""

from __future__ import annotations

import os
import stat
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import wasmtime

from .._support.printable import clip, display_path, listed, one_line
from .host import EARLY_EXIT, ImportKey, import_key, is_wasmtime_extern
from .outcome import short_error
from .signatures import EARLY_EXIT_SIGNATURE, RUN_SIGNATURE, describe, matches

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

# The same module as a binary, which compile_guest compiles: a cold process then never runs
# wasmtime's WAT parser, whose code it would first have to read in from the library (about a
# millisecond of the command line's start). tests/test_guest_binary.py checks that it is what
# wasmtime.wat2wasm(GUEST_WAT) makes, byte for byte; after a change to GUEST_WAT, put that here.
GUEST_WASM = (
    b"\x00asm\x01\x00\x00\x00"  # the magic bytes, then version 1
    b"\x01\x0a\x02\x60\x00\x00\x60\x02\x7f\x7f\x01\x7f"  # types: () -> (), (i32, i32) -> i32
    b"\x02\x12\x01\x03env\x0aearly_exit\x00\x00"  # imports: env.early_exit, a function of type 0
    b"\x03\x02\x01\x01"  # functions: one, of type 1 (run)
    b"\x07\x07\x01\x03run\x00\x01"  # exports: function 1 as "run"
    b"\x0a\x0b\x01\x09\x00\x10\x00\x20\x00\x20\x01\x6a\x0b"  # code: call 0, local.get 0, local.get 1, i32.add
    b"\x00\x24\x04name\x01\x12\x02\x00\x0aearly_exit\x01\x03run"  # the names of the functions...
    b"\x02\x09\x01\x01\x02\x00\x01x\x01\x01y"  # ... and of run's parameters, for backtraces
)

ModuleSource = str | bytes | os.PathLike

WASM_MAGIC = b"\0asm"


class ModuleError(ValueError):
    """A module that cannot be loaded or does not fit the tutorial's host."""


_compiled: weakref.WeakKeyDictionary[wasmtime.Engine, wasmtime.Module] = weakref.WeakKeyDictionary()


def compile_guest(engine: wasmtime.Engine) -> wasmtime.Module:
    """Compile the tutorial's guest for `engine`, once per engine."""
    module = _compiled.get(engine)
    if module is None:
        module = wasmtime.Module(engine, GUEST_WASM)
        _compiled[engine] = module
    return module


def read_source(source: ModuleSource) -> tuple[bytes, str]:
    """Return a module's bytes (a binary, or WAT text as UTF-8), and a name for it in messages.

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
            name = f"the given WAT text (no file is named {clip(source.strip(), 60)!r})"
        else:
            name = "the given WAT text"
        try:
            return source.encode("utf-8"), name
        except UnicodeEncodeError as error:  # a lone surrogate, say
            raise ModuleError(f"{name} cannot be encoded as UTF-8: {error.reason} at position {error.start}") from None
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


def _read_file(path: Path) -> tuple[bytes, str]:
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
        raise ModuleError(
            f"module file {name} is larger than {MAX_MODULE_BYTES // 2**20} MiB, too large for a module here"
        )
    if path.suffix == ".wasm" and not data.startswith(WASM_MAGIC):
        raise ModuleError(f"{name} is not a WebAssembly binary: it does not start with the \\0asm magic bytes")
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
            f"module file {name} is {size:.1f} MiB, "
            f"larger than the {MAX_MODULE_BYTES // 2**20} MiB a module may have here"
        )


def load_module(engine: wasmtime.Engine, source: ModuleSource | wasmtime.Module) -> wasmtime.Module:
    """Compile a learner's module (WAT text, wasm bytes, a file, a wasmtime.Module) and check its shape."""
    module, name = compile_module(engine, source)
    check_shape(module, name)
    return module


def compile_module(engine: wasmtime.Engine, source: ModuleSource | wasmtime.Module) -> tuple[wasmtime.Module, str]:
    """Compile a learner's module for `engine`; return it and its name in messages. Its shape is not checked."""
    if isinstance(source, wasmtime.Module):
        return _for_engine(engine, source), "the given wasmtime.Module"
    data, name = read_source(source)
    # WAT text stays bytes: wasmtime reads it as they are, and it is decoded only if an error must show it.
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as some editors write
    if not data:
        raise ModuleError(f"{name} is empty")
    if data.startswith(b"\0") and not data.startswith(WASM_MAGIC):
        # A NUL cannot start WAT text either, and wasmtime's message would list bytes over many lines.
        raise ModuleError(f"{name} is not a WebAssembly binary: no \\0asm magic bytes at the start")
    try:
        module = wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as error:
        from .._support.compile_errors import compile_message  # a module that fails to compile only

        if data.startswith(WASM_MAGIC):
            raise ModuleError(compile_message(error, name)) from None
        try:
            wat = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ModuleError(f"{name} is neither a WebAssembly binary nor UTF-8 WAT text") from None
        raise ModuleError(compile_message(error, name, wat)) from None
    # Before anything reads the module's types through wasmtime-py, which aborts on a v128.
    _refuse_unconvertible(data, name)
    return module, name


def _refuse_unconvertible(data: bytes, name: str) -> None:
    """Raise ModuleError if an import or export has a value type wasmtime-py cannot pass (a v128)."""
    from .._support.wasm_types import find_unconvertible  # a learner's module only: not the guide's cold start

    if not data.startswith(WASM_MAGIC):
        if b"v128" not in data and b"ref" not in data:
            return  # WAT text names every such type with one of these words: nothing to look for
        data = bytes(wasmtime.wat2wasm(data))  # it compiled, so it converts
    found = find_unconvertible(data)
    if found is None:
        return
    cannot = f"wasmtime-py cannot pass a {found.bad} between Python and wasm"
    if found.kind == "import":
        raise ModuleError(f"{name} imports {dotted(*found.name)} as {found.type_text}, and {cannot}")
    raise ModuleError(
        f"{name} exports {one_line(found.name[0])} as {found.type_text}, and {cannot}: "
        f"keep {found.bad} values inside the module"
    )


def _for_engine(engine: wasmtime.Engine, module: wasmtime.Module) -> wasmtime.Module:
    """`module`, compiled by another engine, as a module of `engine`."""
    # A module belongs to the engine that compiled it, and the Example has its own.
    # Its serialized form comes from wasmtime itself, in this process: safe to load.
    try:
        return wasmtime.Module.deserialize(engine, module.serialize())
    except wasmtime.WasmtimeError as error:  # e.g. "Module was compiled without fuel support ..."
        raise ModuleError(
            f"the given wasmtime.Module cannot run under the guard: {short_error(error)}; compile it with "
            "wasmtime.Engine(interruptible_config()), or give its WAT text or wasm bytes instead"
        ) from None


def check_shape(
    module: wasmtime.Module, name: str = "the module", offered: Mapping[ImportKey, Any] | None = None
) -> None:
    """Raise ModuleError unless every import is provided with its type and `run` is exported.

    `offered` holds the learner's own host functions by (module, name); the
    tutorial's host provides env.early_exit unless `offered` overrides it.
    """
    offered = offered or {}
    declared_imports = [(import_key(imp), imp.type) for imp in module.imports]  # each read from wasmtime once
    imported = {key for key, _ in declared_imports}
    # An offered function the module does not import is refused, not ignored: a
    # typo ("tock" for "tick", "emv" for "env") or an import removed from the WAT
    # would otherwise leave a host function that never runs, with nothing to say so.
    extras = [dotted(m, n) for m, n in offered if (m, n) not in imported]
    for key, declared in declared_imports:
        if key in offered:
            _check_offered(_what_imports(name, key), declared, offered[key])
        elif key != EARLY_EXIT:
            if isinstance(declared, wasmtime.FuncType):
                need = f"offer a Python function for it in imports= (its type: {describe(declared)})"
            else:
                need = f"it is {describe(declared)}, and imports= takes functions only"
            unused = f"; imports= offers {listed(extras)}, which the module does not import" if extras else ""
            raise ModuleError(
                f"{_what_imports(name, key)}, which the tutorial's host does not provide "
                f"(it provides only env.early_exit): {need}{unused}"
            )
        elif not matches(declared, EARLY_EXIT_SIGNATURE):
            raise ModuleError(
                f"{_what_imports(name, key)} as {describe(declared)}, expected {describe(EARLY_EXIT_SIGNATURE)}"
            )
    if extras:
        imports = listed(dotted(m, n) for m, n in sorted(imported)) or "nothing"
        raise ModuleError(f"imports= offers {listed(extras)}, which {name} does not import (it imports {imports})")
    # The type of `run` only: reading every export's type costs more than the rest of an Example
    # (some 15 ms at 8,000 exports), and a module's export names are unique.
    run = next((exp for exp in module.exports if exp.name == "run"), None)
    if run is None:
        raise ModuleError(f"{name} does not export a function named `run`")
    if not matches(run.type, RUN_SIGNATURE):
        raise ModuleError(f"{name} exports `run` as {describe(run.type)}, expected {describe(RUN_SIGNATURE)}")


def _what_imports(name: str, key: ImportKey) -> str:
    """The start of a message about one import, `the module imports env.tick`: made only when one is raised."""
    return f"{name} imports {dotted(*key)}"


def dotted(module: str, name: str) -> str:
    """An import's name as messages write it, `env.tick`: one printable line, each part bounded."""
    # Both parts come from the module (or from a learner's imports=): any text, of any length.
    return f"{one_line(module)}.{one_line(name)}"


def _check_offered(what: str, declared: Any, value: Any) -> None:
    """Raise ModuleError unless `value` can be the import `what` declared as `declared`."""
    if is_wasmtime_extern(value):
        # Its own type cannot be read here: wasmtime asks for the store it was made in,
        # and handing it another store aborts the process.
        raise ModuleError(
            f"{what} as {describe(declared)}, and imports= offers a wasmtime.{type(value).__name__} for it, "
            "which belongs to the store it was made in, not to this Example's: offer a Python function, "
            "and the Example gives it the type the module declares"
        )
    if not isinstance(declared, wasmtime.FuncType):
        raise ModuleError(f"{what} as {describe(declared)}, but imports= offers a function for it")
    params = len(declared.params)
    if not _takes(value, params):
        raise ModuleError(
            f"{what} as {describe(declared)}, but the function offered for it, {_signature(value)}, "
            f"cannot take {params} argument{'' if params == 1 else 's'}"
        )


def _takes(function: Any, count: int) -> bool:
    """Tell whether `function` accepts `count` positional arguments (True when Python cannot tell)."""
    import inspect  # only for a learner's own imports: the command line never needs it

    try:
        inspect.signature(function).bind(*range(count))
    except ValueError:  # no signature to read (some built-ins): the call itself will say
        return True
    except TypeError:
        return False
    return True


def _signature(function: Any) -> str:
    """A function as `tick(a, b=1)`: its name and parameters, without annotations."""
    import inspect

    params = (p.replace(annotation=inspect.Parameter.empty) for p in inspect.signature(function).parameters.values())
    name = getattr(function, "__name__", type(function).__name__)
    return one_line(f"{name}({', '.join(map(str, params))})", 120)  # a default may be any value, of any length
