"""environment.yml (conda, Binder) stays in step with pyproject.toml."""

from __future__ import annotations

import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

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
