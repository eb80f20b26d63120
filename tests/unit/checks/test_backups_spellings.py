"""BKP-02 against a backup directory holding copies that were never encrypted.

rampart-backup writes only ``<name>.<gpg|age>`` ciphertexts, their ``.manifest.json`` and
short-lived ``.tmp-*`` files; a plaintext dump next to them (a manual ``pg_dump -f``, a copied
``dump.rdb``) is exactly what encryption to off-host keys is meant to prevent.
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, run
from test_backups import BACKUPS, facts_for

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("appdb-manual.sql", b"--\n-- PostgreSQL database dump\n--\n"),
        ("appdb-20261201.dump", b"PGDMP\x01\x0e"),
        ("pg-appdb-20261201T023000Z.dump.gz", b"\x1f\x8b\x08"),
        ("dump.rdb", b"REDIS0011"),
        ("nightly/appdb.sql.zst", b"(\xb5/\xfd"),
        (".appdb.sql", b"--\n-- PostgreSQL database dump\n"),
    ],
)
def test_plaintext_copy_in_the_backup_directory_fails(make_facts, name, content):
    facts = facts_for(make_facts, files={f"{BACKUPS}/{name}": content})
    result = run("BKP-02", facts)
    assert_status(result, Status.FAIL)
    assert name in result.message


@pytest.mark.parametrize(
    "name",
    [
        "pg-appdb-20261201T023000Z.dump.gpg",
        "pg-appdb-20261201T023000Z.dump.gpg.manifest.json",
        "redis-20261201T023000Z.rdb.age",
        "redis-20261201T023000Z.rdb.age.manifest.json",
        ".tmp-k2j3h4",
        "old/pg-appdb-20251201T023000Z.dump.asc",
        ".keep",
    ],
)
def test_what_rampart_backup_writes_passes(make_facts, name):
    content = b"" if name == ".keep" else b"\x85\x02"  # an empty marker file holds nothing
    facts = facts_for(make_facts, files={f"{BACKUPS}/{name}": content})
    assert_status(run("BKP-02", facts), Status.PASS)
