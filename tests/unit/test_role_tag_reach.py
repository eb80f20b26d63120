"""Every task of a role runs under the role's tags, including tasks behind nested dynamic includes.

playbooks/remediate.yml (and every operator) re-applies a part of a role with ``--tags <tag>``.
Ansible passes tags on through static imports and blocks, but a dynamic ``include_tasks`` passes
nothing on to the tasks it loads except its ``apply: {tags: ...}``: a task file included without
it runs nothing under ``--tags`` (the firewall's commit-confirm apply was skipped that way, so a
rule added by hand survived ``--tags firewall_rules``). The resolver below follows Ansible's rules
over the role's real task files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
STATIC = {"import_tasks", "ansible.builtin.import_tasks"}
DYNAMIC = {"include_tasks", "ansible.builtin.include_tasks"}


@dataclass(frozen=True)
class Reached:
    file: str
    name: str
    tags: frozenset[str]


def as_set(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(tag.strip() for tag in value.split(",") if tag.strip())
    return frozenset(str(tag) for tag in value)


def include_target(task: dict[str, Any], action: str) -> tuple[str, frozenset[str]]:
    """(file, apply tags) of an import/include task."""
    args = task[action]
    if isinstance(args, str):
        return args, frozenset()
    return str(args["file"]), as_set((args.get("apply") or {}).get("tags"))


def walk(role: Path, file: str, inherited: frozenset[str]) -> Iterator[Reached]:
    tasks = yaml.safe_load((role / "tasks" / file).read_text()) or []
    yield from walk_list(role, file, tasks, inherited)


def walk_list(role: Path, file: str, tasks: list[dict[str, Any]], inherited: frozenset[str]) -> Iterator[Reached]:
    for task in tasks:
        tags = inherited | as_set(task.get("tags"))
        if "block" in task:
            for section in ("block", "rescue", "always"):
                yield from walk_list(role, file, task.get(section) or [], tags)
            continue
        action = next((key for key in task if key in STATIC | DYNAMIC), None)
        if action in STATIC:
            target = include_target(task, action)[0]
            yield from walk(role, target, tags)
        elif action in DYNAMIC:
            yield Reached(file, str(task.get("name", "")), tags)
            target, applied = include_target(task, action)
            # Only apply.tags reach the loaded tasks; the include's own and inherited tags do not.
            yield from walk(role, target, applied)
        else:
            yield Reached(file, str(task.get("name", "")), tags)


def unreachable(role: str, tag: str) -> list[str]:
    return [
        f"{task.file}: {task.name}"
        for task in walk(ROLES_DIR / role, "main.yml", frozenset())
        if not task.tags & {tag, "always"}
    ]


ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks" / "main.yml").exists())


@pytest.mark.parametrize("role", ROLES)
def test_every_task_runs_under_the_roles_own_tag(role: str) -> None:
    assert unreachable(role, role) == []


PG_FLUSH = "Apply configuration changes before touching roles and databases"


@pytest.mark.parametrize("tag", ["postgresql_tls", "postgresql_config", "postgresql_hba", "postgresql_roles"])
def test_the_postgresql_flush_runs_under_the_tags_of_what_it_separates(tag: str) -> None:
    """An explicit flush_handlers obeys --tags: it must run under every tag that changes the server's
    configuration or touches roles, so a restart happens before the roles and databases are touched."""
    reached = {task.name: task.tags for task in walk(ROLES_DIR / "postgresql", "main.yml", frozenset())}
    assert tag in reached[PG_FLUSH], f"flush_handlers is skipped under --tags {tag}"


@pytest.mark.parametrize("tag", ["firewall", "firewall_rules"])
def test_the_firewall_commit_confirm_apply_runs_under_its_tags(tag: str) -> None:
    reached = {task.name: task.tags for task in walk(ROLES_DIR / "firewall", "main.yml", frozenset())}
    for name in ("Load the new table atomically", "Remember the applied table (drift is re-applied on the next run)"):
        assert tag in reached[name], f"{name!r} is skipped under --tags {tag}"


def test_the_resolver_sees_a_nested_include_without_apply(tmp_path: Path) -> None:
    """The rule itself: a nested include_tasks without apply.tags loads untagged tasks."""
    tasks = tmp_path / "role" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text(
        "- name: Outer\n  ansible.builtin.include_tasks: {file: outer.yml, apply: {tags: [role]}}\n  tags: [role]\n"
    )
    (tasks / "outer.yml").write_text(
        "- name: Seen\n  ansible.builtin.debug: {}\n- name: Inner\n  ansible.builtin.include_tasks: inner.yml\n"
    )
    (tasks / "inner.yml").write_text("- name: Lost\n  ansible.builtin.debug: {}\n")
    reached = {task.name: task.tags for task in walk(tmp_path / "role", "main.yml", frozenset())}
    assert reached == {"Outer": {"role"}, "Seen": {"role"}, "Inner": {"role"}, "Lost": frozenset()}
