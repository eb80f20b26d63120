"""scripts/changelog-lint.sh: fragments are valid, CHANGELOG.md is generated, code changes carry one.

Each test runs the script in a scratch git repository holding the changelog set-up of this
work tree (config, changelog.yaml, CHANGELOG.md, galaxy.yml) and the changes under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def lint(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAMPART_VENV": sys.prefix, "NO_COLOR": "1"}
    env.pop("RAMPART_CHANGELOG_BASE", None)
    env.pop("RAMPART_ROOT", None)
    script = str(repo / "scripts" / "changelog-lint.sh")
    return subprocess.run(["bash", script], check=False, cwd=repo, env=env, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository with this tree's changelog set-up, no fragment, one role file."""
    root = tmp_path / "repo"
    for rel in ("scripts/changelog-lint.sh", "scripts/lib.sh", "galaxy.yml", "CHANGELOG.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, root / rel)
    (root / "changelogs" / "fragments").mkdir(parents=True)
    for rel in ("changelogs/config.yaml", "changelogs/changelog.yaml"):
        shutil.copy2(REPO_ROOT / rel, root / rel)
    (root / "roles" / "nginx" / "tasks").mkdir(parents=True)
    (root / "roles" / "nginx" / "tasks" / "main.yml").write_text("---\n")
    (root / "roles" / "nginx" / "README.md").write_text("# nginx\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return root


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def fragment(repo: Path, text: str = '---\nminor_changes:\n  - "nginx role - a change."\n') -> None:
    (repo / "changelogs" / "fragments" / "1-nginx.yml").write_text(text)


def test_role_change_without_fragment_fails_uncommitted_and_committed(repo: Path) -> None:
    (repo / "roles" / "nginx" / "tasks" / "main.yml").write_text("---\n# changed\n")
    result = lint(repo)
    assert result.returncode != 0
    assert "roles/nginx/tasks/main.yml" in result.stderr
    commit(repo, "nginx change, no fragment")
    result = lint(repo)
    assert result.returncode != 0
    assert "since HEAD^" in result.stderr


def test_role_change_with_fragment_passes(repo: Path) -> None:
    (repo / "roles" / "nginx" / "tasks" / "main.yml").write_text("---\n# changed\n")
    fragment(repo)
    assert lint(repo).returncode == 0, lint(repo).stderr
    commit(repo, "nginx change with its fragment")
    assert lint(repo).returncode == 0


def test_generated_readme_needs_no_fragment(repo: Path) -> None:
    (repo / "roles" / "nginx" / "README.md").write_text("# nginx, regenerated\n")
    commit(repo, "README only")
    assert lint(repo).returncode == 0


def test_invalid_fragment_fails(repo: Path) -> None:
    (repo / "roles" / "nginx" / "tasks" / "main.yml").write_text("---\n# changed\n")
    fragment(repo, "---\nnot_a_section:\n  - 3\n")
    result = lint(repo)
    assert result.returncode != 0
    assert "invalid section" in result.stdout + result.stderr


def test_hand_edited_changelog_fails(repo: Path) -> None:
    with (repo / "CHANGELOG.md").open("a") as handle:
        handle.write("\n* a line written by hand\n")
    result = lint(repo)
    assert result.returncode != 0
    assert "CHANGELOG.md is stale or hand-edited" in result.stderr


def test_shallow_clone_skips_the_fragment_check(repo: Path, tmp_path: Path) -> None:
    (repo / "roles" / "nginx" / "tasks" / "main.yml").write_text("---\n# changed\n")
    commit(repo, "nginx change, no fragment")
    clone = tmp_path / "clone"
    subprocess.run([*GIT, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], check=True)
    result = lint(clone)
    assert result.returncode == 0, result.stderr
    assert "fragment check skipped" in result.stderr
