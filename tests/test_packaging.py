"""The conventions a user expects: licence, project URLs, the Binder link, the README's picture,
the notebook copy command."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
import yaml

from earlyexit_tutorial.commands import copy_notebooks as command

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _docs_module(name: str):
    path = ROOT / "docs" / f"{name}.py"
    if not path.exists():
        path = ROOT / "docs" / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _markdown_links(text: str) -> list[str]:
    return re.findall(r"\]\((https?://[^)\s]+)\)", text)


# --- licence and metadata ---------------------------------------------------------------


def test_the_licence_file_is_the_mit_licence_pyproject_declares():
    assert PROJECT["license"] == "MIT"
    assert "LICENSE" in PROJECT["license-files"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_the_pypi_description_opens_with_the_pip_install_and_shows_the_readmes_picture():
    assert PROJECT["readme"] == "PYPI.md"
    text = (ROOT / "PYPI.md").read_text(encoding="utf-8")
    assert text.startswith("```bash\npip install 'earlyexit-tutorial[lab]'\n")
    pictures = re.findall(r"!\[[^\]]+\]\(([^)\s]+)\)", text)
    assert pictures and set(pictures) <= set(re.findall(r"!\[[^\]]+\]\(([^)\s]+)\)", README))
    # PyPI shows the page without the repository's files: every link is absolute.
    assert all(urlparse(link).scheme == "https" for link in re.findall(r"\]\(([^)\s]+)\)", text))
    assert _binder_link("notebooks/01-early-exit.ipynb") in _markdown_links(text)
    assert {m["name"] for m in PROJECT["maintainers"]} and {a["name"] for a in PROJECT["authors"]}


def test_project_urls_name_the_documentation_and_the_source():
    urls = PROJECT["urls"]
    assert urls["Source"].startswith("https://github.com/")
    assert urls["Documentation"].startswith("https://")


# --- Binder -------------------------------------------------------------------------------


def _binder_link(notebook: str) -> str:
    return _docs_module("notebook_pages").binder_url(PROJECT["urls"]["Source"], notebook)


def test_readme_and_landing_page_launch_binder_on_notebook_01_of_this_repository():
    link = _binder_link("notebooks/01-early-exit.ipynb")
    assert link.endswith("?urlpath=lab/tree/notebooks/01-early-exit.ipynb")
    assert link in _markdown_links(README)
    assert link in _markdown_links((ROOT / "docs" / "index.md").read_text(encoding="utf-8"))


def test_every_binder_link_opens_a_notebook_that_exists():
    links = [url for url in _markdown_links(README) if "mybinder.org/v2/" in url]
    assert links
    for url in links:
        path = url.partition("urlpath=lab/tree/")[2]
        assert (ROOT / path).is_file(), f"{url} opens {path}, which is not in the repository"


def _range(requirement: str, name: str) -> str:
    return requirement[len(name) :].strip()


def test_environment_yml_pins_the_wasmtime_range_of_pyproject():
    (wanted,) = [_range(r, "wasmtime") for r in PROJECT["dependencies"] if re.match(r"wasmtime\b", r)]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    every = [d for d in env["dependencies"] if isinstance(d, str)]
    every += next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = [_range(d, m.group(0)) for d in every if (m := re.match(r"wasmtime(-py)?\b", d))]
    assert pins == [wanted], f"environment.yml pins wasmtime as {pins}, pyproject.toml as {wanted!r}"


# --- the README's first screen ------------------------------------------------------------


def test_readme_shows_the_diagram_before_the_quick_start():
    # An absolute address, from this repository: PyPI shows the README without the repository's files.
    picture = PROJECT["urls"]["Source"].replace("https://github.com/", "https://raw.githubusercontent.com/", 1)
    picture += "/HEAD/docs/_static/early-exit.svg"
    pictures = re.findall(r"!\[[^\]]+\]\(([^)\s]+\.svg)\)", README)
    assert picture in pictures
    assert README.index(picture) < README.index("## Quick start")


def test_the_committed_diagram_is_what_the_package_draws_now():
    committed = (ROOT / "docs" / "_static" / "early-exit.svg").read_text(encoding="utf-8")
    assert committed == _docs_module("make_diagram").guide_diagram_svg(), "run `make diagram` and commit the result"


def test_quick_start_is_still_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make lab", "make test"]


# --- the notebook copy command ------------------------------------------------------------


def test_copy_gives_the_committed_notebooks(tmp_path):
    copied = command.copy_notebooks(tmp_path / "class")[: len(NOTEBOOKS)]
    assert [p.name for p in copied] == [p.name for p in NOTEBOOKS]
    for source, copy in zip(NOTEBOOKS, copied, strict=True):
        assert copy.read_bytes() == source.read_bytes()


def test_the_command_says_how_to_open_jupyterlab_there(tmp_path, capsys):
    folder = tmp_path / "my tutorial"
    assert command.main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"Copied {len(NOTEBOOKS)} notebooks into {folder}" in out
    assert f"cd '{folder}'" in out
    assert "jupyter lab 01-early-exit.ipynb" in out
    assert (folder / "01-early-exit.ipynb").is_file()


def test_the_closing_hint_names_the_lab_extra_only_for_what_is_missing(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    assert command.main([str(tmp_path / "all-there")]) == 0
    assert "pip install" not in capsys.readouterr().out  # JupyterLab and ziglang are installed here

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ziglang" else real(name, *a))
    assert command.main([str(tmp_path / "no-compiler")]) == 0
    hint = capsys.readouterr().out.splitlines()[-1]
    assert hint == "(Not installed here: ziglang. The lab extra has them: pip install 'earlyexit-tutorial[lab]')"


def test_the_command_refuses_to_overwrite_and_copies_nothing(tmp_path, capsys):
    (tmp_path / "02-interrupting-from-outside.ipynb").write_text("my own edits")
    assert command.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"earlyexit-tutorial-notebooks: {tmp_path} already holds 02-interrupting-from-outside.ipynb: "
        "nothing copied (choose another folder, or pass --force to replace them)"
    )
    assert (tmp_path / "02-interrupting-from-outside.ipynb").read_text() == "my own edits"
    assert not (tmp_path / "01-early-exit.ipynb").exists()


def test_force_replaces_the_notebooks(tmp_path):
    (tmp_path / "01-early-exit.ipynb").write_text("old")
    assert command.main([str(tmp_path), "--force"]) == 0
    assert (tmp_path / "01-early-exit.ipynb").read_bytes() == NOTEBOOKS[0].read_bytes()


def test_a_file_in_place_of_the_folder_is_a_clear_error(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("")
    assert command.main([str(target)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"earlyexit-tutorial-notebooks: {target} is a file, not a folder: choose another name"
    )


def test_a_full_disk_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import errno

    def full(target, name, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(target / name))

    monkeypatch.setattr(command, "_write_temporary", full)
    assert command.main([str(tmp_path / "class")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("earlyexit-tutorial-notebooks: [Errno 28] No space left on device")
    assert len(err.splitlines()) == 1


def test_the_command_runs_as_a_module_and_is_a_console_script(tmp_path):
    assert PROJECT["scripts"]["earlyexit-tutorial-notebooks"] == "earlyexit_tutorial._entry:notebooks"
    done = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial.commands.copy_notebooks", str(tmp_path / "nb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "nb").iterdir()) == sorted([p.name for p in NOTEBOOKS] + ["examples"])


# --- the version --------------------------------------------------------------------------


def test_the_package_version_is_the_one_pyproject_declares():
    import earlyexit_tutorial

    assert earlyexit_tutorial.__version__ == PROJECT["version"]


@pytest.mark.parametrize(
    "code",
    [
        "import earlyexit_tutorial",
        "from earlyexit_tutorial._entry import tutorial\ntry:\n    tutorial(['--help'])\nexcept SystemExit:\n    pass",
    ],
    ids=["import", "help"],
)
def test_importing_the_package_and_asking_for_help_do_not_read_the_metadata(code):
    # importlib.metadata costs milliseconds to import: the version is read when asked for, not before.
    probe = f"import sys\n{code}\nprint('importlib.metadata' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
