"""A check's fix hint names a real role and a tag that role's tasks carry.

Reports print "rampart.hardening.<role> (tag <tag>)"; operators paste it into
`ansible-playbook --tags <tag>`, which silently does nothing for a tag no task has.
"""

from __future__ import annotations

import pytest
from role_tags import ROLES_DIR, role_tags

from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks
from ansible_collections.rampart.hardening.plugins.module_utils.registry import registered_checks
from ansible_collections.rampart.hardening.plugins.module_utils.remediation import build_plan

load_builtin_checks()
CHECKS = [c.meta for c in registered_checks() if c.meta.fix_role]


def test_most_checks_point_at_a_fix() -> None:
    assert len(CHECKS) >= 50


@pytest.mark.parametrize("meta", CHECKS, ids=lambda meta: meta.id)
def test_fix_role_and_tag_exist(meta) -> None:
    assert (ROLES_DIR / meta.fix_role / "tasks" / "main.yml").exists(), f"{meta.id}: no role {meta.fix_role}"
    if meta.fix_tag:
        tags = role_tags(meta.fix_role)
        assert meta.fix_tag in tags, f"{meta.id}: {meta.fix_role} has no task tagged {meta.fix_tag!r}: {sorted(tags)}"


@pytest.mark.parametrize("meta", CHECKS, ids=lambda meta: meta.id)
def test_remediation_plan_gives_a_tag_of_the_fixing_role(meta) -> None:
    """playbooks/remediate.yml runs `--tags <plan tag>`: the tag must select tasks of the fixing role."""
    finding = {
        "id": meta.id,
        "title": meta.title,
        "category": meta.category,
        "severity": meta.severity.value,
        "status": "fail",
        "fix_role": meta.fix_role,
        "fix_tag": meta.fix_tag,
        "waived": None,
    }
    (item,) = build_plan({"host": "h", "findings": [finding]}).items
    assert (item.check, item.role) == (meta.id, meta.fix_role)
    tags = role_tags(meta.fix_role)
    assert item.tag in tags, f"{meta.id}: plan tag {item.tag!r} selects no task of {meta.fix_role}: {sorted(tags)}"
