"""The guide's guest is compiled from its binary, which is the translation of GUEST_WAT, byte for byte."""

from __future__ import annotations

import pytest
import wasmtime

from earlyexit_tutorial import GUEST_WAT, compile_guest, interruptible_engine
from earlyexit_tutorial.guide.guest import GUEST_WASM


def test_the_guest_binary_is_what_wat2wasm_makes_of_the_guest_text():
    # After a change to GUEST_WAT this fails until GUEST_WASM is its new translation.
    assert bytes(wasmtime.wat2wasm(GUEST_WAT)) == GUEST_WASM


def test_compiling_the_guide_s_guest_parses_no_wat(monkeypatch: pytest.MonkeyPatch):
    # The WAT parser's code is what a cold command line would have to read in: the binary skips it.
    from wasmtime import _wat2wasm

    def no_wat(wat: object) -> bytearray:
        raise AssertionError("the guide's guest was compiled from its WAT text")

    monkeypatch.setattr(_wat2wasm, "wat2wasm", no_wat)
    module = compile_guest(interruptible_engine())
    assert [(imp.module, imp.name) for imp in module.imports] == [("env", "early_exit")]
    assert [exp.name for exp in module.exports] == ["run"]
