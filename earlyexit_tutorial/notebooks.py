"""Copy the tutorial's notebooks into a folder of your choice, then open them in JupyterLab.

    earlyexit-tutorial-notebooks DIR     (or: python -m earlyexit_tutorial.notebooks DIR)
"""

from __future__ import annotations

import argparse
import shlex
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFAULT_FOLDER = "earlyexit-tutorial"
FIRST_NOTEBOOK = "01-early-exit.ipynb"

# Exit statuses, as for `earlyexit-tutorial`: 0 done, 2 nothing copied (bad folder, or it would overwrite).
COPIED, REFUSED = 0, 2


class NotebooksExist(FileExistsError):
    """Copying would replace notebooks that are already in the folder."""


def notebook_sources() -> list[Traversable]:
    """The tutorial's notebooks, in reading order."""
    # A wheel carries them in the package; a source checkout (an editable
    # install) has them only in the repository's notebooks/ folder.
    shipped = files(__package__) / "tutorial_notebooks"
    folder: Traversable = shipped if shipped.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"
    found = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".ipynb")) if folder.is_dir() else (),
        key=lambda item: item.name,
    )
    if not found:
        raise FileNotFoundError(f"no notebooks found in {folder}: reinstall earlyexit-tutorial")
    return found


def copy_notebooks(folder: Union[str, Path], *, overwrite: bool = False) -> list[Path]:
    """Copy the tutorial's notebooks into `folder` (created if missing) and return the new files."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, not a folder: choose another name")
    sources = notebook_sources()
    clashes = [source.name for source in sources if (target / source.name).exists()]
    if clashes and not overwrite:
        raise NotebooksExist(
            f"{target} already holds {', '.join(clashes)}: nothing copied "
            "(choose another folder, or pass --force to replace them)"
        )
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sources:
        destination = target / source.name
        destination.write_bytes(source.read_bytes())
        copied.append(destination)
    return copied


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `earlyexit-tutorial-notebooks`."""
    parser = argparse.ArgumentParser(
        prog="earlyexit-tutorial-notebooks",
        description="Copy the tutorial's notebooks into a folder and say how to open them in JupyterLab.",
    )
    parser.add_argument(
        "folder", nargs="?", default=DEFAULT_FOLDER, help=f"where to put the notebooks (default: ./{DEFAULT_FOLDER})"
    )
    parser.add_argument("--force", action="store_true", help="replace notebooks already in the folder")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        copied = copy_notebooks(args.folder, overwrite=args.force)
    except OSError as error:  # an existing notebook, a file in the way, no permission, a full disk
        print(f"earlyexit-tutorial-notebooks: {error}", file=sys.stderr)
        return REFUSED
    print(f"Copied {len(copied)} notebooks into {args.folder}:")
    for path in copied:
        print(f"  {path.name}")
    print("Open the first one in JupyterLab:")
    print(f"  cd {shlex.quote(args.folder)}")
    print(f"  jupyter lab {FIRST_NOTEBOOK}")
    print("(No JupyterLab yet? pip install jupyterlab ipywidgets)")
    return COPIED


if __name__ == "__main__":
    sys.exit(main())
