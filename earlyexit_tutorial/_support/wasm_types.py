"""The value types of a module's imports and exports, read from its binary, for those wasmtime-py cannot pass.

The problem: wasmtime-py converts i32, i64, f32, f64, funcref and externref
between Python and wasm, and nothing else. A host function typed with a v128
fails on every call ("Unkown `ffi.wasmtime_valkind_t`: 4"), and one returning a
v128 aborts the process. Worse, merely asking wasmtime-py about such a type
(`str(valtype)`, `valtype == ValType.i32()`) aborts it too: the C API's
`wasm_valtype_kind` panics on a type it has no kind for.

Things that don't work: reading the types through wasmtime-py (see above); a
config without SIMD (it would refuse a module that uses v128 only inside its own
functions, which runs fine).

The design: read the few sections that type the imports and exports (type,
import, function, global, export) straight from the module's bytes, and name
the first import or export with a type outside the convertible six. A section
this reader does not know makes it answer "cannot tell" (None), never a guess:
the module is then taken as before.
"""

from __future__ import annotations

from typing import NamedTuple

# The value types wasmtime-py converts, by their binary encoding.
CONVERTIBLE = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x70: "funcref", 0x6F: "externref"}
# Abstract heap types: as a reference type's one-byte shorthand, or after 0x63 (ref null) / 0x64 (ref).
_HEAP = {
    0x70: "func",
    0x6F: "extern",
    0x6E: "any",
    0x6D: "eq",
    0x6C: "i31",
    0x6B: "struct",
    0x6A: "array",
    0x69: "exn",
    0x71: "nofunc",
    0x72: "noextern",
    0x73: "none",
    0x74: "noexn",
}
_NULL_NAMES = {"nofunc": "nullfuncref", "noextern": "nullexternref", "none": "nullref", "noexn": "nullexnref"}


class Unconvertible(NamedTuple):
    """An import or export whose type holds a value type wasmtime-py cannot pass."""

    kind: str  # "import" or "export"
    name: tuple[str, ...]  # (module, name) for an import, (name,) for an export
    type_text: str  # the type as the tutorial writes it: "(v128) -> ()", "a global of type v128"
    bad: str  # the first value type it cannot pass: "v128"


class _Unknown(Exception):
    """The binary holds something this reader does not know."""


def find_unconvertible(wasm: bytes) -> Unconvertible | None:
    """The first import or export whose type wasmtime-py cannot pass, or None (none, or it cannot be told)."""
    try:
        return _Module(wasm).first_unconvertible()
    except (_Unknown, IndexError, UnicodeDecodeError):  # IndexError: the bytes end early
        return None


