"""The tags a role's task files carry: what `ansible-playbook --tags <tag>` can select in that role."""

from __future__ import annotations

import re
from pathlib import Path

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
TAG_LIST = re.compile(r"^\s*tags:\s*\[([^\]]*)\]", re.MULTILINE)


def role_tags(role: str) -> set[str]:
    tags: set[str] = set()
    for path in (ROLES_DIR / role / "tasks").glob("*.yml"):
        for listed in TAG_LIST.findall(path.read_text()):
            tags.update(tag.strip() for tag in listed.split(",") if tag.strip())
    return tags
