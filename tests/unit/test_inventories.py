"""Shipped inventories and scenario vars set only variables that exist: Ansible ignores a misspelt one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
GROUP_VARS = sorted(REPO.glob("inventories/*/group_vars/*.yml")) + sorted(REPO.glob("molecule/*/vars/*.yml"))
AUDIT_PLAYBOOK = (REPO / "playbooks" / "audit.yml").read_text()
# Gates of site.yml's plays (e.g. rampart_audit_agent_enabled) are inventory settings too.
SITE_PLAYBOOK = (REPO / "playbooks" / "site.yml").read_text()


def role_options(role: str) -> set[str]:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return set(specs["argument_specs"]["main"]["options"])


def owner_role(name: str) -> str | None:
    # Longest prefix first, so that rampart_internal_ca_* is not read as a role "internal".
    for role in sorted(ROLES, key=len, reverse=True):
        if name.startswith(f"rampart_{role}_"):
            return role
    return None


def test_there_are_inventories_to_check() -> None:
    assert {p.parts[-3] for p in GROUP_VARS} >= {"example", "lab", "acme", "nginx"}


@pytest.mark.parametrize("path", GROUP_VARS, ids=lambda p: str(p.relative_to(REPO)))
def test_group_vars_name_real_variables(path: Path) -> None:
    unknown = []
    for name in yaml.safe_load(path.read_text()) or {}:
        role = owner_role(name)
        if role is not None and name not in role_options(role):
            if not re.search(rf"\b{name}\b", SITE_PLAYBOOK):
                unknown.append(f"{name} (not an option of role {role})")
        elif role is None and name.startswith("rampart_audit_") and not re.search(rf"\b{name}\b", AUDIT_PLAYBOOK):
            unknown.append(f"{name} (playbooks/audit.yml does not read it)")
    assert not unknown, unknown
