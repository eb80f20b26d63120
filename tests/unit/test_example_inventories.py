"""The stack inventories (inventories/examples/*) load, and set only variables that exist.

Every example is loaded by ``ansible-inventory --list`` exactly as a user's playbook run would
load it; every ``rampart_*`` variable it gives a host must be an option of some role's
meta/argument_specs.yml or a variable a shipped playbook reads (``rampart_audit_*``,
``rampart_restore_*``): Ansible silently ignores a misspelt one. Secrets are never literal.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (REPO / "inventories" / "examples").iterdir() if p.is_dir())
STACKS = {"ops-dashboard", "agent-platform", "message-platform", "storefront"}
VAR = re.compile(r"\brampart_[a-z0-9_]+\b")
SECRET = re.compile(r"password|secret|hmac|token|cookie", re.IGNORECASE)
VAULT_REFERENCE = re.compile(r"^\{\{\s*vault_[a-z0-9_]+\s*\}\}$")


def ansible_inventory() -> str:
    found = shutil.which("ansible-inventory") or str(Path(sys.executable).parent / "ansible-inventory")
    assert Path(found).exists(), "ansible-inventory not found (source scripts/lib.sh)"
    return found


@cache
def declared() -> frozenset[str]:
    """Role options from every argument_specs.yml, plus the variables the shipped playbooks read."""
    names: set[str] = set()
    for spec in (REPO / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            names.update(entry.get("options") or {})
    for playbook in (REPO / "playbooks").glob("*.yml"):
        names.update(VAR.findall(playbook.read_text()))
    return frozenset(names)


def load(inventory: Path) -> dict:
    proc = subprocess.run(
        [ansible_inventory(), "-i", str(inventory), "--list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "ANSIBLE_HOME": "/tmp/.ansible-examples"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[WARNING]" not in proc.stderr, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def undeclared(listing: dict) -> list[str]:
    """``host: variable`` for every rampart_* variable no role or playbook declares."""
    known = declared()
    return sorted(
        f"{host}: {name}"
        for host, variables in listing["_meta"]["hostvars"].items()
        for name in variables
        if name.startswith("rampart_") and name not in known
    )


def literal_secrets(value: object, path: str = "", secret: bool = False) -> list[str]:
    """Paths of secret values (under a secret-like name) that are not a plain ``{{ vault_... }}`` reference."""
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in literal_secrets(
                item, f"{path}.{key}" if path else str(key), secret or bool(SECRET.search(str(key)))
            )
        ]
    if isinstance(value, list):
        return [
            found for index, item in enumerate(value) for found in literal_secrets(item, f"{path}[{index}]", secret)
        ]
    if secret and isinstance(value, str) and not VAULT_REFERENCE.match(value.strip()):
        return [path]
    return []


def test_the_four_stacks_are_there() -> None:
    assert {p.name for p in EXAMPLES} >= STACKS
    for example in EXAMPLES:
        assert (example / "hosts.yml").is_file(), example
        assert (example / "README.md").is_file(), example
        assert list((example / "group_vars").rglob("*.yml")), example


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_sets_only_declared_variables(example: Path) -> None:
    listing = load(example)
    assert listing["_meta"]["hostvars"], f"{example.name}: no host has variables"
    assert undeclared(listing) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_secrets_are_vault_references(example: Path) -> None:
    hostvars = load(example)["_meta"]["hostvars"]
    assert literal_secrets(hostvars) == []


def test_a_misspelt_variable_is_caught(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    edge:\n      hosts:\n        edge1.example.com:\n")
    (tmp_path / "group_vars" / "edge.yml").write_text(
        "rampart_nginx_sites: []\nrampart_nginx_site: []\nrampart_audit_min_grade: A\nrampart_firewal_services: []\n"
    )
    assert undeclared(load(tmp_path)) == [
        "edge1.example.com: rampart_firewal_services",
        "edge1.example.com: rampart_nginx_site",
    ]


def test_a_literal_password_is_caught() -> None:
    hostvars = {
        "db1": {
            "rampart_postgresql_passwords": {"app": "hunter2hunter2", "ro": "{{ vault_ro_password }}"},
            "rampart_redis_users": [{"name": "app", "password": "{{ lookup('env', 'X') }}"}],
        }
    }
    assert literal_secrets(hostvars) == [
        "db1.rampart_postgresql_passwords.app",
        "db1.rampart_redis_users[0].password",
    ]
