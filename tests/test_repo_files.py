"""The files a teacher or a maintainer expects next to the code: changelog, citation, CI workflow, pre-commit hooks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def _makefile_variable(name: str) -> str:
    (value,) = re.findall(rf"^{name}\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    return value.strip()


def _workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


# --- CHANGELOG.md -------------------------------------------------------------------------


def test_changelog_keeps_a_changelog_with_an_unreleased_section_first():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "https://keepachangelog.com/" in text
    releases = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert releases and releases[0] == "Unreleased", releases
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    kinds = re.findall(r"^### (\w+)", unreleased, re.M)
    assert kinds and set(kinds) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds
    assert re.search(r"^- \S", unreleased, re.M), "the Unreleased section lists no change"
    for release in releases:  # each heading links to its changes
        assert re.search(rf"^\[{re.escape(release)}\]: https://", text, re.M), release


# --- CITATION.cff -------------------------------------------------------------------------


def test_citation_cff_has_the_required_keys_and_the_project_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert cff["authors"] and all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert cff["version"] == PROJECT["version"]
    assert cff["repository-code"] == PROJECT["urls"]["Source"]
    assert cff["license"] == PROJECT["license"]


# --- .github/workflows/ci.yml --------------------------------------------------------------


def test_workflow_runs_the_whole_suite_through_ci_run_on_linux():
    full = _workflow()["jobs"]["full"]
    assert full["runs-on"] == "ubuntu-latest"
    assert ".ci/run" in _runs(full)


def test_workflow_runs_the_quick_tier_with_the_makefiles_arguments():
    quick = _workflow()["jobs"]["quick"]
    matrix = quick["strategy"]["matrix"]
    assert {os.split("-")[0] for os in matrix["os"]} == {"ubuntu", "macos", "windows"}
    assert matrix["wasmtime"] == ["oldest", "newest"]
    pytest_runs = [shlex.split(run) for run in _runs(quick) if "pytest" in run]
    assert pytest_runs == [["python", "-m", "pytest", *shlex.split(_makefile_variable("FAST_ARGS"))]]
    assert not any(run.startswith("make") for run in _runs(quick))  # no make on Windows


def test_workflow_takes_the_oldest_wasmtime_from_pyproject():
    (step,) = [s for s in _workflow()["jobs"]["quick"]["steps"] if s.get("if") == "matrix.wasmtime == 'oldest'"]
    (floor_pattern,) = re.findall(r"re\.search\(r'(.*?)'", step["run"])
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (floor,) = re.findall(floor_pattern, pyproject)
    (requirement,) = [r for r in PROJECT["dependencies"] if r.startswith("wasmtime")]
    assert requirement == f"wasmtime>={floor}"
    assert '"wasmtime==${floor}.*"' in step["run"]


def test_workflow_builds_the_site_and_deploys_it_to_pages_from_main_only():
    jobs = _workflow()["jobs"]
    assert "make site" in _runs(jobs["site"])
    (upload,) = [s for s in jobs["site"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["with"]["path"] == "build/site"
    deploy = jobs["deploy"]
    assert "site" in deploy["needs"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert "refs/heads/main" in deploy["if"]


# --- .pre-commit-config.yaml ---------------------------------------------------------------


def test_pre_commit_hooks_install_the_lint_groups_tools_themselves():
    # A fresh clone has no .venv: each hook gets its tools from pip, in the versions the lint group allows.
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    lint = {re.split(r"[<>=\[; ]", r, maxsplit=1)[0]: r for r in PYPROJECT["dependency-groups"]["lint"]}
    for hook_id, name in (("ruff-check", "ruff"), ("ruff-format", "ruff"), ("mypy", "mypy")):
        hook = hooks[hook_id]
        assert hook["language"] == "python", hook_id
        assert shlex.split(hook["entry"])[0] == name, hook_id
        assert lint[name] in hook["additional_dependencies"], hook_id
    # mypy checks the package against its own dependencies, and the files pyproject.toml lists.
    assert set(PROJECT["dependencies"]) <= set(hooks["mypy"]["additional_dependencies"])
    assert PYPROJECT["tool"]["mypy"]["files"] == ["earlyexit_tutorial"]
    assert not [hook_id for hook_id, hook in hooks.items() if ".venv" in hook["entry"]]
    assert hooks["notebooks-normal-form"]["entry"] == "python tools/normalize_notebooks.py"
