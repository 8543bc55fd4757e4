"""Shared fixtures: small guest modules written the way a learner would."""

from __future__ import annotations

import pytest

# A learner's own module, written independently of GUEST_WAT: same import and
# export, different body (it doubles x before the call, so a normal return is 2x + y).
OWN_WAT = """\
(module
  (import "env" "early_exit" (func $exit))
  (func (export "run") (param i32 i32) (result i32)
    (local $twice i32)
    (local.set $twice (i32.mul (local.get 0) (i32.const 2)))
    (call $exit)
    (i32.add (local.get $twice) (local.get 1))))
"""

ENDLESS_WAT = """\
(module
  (import "env" "early_exit" (func))
  (func (export "run") (param i32 i32) (result i32)
    (loop br 0)
    i32.const 0))
"""


@pytest.fixture
def own_wat_file(tmp_path):
    path = tmp_path / "own.wat"
    path.write_text(OWN_WAT)
    return path


@pytest.fixture
def own_wasm_file(tmp_path):
    import wasmtime

    path = tmp_path / "own.wasm"
    path.write_bytes(wasmtime.wat2wasm(OWN_WAT))
    return path


@pytest.fixture
def endless_wat_file(tmp_path):
    path = tmp_path / "endless.wat"
    path.write_text(ENDLESS_WAT)
    return path
