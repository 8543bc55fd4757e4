"""A guest that may never return: the subject of notebook 02."""

from __future__ import annotations

# Same import and export as the guide's guest, so everything in the package
# works with it. With x == 0 it spins forever and never calls the host, so an
# early exit cannot help: only the host, from outside, can stop it. Any other
# x behaves like the guide's guest, so the same instance can be tried again.
LOOPING_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))

  (func $run (export "run") (param $x i32) (param $y i32) (result i32)
    ;; x == 0: loop forever, never calling the host.
    (if (i32.eqz (local.get $x))
      (then (loop $forever (br $forever))))
    call $early_exit
    (i32.add (local.get $x) (local.get $y)))
)
"""
