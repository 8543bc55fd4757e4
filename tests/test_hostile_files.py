"""Hostile module files and names: devices, pipes, huge files and odd names are refused at once, in one line."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
import wasmtime

from earlyexit_tutorial import (
    GUEST_WAT,
    ModuleError,
)

from .helpers import (
    assert_one_error_line,
    cli,
    limited_memory,
    load,
)

# --- hostile module files and names ---------------------------------------------------------


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX special files")


@posix_only
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_before_it_is_read() -> None:
    # First in a child that could not eat the machine if it did read...
    result = cli("--module", "/dev/zero", preexec_fn=limited_memory)
    assert result.returncode == 2
    assert result.stderr == "error: module path /dev/zero is a character device, not a regular file\n"
    # ...then here, through the API.
    with pytest.raises(ModuleError, match=r"^module path /dev/zero is a character device, not a regular file$"):
        load(Path("/dev/zero"))


@posix_only
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:

    fifo = tmp_path / "guest.wat"
    os.mkfifo(fifo)
    errors: list[BaseException] = []
    reader = threading.Thread(target=lambda: errors.append(pytest.raises(ModuleError, load, fifo).value), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it waits in open() for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading a FIFO waited for a writer")
    assert str(errors[0]) == f"module path {fifo} is a named pipe (FIFO), not a regular file"
    result = cli("--module", str(fifo), timeout=30)
    assert result.returncode == 2
    assert result.stderr == f"error: module path {fifo} is a named pipe (FIFO), not a regular file\n"


@posix_only
def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "s.wasm"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ModuleError, match=r" is a socket, not a regular file$"):
            load(path)


def test_a_file_larger_than_64_mib_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.wasm"
    with open(path, "wb") as file:
        file.truncate(2**40)  # a sparse terabyte: reading it whole would need 1 TiB of memory
    expected = f"^module file {path} is 1048576.0 MiB, larger than the 64 MiB a module may have here$"
    with pytest.raises(ModuleError, match=expected):
        load(path)
    result = cli("--module", str(path))
    assert result.returncode == 2
    assert_one_error_line(result, "is 1048576.0 MiB, larger than the 64 MiB a module may have here")


def test_the_size_limit_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from earlyexit_tutorial.guide import guest

    monkeypatch.setattr(guest, "MAX_MODULE_BYTES", len(GUEST_WAT) + 10)
    path = tmp_path / "guest.wat"
    path.write_text(GUEST_WAT + " " * 10)
    assert isinstance(load(path), wasmtime.Module)
    path.write_text(GUEST_WAT + " " * 11)
    with pytest.raises(ModuleError, match=r" is 0\.0 MiB, larger than the 0 MiB"):
        load(path)


@pytest.mark.parametrize("name", ["(copy) guest.wasm", "(copy) guest.wat", ";;x", "(module)"])
def test_an_existing_file_wins_over_the_wat_guess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    own = wasmtime.wat2wasm(GUEST_WAT) if name.endswith(".wasm") else GUEST_WAT.encode()
    (tmp_path / name).write_bytes(own)
    monkeypatch.chdir(tmp_path)
    assert isinstance(load(name), wasmtime.Module)  # a relative name, as a learner types it
    assert isinstance(load(str(tmp_path / name)), wasmtime.Module)
    result = cli("--module", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Exited early with exit code: 1"


def test_a_file_name_taken_as_wat_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleError) as info:
        load("(copy) guest.wasm")
    assert str(info.value).startswith("cannot compile the given WAT text (no file is named '(copy) guest.wasm'): ")
    # On the command line --module is always a path: no guess, no WAT error.
    result = cli("--module", "(copy) guest.wasm")
    assert result.returncode == 2
    assert result.stderr == "error: module file not found: (copy) guest.wasm\n"
    result = cli("--module", "(module)")
    assert result.stderr == "error: module file not found: (module)\n"
    # In the API, a Path says the same.
    with pytest.raises(ModuleError, match=r"^module file not found: \(module\)$"):
        load(Path("(module)"))


@posix_only
def test_a_file_name_that_is_not_utf8_is_shown_as_a_terminal_would(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/nope\xff.wat"
    with pytest.raises(ModuleError) as info:
        load(os.fsdecode(raw))
    assert str(info.value) == f"module file not found: {tmp_path}/nope\\xff.wat"
    result = cli("--module", raw, text=False)
    assert result.returncode == 2
    assert result.stderr == b"error: module file not found: " + os.fsencode(tmp_path) + b"/nope\\xff.wat\n"


def test_a_file_name_with_a_line_break_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.wasm"
    with pytest.raises(ModuleError) as info:
        load(path)
    assert str(info.value) == f"module file not found: {tmp_path}/two\\nlines.wasm"
    result = cli("--module", str(path))
    assert result.returncode == 2
    assert_one_error_line(result, "two\\nlines.wasm")
