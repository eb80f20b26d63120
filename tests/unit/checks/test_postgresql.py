"""PG-01..09 from the psql snapshot captured on the lab (Debian 12, PostgreSQL 15)."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, privileges_argv, run

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

PG_IDS = [f"PG-{n:02d}" for n in range(1, 11)]
LAB = json.loads(fixture("postgresql/snapshot-debian.json"))
CLEAN_PRIVILEGES = '{"database" : "appdb", "public_create" : false, "public_grants" : null}\n'
PG_FILES = {
    "/usr/bin/psql": ("#!/bin/sh\n", 0o755),
    "/var/lib/postgresql/15/main/PG_VERSION": "15\n",
    "/etc/postgresql/15/main/postgresql.conf": ("# conf\n", 0o640),
    "/etc/postgresql/15/main/pg_hba.conf": ("# hba\n", 0o640),
    "/etc/postgresql/15/main/pg_ident.conf": ("# ident\n", 0o640),
}
Edit = Callable[[dict[str, Any]], None]


def hardened() -> dict[str, Any]:
    snapshot = json.loads(json.dumps(LAB))
    snapshot["settings"].update(log_connections="on", log_disconnections="on", log_line_prefix="%m [%p] %q%u@%d %r ")
    return snapshot


def pg_facts(
    make_facts, snapshot: dict | str | None = None, privileges: str = CLEAN_PRIVILEGES, owner: str = "postgres"
):
    snapshot = hardened() if snapshot is None else snapshot
    text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
    names = [d["name"] for d in snapshot["databases"]] if isinstance(snapshot, dict) else []
    commands = lab_commands(psql=text)
    commands[privileges_argv(names)] = privileges
    facts = make_facts(commands=commands, files=PG_FILES)
    uid = 0 if owner == "root" else 104  # conftest's passwd: postgres is uid 104
    for path in ("/var/lib/postgresql/15/main", *[p for p in PG_FILES if p.startswith("/etc/postgresql")]):
        os.chown(facts.host_path(path), uid, uid)
    os.chmod(facts.host_path("/var/lib/postgresql/15/main"), 0o700)
    return facts


@pytest.mark.parametrize("check_id", PG_IDS)
def test_hardened_server_passes(make_facts, check_id):
    assert_status(run(check_id, pg_facts(make_facts)), Status.PASS)


@pytest.mark.parametrize("check_id", PG_IDS)
def test_no_postgresql_is_not_applicable(make_facts, check_id):
    assert_status(run(check_id, make_facts(commands=lab_commands())), Status.NOT_APPLICABLE)


@pytest.mark.parametrize("check_id", PG_IDS)
@pytest.mark.parametrize(
    "output",
    [
        GARBAGE,
        json.dumps(LAB)[:300],
    ],
    ids=["garbage", "truncated"],
)
def test_unreadable_server_is_an_error(make_facts, check_id, output):
    commands = lab_commands(psql=output)
    result = run(check_id, make_facts(commands=commands, files=PG_FILES))
    assert_status(result, Status.ERROR)
    assert "psql" in result.message


def edit(path: str, value: Any) -> Edit:
    def apply(snapshot: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        target = snapshot
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(leaf) if leaf.isdigit() else leaf] = value

    return apply


def add_database(name: str, owner: str):
    def apply(snapshot: dict[str, Any]) -> None:
        snapshot["databases"].append({"name": name, "owner": owner, "allow_connections": True})

    return apply


def hba(line: int, kind: str, address: str | None, method: str) -> dict[str, Any]:
    return {"line": line, "type": kind, "database": ["all"], "user": ["all"], "address": address,
            "netmask": "255.0.0.0" if address else None, "method": method, "options": None, "error": None}  # fmt: skip


@pytest.mark.parametrize(
    ("check_id", "change", "expected", "needle"),
    [
        ("PG-01", edit("settings.listen_addresses", "*"), Status.FAIL, "all interfaces"),
        ("PG-01", edit("settings.listen_addresses", "localhost,10.0.0.5"), Status.PARTIAL, "10.0.0.5"),
        ("PG-02", lambda s: s["hba"].append(hba(110, "host", "10.0.0.0", "trust")), Status.FAIL, "trust"),
        ("PG-02", lambda s: s["hba"].append(hba(110, "local", None, "scram-sha-256")), Status.PARTIAL, "peer"),
        ("PG-03", edit("settings.password_encryption", "md5"), Status.FAIL, "md5"),
        ("PG-03", edit("roles.0.password", "md5"), Status.FAIL, "role app"),
        ("PG-04", lambda s: s["hba"].append(hba(110, "host", "10.0.0.0", "scram-sha-256")), Status.FAIL, "non-TLS"),
        ("PG-04", lambda s: s["hba"].append(hba(110, "hostssl", "10.0.0.0", "scram-sha-256")), Status.PASS, ""),
        ("PG-05", edit("roles.0.super", True), Status.FAIL, "SUPERUSER"),
        ("PG-05", edit("roles.0.password", "none"), Status.FAIL, "no password"),
        ("PG-05", lambda s: s["databases"].append({"name": "other", "owner": "app"}), Status.FAIL, "owns 2"),
        # playbooks/restore.yml's safety copy of appdb, owned like appdb: not a second database...
        ("PG-05", add_database("appdb__prerestore_20261201T183000Z", "app"), Status.PASS, ""),
        # ...but a "copy" of a database app does not own, or a name that only looks like one, counts.
        ("PG-05", add_database("postgres__prerestore_20261201T183000Z", "app"), Status.FAIL, "owns 2"),
        ("PG-05", add_database("appdb__prerestore_latest", "app"), Status.FAIL, "owns 2"),
        ("PG-08", edit("settings.log_connections", "off"), Status.FAIL, "log_connections"),
        ("PG-08", edit("settings.log_line_prefix", "%m [%p] "), Status.PARTIAL, "user"),
        ("PG-09", edit("version_num", "110022"), Status.FAIL, "end-of-life"),
        ("PG-09", edit("version_num", "90624"), Status.FAIL, "end-of-life"),
    ],
)
def test_snapshot_changes(make_facts, check_id, change, expected, needle):
    snapshot = hardened()
    change(snapshot)
    result = run(check_id, pg_facts(make_facts, snapshot))
    assert_status(result, expected)
    assert needle in result.message + " ".join(result.evidence)


def test_ssl_off_with_remote_rule_fails(make_facts):
    snapshot = hardened()
    snapshot["hba"].append(hba(110, "hostssl", "10.0.0.0", "scram-sha-256"))
    snapshot["settings"]["ssl"] = "off"
    assert_status(run("PG-04", pg_facts(make_facts, snapshot)), Status.FAIL)


def test_public_grants_from_the_lab_fail(make_facts):
    result = run("PG-06", pg_facts(make_facts, privileges=fixture("postgresql/privileges-lab.txt")))
    assert_status(result, Status.FAIL)
    assert "public.t" in result.message


def test_public_create_fails(make_facts):
    privileges = '{"database" : "appdb", "public_create" : true, "public_grants" : null}\n'
    assert_status(run("PG-06", pg_facts(make_facts, privileges=privileges)), Status.FAIL)


def test_root_owned_config_fails(make_facts):
    assert_status(run("PG-07", pg_facts(make_facts, owner="root")), Status.FAIL)


def test_declared_listen_addresses(make_facts):
    snapshot = hardened()
    snapshot["settings"]["listen_addresses"] = "localhost,10.0.0.5"
    facts = pg_facts(make_facts, snapshot)
    facts_path = facts.host_path("/etc/rampart/intent/postgresql.json")
    pathlib.Path(facts_path).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(facts_path).write_text('{"listen_addresses": ["localhost", "10.0.0.5"]}')
    assert_status(run("PG-01", facts), Status.PASS)
