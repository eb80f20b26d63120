"""BKP-01..03: backup timer and freshness, encryption to pinned public keys, restore tests."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from check_helpers import GARBAGE, assert_status, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

TIMER_SHOW = (
    "systemctl",
    "show",
    "-p",
    "Id,LoadState,ActiveState,SubState,UnitFileState,Result",
    "rampart-backup.timer",
)
STATE = "/var/lib/rampart-backup"
BACKUPS = "/var/backups/rampart"
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
INTENT = {
    "role": "backup",
    "timer": "rampart-backup.timer",
    "backup_dir": BACKUPS,
    "state_dir": STATE,
    "gnupghome": f"{STATE}/gnupg",
    "encryption": "gpg",
    "recipients": [FPR],
    "postgresql": True,
    "redis": True,
    "max_age_hours": 26,
    "restore_test_days": 30,
}
PUBLIC_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n"


def timer_show(state: str = "active", load: str = "loaded") -> str:
    return (
        f"Id=rampart-backup.timer\nLoadState={load}\nActiveState={state}\nSubState=waiting\n"
        "UnitFileState=enabled\nResult=success\n"
    )


def record(hours_ago: float) -> str:
    epoch = int((datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp())
    return json.dumps({"time": "-", "epoch": epoch})


def facts_for(  # pylint: disable=dangerous-default-value  # INTENT is read, never changed
    make_facts, *, intent=INTENT, timer=None, files=None, served=("postgresql.service", "redis-server.service")
):
    commands = lab_commands(systemctl=systemctl_show(active=served))
    commands[TIMER_SHOW] = timer_show() if timer is None else timer
    tree = {
        f"{STATE}/last-success.json": record(2),
        f"{STATE}/last-restore.json": record(24 * 3),
        f"{STATE}/gnupg/pubring.kbx": b"\x00\x00\x00\x20KBXf",
        f"{STATE}/public-keys/{FPR}.asc": PUBLIC_KEY,
        f"{BACKUPS}/pg-appdb-20261201T023000Z.dump.gpg": b"\x85\x02",
    }
    tree.update(files or {})
    tree = {path: spec for path, spec in tree.items() if spec is not None}
    facts = make_facts(commands=commands, files=tree, intent={"backup": intent} if intent is not None else None)
    for directory in (BACKUPS, STATE):
        real = facts.host_path(directory)
        if os.path.isdir(real):
            os.chmod(real, 0o700)
    return facts


# --- BKP-01 ---------------------------------------------------------------------------------------


def test_bkp01_pass(make_facts):
    result = run("BKP-01", facts_for(make_facts))
    assert_status(result, Status.PASS)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"timer": timer_show(state="inactive")}, "not active"),
        ({"timer": timer_show(state="inactive", load="not-found")}, "not active"),
        ({"files": {f"{STATE}/last-success.json": record(30)}}, "30.0 h old"),
        ({"files": {f"{STATE}/last-success.json": None}}, "no successful backup"),
        ({"files": {f"{STATE}/last-failure.json": record(1)}}, "failed"),
        ({"intent": {**INTENT, "redis": False}}, "redis is served but not backed up"),
        ({"intent": None}, "declares no backup"),
    ],
)
def test_bkp01_fail(make_facts, kwargs, needle):
    result = run("BKP-01", facts_for(make_facts, **kwargs))
    assert_status(result, Status.FAIL)
    assert needle in " ".join([result.message, *result.evidence])


def test_bkp01_an_old_failure_before_the_last_success_passes(make_facts):
    files = {f"{STATE}/last-failure.json": record(5)}
    assert_status(run("BKP-01", facts_for(make_facts, files=files)), Status.PASS)


def test_bkp01_declared_period(make_facts):
    files = {f"{STATE}/last-success.json": record(30)}
    facts = facts_for(make_facts, intent={**INTENT, "max_age_hours": 48}, files=files)
    assert_status(run("BKP-01", facts), Status.PASS)


def test_bkp01_not_applicable_without_databases_or_backup(make_facts):
    assert_status(run("BKP-01", facts_for(make_facts, intent=None, served=())), Status.NOT_APPLICABLE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"files": {f"{STATE}/last-success.json": GARBAGE}},
        {"files": {f"{STATE}/last-success.json": json.dumps({"epoch": "yesterday"})}},
        {"timer": GARBAGE},
        {"timer": (1, "", "Failed to connect to bus")},
    ],
)
def test_bkp01_malformed_is_an_error(make_facts, kwargs):
    assert_status(run("BKP-01", facts_for(make_facts, **kwargs)), Status.ERROR)


def test_bkp01_malformed_intent_is_an_error(make_facts):
    assert_status(run("BKP-01", facts_for(make_facts, intent="{not json")), Status.ERROR)


# --- BKP-02 ---------------------------------------------------------------------------------------


def test_bkp02_pass(make_facts):
    assert_status(run("BKP-02", facts_for(make_facts)), Status.PASS)


def test_bkp02_age_pass(make_facts):
    facts = facts_for(make_facts, intent={**INTENT, "encryption": "age", "recipients": [AGE]})
    assert_status(run("BKP-02", facts), Status.PASS)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"intent": {**INTENT, "recipients": ["backup@example.com"]}}, "not pinned"),
        ({"intent": {**INTENT, "recipients": [FPR[:16]]}}, "not pinned"),
        ({"intent": {**INTENT, "recipients": []}}, "no recipients"),
        ({"intent": {**INTENT, "encryption": "age", "recipients": ["AGE-SECRET-KEY-1QQQ"]}}, "not an age public key"),
        ({"files": {f"{STATE}/gnupg/private-keys-v1.d/0A1B.key": "(private-key ...)"}}, "GnuPG private key"),
        ({"files": {f"{STATE}/gnupg/secring.gpg": b"\x95\x01"}}, "secret keyring"),
        ({"files": {"/etc/rampart/backup/identity.txt": "# created\nAGE-SECRET-KEY-1ABCDEF\n"}}, "AGE-SECRET-KEY"),
        (
            {"files": {f"{STATE}/public-keys/x.asc": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nxx\n"}},
            "PRIVATE KEY",
        ),
    ],
)
def test_bkp02_fail(make_facts, kwargs, needle):
    result = run("BKP-02", facts_for(make_facts, **kwargs))
    assert_status(result, Status.FAIL)
    assert needle in " ".join([result.message, *result.evidence])


def test_bkp02_open_backup_directory_fails(make_facts):
    facts = facts_for(make_facts)
    os.chmod(facts.host_path(BACKUPS), 0o755)
    result = run("BKP-02", facts)
    assert_status(result, Status.FAIL)
    assert "must be root 0700" in result.message


def test_bkp02_missing_directory_fails(make_facts):
    facts = facts_for(make_facts, intent={**INTENT, "backup_dir": "/srv/nowhere"})
    result = run("BKP-02", facts)
    assert_status(result, Status.FAIL)
    assert "does not exist" in result.message


def test_bkp02_not_applicable_or_error(make_facts):
    assert_status(run("BKP-02", facts_for(make_facts, intent=None)), Status.NOT_APPLICABLE)
    assert_status(run("BKP-02", facts_for(make_facts, intent="[1, 2")), Status.ERROR)


# --- BKP-03 ---------------------------------------------------------------------------------------


def test_bkp03_pass(make_facts):
    assert_status(run("BKP-03", facts_for(make_facts)), Status.PASS)


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({f"{STATE}/last-restore.json": None}, "no restore test recorded"),
        ({f"{STATE}/last-restore.json": record(24 * 40)}, "40 days old"),
    ],
)
def test_bkp03_fail(make_facts, files, needle):
    result = run("BKP-03", facts_for(make_facts, files=files))
    assert_status(result, Status.FAIL)
    assert needle in result.message


def test_bkp03_declared_period(make_facts):
    files = {f"{STATE}/last-restore.json": record(24 * 40)}
    facts = facts_for(make_facts, intent={**INTENT, "restore_test_days": 60}, files=files)
    assert_status(run("BKP-03", facts), Status.PASS)


def test_bkp03_malformed_is_an_error(make_facts):
    files = {f"{STATE}/last-restore.json": "[]"}
    assert_status(run("BKP-03", facts_for(make_facts, files=files)), Status.ERROR)


def test_bkp03_not_applicable_without_backup(make_facts):
    assert_status(run("BKP-03", facts_for(make_facts, intent=None)), Status.NOT_APPLICABLE)
