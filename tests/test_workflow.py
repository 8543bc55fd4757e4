"""The GitHub workflow, read where it cannot run: weekly, cached, with room for Chromium, one Pages
deployment at a time, and each job installing only what it uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))


def _triggers() -> dict:
    workflow = _workflow()
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True))


def _runs(job: dict) -> str:
    return "\n".join(step["run"] for step in job["steps"] if "run" in step)


def test_the_workflow_runs_weekly_so_a_new_wasmtime_major_is_seen():
    (schedule,) = _triggers()["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday in {str(d) for d in range(7)}, schedule
    assert minute.isdigit() and hour.isdigit(), schedule
    # Still on every push to main and every pull request.
    assert _triggers()["push"]["branches"] == ["main"] and "pull_request" in _triggers()


def test_every_job_that_installs_with_pip_caches_its_downloads():
    jobs = _workflow()["jobs"]
    for name in ("quick", "site"):
        (setup,) = [s for s in jobs[name]["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
        assert setup["with"]["cache"] == "pip", name
        assert setup["with"]["cache-dependency-path"] == "pyproject.toml", name
    # The full job runs in a container (no setup-python): it caches pip's folder itself.
    (cache,) = [s for s in jobs["full"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == "~/.cache/pip"
    assert "hashFiles('pyproject.toml')" in cache["with"]["key"]


def test_chromium_gets_shared_memory_in_the_container_and_does_without_it_anywhere():
    container = _workflow()["jobs"]["full"]["container"]
    size = re.search(r"--shm-size=(\d+)([mg])", container["options"])
    assert size and int(size.group(1)) * (1024 if size.group(2) == "g" else 1) >= 512, container
    lab = (ROOT / "tests" / "browser" / "_lab.py").read_text(encoding="utf-8")
    assert '"--disable-dev-shm-usage"' in lab


def test_pages_deploys_one_at_a_time_without_cancelling_one_half_done():
    deploy = _workflow()["jobs"]["deploy"]
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_the_site_job_installs_the_docs_extra_only():
    site = _workflow()["jobs"]["site"]
    assert "pip install" not in _runs(site)  # `make site` installs what it needs
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (prerequisite,) = re.findall(r"^site: (\S+)$", makefile, re.M)
    assert prerequisite == "$(DOCS_STAMP)"
    (recipe,) = re.findall(r"^\$\(DOCS_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M)
    installs = [line for line in recipe.splitlines() if "pip install" in line and "PIP_FLOOR" not in line]
    assert installs == ["\t$(PY) -m pip install -e '.[docs]'"]


def test_the_quick_job_installs_the_test_and_lint_groups_with_a_pip_that_knows_groups():
    runs = _runs(_workflow()["jobs"]["quick"])
    assert 'python -m pip install --upgrade "pip>=25.1"' in runs
    assert 'python -m pip install --group test --group lint -e ".[docs]"' in runs
    assert runs.index("pip>=25.1") < runs.index("--group test")


def test_the_header_still_says_it_has_not_been_seen_running():
    header = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8").split("\nname:", 1)[0]
    assert "nothing here has been seen running" in header
