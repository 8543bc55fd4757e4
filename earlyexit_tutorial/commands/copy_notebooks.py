"""Copy the tutorial's notebooks into a folder of your choice, then open them in JupyterLab.

    earlyexit-tutorial-notebooks DIR     (or: python -m earlyexit_tutorial.commands.copy_notebooks DIR)

The notebooks go into DIR, and the plain-wasmtime scripts they point to into
DIR/examples/ (notebook 03 sends you to examples/stop_a_guest.py, for one).
It writes only inside DIR, and all or nothing: every destination is checked before
anything is written, each file goes to a temporary file beside its place first and is then
renamed into place, and a failure half-way puts back what was there.
"""

from __future__ import annotations

# Only what the interpreter has loaded already is imported up here (argparse and the
# rest are imported where used): `python -m earlyexit_tutorial.commands.copy_notebooks` runs
# this module's top level before its Ctrl-C handling can begin.
import os
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would lengthen that window
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable
    from pathlib import Path

DEFAULT_FOLDER = "earlyexit-tutorial"
FIRST_NOTEBOOK = "01-early-exit.ipynb"
EXAMPLES = "examples"  # the scripts' folder, in the repository and in the copy
PROG = "earlyexit-tutorial-notebooks"

# Exit statuses, as for `earlyexit-tutorial`: 0 done, 2 nothing copied (bad folder, or it would overwrite).
COPIED, REFUSED = 0, 2


class NotebooksExist(FileExistsError):
    """Copying would replace notebooks that are already in the folder."""


def notebook_sources() -> list[Traversable]:
    """The tutorial's notebooks, in reading order."""
    return _shipped("tutorial_notebooks", "notebooks", ".ipynb")


def example_sources() -> list[Traversable]:
    """The plain-wasmtime scripts of the repository's examples/ folder, by name."""
    return _shipped("tutorial_examples", EXAMPLES, ".py")


def _shipped(package_folder: str, repository_folder: str, suffix: str) -> list[Traversable]:
    """The files ending in `suffix` that the wheel keeps in `package_folder`, or a checkout in `repository_folder`."""
    from importlib.resources import files
    from pathlib import Path

    # A wheel carries them in the package; a source checkout (an editable
    # install) has them only in the repository's own folder.
    shipped = files("earlyexit_tutorial") / package_folder
    folder: Traversable = shipped if shipped.is_dir() else Path(__file__).resolve().parents[2] / repository_folder
    found = sorted(
        (item for item in folder.iterdir() if item.name.endswith(suffix)) if folder.is_dir() else (),
        key=lambda item: item.name,
    )
    if not found:
        raise FileNotFoundError(f"no {repository_folder} found in {folder}: reinstall earlyexit-tutorial")
    return found


def tutorial_files() -> dict[str, Traversable]:
    """What a copy holds: each file's name in the folder ("examples/..." for a script) and its source."""
    named = {source.name: source for source in notebook_sources()}
    named.update({f"{EXAMPLES}/{source.name}": source for source in example_sources()})
    return named


