"""environment.yml (conda, Binder) and the Makefile stay in step with pyproject.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_NAMES = {"wasmtime": "wasmtime-py"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_environment_yml_has_every_runtime_dependency_and_installs_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_names = {_name(d) for d in conda}
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {"jupyterlab", "nbval", "pytest", "pip", "python"}
    pip_names = {_name(d) for d in pip if not d.startswith("-")}
    missing = {n for n in wanted if CONDA_NAMES.get(n, n) not in conda_names and n not in pip_names}
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert "-e ." in pip


def test_python_floor_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    floor = project["requires-python"].removeprefix(">=")
    assert f"python>={floor}" in env["dependencies"]


def test_shared_pins_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = {_name(r): r[len(_name(r)) :] for r in project["project"]["dependencies"]}
    pins.update({_name(r): r[len(_name(r)) :] for r in project["project"]["optional-dependencies"]["lab"]})
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in (d for d in env["dependencies"] if isinstance(d, str)):
        name = _name(dep)
        if name in pins and dep[len(name) :]:
            assert dep[len(name) :] == pins[name], f"{name}: environment.yml {dep!r} vs pyproject {pins[name]!r}"


def _wasmtime_requirement() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = [r for r in project["dependencies"] if _name(r) == "wasmtime"]
    return requirement


def test_wasmtime_has_a_floor_and_no_cap_in_pyproject_and_environment_yml():
    requirement = _wasmtime_requirement()
    # The only form `make test-oldest` reads, and no upper bound: _fastcall gates itself at run time.
    assert re.fullmatch(r"wasmtime>=\d+", requirement), requirement
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert [d for d in pip if _name(d) == "wasmtime"] == [requirement]


@pytest.mark.skipif(shutil.which("make") is None or os.name == "nt", reason="the Makefile needs make and a POSIX shell")
def test_make_test_oldest_installs_the_floor_of_pyproject():
    floor = _wasmtime_requirement().removeprefix("wasmtime>=")
    dry_run = subprocess.run(
        ["make", "-n", "-B", ".venv-oldest/.installed"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert f'"wasmtime=={floor}.*"' in dry_run.stdout, dry_run.stdout
