"""The collection tarball ships what users run and nothing of the developer's machine.

Builds the tarball with ``ansible-galaxy collection build`` (from the work tree, and from a
copy of it salted with the debris a working day leaves behind) and lists it against an
allowlist of top-level entries plus a denylist of paths that must never ship anywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Every top-level entry the published collection may carry.
ALLOWED_TOP_LEVEL = frozenset(
    {
        "MANIFEST.json",
        "FILES.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "changelogs",
        "collections",
        "docs",
        "inventories",
        "meta",
        "playbooks",
        "plugins",
        "roles",
        "tests",
    }
)
# Under tests/: what Galaxy / Automation Hub and users run, never test output.
ALLOWED_UNDER_TESTS = frozenset({"unit", "sanity", "collection", "integration"})
# Anywhere in the tarball: a developer's environment, run output or secrets.
FORBIDDEN = re.compile(
    r"(^|/)(\.venv|venv|\.cache|\.git|__pycache__|\.pytest_cache|\.ruff_cache|\.hypothesis|\.benchmarks|\.ansible"
    r"|reports|credentials"
    r"|\.molecule)(/|$)"
    r"|\.(pyc|log|retry|tar\.gz)$"
    r"|(^|/)\.plugin-cache\.yaml$"
    r"|^tests/output(/|$)"
    r"|^inventories/lab(/|$)"
    r"|^docs/dev(/|$)"
)
REQUIRED = ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "meta/runtime.yml")


def unexpected_entries(names: list[str]) -> list[str]:
    """Names in a tarball listing that the published collection must not carry."""
    cleaned = (raw.removeprefix("./").rstrip("/") for raw in names)
    return [name for name in cleaned if name and not _allowed(name)]


def _allowed(name: str) -> bool:
    parts = name.split("/")
    if parts[0] not in ALLOWED_TOP_LEVEL:
        return False
    if parts[0] == "tests" and len(parts) > 1 and parts[1] not in ALLOWED_UNDER_TESTS:
        return False
    return not FORBIDDEN.search(name)


def build(source: Path, output: Path) -> Path:
    """``ansible-galaxy collection build`` of ``source``; the tarball's path."""
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    cmd = [str(galaxy) if galaxy.exists() else "ansible-galaxy", "collection", "build", "--force"]
    subprocess.run([*cmd, "--output-path", str(output), str(source)], check=True, capture_output=True, text=True)
    (tarball,) = output.glob("rampart-hardening-*.tar.gz")
    return tarball


def listing(tarball: Path) -> list[str]:
    with tarfile.open(tarball) as tar:
        return tar.getnames()


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(REPO_ROOT, tmp_path_factory.mktemp("build"))


def test_tarball_has_only_expected_entries(tarball: Path) -> None:
    names = listing(tarball)
    assert unexpected_entries(names) == []
    for required in REQUIRED:
        assert required in names


def test_tarball_ships_the_apache_licence_and_publishing_metadata(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        licence = tar.extractfile("LICENSE")
        manifest = tar.extractfile("MANIFEST.json")
        assert licence is not None
        assert manifest is not None
        text = licence.read().decode()
        info = json.load(manifest)["collection_info"]
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert info["license"] == ["Apache-2.0"]
    for key in ("description", "repository", "documentation", "issues"):
        assert info[key], key
    assert info["tags"], "tags"


def test_build_ignore_keeps_a_working_day_out(tmp_path: Path) -> None:
    """A copy of the tree salted with venv, cache, reports, lab state and logs builds clean."""
    tree = tmp_path / "tree"
    tracked = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for rel in tracked:
        src = REPO_ROOT / rel
        if src.is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / rel)
    debris = [
        ".venv/bin/python",
        ".cache/collections/x",
        ".cache/sanity/ansible_collections/rampart/hardening/README.md",
        "reports/host.json",
        "credentials/edge/basic_auth",
        "lab/build/rootfs.tar",
        "molecule/default/molecule.log",
        "tests/output/junit.xml",
        "changelogs/.plugin-cache.yaml",
        "plugins/module_utils/__pycache__/engine.cpython-311.pyc",
        ".ruff_cache/CACHEDIR.TAG",
        ".pytest_cache/README.md",
        ".hypothesis/examples/0a1b/2c3d",
        ".benchmarks/Linux-CPython-3.11-64bit/0001_run.json",
        "rampart-hardening-0.0.1.tar.gz",
    ]
    for rel in debris:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("debris\n")
    names = listing(build(tree, tmp_path / "out"))
    assert unexpected_entries(names) == []
    for rel in debris:
        assert rel not in names


@pytest.mark.parametrize(
    "name",
    [
        ".venv/bin/python",
        "reports/web1.json",
        "Makefile",
        "scripts/lint.sh",
        "molecule/default/molecule.yml",
        "tests/output/junit.xml",
        "roles/nginx/__pycache__/x.pyc",
        "changelogs/.plugin-cache.yaml",
        "roles/nginx/files/run.log",
        "inventories/lab/hosts.yml",
    ],
)
def test_unexpected_entries_flags_what_must_not_ship(name: str) -> None:
    assert unexpected_entries(["README.md", name]) == [name]


def test_unexpected_entries_accepts_the_collection_layout() -> None:
    names = ["plugins/modules/security_audit.py", "roles/nginx/tasks/main.yml", "tests/unit/test_x.py", "LICENSE"]
    assert unexpected_entries(names) == []
