#!/usr/bin/python
# Copyright: Rampart maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Set RabbitMQ users' passwords without ever putting one on a command line.

community.rabbitmq.rabbitmq_user runs ``rabbitmqctl authenticate_user NAME PASSWORD`` and
``rabbitmqctl add_user/change_password NAME PASSWORD``: while they run, the password is in
``/proc/<pid>/cmdline``, readable by every local user. This module instead:

* reads the users' salted hashes with ``rabbitmqctl export_definitions -`` (the definitions
  come back on stdout) and checks each declared password against its hash locally
  (``rabbit_password_hashing_sha256``/``sha512``/``md5``: base64 of a 4-byte salt followed by
  H(salt + password)), so an unchanged password causes no change and no login attempt;
* for a missing user, a changed password or changed tags, writes only the new salted
  SHA-256 hash to ``rabbitmqctl import_definitions`` through its STANDARD INPUT.

Neither the password nor its hash ever appears in any process's argv, and nothing is written
to disk. Permissions stay with community.rabbitmq.rabbitmq_user (called without a password).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rabbitmq_password
short_description: Set RabbitMQ users' passwords through definitions on standard input, never in argv
version_added: "0.2.0"
description:
  - Reads the users' salted password hashes with C(rabbitmqctl export_definitions -) and checks each declared
    password against its hash locally (SHA-256, SHA-512 or MD5, the broker's C(rabbit_password_hashing_*)), so an
    unchanged password causes no change and no login attempt.
  - For a missing user, a changed password or changed tags, imports a new salted SHA-256 hash with
    C(rabbitmqctl import_definitions) reading the document from its standard input.
  - No password, nor its hash, is ever a command-line argument (visible in C(/proc/<pid>/cmdline)), and nothing is
    written to disk. Permissions are left to community.rabbitmq.rabbitmq_user, called without a password.
author:
  - Rampart maintainers (@rampart)
extends_documentation_fragment:
  - rampart.hardening.attributes
  - rampart.hardening.attributes.idempotent
options:
  node:
    description: Erlang node name of the broker (C(rabbitmqctl -n)).
    type: str
    required: true
  users:
    description: The users to create or update.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      password:
        description: The password (never logged, never a command-line argument).
        type: str
        required: true
      tags:
        description: The user's tags.
        type: list
        elements: str
        default: []
attributes:
  check_mode:
    support: full
    description: Reports which users would be created or updated; nothing is imported.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: debian
requirements:
  - RabbitMQ 3.8 or later (C(rabbitmqctl export_definitions -) and C(import_definitions) from standard input).
seealso:
  - module: community.rabbitmq.rabbitmq_user
"""

EXAMPLES = r"""
- name: Create the users and set their passwords (on stdin, never in argv)
  rampart.hardening.rabbitmq_password:
    node: rabbit@localhost
    users:
      - name: orders-producer
        password: "{{ vault_orders_producer_password }}"
      - name: ops
        password: "{{ vault_ops_password }}"
        tags: [administrator]
  no_log: true
"""

RETURN = r"""
created:
  description: Users that did not exist (created, or that would be in check mode).
  type: list
  elements: str
  returned: always
updated:
  description: Existing users whose password or tags were replaced (or would be in check mode).
  type: list
  elements: str
  returned: always
"""

import base64
import hashlib
import json
import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

ALGORITHMS = {
    "rabbit_password_hashing_sha256": hashlib.sha256,
    "rabbit_password_hashing_sha512": hashlib.sha512,
    "rabbit_password_hashing_md5": hashlib.md5,
}
SHA256 = "rabbit_password_hashing_sha256"


def password_matches(entry: dict[str, Any], password: str) -> bool:
    """True when ``password`` is the one whose salted hash the broker stores for ``entry``."""
    algorithm = ALGORITHMS.get(entry.get("hashing_algorithm") or SHA256)
    try:
        raw = base64.b64decode(entry.get("password_hash") or "", validate=True)
    except ValueError:
        return False
    if algorithm is None or len(raw) <= 4:
        return False
    salt, digest = raw[:4], raw[4:]
    return algorithm(salt + password.encode()).digest() == digest


def new_hash(password: str) -> str:
    """A fresh salted SHA-256 hash in RabbitMQ's format."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def tag_list(value: Any) -> list[str]:
    """Tags as exported (a list, or a comma-separated string in older versions)."""
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",") if tag.strip()]
    return [str(tag) for tag in value or []]


def parse_definitions(stdout: str) -> dict[str, Any]:
    """The JSON document on rabbitmqctl's stdout (anything before the first brace ignored)."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON document in export_definitions' output")
    return json.loads(stdout[start:])


def plan(existing: dict[str, dict[str, Any]], users: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(created, updated): the declared users to import."""
    created, updated = [], []
    for user in users:
        entry = existing.get(user["name"])
        if entry is None:
            created.append(user["name"])
        elif not password_matches(entry, user["password"]) or sorted(tag_list(entry.get("tags"))) != sorted(
            user["tags"]
        ):
            updated.append(user["name"])
    return created, updated


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "node": {"type": "str", "required": True},
            "users": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                    "tags": {"type": "list", "elements": "str", "default": []},
                },
            },
        },
        supports_check_mode=True,
    )
    node, users = module.params["node"], module.params["users"]
    ctl = module.get_bin_path("rabbitmqctl", required=True)
    rc, out, err = module.run_command([ctl, "-q", "-n", node, "export_definitions", "-"])
    if rc != 0:
        module.fail_json(msg=f"rabbitmqctl export_definitions failed (rc {rc}): {err.strip()[-500:]}")
    try:
        definitions = parse_definitions(out)
    except ValueError as exc:
        module.fail_json(msg=f"cannot read the exported definitions: {exc}")
    existing = {entry.get("name"): entry for entry in definitions.get("users", [])}
    created, updated = plan(existing, users)
    changed = bool(created or updated)
    if changed and not module.check_mode:
        wanted = set(created + updated)
        document = {
            "users": [
                {
                    "name": user["name"],
                    "password_hash": new_hash(user["password"]),
                    "hashing_algorithm": SHA256,
                    "tags": user["tags"],
                    "limits": existing.get(user["name"], {}).get("limits", {}),
                }
                for user in users
                if user["name"] in wanted
            ]
        }
        rc, _out, err = module.run_command(
            [ctl, "-q", "-n", node, "import_definitions", "--format", "json"], data=json.dumps(document)
        )
        if rc != 0:
            module.fail_json(msg=f"rabbitmqctl import_definitions failed (rc {rc}): {err.strip()[-500:]}")
    module.exit_json(changed=changed, created=created, updated=updated)


if __name__ == "__main__":
    main()
