"""Render the nginx role's configuration as the role does and audit it through the fixture runner."""

from __future__ import annotations

import functools
from typing import Any

from harness import RoleRun, intent_of, run_checks

from ansible_collections.rampart.hardening.plugins.module_utils.model import Result

MIME_TYPES = "types {\n    text/html html;\n    application/json json;\n}\n"


def rendered_files(role: RoleRun) -> dict[str, str]:
    """/etc/nginx/<dest> -> content, for every file of the model (config.yml's template loop)."""
    model = role.variables["_rampart_nginx_model"]
    templates = role.expr("_rampart_nginx_templates")
    files = {}
    for item in model["files"]:
        site = model["sites"][item["site_index"]] if "site_index" in item else {}
        files[f"/etc/nginx/{item['dest']}"] = role.render(templates[item["template"]], {"item": item, "site": site})
    return files


@functools.cache
def _bcrypt(password: str) -> str:
    from passlib.hash import bcrypt  # noqa: PLC0415 - what community.general.htpasswd writes with

    return bcrypt.using(rounds=4).hash(password)  # the scheme is what AUTH-02 judges, not the cost


def htpasswd_files(role: RoleRun) -> dict[str, tuple[str, int]]:
    """auth.yml's files: one per group, bcrypt entries (community.general.htpasswd), mode 0640."""
    directory = role.variables["rampart_nginx_htpasswd_dir"]
    files: dict[str, list[str]] = {}
    for user in role.variables["rampart_nginx_auth_users"] or []:
        password = user.get("password") or "generated-on-the-controller-0123456789"
        for group in user.get("groups") or []:
            files.setdefault(f"{directory}/{group}", []).append(f"{user['name']}:{_bcrypt(password)}")
    return {path: ("\n".join(lines) + "\n", 0o640) for path, lines in files.items()}


def nginx_dump(files: dict[str, str]) -> str:
    """What ``nginx -T`` prints for this tree (the main file first)."""
    tree = {"/etc/nginx/nginx.conf": files["/etc/nginx/nginx.conf"], "/etc/nginx/mime.types": MIME_TYPES}
    tree.update(files)
    return "".join(f"# configuration file {path}:\n{text}\n" for path, text in tree.items())


def intent_document(role: RoleRun) -> dict[str, Any]:
    return intent_of(role, "_rampart_nginx_intent")


def audit(make_facts, role: RoleRun, check_ids: tuple[str, ...]) -> dict[str, Result]:
    from check_helpers import LAB_PASSWD, lab_commands  # noqa: PLC0415 - tests/unit/checks helpers

    files = rendered_files(role)
    tree: dict[str, Any] = dict(files)
    tree["/etc/nginx/mime.types"] = MIME_TYPES
    tree["/etc/passwd"] = LAB_PASSWD
    tree.update(htpasswd_files(role))
    facts = make_facts(
        commands=lab_commands(nginx=nginx_dump(files)), files=tree, intent={"nginx": intent_document(role)}
    )
    return run_checks(facts, check_ids)
