"""The pinned environment: environment.yml (conda) lists exactly the lock file's packages."""

import re

import yaml

from ketamine_ptsd import paths


def test_lock_pins_every_package_to_a_registry_version():
    lines = [ln.strip() for ln in (paths.REPO / "requirements.lock").read_text().splitlines()]
    loose = [
        ln for ln in lines if ln and not ln.startswith("#") and not re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+!-]+", ln)
    ]
    assert not loose, f"not a plain NAME==VERSION pin (a local path or URL breaks a fresh install): {loose}"


def test_environment_yml_matches_the_lock():
    lock = {ln.strip() for ln in (paths.REPO / "requirements.lock").read_text().splitlines() if "==" in ln}
    env = yaml.safe_load((paths.REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip_section if "==" in p} == lock
    assert "python=3.11" in env["dependencies"]


def test_every_direct_dependency_is_pinned():
    pyproject = (paths.REPO / "pyproject.toml").read_text()
    direct = re.findall(r'^\s+"([A-Za-z0-9_.-]+)', pyproject.split("dependencies = [", 1)[1].split("]", 1)[0], re.M)
    pinned = {
        ln.split("==")[0].lower().replace("_", "-")
        for ln in (paths.REPO / "requirements.lock").read_text().splitlines()
    }
    assert direct and all(d.lower().replace("_", "-") in pinned for d in direct)
