"""environment.yml and postBuild (conda, Binder, a teacher's image) and the Makefile stay in step with
pyproject.toml; `make lab` installs only the lab and serves the repository with notebook 01 open."""

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


def test_environment_yml_never_installs_the_repository_itself():
    # A local requirement makes repo2docker copy the whole repository before solving, so every
    # commit re-solves the environment; postBuild installs the package instead.
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    local = [d for d in pip if d.startswith(("-e", ".", "/", "file:")) or "earlyexit" in d]
    assert local == []


def test_binder_gets_a_pinned_python_minor_the_package_declares():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python"]
    # repo2docker reads the version with this pattern (python, then one or more "=", then digits).
    (pin,) = pythons
    match = re.fullmatch(r"python\s*=+\s*(3\.(\d+))", pin)
    assert match, f"{pin!r} is not a pin repo2docker reads"
    floor = int(project["requires-python"].removeprefix(">=3."))
    assert int(match.group(2)) >= floor
    assert f"Programming Language :: Python :: {match.group(1)}" in project["classifiers"]


def test_postbuild_installs_the_package_without_dependencies_and_trusts_the_notebooks():
    script = (ROOT / "postBuild").read_text()
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "python -m pip install --no-deps ." in commands
    assert "jupyter trust notebooks/*.ipynb" in commands
    assert "jupyter-config/labconfig/default_setting_overrides.json" in script
    if os.name == "posix":
        assert os.access(ROOT / "postBuild", os.X_OK), "repo2docker runs postBuild only if it is executable"


