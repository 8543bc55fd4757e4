"""The notebook copier writes only inside its folder, all or nothing, and says how to get there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from earlyexit_tutorial.commands import copy_notebooks as command

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIRST, SECOND = (notebook.name for notebook in NOTEBOOKS[:2])
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
A_COPY = sorted([p.name for p in NOTEBOOKS] + ["examples"])  # what a copied folder holds

needs_symlinks = pytest.mark.skipif(
    not hasattr(os, "symlink") or os.name == "nt", reason="needs symbolic links a test may create"
)


def listing(folder: Path) -> dict[str, object]:
    """What a folder holds: each name with its bytes, or where it links to."""
    return {
        p.name: ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes() if p.is_file() else "folder"
        for p in folder.iterdir()
    }


@needs_symlinks
def test_a_link_at_a_notebooks_name_is_refused_and_force_replaces_the_link_never_its_target(tmp_path, capsys):
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours to overwrite")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / FIRST).symlink_to(outside)
    assert command.main([str(folder)]) == 2
    assert "already holds" in capsys.readouterr().err
    assert (folder / FIRST).is_symlink()
    assert command.main([str(folder), "--force"]) == 0
    assert outside.read_text() == "not yours to overwrite"
    assert not (folder / FIRST).is_symlink()
    assert (folder / FIRST).read_bytes() == NOTEBOOKS[0].read_bytes()
    assert sorted(listing(folder)) == A_COPY  # nothing left over


@needs_symlinks
@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_a_dangling_link_creates_nothing_outside_the_folder(tmp_path, force):
    (tmp_path / "outside").mkdir()
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / FIRST).symlink_to(Path("..") / "outside" / "created.ipynb")
    status = command.main([str(folder), *force])
    assert not (tmp_path / "outside" / "created.ipynb").exists()
    assert list((tmp_path / "outside").iterdir()) == []
    if force:
        assert status == 0
        assert not (folder / FIRST).is_symlink() and (folder / FIRST).read_bytes() == NOTEBOOKS[0].read_bytes()
    else:
        assert status == 2
        assert (folder / FIRST).is_symlink()


def test_a_folder_at_a_notebooks_name_stops_the_copy_before_anything_is_written(tmp_path, capsys):
    (tmp_path / FIRST).write_text("my own edits")
    (tmp_path / SECOND).mkdir()
    (tmp_path / SECOND / "inside.txt").write_text("kept")
    before = listing(tmp_path)
    assert command.main([str(tmp_path), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and SECOND in err and "nothing copied" in err
    assert listing(tmp_path) == before
    assert (tmp_path / SECOND / "inside.txt").read_text() == "kept"


def test_a_rename_that_fails_half_way_puts_every_file_back(tmp_path, monkeypatch, capsys):
    (tmp_path / FIRST).write_text("old first")
    (tmp_path / SECOND).write_text("old second")
    before = listing(tmp_path)
    real_replace = os.replace

    def failing_replace(source, destination):
        # The second notebook's rename into place fails (a disk error, a file locked on Windows).
        if os.path.basename(destination) == SECOND and os.path.basename(source).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(destination))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert command.main([str(tmp_path), "--force"]) == 2
    assert "Permission denied" in capsys.readouterr().err
    assert listing(tmp_path) == before  # the first notebook is back, and no temporary file is left


def test_a_write_that_fails_half_way_leaves_no_file_behind(tmp_path, monkeypatch):
    import errno

    real_write = command._write_temporary
    written = []

    def second_fails(target, name, data):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(name)
        return real_write(target, name, data)

    monkeypatch.setattr(command, "_write_temporary", second_fails)
    assert command.main([str(tmp_path)]) == 2
    assert written == [FIRST]
    assert list(tmp_path.iterdir()) == []


def test_an_empty_folder_name_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert command.main([""]) == 2
    captured = capsys.readouterr()
    assert (
        captured.err
        == "earlyexit-tutorial-notebooks: the folder name is empty: give the folder to copy the notebooks into\n"
    )
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # nothing copied into the current folder


@needs_symlinks
def test_a_folder_given_as_a_link_is_followed_to_a_folder_and_refused_when_it_leads_nowhere(tmp_path, capsys):
    # The user named the link: copying into the folder it leads to is what they asked for.
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert command.main([str(tmp_path / "link")]) == 0
    assert sorted(p.name for p in real.iterdir()) == A_COPY
    capsys.readouterr()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert command.main([str(tmp_path / "dangling")]) == 2
    assert capsys.readouterr().err == (
        f"earlyexit-tutorial-notebooks: {tmp_path / 'dangling'} is a symbolic link to {tmp_path / 'nowhere'}, "
        "which is not a folder: choose another name\n"
    )
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(os.name != "posix" or shutil.which("sh") is None, reason="runs the printed line in sh")
@pytest.mark.parametrize("name", ["my tutorial", "-dashdir", "it's", "a;b", "$HOME", "--"])
def test_the_printed_cd_line_enters_the_folder_in_a_shell(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    assert command.main(["--", name]) == 0
    (cd,) = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("cd ")]
    done = subprocess.run(["sh", "-c", f"{cd} && pwd -P"], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert done.returncode == 0, (cd, done.stderr)
    assert done.stdout.strip() == str((tmp_path / name).resolve())


def test_the_cd_line_on_windows_double_quotes_the_path():
    assert command.cd_line("my tutorial", windows=True) == 'cd "my tutorial"'
    assert command.cd_line("-dashdir", windows=True) == 'cd ".\\-dashdir"'
    assert command.cd_line("-dashdir", windows=False) == "cd ./-dashdir"


@pytest.mark.skipif(os.name != "posix", reason="closes fd 2 in the child")
def test_with_stderr_closed_an_error_is_dropped_not_printed_on_stdout(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial.commands.copy_notebooks", ""],
        stdout=subprocess.PIPE,
        text=True,
        timeout=60,
        cwd=tmp_path,
        preexec_fn=lambda: os.close(2),
    )
    assert done.returncode == 2
    assert done.stdout == ""


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_copied_notebooks_get_the_mode_a_plain_open_would_give(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert command.main([str(tmp_path / "d")]) == 0
    finally:
        os.umask(previous)
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "d").glob("*.ipynb")}
    assert modes and set(modes.values()) == {0o644}, modes  # not mkstemp's private 0600


# --- the examples travel with the notebooks ------------------------------------------------


def test_the_scripts_the_notebooks_point_to_are_copied_into_examples(tmp_path, capsys):
    assert command.main([str(tmp_path / "d")]) == 0
    copied = tmp_path / "d" / "examples"
    assert sorted(p.name for p in copied.iterdir()) == [p.name for p in EXAMPLES]
    for source in EXAMPLES:
        assert (copied / source.name).read_bytes() == source.read_bytes()
    out = capsys.readouterr().out
    assert f"and the plain-wasmtime scripts into {copied}:" in out
    assert "  stop_a_guest.py\n" in out


def test_every_examples_path_a_notebook_names_is_in_the_copy(tmp_path):
    command.copy_notebooks(tmp_path)
    named = set()
    for notebook in NOTEBOOKS:
        # Not wasmtime-py's own examples/hello.py, which the references name as theirs.
        text = notebook.read_text(encoding="utf-8")
        named |= set(re.findall(r"(?<!wasmtime-py's `)examples/[a-z_]+\.py", text))
    assert named  # notebook 03 points to one
    assert all((tmp_path / path).is_file() for path in named), named


def test_a_script_already_there_is_refused_like_a_notebook(tmp_path, capsys):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "early_exit.py").write_text("my own edits")
    assert command.main([str(tmp_path)]) == 2
    assert "already holds examples/early_exit.py: nothing copied" in capsys.readouterr().err
    assert not (tmp_path / FIRST).exists()
    assert command.main([str(tmp_path), "--force"]) == 0
    assert (tmp_path / "examples" / "early_exit.py").read_bytes() == EXAMPLES[0].read_bytes()


def test_a_file_named_examples_stops_the_copy_before_anything_is_written(tmp_path, capsys):
    (tmp_path / "examples").write_text("not a folder")
    assert command.main([str(tmp_path), "--force"]) == 2
    assert "examples is not a folder of its own" in capsys.readouterr().err
    assert listing(tmp_path) == {"examples": b"not a folder"}


@needs_symlinks
def test_an_examples_link_is_never_written_through(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "examples").symlink_to(outside)
    assert command.main([str(folder), "--force"]) == 2
    assert list(outside.iterdir()) == []
    assert sorted(listing(folder)) == ["examples"]


def test_a_failed_copy_takes_away_the_examples_folder_it_made(tmp_path, monkeypatch):
    import errno

    def full(target, name, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(command, "_write_temporary", full)
    assert command.main([str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []
