"""Backups pack (BKP-01..03): timer and last success, encryption to pinned public keys only, restore tests."""

from __future__ import annotations

import re
from datetime import timedelta

from ansible_collections.rampart.hardening.plugins.module_utils.checks.common import judge
from ansible_collections.rampart.hardening.plugins.module_utils.facts import Facts
from ansible_collections.rampart.hardening.plugins.module_utils.model import Result, failed, not_applicable
from ansible_collections.rampart.hardening.plugins.module_utils.probes import now
from ansible_collections.rampart.hardening.plugins.module_utils.probes.backup import (
    BackupFacts,
    backup,
    secret_material,
)
from ansible_collections.rampart.hardening.plugins.module_utils.probes.files import describe, too_open
from ansible_collections.rampart.hardening.plugins.module_utils.probes.systemd import unit
from ansible_collections.rampart.hardening.plugins.module_utils.registry import check

PG_DUMP = "https://www.postgresql.org/docs/current/app-pgdump.html"
PG_RESTORE = "https://www.postgresql.org/docs/current/app-pgrestore.html"
GPG_DOCS = "https://www.gnupg.org/documentation/manuals/gnupg/OpenPGP-Key-Management.html"
AGE_SPEC = "https://age-encryption.org/v1"
CIS_CONTROLS = "CIS Controls v8 11.2, 11.3, 11.5"
DEFAULT_MAX_AGE_HOURS = 26
DEFAULT_RESTORE_DAYS = 30
FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
SERVICES = {"postgresql": "postgresql.service", "redis": "redis-server.service"}
# What rampart-backup leaves in the backup directory: ciphertexts, their manifests, temporaries.
CIPHERTEXT_SUFFIXES = (".gpg", ".age", ".asc", ".pgp")
MANIFEST_SUFFIX = ".manifest.json"
TEMPORARY_PREFIX = ".tmp-"
BACKUP_SCAN_DEPTH = 2


def _served(facts: Facts) -> list[str]:
    """The databases this host serves (their units exist)."""
    return [name for name, service in SERVICES.items() if unit(facts, service) is not None]


def _declared_int(info: BackupFacts, key: str, default: int) -> int:
    value = info.intent.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _backup_or_result(facts: Facts) -> tuple[BackupFacts | None, Result | None]:
    info = backup(facts)
    if info is not None:
        return info, None
    served = _served(facts)
    if served:
        return None, failed(
            f"this host serves {', '.join(served)} and declares no backup (/etc/rampart/intent/backup.json)",
            [f"{SERVICES[name]} present" for name in served],
        )
    return None, not_applicable("no database on this host and no backup declared")


@check(
    id="BKP-01",
    title="A backup timer is active for every database served; the last successful backup is recent",
    category="backups",
    severity="high",
    rationale="Backups that silently stopped are discovered on the day they are needed; a failed run must "
    "show up within the declared period, not when the last good copy has been pruned.",
    remediation="Apply the backup role (tag backup) with every served database enabled; fix why "
    "rampart-backup.service fails (journalctl -u rampart-backup) and run playbooks/backup.yml.",
    references=(PG_DUMP, CIS_CONTROLS),
    fix_role="backup",
    fix_tag="backup_service",
)
def bkp_recent(facts: Facts) -> Result:
    """Inspects: backup intent, the timer unit, last-success.json and last-failure.json in the state dir.

    pass: timer active, every served database backed up, last success younger than max_age_hours and no
    failure since; fail: otherwise (also a database served without a backup declared).
    """
    info, result = _backup_or_result(facts)
    if info is None:
        return result  # type: ignore[return-value]
    problems: list[str] = []
    timer = info.units.get(info.timer)
    seen = [timer.evidence() if timer else f"{info.timer}: not found"]
    if timer is None or not timer.exists or not timer.active:
        problems.append(f"{info.timer} is not active")
    uncovered = [name for name in _served(facts) if not info.intent.get(name)]
    problems.extend(f"{name} is served but not backed up" for name in uncovered)
    max_age = timedelta(hours=_declared_int(info, "max_age_hours", DEFAULT_MAX_AGE_HOURS))
    success, failure = info.last_success, info.last_failure
    if success is None:
        problems.append("no successful backup recorded")
    else:
        seen.append(success.evidence())
        age = now() - success.time
        if age > max_age:
            problems.append(f"the last successful backup is {age.total_seconds() / 3600:.1f} h old (limit {max_age})")
    if failure is not None:
        seen.append(failure.evidence())
        if success is None or failure.time >= success.time:
            problems.append(f"the last backup run failed ({failure.time.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    return judge(f"timer active, last success within {max_age}", problems, seen=seen)


def _recipient_problems(info: BackupFacts) -> list[str]:
    recipients = info.intent.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        return ["no recipients declared: backups would not be encrypted to anyone"]
    encryption = info.intent.get("encryption", "gpg")
    if encryption == "gpg":
        loose = [str(r) for r in recipients if not FINGERPRINT.match(str(r).upper())]
        return [f"GPG recipient {r!r} is not pinned by a full fingerprint" for r in loose]
    if encryption == "age":
        return [
            f"age recipient {str(r)[:16]!r} is not an age public key"
            for r in recipients
            if not AGE_RECIPIENT.match(str(r))
        ]
    return [f"unknown encryption {encryption!r}"]


def _directory_problems(facts: Facts, info: BackupFacts) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    seen: list[str] = []
    for path in (info.backup_dir, info.state_dir):
        if not path:
            problems.append("no backup directory declared")
            continue
        st = facts.stat(path)
        if st is None:
            problems.append(f"{path} does not exist")
            continue
        seen.append(describe(st))
        if too_open(st, 0o700) or st.owner != "root":
            problems.append(f"{describe(st)}: must be root 0700")
    return problems, seen


def _plaintext_copies(facts: Facts, backup_dir: str) -> list[str]:
    """Files in the backup directory that are not ciphertexts (a manual pg_dump, a copied dump.rdb).

    Judged by name, never by reading the (large) files: rampart-backup names every ciphertext
    <name>.gpg / <name>.age, so anything else there was written unencrypted by someone else.
    """
    found: list[str] = []
    if not backup_dir:
        return found
    root = backup_dir.rstrip("/")
    for depth in range(1, BACKUP_SCAN_DEPTH + 1):
        for pattern in (f"{root}{'/*' * depth}", f"{root}{'/*' * (depth - 1)}/.*"):
            for path in facts.glob(pattern):
                name = path.rsplit("/", 1)[-1]
                if name.startswith(TEMPORARY_PREFIX) or name.endswith((*CIPHERTEXT_SUFFIXES, MANIFEST_SUFFIX)):
                    continue
                st = facts.stat(path)
                # An empty file (a .keep marker) holds no data to leak.
                if st is not None and not st.is_dir and not st.is_link and st.size > 0:
                    found.append(f"{path}: not encrypted (only .gpg/.age ciphertexts belong in the backup directory)")
    return sorted(dict.fromkeys(found))


@check(
    id="BKP-02",
    title="Backups are encrypted to pinned public keys; no secret key material on the host; directory 0700",
    category="backups",
    severity="high",
    rationale="A host that can decrypt its own backups hands every old copy to whoever owns it; a recipient "
    "named loosely (a user id) can be swapped for an attacker's key.",
    remediation="Declare recipients by full fingerprint (rampart_backup_gpg_recipients) or age public keys; "
    "keep private keys off the host (on the controller or offline); backup and state directories root 0700.",
    references=(GPG_DOCS, AGE_SPEC, CIS_CONTROLS),
    fix_role="backup",
    fix_tag="backup_keys",
)
def bkp_encrypted(facts: Facts) -> Result:
    """Inspects: backup intent recipients, private-keys-v1.d / secring.gpg / armored private keys / age
    identities under the state and config dirs, modes of the backup and state directories, names of the
    files in the backup directory.

    pass: recipients pinned, no secret key material, directories root 0700, only ciphertexts (.gpg/.age),
    manifests and temporaries in the backup directory; fail: otherwise.
    """
    info = backup(facts)
    if info is None:
        return not_applicable("no backup declared on this host")
    problems = _recipient_problems(info)
    dir_problems, seen = _directory_problems(facts, info)
    problems += dir_problems
    problems += secret_material(facts, info)
    problems += _plaintext_copies(facts, info.backup_dir)
    seen.append(f"recipients: {', '.join(map(str, info.intent.get('recipients') or []))}")
    return judge("encrypted to pinned public keys only, directories root 0700", problems, seen=seen)


@check(
    id="BKP-03",
    title="A restore was tested within the declared period",
    category="backups",
    severity="medium",
    rationale="A backup is only known to be good once it has been restored; untested dumps are often truncated "
    "or incomplete.",
    remediation="Run playbooks/restore.yml (into the live database or a scratch host) at least every "
    "rampart_backup_restore_test_days days; it records last-restore.json.",
    references=(PG_RESTORE, CIS_CONTROLS),
    fix_role="backup",
    fix_tag=None,
)
def bkp_restore_tested(facts: Facts) -> Result:
    """Inspects: last-restore.json (written by playbooks/restore.yml) in the backup state dir.

    pass: a restore within restore_test_days (default 30); fail: none recorded or older.
    """
    info = backup(facts)
    if info is None:
        return not_applicable("no backup declared on this host")
    period = timedelta(days=_declared_int(info, "restore_test_days", DEFAULT_RESTORE_DAYS))
    record = info.last_restore
    if record is None:
        return judge("", [f"no restore test recorded ({info.state_dir}/last-restore.json)"])
    age = now() - record.time
    problems = [f"the last restore test is {age.days} days old (limit {period.days})"] if age > period else []
    return judge(f"restore tested within {period.days} days", problems, seen=[record.evidence()])