def test_the_projects_jupyterlab_defaults_silence_the_news_and_save_widget_state():
    import json

    overrides = json.loads((ROOT / "jupyter-config" / "labconfig" / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    # Each key is one the installed JupyterLab and widget manager define (a misspelt one is ignored silently).
    import sys

    share = Path(sys.prefix) / "share" / "jupyter"
    schemas = {
        "@jupyterlab/apputils-extension:notification": share
        / "lab/schemas/@jupyterlab/apputils-extension/notification.json",
        "@jupyter-widgets/jupyterlab-manager:plugin": share
        / "labextensions/@jupyter-widgets/jupyterlab-manager/schemas/@jupyter-widgets/jupyterlab-manager/plugin.json",
    }
    if not all(path.is_file() for path in schemas.values()):
        pytest.skip("JupyterLab and its widget manager are not installed in this environment")
    for plugin, path in schemas.items():
        properties = json.loads(path.read_text(encoding="utf-8"))["properties"]
        assert set(overrides[plugin]) <= set(properties), plugin


def _dry_run(*targets: str, **variables: str) -> str:
    assigned = [f"{k}={v}" for k, v in variables.items()]
    done = subprocess.run(
        ["make", "-n", "-B", *assigned, *targets], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


NEEDS_MAKE = pytest.mark.skipif(
    shutil.which("make") is None or os.name == "nt", reason="the Makefile needs make and a POSIX shell"
)


@NEEDS_MAKE
def test_make_lab_installs_the_lab_extra_only_and_roots_jupyterlab_at_the_repository(tmp_path):
    venv = tmp_path / "venv"
    lines = _dry_run("lab", VENV=str(venv)).splitlines()
    installs = [line for line in lines if " -m pip install " in line]
    assert installs == [
        f"{venv}/bin/python -m pip install 'pip>=25.1'",
        f"{venv}/bin/python -m pip install -e '.[lab]'",
    ]
    (lab,) = [line for line in lines if "/bin/jupyter lab" in line]
    assert lab.startswith(f'JUPYTER_CONFIG_PATH="{ROOT}/jupyter-config')
    assert f'--ServerApp.root_dir="{ROOT}"' in lab
    assert lab.endswith(" notebooks/01-early-exit.ipynb")


@NEEDS_MAKE
def test_make_test_installs_the_extras_and_every_development_group(tmp_path):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    venv = tmp_path / "venv"
    installs = [line for line in _dry_run("test", VENV=str(venv)).splitlines() if " -m pip install " in line]
    assert installs[-1] == f"{venv}/bin/python -m pip install --group dev -e '.[lab,docs]'"
    included = {g["include-group"] for g in project["dependency-groups"]["dev"]}
    assert included == set(project["dependency-groups"]) - {"dev", "build"}  # build comes with test
    assert {"include-group": "build"} in project["dependency-groups"]["test"]
    # The development tools are groups, not published extras.
    assert set(project["project"]["optional-dependencies"]) == {"lab", "docs"}


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


@NEEDS_MAKE
def test_make_test_oldest_installs_the_floor_of_pyproject():
    floor = _wasmtime_requirement().removeprefix("wasmtime>=")
    dry_run = subprocess.run(
        ["make", "-n", "-B", ".venv-oldest/.installed"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert f'"wasmtime=={floor}.*"' in dry_run.stdout, dry_run.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:  # not listening yet
        return 0, b""


@NEEDS_MAKE
def test_make_lab_serves_notebook_01_from_the_repository_with_only_the_lab_installed(tmp_path):
    import json
    import signal
    import sys
    import time

    venv, port = tmp_path / "venv", _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_CONFIG_PATH")}
    # Jupyter's own folders kept apart, so nothing of this machine's settings, kernels or servers is used.
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(tmp_path / name.lower())
    flags = f"--no-browser --port {port} --IdentityProvider.token= --ServerApp.password="
    log = (tmp_path / "make-lab.log").open("w")
    make = subprocess.Popen(
        ["make", "lab", f"VENV={venv}", f"PYTHON={sys.executable}", f"LAB_ARGS={flags}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: make, the shell and JupyterLab stop together
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900  # a first install of JupyterLab
        while _get(f"{base}/api/status")[0] != 200:
            assert make.poll() is None, (tmp_path / "make-lab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start"
            time.sleep(1)
        assert _get(f"{base}/lab/tree/notebooks/01-early-exit.ipynb")[0] == 200
        assert _get(f"{base}/api/contents/notebooks/01-early-exit.ipynb?content=0")[0] == 200
        root = {item["name"] for item in json.loads(_get(f"{base}/api/contents")[1])["content"]}
        assert {"README.md", "examples", "notebooks", "earlyexit_tutorial"} <= root
        settings = json.loads(_get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification")[1])
        assert settings["schema"]["properties"]["fetchNews"]["default"] == "false"
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=60)
        log.close()
    said = (tmp_path / "make-lab.log").read_text()
    assert "Installing into" in said and "lab extra" in said and "Collecting jupyterlab" in said
    listed = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "list", "--format=json"], capture_output=True, text=True, timeout=120
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"jupyterlab", "ziglang", "wasmtime", "ipywidgets", "earlyexit-tutorial"} <= installed
    assert not installed & {"pytest", "playwright", "mypy", "ruff", "sphinx", "nbval", "hypothesis", "build"}


@NEEDS_MAKE
def test_postbuild_run_for_real_installs_only_the_package_and_trusts_the_notebooks(tmp_path):
    import json
    import sys

    # A copy of the repository, as Binder checks it out (so no build/ folder is left in this one).
    source = tmp_path / "repository"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__")
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # What environment.yml would have brought that postBuild itself uses: `jupyter trust`.
    subprocess.run([python, "-m", "pip", "install", "--quiet", "nbformat", "jupyter_core"], check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")  # where the trust database goes
    done = subprocess.run(
        [str(source / "postBuild")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, timeout=120)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "earlyexit-tutorial" in installed
    assert not installed & {"wasmtime", "ipywidgets", "jupyterlab"}, "postBuild installed dependencies"
    defaults = venv / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"
    assert (
        defaults.read_text() == (ROOT / "jupyter-config" / "labconfig" / "default_setting_overrides.json").read_text()
    )
    check = (
        "import glob, nbformat\n"
        "from nbformat.sign import NotebookNotary\n"
        "notary = NotebookNotary()\n"
        "print(all(notary.check_signature(nbformat.read(p, as_version=4)) for p in glob.glob('notebooks/*.ipynb')))"
    )
    trusted = subprocess.run([python, "-c", check], cwd=source, env=env, capture_output=True, text=True, timeout=120)
    assert trusted.stdout.strip() == "True", trusted.stderr