class _Module:
    """The sections of a wasm binary that type its imports and exports."""

    def __init__(self, wasm: bytes) -> None:
        self.data, self.pos = wasm, 8  # after the magic bytes and the version
        self.types: list[tuple[list[str], list[str]] | None] = []  # a function type, or None for another
        self.funcs: list[int] = []  # the type index of each function, imported ones first
        self.globals: list[str] = []  # the value type of each global, imported ones first
        self.found: Unconvertible | None = None

    def first_unconvertible(self) -> Unconvertible | None:
        readers = {1: self._types, 2: self._imports, 3: self._functions, 6: self._globals, 7: self._exports}
        while self.pos < len(self.data) and self.found is None:
            section, size = self._byte(), self._u32()
            end = self.pos + size
            if section in readers:
                readers[section]()
            self.pos = end
            if section == 7:  # what follows (code, data) types nothing we read
                break
        return self.found

    # --- sections ------------------------------------------------------------------------

    def _types(self) -> None:
        for _ in range(self._u32()):
            form = self._byte()
            if form == 0x4E:  # a recursion group of subtypes
                for _ in range(self._u32()):
                    self._subtype(self._byte())
            else:
                self._subtype(form)

    def _subtype(self, form: int) -> None:
        if form in (0x50, 0x4F):  # sub, sub final: their supertypes, then the type itself
            for _ in range(self._u32()):
                self._u32()
            form = self._byte()
        if form == 0x60:
            params = [self._valtype() for _ in range(self._u32())]
            results = [self._valtype() for _ in range(self._u32())]
            self.types.append((params, results))
        elif form == 0x5F:  # struct
            for _ in range(self._u32()):
                self._field()
            self.types.append(None)
        elif form == 0x5E:  # array
            self._field()
            self.types.append(None)
        else:
            raise _Unknown

    def _imports(self) -> None:
        for _ in range(self._u32()):
            module, name, kind = self._name(), self._name(), self._byte()
            if kind == 0x00:
                self._function_import((module, name), self._u32())
            elif kind == 0x01:
                self._valtype()
                self._limits()
            elif kind == 0x02:
                self._limits()
            elif kind == 0x03:
                value = self._valtype()
                self._byte()  # mutability
                self.globals.append(value)
                self._check_global("import", (module, name), value)
            elif kind == 0x04:  # a tag
                self._byte()
                self._u32()
            else:
                raise _Unknown

    def _function_import(self, name: tuple[str, str], index: int) -> None:
        self.funcs.append(index)
        self._check_function("import", name, index)

    def _functions(self) -> None:
        self.funcs += [self._u32() for _ in range(self._u32())]

    def _globals(self) -> None:
        for _ in range(self._u32()):
            self.globals.append(self._valtype())
            self._byte()  # mutability
            self._skip_constant()

    def _exports(self) -> None:
        for _ in range(self._u32()):
            name, kind, index = self._name(), self._byte(), self._u32()
            if kind == 0x00:
                self._check_function("export", (name,), self.funcs[index])
            elif kind == 0x03:
                self._check_global("export", (name,), self.globals[index])
            if self.found is not None:
                return

    # --- checks --------------------------------------------------------------------------

    def _check_function(self, kind: str, name: tuple[str, ...], type_index: int) -> None:
        signature = self.types[type_index]
        if signature is None or self.found is not None:
            return
        params, results = signature
        bad = next((t for t in params + results if t not in CONVERTIBLE.values()), None)
        if bad is not None:
            result = results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"
            self.found = Unconvertible(kind, name, f"({', '.join(params)}) -> {result}", bad)

    def _check_global(self, kind: str, name: tuple[str, ...], value: str) -> None:
        if value not in CONVERTIBLE.values() and self.found is None:
            self.found = Unconvertible(kind, name, f"a global of type {value}", value)

    # --- encodings -----------------------------------------------------------------------

    def _valtype(self) -> str:
        code = self._byte()
        if code in CONVERTIBLE:
            return CONVERTIBLE[code]
        if code == 0x7B:
            return "v128"
        if code in _HEAP:
            return _NULL_NAMES.get(_HEAP[code], _HEAP[code] + "ref")
        if code in (0x63, 0x64):
            heap = self._heaptype()
            if code == 0x63 and heap in ("func", "extern"):
                return heap + "ref"  # (ref null func) is funcref
            return f"(ref {'null ' if code == 0x63 else ''}{heap})"
        raise _Unknown

    def _heaptype(self) -> str:
        if self.data[self.pos] in _HEAP:
            return _HEAP[self._byte()]
        return f"${self._leb(signed=True)}"  # a type index

    def _field(self) -> None:
        if self.data[self.pos] in (0x78, 0x77):  # i8, i16: packed storage
            self.pos += 1
        else:
            self._valtype()
        self._byte()  # mutability

    def _limits(self) -> None:
        flags = self._byte()
        if flags & ~0x0F:
            raise _Unknown
        self._leb()
        if flags & 0x01:
            self._leb()
        if flags & 0x08:  # a custom page size
            self._u32()

    def _skip_constant(self) -> None:
        """Skip a constant expression (a global's initial value), up to its `end`."""
        while True:
            op = self._byte()
            if op == 0x0B:
                return
            if op in (0x41, 0x42, 0x23, 0xD2):  # i32.const, i64.const, global.get, ref.func
                self._leb()
            elif op in (0x43, 0x44):  # f32.const, f64.const
                self.pos += 4 if op == 0x43 else 8
            elif op == 0xD0:  # ref.null
                self._heaptype()
            elif op in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # extended constants: add, sub, mul
                pass
            elif op == 0xFD and self._u32() == 12:  # v128.const
                self.pos += 16
            elif op == 0xFB:
                self._gc_constant(self._u32())
            else:
                raise _Unknown

    def _gc_constant(self, sub: int) -> None:
        if sub in (0, 1, 6, 7):  # struct.new(_default), array.new(_default): a type index
            self._u32()
        elif sub == 8:  # array.new_fixed: a type index and a length
            self._u32()
            self._u32()
        elif sub not in (0x1A, 0x1B, 0x1C):  # any.convert_extern, extern.convert_any, ref.i31
            raise _Unknown

    def _byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def _u32(self) -> int:
        return self._leb()

    def _leb(self, signed: bool = False) -> int:
        result = shift = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift > 70:
                raise _Unknown
        if signed and byte & 0x40:
            result -= 1 << shift
        return result

    def _name(self) -> str:
        size = self._u32()
        raw = self.data[self.pos : self.pos + size]
        if len(raw) < size:
            raise IndexError
        self.pos += size
        return raw.decode("utf-8")
