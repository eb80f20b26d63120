"""execution-environment.yml and the collection's EE metadata agree with the project's pins.

The image itself is built and exercised by bench/ee_audit.sh (make ee); these tests keep the
definition from drifting away from requirements.txt and galaxy.yml between bench runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def load(rel: str) -> Any:
    return yaml.safe_load((REPO_ROOT / rel).read_text())


def pins(lines: list[str]) -> dict[str, str]:
    """name -> version of every `name==version` line (comments and ranges ignored)."""
    found = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


@pytest.fixture(scope="module")
def ee() -> dict[str, Any]:
    return load("execution-environment.yml")


def test_schema_version_and_debian_package_manager(ee: dict[str, Any]) -> None:
    assert ee["version"] == 3
    assert ee["options"]["package_manager_path"] == "/usr/bin/apt-get"


def test_python_pins_are_those_of_requirements_txt(ee: dict[str, Any]) -> None:
    project = pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    image = pins(ee["dependencies"]["python"])
    assert image, "execution-environment.yml pins no Python package"
    for name, version in image.items():
        assert project.get(name) == version, f"{name}=={version} in the EE, {project.get(name)} in requirements.txt"
    core = pins([ee["dependencies"]["ansible_core"]["package_pip"]])
    assert core == {"ansible-core": project["ansible-core"]}


def test_every_galaxy_dependency_is_installed_in_the_image(ee: dict[str, Any]) -> None:
    wanted = {"rampart.hardening", *load("galaxy.yml")["dependencies"]}
    names = {entry["name"] for entry in ee["dependencies"]["galaxy"]["collections"]}
    for fqcn in wanted:
        assert f"collections/{fqcn.replace('.', '-')}.tar.gz" in names, fqcn
    packed = re.search(r"^deps=\(([^)]*)\)", (REPO_ROOT / "scripts" / "ee.sh").read_text(), re.MULTILINE)
    assert packed is not None
    assert wanted - {"rampart.hardening"} <= set(packed.group(1).split())


def test_collection_ee_metadata_points_at_its_files() -> None:
    meta = load("meta/execution-environment.yml")
    for kind in ("python", "system"):
        assert (REPO_ROOT / meta["dependencies"][kind]).is_file(), kind
    bindep = (REPO_ROOT / meta["dependencies"]["system"]).read_text().splitlines()
    entries = [line for line in bindep if line.strip() and not line.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9.+\-]+( \[[a-z0-9:!_ \-]+\])?", line) for line in entries), entries
    assert any(line.startswith("openssl ") for line in entries)


def test_collection_python_ranges_admit_the_project_pins() -> None:
    project = pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    ranges = [
        line.split("#", 1)[0].strip()
        for line in (REPO_ROOT / "meta" / "ee-requirements.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert ranges
    for spec in ranges:
        name = re.match(r"[A-Za-z0-9_.\-]+", spec)
        assert name is not None
        assert name.group(0).lower() in project, f"{spec}: not pinned in requirements.txt"
        version = tuple(int(part) for part in project[name.group(0).lower()].split("."))
        for op, bound in re.findall(r"(>=|<)\s*([0-9.]+)", spec):
            limit = tuple(int(part) for part in bound.split("."))
            assert version >= limit if op == ">=" else version < limit, f"{spec} excludes the pin {version}"