def copy_notebooks(folder: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
    """Copy the tutorial's notebooks into `folder` (created if missing), its scripts into `folder`/examples.

    Returns the new files, the notebooks first.

    Nothing is written outside `folder`: a symbolic link at a notebook's name is a clash like a
    file, and `overwrite` replaces the link itself, never the file it points to. `folder` itself
    may be a link to a folder: it is the folder the caller named.
    """
    from pathlib import Path

    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path, got {type(folder).__name__}")
    if os.fspath(folder) == "":
        # Path("") is the current folder: an empty name is a slip (an unset variable), not a choice.
        raise ValueError("the folder name is empty: give the folder to copy the notebooks into")
    target = Path(folder)
    _check_folder(target)
    _check_examples_folder(target / EXAMPLES)
    sources = tutorial_files()
    replaced = _check_destinations(target, list(sources), overwrite)
    target.mkdir(parents=True, exist_ok=True)
    made_examples = not os.path.lexists(target / EXAMPLES)
    (target / EXAMPLES).mkdir(exist_ok=True)
    try:
        return _write_all(target, sources, replaced)
    except BaseException:
        if made_examples:  # all or nothing: the folder made for the scripts goes too
            from contextlib import suppress  # only on the error path, not at the command's start

            with suppress(OSError):
                os.rmdir(target / EXAMPLES)
        raise


def _check_examples_folder(examples: Path) -> None:
    """Refuse an examples/ that is a file or a link: the scripts are written only into a real folder inside."""
    from .._support.printable import display_path

    if os.path.islink(examples) or (os.path.lexists(examples) and not examples.is_dir()):
        raise NotADirectoryError(
            f"{display_path(examples)} is not a folder of its own (a file or a link): nothing copied "
            "(move it away, or choose another folder)"
        )


def _check_folder(target: Path) -> None:
    """Refuse a folder name that is not, and cannot become, a folder."""
    from .._support.printable import display_path

    if target.is_dir():  # follows a link: a link to a folder is that folder
        return
    if target.is_symlink():
        raise NotADirectoryError(
            f"{display_path(target)} is a symbolic link to {display_path(os.readlink(target))}, "
            "which is not a folder: choose another name"
        )
    if os.path.lexists(target):
        raise NotADirectoryError(f"{display_path(target)} is a file, not a folder: choose another name")


def _check_destinations(target: Path, names: list[str], overwrite: bool) -> set[str]:
    """Check every destination before anything is written; return the names that will be replaced."""
    import stat

    from .._support.printable import display_path

    clashes: list[str] = []
    folders: list[str] = []
    for name in names:
        try:
            # lstat, not stat: a link at the name is a clash even if it points nowhere (a dangling
            # link), and it is the link that a rename replaces.
            info = os.lstat(target / name)
        except FileNotFoundError:
            continue
        except NotADirectoryError:  # the folder does not exist yet, or is a file: checked before
            continue
        (folders if stat.S_ISDIR(info.st_mode) else clashes).append(name)
    if folders:  # not even --force replaces a folder: it may hold anything
        raise IsADirectoryError(
            f"{display_path(target)} holds a folder named {', '.join(folders)}: nothing copied "
            "(move it away, or choose another folder)"
        )
    if clashes and not overwrite:
        raise NotebooksExist(
            f"{display_path(target)} already holds {', '.join(clashes)}: nothing copied "
            "(choose another folder, or pass --force to replace them)"
        )
    return set(clashes)


def _write_all(target: Path, sources: dict[str, Traversable], replaced: set[str]) -> list[Path]:
    """Write every file to a temporary file next to its place, then rename each into place; all or nothing."""
    temporary: dict[str, str] = {}  # a file's name in the copy -> its new content, not in place yet
    moved_aside: dict[str, str] = {}  # a file's name in the copy -> what was there before, until all are in place
    placed: list[str] = []
    try:
        for name, source in sources.items():
            temporary[name] = _write_temporary(target, name, source.read_bytes())
        for name, path in temporary.items():
            destination = os.fspath(target / name)
            if name in replaced:
                # Kept aside rather than overwritten, so that a later failure can put it back.
                moved_aside[name] = _move_aside(destination, target, name)
            os.replace(path, destination)  # replaces a link at the name, never what it points to
            placed.append(name)
    except BaseException:  # a full disk, a permission, Ctrl-C: leave the folder as it was
        _undo(target, temporary, moved_aside, placed)
        raise
    for old in moved_aside.values():
        _remove(old)
    return [target / name for name in sources]


def _write_temporary(target: Path, name: str, data: bytes) -> str:
    """Write `data` to a new file next to `target`/`name` (never through a link) and return its path."""
    import tempfile

    folder, _, base = name.rpartition("/")
    # mkstemp creates the file with O_EXCL: it never opens an existing file or follows a link.
    fd, path = tempfile.mkstemp(dir=target / folder, prefix=f".{base}.", suffix=".tmp")
    try:
        with open(fd, "wb") as file:
            file.write(data)
        # mkstemp makes the file private (0600); a copied notebook gets the mode a plain
        # open() would give it, so a teacher's shared folder stays readable as before.
        os.chmod(path, _new_file_mode())
    except BaseException:
        _remove(path)
        raise
    return path


def _new_file_mode() -> int:
    """The mode open() gives a new file: 0o666 less the process's umask."""
    mask = os.umask(0)  # the only way to read the umask: set it, then put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def _move_aside(destination: str, target: Path, name: str) -> str:
    """Rename what is at `destination` (a file or a link) to a free name beside it, and return that name."""
    import tempfile

    folder, _, base = name.rpartition("/")
    fd, aside = tempfile.mkstemp(dir=target / folder, prefix=f".{base}.", suffix=".old")  # reserves a free name
    os.close(fd)
    try:
        os.replace(destination, aside)  # moves the link itself, not what it points to
    except BaseException:
        _remove(aside)
        raise
    return aside


def _undo(target: Path, temporary: dict[str, str], moved_aside: dict[str, str], placed: list[str]) -> None:
    """Put back what was in `target` before _write_all began."""
    from contextlib import suppress  # only on this error path, not at the command's start

    for name in placed:
        _remove(target / name)  # a new copy
    for name, path in temporary.items():
        if name not in placed:
            _remove(path)  # a temporary file not renamed yet
    for name, old in moved_aside.items():
        # If this fails the file stays under its temporary name; the error that stopped the copy is the one to report.
        with suppress(OSError):
            os.replace(old, target / name)


def _remove(path: str | os.PathLike[str]) -> None:
    from contextlib import suppress  # only on the error path, not at the command's start

    # Gone already, or undoing after an error: the first error is the one worth reporting.
    with suppress(OSError):
        os.unlink(path)


def cd_line(folder: str, *, windows: bool = os.name == "nt") -> str:
    """The `cd` command that enters `folder`, quoted so that the shell takes it as one path."""
    if folder.startswith("-"):
        folder = ("." + ("\\" if windows else "/")) + folder  # `cd -x` would read the name as an option
    if windows:
        return f'cd "{folder}"'  # cmd and PowerShell both take a double-quoted path; Windows names hold no `"`
    import shlex

    return f"cd {shlex.quote(folder)}"


# What opening the notebooks needs beyond the package, all in its `lab` extra: JupyterLab,
# and ziglang, whose clang compiles notebook 03's C guest.
LAB_MODULES = ("jupyterlab", "ziglang")


def missing_lab_modules() -> list[str]:
    """The modules of the `lab` extra that this Python cannot import."""
    from importlib.util import find_spec

    return [name for name in LAB_MODULES if find_spec(name) is None]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `earlyexit-tutorial-notebooks`."""
    from ._parser import OneLineParser, VersionAction

    parser = OneLineParser(
        prog=PROG,
        description="Copy the tutorial's notebooks into a folder and say how to open them in JupyterLab.",
    )
    parser.add_argument(
        "folder", nargs="?", default=DEFAULT_FOLDER, help=f"where to put the notebooks (default: ./{DEFAULT_FOLDER})"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace notebooks (or links) already in the folder; never a folder"
    )
    parser.add_argument("--version", action=VersionAction, help="print the version and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command and return its exit status."""
    from .._support.printable import display_path, printable
    from ._process import raise_on_ctrl_c, say

    args = build_parser().parse_args(argv)
    raise_on_ctrl_c()  # from here a Ctrl-C unwinds, so a copy half done is undone
    try:
        copied = copy_notebooks(args.folder, overwrite=args.force)
    except (OSError, ValueError) as error:  # an existing notebook, a file in the way, no permission, a full disk
        say(f"{PROG}: {printable(str(error))}")
        return REFUSED
    notebooks = [path for path in copied if path.suffix == ".ipynb"]
    print(f"Copied {len(notebooks)} notebooks into {display_path(args.folder)}:")
    for path in notebooks:
        print(f"  {path.name}")
    print(f"and the plain-wasmtime scripts into {display_path(os.path.join(args.folder, EXAMPLES))}:")
    for path in copied[len(notebooks) :]:
        print(f"  {path.name}")
    print("Open the first one in JupyterLab:")
    print(f"  {cd_line(args.folder)}")
    print(f"  jupyter lab {FIRST_NOTEBOOK}")
    missing = missing_lab_modules()
    if missing:
        print(
            f"(Not installed here: {', '.join(missing)}. The lab extra has them: pip install 'earlyexit-tutorial[lab]')"
        )
    return COPIED


if __name__ == "__main__":
    from ._process import run

    sys.exit(run(main))
