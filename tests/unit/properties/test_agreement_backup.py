"""The backup role and BKP-02 agree, for generated inputs.

Inputs come from the role's argument spec (encryption, GPG recipients by fingerprint with their
public keys, age recipients, the backup and state directories) with valid, edge and must-refuse
values. The role's ``validate.yml`` decides. For every accepted input the intent is the role's own
(the very expression of its intent.yml task), the directories exist as the role creates them
(root 0700, install.yml) and BKP-02 runs through the fixture runner: it may not fail or be partial
(the role has no acknowledgement for backups). Every refused input must name one variable and
its value.
"""

from __future__ import annotations

import os
from typing import Any

from harness import RoleRun, bounded, intent_of, named_variable, validated
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks, run_check
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.registry import get_check

AGE_ALPHABET = "023456789acdefghjklmnpqrstuvwxyz"
PGP = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBGV\n-----END PGP PUBLIC KEY BLOCK-----\n"
PRIVATE = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQ\n-----END PGP PRIVATE KEY BLOCK-----\n"
DIRS = ["/var/backups/rampart", "/srv/backups", "/var/lib/rampart-backup", "backups", "./state"]

fingerprints = st.one_of(
    st.text("0123456789ABCDEF", min_size=40, max_size=40),
    st.text("0123456789abcdef", min_size=40, max_size=40),
    st.sampled_from(["DEADBEEF", "0x" + "A" * 40, "A" * 20 + " " + "B" * 20, "ops@example.test", "G" * 40]),
)
ages = st.one_of(
    st.text(AGE_ALPHABET, min_size=58, max_size=58).map("age1{}".format),
    st.sampled_from(["AGE-SECRET-KEY-1QQQ", "age1short", "ssh-ed25519 AAAA", "age1" + "b" * 58]),
)
gpg_recipient = st.fixed_dictionaries({"fingerprint": fingerprints, "public_key": st.sampled_from([PGP, PGP, PRIVATE])})


@st.composite
def backup_input(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "rampart_backup_encryption": draw(st.sampled_from(["gpg", "age"])),
        "rampart_backup_gpg_recipients": draw(st.lists(gpg_recipient, max_size=2)),
        "rampart_backup_age_recipients": draw(st.lists(ages, max_size=2)),
        "rampart_backup_dir": draw(st.sampled_from(DIRS[:2] * 3 + DIRS[3:])),
        "rampart_backup_state_dir": draw(st.sampled_from(DIRS[2:3] * 3 + DIRS[3:])),
    }


def intent_document(role: RoleRun) -> dict[str, Any]:
    """The intent the role writes: the very expression of its intent.yml task."""
    return intent_of(role, "__rampart_backup_intent")


def audit(make_facts, role: RoleRun) -> Any:
    intent = intent_document(role)
    directories = [intent["backup_dir"], intent["state_dir"], intent["gnupghome"]]
    # install.yml creates them root 0700 (a relative path would land wherever the remote cwd is).
    files = {f"{d.rstrip('/')}/.keep": ("", 0o600) for d in directories if d.startswith("/")}
    facts = make_facts(files=files, intent={"backup": intent})
    for directory in directories:
        if directory.startswith("/"):
            os.chmod(facts.host_path(directory), 0o700)
    load_builtin_checks()
    return run_check(get_check("BKP-02"), facts)


@bounded(80)
@given(user=backup_input())
@example(
    user={
        "rampart_backup_encryption": "gpg",
        "rampart_backup_gpg_recipients": [{"fingerprint": "a" * 40, "public_key": PGP}],
        "rampart_backup_age_recipients": [],
        "rampart_backup_dir": "/var/backups/rampart",
        "rampart_backup_state_dir": "/var/lib/rampart-backup",
    }
)
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("backup", user)
    if not validated(role):
        return
    result = audit(make_facts, role)
    assert result.status is Status.PASS, (result.message, result.evidence)


def test_relative_directories_are_refused() -> None:
    # Counterexample of the property: rampart_backup_state_dir "./state" was accepted; the role
    # created it relative to the remote working directory and BKP-02 found no state directory.
    for key in ("rampart_backup_dir", "rampart_backup_state_dir"):
        role = RoleRun(
            "backup", {"rampart_backup_encryption": "age", "rampart_backup_age_recipients": [], key: "./state"}
        )
        refusals = role.validate()
        assert refusals
        assert named_variable(refusals[0], role.variables) == (key, "./state")
