"""Encrypted backups that provably restore, proven on a live PostgreSQL + Redis host.

The tests run in file order and share one host: seed known data, back up through the
systemd unit, restore with playbooks/restore.yml from the controller (which alone holds
the private key), then attack the backups (truncation, bit flips, a failure after the
swap), retention (names vs misleading mtimes, failed runs) and the audit (BKP-01..03).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from labhosts import audit_findings, lab_host, must_run

DB = lab_host("rampart-backup-db")
HOST = "rampart-backup-db"
VAULT = lab_host("rampart-backup-vault")
VAULT_DIR = "/var/backups/rampart-vault/rampart-backup-db"
VAULT_STATE = "/var/lib/rampart-backup-vault"
REDIS_CONF = "/etc/redis/redis.conf"
BACKUP_NAME = re.compile(r"^[A-Za-z0-9_.-]+-\d{8}T\d{6}Z\.[a-z.]+\.gpg$")
REPO = Path(__file__).resolve().parents[3]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
BACKUPS = "/var/backups/rampart"
STATE = "/var/lib/rampart-backup"
MARKER = f"RampartPlaintextMarker{secrets.token_hex(8)}"
TABLES = ("people", "orders", "files")


def redis_password() -> str:
    return (EPHEMERAL / "credentials" / "redis" / HOST / "admin.password").read_text().strip()


def fingerprint() -> str:
    return (EPHEMERAL / "backup-fingerprint").read_text().strip()


def sql(query: str, database: str = "appdb") -> str:
    return must_run(DB, "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d %s -c %s", database, query).strip()


def redis(*args: str) -> str:
    command = " ".join(
        shlex.quote(a) for a in ("redis-cli", "-s", "/run/redis/redis-server.sock", "--user", "admin", *args)
    )
    return must_run(DB, f"REDISCLI_AUTH={shlex.quote(redis_password())} {command}").strip()


def checksums() -> dict[str, str]:
    """Row count and md5 of the ordered rows of every table, the sequence, the large object."""
    sums = {}
    for table in TABLES:
        sums[table] = sql(f"SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t")
    sums["sequence"] = sql("SELECT last_value FROM invoice_no")
    sums["large_object"] = sql("SELECT md5(lo_get(lo)) FROM files WHERE id = 1")
    return sums


def redis_state() -> dict[str, str]:
    keys = sorted(redis("--scan", "--pattern", "app:*").split())
    return {key: redis("GET", key) for key in keys}


def listing() -> list[str]:
    return must_run(DB, "ls -A %s", BACKUPS).split()


def newest(prefix: str) -> str:
    pattern = re.compile(rf"^{re.escape(prefix)}-\d{{8}}T\d{{6}}Z\.[a-z.]+\.gpg$")
    return sorted(name for name in listing() if pattern.match(name))[-1]


def backup_now() -> None:
    must_run(DB, "systemctl start rampart-backup.service")


def manifest(name: str) -> dict:
    return json.loads(must_run(DB, "cat %s", f"{BACKUPS}/{name}.manifest.json"))


# The restore decrypts on the controller in a tempfile directory. Scenarios run side by side on
# one controller (another one's restore may be mid-flight), so this scenario's playbooks get a
# temporary directory of their own and "no plaintext left behind" is judged there.
CONTROLLER_TMP = EPHEMERAL / "controller-tmp"


def playbook(name: str, **extra: object) -> subprocess.CompletedProcess[str]:
    CONTROLLER_TMP.mkdir(mode=0o700, exist_ok=True)
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(REPO / "playbooks" / name),
            "-l",
            HOST,  # the vault is in the inventory too
            "-e",
            json.dumps(extra),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "TMPDIR": str(CONTROLLER_TMP)},
    )
    proc.stdout += proc.stderr
    return proc


def restore(**extra: object) -> subprocess.CompletedProcess[str]:
    return playbook(
        "restore.yml", **{"rampart_restore_kind": "postgresql", "rampart_restore_database": "appdb", **extra}
    )


def databases() -> list[str]:
    return sql("SELECT datname FROM pg_database ORDER BY 1", "postgres").split()


def audit() -> dict[str, dict]:
    return audit_findings(HOST, ["BKP-*"])


@pytest.fixture(scope="module")
def seeded() -> dict[str, str]:
    """Known rows in several tables, a sequence, bytea and a large object; Redis keys; one backup."""
    sql(
        "DROP TABLE IF EXISTS orders, files, people; DROP SEQUENCE IF EXISTS invoice_no; "
        "CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL, note text); "
        f"INSERT INTO people (name, note) SELECT 'person-' || g, CASE WHEN g = 7 THEN '{MARKER}' END "
        "FROM generate_series(1, 500) g; "
        "CREATE TABLE orders (id bigint PRIMARY KEY, person_id int REFERENCES people (id), amount numeric(10, 2), "
        "created timestamptz); "
        "INSERT INTO orders SELECT g, 1 + g % 500, g * 1.25, '2026-01-01'::timestamptz + g * interval '1 hour' "
        "FROM generate_series(1, 2000) g; "
        "CREATE TABLE files (id int PRIMARY KEY, data bytea, lo oid); "
        "INSERT INTO files VALUES (1, decode(repeat('deadbeef', 2000), 'hex'), "
        f"lo_from_bytea(0, convert_to('large object {MARKER}', 'UTF8'))); "
        "CREATE SEQUENCE invoice_no START 1000; SELECT setval('invoice_no', 4242); ANALYZE"
    )
    for index in range(20):
        redis("SET", f"app:key{index}", f"value-{index}")
    backup_now()
    return checksums()


# --- The units ------------------------------------------------------------------------------


def test_timer_is_active_and_the_service_is_sandboxed() -> None:
    assert must_run(DB, "systemctl is-active rampart-backup.timer").strip() == "active"
    shown = must_run(
        DB, "systemctl show rampart-backup.service -p UMask,ProtectSystem,OnFailure,NoNewPrivileges,PrivateTmp"
    )
    props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    assert props == {
        "UMask": "0077",
        "ProtectSystem": "strict",
        "OnFailure": "rampart-backup-failure.service",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
    }


# --- What a backup writes -----------------------------------------------------------------------


def test_backup_writes_encrypted_files_with_manifests(seeded: dict[str, str]) -> None:
    assert must_run(DB, "stat -c %%a %s", BACKUPS).strip() == "700"
    for prefix in ("pg-appdb", "pg-globals", "redis"):
        name = newest(prefix)
        assert must_run(DB, "stat -c %%a %s", f"{BACKUPS}/{name}").strip() == "600"
        data = manifest(name)
        assert data["recipients"] == [fingerprint()]
        assert data["encryption"] == "gpg"
        assert data["ciphertext"]["size"] > 0
        assert data["plaintext"]["sha256"] != data["ciphertext"]["sha256"]
    appdb = manifest(newest("pg-appdb"))
    assert {"public.people", "public.orders", "public.files"} <= set(appdb["tables"])
    assert appdb["tables"]["public.orders"] == 2000  # analyzed: the estimate is exact here
    assert appdb["toc_entries"] > 5
    assert manifest(newest("redis"))["keyspace"] == ["db0=20"]
    assert not [name for name in listing() if name.startswith(".tmp-")]


def test_no_plaintext_in_the_backups(seeded: dict[str, str]) -> None:
    # Control: with compression off (as configured here) a dump shows the marker in clear...
    control = DB.run("runuser -u postgres -- pg_dump -Fc -Z0 appdb | grep -c %s", MARKER)
    assert control.stdout.strip() not in ("", "0"), control.stderr
    # ...but nothing the backup wrote does, and pg_restore cannot read the ciphertext.
    found = DB.run("grep -rlaF %s %s", MARKER, BACKUPS)
    assert found.rc == 1, found.stdout
    listed = DB.run("pg_restore --list %s", f"{BACKUPS}/{newest('pg-appdb')}")
    assert listed.rc != 0


def test_the_host_holds_no_private_key_and_cannot_decrypt(seeded: dict[str, str]) -> None:
    attempt = DB.run(
        "gpg --homedir %s --batch --no-tty --decrypt %s", f"{STATE}/gnupg", f"{BACKUPS}/{newest('pg-appdb')}"
    )
    assert attempt.rc != 0
    assert "No secret key" in attempt.stderr
    keys = DB.run("grep -rlaE 'PRIVATE KEY|AGE-SECRET-KEY' %s %s /etc/rampart", STATE, BACKUPS)
    assert keys.rc == 1, keys.stdout
    assert must_run(DB, "gpg --homedir %s --batch --with-colons --list-secret-keys", f"{STATE}/gnupg").strip() == ""


def test_no_secret_in_process_arguments_during_a_run(seeded: dict[str, str]) -> None:
    state = "$(systemctl show -p ActiveState --value rampart-backup.service)"
    sampler = (
        "systemctl start --no-block rampart-backup.service; "
        f'for i in $(seq 1 200); do [ "{state}" = activating ] && break; sleep 0.02; done; '
        f'while [ "{state}" = activating ]; do '
        "  for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done; "
        "done"
    )
    seen = must_run(DB, f"bash -c {shlex.quote(sampler)}")
    assert "rampart-backup run" in seen  # the sampler did catch the run
    assert redis_password() not in seen
    assert "REDISCLI_AUTH" not in seen
    assert must_run(DB, "systemctl show -p Result --value rampart-backup.service").strip() == "success"


# --- Restore ------------------------------------------------------------------------------------


def test_round_trip_restores_identical_data(seeded: dict[str, str]) -> None:
    redis_before = redis_state()
    assert len(redis_before) == 20
    sql(
        "DROP TABLE files; DELETE FROM orders WHERE id > 10; DELETE FROM people WHERE id > 100; "
        "SELECT setval('invoice_no', 1)"
    )
    redis("FLUSHALL")
    assert sql("SELECT to_regclass('files') IS NULL") == "t"
    result = restore()
    assert result.returncode == 0, result.stdout[-3000:]
    assert checksums() == seeded
    kept = [name for name in databases() if name.startswith("appdb__prerestore_")]
    assert kept, databases()
    assert not [name for name in databases() if name.startswith("appdb__restore_")]
    assert [name for name in listing() if name.startswith("pg-appdb-safety-")]
    restored = json.loads(must_run(DB, "cat %s", f"{STATE}/last-restore.json"))
    assert restored["database"] == "appdb"

    result = playbook("restore.yml", rampart_restore_kind="redis")
    assert result.returncode == 0, result.stdout[-3000:]
    assert redis_state() == redis_before
    assert must_run(DB, "ls /var/lib/redis").count("dump.rdb.pre-restore-") == 1
    # No plaintext left behind, on the host or on the controller.
    assert DB.run("ls -d /var/tmp/rampart-restore-*").rc != 0
    assert not list(CONTROLLER_TMP.glob("rampart-restore-*"))
    # ...and that is where the controller's tempfile directories go (else the line above proves nothing).
    probe = subprocess.run(
        ["ansible", "localhost", "-m", "ansible.builtin.tempfile", "-a", "state=directory prefix=rampart-restore-"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TMPDIR": str(CONTROLLER_TMP)},
    )
    made = list(CONTROLLER_TMP.glob("rampart-restore-*"))
    assert len(made) == 1, probe.stdout
    assert str(made[0]) in probe.stdout
    made[0].rmdir()


def _plant_copy(
    source: str, name: str, data: bytes | None = None, fix_manifest: bool = False, meta: dict | None = None
) -> None:
    """Copy a backup under another name, optionally damaged, with its (optionally altered) manifest."""
    must_run(DB, "cp %s %s", f"{BACKUPS}/{source}", f"{BACKUPS}/{name}")
    meta = dict(meta if meta is not None else manifest(source), file=name)
    if data is not None:
        subprocess.run(
            ["podman", "exec", "-i", HOST, "dd", f"of={BACKUPS}/{name}", "status=none"], input=data, check=True
        )
    if fix_manifest:
        sha = must_run(DB, "sha256sum %s", f"{BACKUPS}/{name}").split()[0]
        size = int(must_run(DB, "stat -c %%s %s", f"{BACKUPS}/{name}"))
        meta["ciphertext"] = {"sha256": sha, "size": size}
    payload = json.dumps(meta)
    subprocess.run(
        ["podman", "exec", "-i", HOST, "dd", f"of={BACKUPS}/{name}.manifest.json", "status=none"],
        input=payload.encode(),
        check=True,
    )


def _cipher_bytes(name: str) -> bytes:
    return subprocess.run(["podman", "exec", HOST, "cat", f"{BACKUPS}/{name}"], capture_output=True, check=True).stdout


@pytest.mark.parametrize("damage", ["truncated", "bit-flipped"])
def test_a_damaged_backup_fails_and_leaves_the_live_database_unchanged(seeded: dict[str, str], damage: str) -> None:
    before = checksums()
    source = newest("pg-appdb")
    data = _cipher_bytes(source)
    name = f"pg-appdb-20200101T00000{1 if damage == 'truncated' else 2}Z.dump.gpg"
    if damage == "truncated":
        _plant_copy(source, name, data[: len(data) // 2])  # the manifest still names the full file
    else:
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x01
        _plant_copy(source, name, bytes(flipped), fix_manifest=True)  # only the decryptor can tell
    safety_before = [n for n in listing() if n.startswith("pg-appdb-safety-")]
    result = restore(rampart_restore_file=name)
    must_run(DB, "rm -f %s %s", f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")
    assert result.returncode != 0, result.stdout[-3000:]
    assert checksums() == before
    assert not [n for n in databases() if n.startswith("appdb__restore_")]
    assert sql("SELECT datallowconn FROM pg_database WHERE datname = 'appdb'", "postgres") == "t"
    assert DB.run("ls -d /var/tmp/rampart-restore-*").rc != 0
    # The safety backup taken first exists and itself restores.
    safety = sorted({n for n in listing() if n.startswith("pg-appdb-safety-")} - set(safety_before))
    safety = [n for n in safety if not n.endswith(".manifest.json")]
    assert len(safety) == 1, listing()
    if damage == "bit-flipped":  # once is enough: the safety backup itself restores
        again = restore(rampart_restore_file=safety[0])
        assert again.returncode == 0, again.stdout[-3000:]
        assert checksums() == before


def test_a_failure_after_the_swap_rolls_back(seeded: dict[str, str]) -> None:
    sql("INSERT INTO people (name) VALUES ('only-in-the-live-database')")
    before = checksums()
    result = restore(rampart_restore_inject_failure_after_swap=True)
    assert result.returncode != 0
    assert "rampart_restore_inject_failure_after_swap" in result.stdout
    assert checksums() == before
    assert not [n for n in databases() if n.startswith("appdb__restore_")]
    assert sql("SELECT datallowconn FROM pg_database WHERE datname = 'appdb'", "postgres") == "t"


def test_a_manifest_with_wrong_row_counts_is_refused(seeded: dict[str, str]) -> None:
    """The restored copy's exact row counts must match the manifest's estimates (10 % / 100 rows)."""
    before = checksums()
    source = newest("pg-appdb")
    meta = manifest(source)
    assert meta["tables"]["public.people"] >= 500  # analysed before the backup: a real estimate
    meta["tables"]["public.people"] = meta["tables"]["public.people"] * 10 + 1000
    name = "pg-appdb-20200101T000003Z.dump.gpg"
    _plant_copy(source, name, meta=meta)  # ciphertext and plaintext intact: only the row count lies
    result = restore(rampart_restore_file=name)
    must_run(DB, "rm -f %s %s", f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")
    assert result.returncode != 0, result.stdout[-3000:]
    assert "row counts outside the tolerance: [public.people:" in result.stdout
    assert checksums() == before
    assert not [n for n in databases() if n.startswith("appdb__restore_")]
    assert sql("SELECT datallowconn FROM pg_database WHERE datname = 'appdb'", "postgres") == "t"


def _wait_redis() -> None:
    for _ in range(60):
        if (
            DB.run(
                "REDISCLI_AUTH=%s redis-cli -s /run/redis/redis-server.sock --user admin PING", redis_password()
            ).stdout.strip()
            == "PONG"
        ):
            return
        must_run(DB, "sleep 0.5")
    raise AssertionError("Redis did not come back")


def test_redis_restore_with_appendonly_rebuilds_the_aof(seeded: dict[str, str]) -> None:
    must_run(DB, "sed -i -E 's/^appendonly no$/appendonly yes/' %s", REDIS_CONF)
    must_run(DB, "systemctl restart redis-server")
    _wait_redis()
    try:
        assert redis("CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
        for index in range(30):
            redis("SET", f"app:aof{index}", f"aof-value-{index}")
        expected = redis_state()
        backup_now()
        redis("FLUSHALL")
        redis("SET", "app:only-after-the-backup", "x")
        result = playbook("restore.yml", rampart_restore_kind="redis")
        assert result.returncode == 0, result.stdout[-3000:]
        assert redis_state() == expected
        assert redis("CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
        assert must_run(DB, "grep -c '^appendonly yes$' %s", REDIS_CONF).strip() == "1"
        files = must_run(DB, "ls /var/lib/redis").split()
        assert "appendonlydir" in files
        assert [f for f in files if f.startswith("appendonlydir.pre-restore-")], files
        # Redis loads the AOF at start: the rebuilt AOF must hold the restored data.
        must_run(DB, "systemctl restart redis-server")
        _wait_redis()
        assert redis_state() == expected
    finally:
        must_run(DB, "sed -i -E 's/^appendonly yes$/appendonly no/' %s", REDIS_CONF)
        must_run(DB, "systemctl restart redis-server")
        _wait_redis()


# --- The second location (backup vault, pull-based) ---------------------------------------------------


def pull() -> None:
    must_run(VAULT, "systemctl start rampart-backup-pull.service")


def vault_listing() -> list[str]:
    return must_run(VAULT, "ls -A %s", VAULT_DIR).split()


def vault_sha(name: str) -> str:
    return must_run(VAULT, "sha256sum %s", f"{VAULT_DIR}/{name}").split()[0]


def backups_on_db() -> list[str]:
    return sorted(n for n in listing() if BACKUP_NAME.match(n))


def test_the_vault_pulls_copies_that_match_their_manifests(seeded: dict[str, str]) -> None:
    pull()
    held = set(vault_listing())
    names = backups_on_db()
    assert {"pg-appdb", "pg-globals", "redis"} <= {n.rsplit("-", 1)[0] for n in names}
    for name in names:
        assert name in held, (name, sorted(held))
        assert f"{name}.manifest.json" in held, (name, sorted(held))
        assert vault_sha(name) == manifest(name)["ciphertext"]["sha256"]
        assert must_run(VAULT, "stat -c %%a %s", f"{VAULT_DIR}/{name}").strip() == "600"
    assert must_run(VAULT, "stat -c %%a %s", VAULT_DIR).strip() == "700"
    state = json.loads(must_run(VAULT, "cat %s", f"{VAULT_STATE}/pull-rampart-backup-db.json"))
    assert state["stored"]
    # Nothing but final backups and manifests came over.
    assert not [n for n in held if not (BACKUP_NAME.match(n.removesuffix(".manifest.json")) or n.startswith("."))]


def test_the_db_host_cannot_delete_or_overwrite_the_vault_copies(seeded: dict[str, str]) -> None:
    pull()
    names = backups_on_db()
    kept = {name: vault_sha(name) for name in names}
    victim, lost = names[0], names[1]
    # The only credential between the two hosts is the vault's key on the db host, and it can
    # only read: uploads, deletions and commands are refused by the forced read-only rrsync.
    ssh = (
        f"ssh -i {VAULT_STATE}/id_ed25519 -o BatchMode=yes -o IdentitiesOnly=yes "
        f"-o UserKnownHostsFile={VAULT_STATE}/known_hosts -o StrictHostKeyChecking=yes"
    )
    target = "rampart-pull@rampart-backup-db"
    assert VAULT.run("rsync -e %s /etc/hostname %s", ssh, f"{target}:./{victim}").rc != 0
    must_run(VAULT, "mkdir -p /tmp/empty")
    assert VAULT.run("rsync -r --delete -e %s /tmp/empty/ %s", ssh, f"{target}:./").rc != 0
    assert VAULT.run(f"{ssh} {target} rm -f {BACKUPS}/{victim}").rc != 0
    assert VAULT.run(f"{ssh} {target} id").rc != 0
    assert must_run(DB, "sha256sum %s", f"{BACKUPS}/{victim}").split()[0] == kept[victim]
    # The db host holds no SSH key for the vault (no SSH private key outside the sshd host keys).
    scanned = "/root /home /var/lib/rampart-pull /var/lib/rampart-backup /etc/rampart /var/backups"
    keys = DB.run(f"grep -rlaF 'OPENSSH PRIVATE KEY' {scanned}")
    assert keys.rc == 1, keys.stdout
    # A compromised db host rewrites one backup (manifest to match) and deletes another: the
    # vault keeps its copies, byte for byte.
    _plant_copy(names[-1], victim, data=b"forged by the db host", fix_manifest=True)
    must_run(DB, "mv %s %s /root/", f"{BACKUPS}/{lost}", f"{BACKUPS}/{lost}.manifest.json")
    try:
        pull()
        assert {name: vault_sha(name) for name in names} == kept
    finally:
        must_run(DB, "mv %s %s %s/", f"/root/{lost}", f"/root/{lost}.manifest.json", BACKUPS)


def vault_ssh(user: str, command: str = "true") -> int:
    """A key login from the vault to the db host with the vault's own key; the exit status."""
    ssh = (
        f"ssh -i {VAULT_STATE}/id_ed25519 -o BatchMode=yes -o IdentitiesOnly=yes "
        f"-o UserKnownHostsFile={VAULT_STATE}/known_hosts -o StrictHostKeyChecking=yes"
    )
    return VAULT.run(f"{ssh} {user}@rampart-backup-db {command}").rc


def sshd_refusals(user: str) -> str:
    return DB.run(f"journalctl -u ssh.service --no-pager -q -g 'User {user} from .* not allowed'").stdout


def test_sshd_admits_the_pull_account_only_through_allow_groups(seeded: dict[str, str]) -> None:
    # The db host runs the ssh role: sshd's effective configuration admits ssh-users only.
    effective = must_run(DB, "sshd -T -C user=rampart-pull,host=vault,addr=10.0.0.1")
    assert "allowgroups ssh-users" in effective.splitlines(), effective
    assert "ssh-users" in must_run(DB, "id -nG rampart-pull").split()
    # An account outside the group, holding the very key the vault pulls with, is refused by sshd.
    must_run(DB, "useradd -m -s /bin/sh outsider || true")
    must_run(DB, "install -d -m 0700 -o outsider -g outsider ~outsider/.ssh")
    must_run(DB, "install -m 0600 -o outsider -g outsider /var/lib/rampart-pull/.ssh/authorized_keys ~outsider/.ssh/")
    try:
        assert vault_ssh("outsider") != 0
        assert "not allowed because none of user's groups are listed in AllowGroups" in sshd_refusals("outsider")
        # Out of the group, the pull account is refused as well and the pull fails...
        must_run(DB, "gpasswd -d rampart-pull ssh-users")
        assert VAULT.run("systemctl start rampart-backup-pull.service").rc != 0
        assert "AllowGroups" in sshd_refusals("rampart-pull")
    finally:
        must_run(DB, "usermod -aG ssh-users rampart-pull")
        DB.run("userdel -r outsider")
        VAULT.run("systemctl reset-failed rampart-backup-pull.service")
    # ...and back in it, the pull comes through sshd again.
    pull()
    assert set(backups_on_db()) <= set(vault_listing())


def test_the_vault_rejects_a_copy_that_does_not_match_its_manifest(seeded: dict[str, str]) -> None:
    name = "pg-bogus-20260101T000000Z.dump.gpg"
    _plant_copy(newest("pg-globals"), name, data=b"not what the manifest says")
    try:
        failed = VAULT.run("systemctl start rampart-backup-pull.service")
        assert failed.rc != 0
        assert name not in vault_listing()
        assert name in must_run(VAULT, "ls -A %s", f"{VAULT_DIR}/.rejected").split()
    finally:
        must_run(DB, "rm -f %s %s", f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")
    pull()


def test_the_vault_prunes_on_its_own_terms(seeded: dict[str, str]) -> None:
    now = datetime.now(UTC)
    source = newest("pg-globals")
    ages = [1, 2, 3, 5, 8, 12, 25, 40]
    planted = [
        f"pg-vaultret-{(now - timedelta(days=age, hours=1)).strftime('%Y%m%dT%H%M%SZ')}.dump.gpg" for age in ages
    ]
    for name in planted:
        _plant_copy(source, name, fix_manifest=True)
    try:
        pull()
        held = set(vault_listing())
        # The vault: keep_count 6, keep_days 20, keep_min 2 (the db host would keep 4).
        assert {n for n in planted if n in held} == set(planted[:6])
        pull()  # the pruned names are still on the db host, but never pulled again
        assert {n for n in planted if n in set(vault_listing())} == set(planted[:6])
    finally:
        for name in planted:
            must_run(DB, "rm -f %s %s", f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")


def test_restore_from_the_vault_copy(seeded: dict[str, str]) -> None:
    backup_now()
    expected = checksums()
    pull()
    name = newest("pg-appdb")
    assert name in vault_listing()
    # The db host lost its own backups of appdb; the copy on the vault restores.
    must_run(DB, "mkdir -p /root/lost && mv %s/pg-appdb-2* /root/lost/", BACKUPS)
    try:
        sql("DELETE FROM orders; DROP TABLE files")
        result = restore(rampart_restore_source_host="rampart-backup-vault", rampart_restore_source_dir=VAULT_DIR)
        assert result.returncode == 0, result.stdout[-3000:]
        assert checksums() == expected
        assert json.loads(must_run(DB, "cat %s", f"{STATE}/last-restore.json"))["file"] == name
    finally:
        must_run(DB, "mv /root/lost/* %s/", BACKUPS)


# --- Retention --------------------------------------------------------------------------------------


def _plant_series(series: str, ages_days: list[int], now: datetime) -> list[str]:
    """Backups named with known timestamps, mtimes the other way round (newest name = oldest mtime)."""
    names = []
    ordered = sorted(ages_days)
    for index, age in enumerate(ordered):
        name = f"{series}-{(now - timedelta(days=age, hours=1)).strftime('%Y%m%dT%H%M%SZ')}.dump.gpg"
        misleading = (now - timedelta(days=50 * (len(ordered) - 1 - index))).strftime("%Y-%m-%d %H:%M:%S")
        must_run(DB, "echo x > %s && echo {} > %s", f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")
        must_run(DB, "touch -d %s %s %s", misleading, f"{BACKUPS}/{name}", f"{BACKUPS}/{name}.manifest.json")
        names.append(name)
    return names


def test_retention_uses_the_names_not_the_mtimes(seeded: dict[str, str]) -> None:
    now = datetime.now(UTC)
    recent = _plant_series("pg-retention", [1, 2, 3, 5, 6, 12, 40], now)
    old = _plant_series("pg-oldonly", [20, 30, 40], now)
    must_run(DB, "touch %s", f"{BACKUPS}/.tmp-leftover")
    backup_now()
    files = set(listing())
    # keep_count 4, keep_days 10, keep_min 2 (converge.yml)
    assert {n for n in recent if n in files} == set(recent[:4])
    assert {n for n in old if n in files} == set(old[:2])
    for name in recent[4:] + old[2:]:
        assert f"{name}.manifest.json" not in files
    assert ".tmp-leftover" not in files
    real = sorted(n for n in files if re.match(r"^pg-appdb-\d{8}T\d{6}Z\.dump\.gpg$", n))
    assert 1 <= len(real) <= 4, real  # keep_count 4


def test_a_failed_run_prunes_nothing_and_the_audit_reports_it(seeded: dict[str, str]) -> None:
    now = datetime.now(UTC)
    planted = _plant_series("pg-failrun", [1, 2, 3, 20, 30, 40], now)
    must_run(DB, "touch %s", f"{BACKUPS}/.tmp-crashed")
    must_run(DB, "systemctl stop postgresql")
    try:
        assert audit()["BKP-01"]["status"] == "pass"
        failed = DB.run("systemctl start rampart-backup.service")
        assert failed.rc != 0
        assert must_run(DB, "systemctl show -p Result --value rampart-backup.service").strip() != "success"
        files = set(listing())
        assert set(planted) <= files  # nothing pruned
        assert not [n for n in files if n.startswith(".tmp-")]  # and no temporary left
        failure = json.loads(must_run(DB, "cat %s", f"{STATE}/last-failure.json"))
        success = json.loads(must_run(DB, "cat %s", f"{STATE}/last-success.json"))
        assert failure["epoch"] >= success["epoch"]
        bkp01 = audit()["BKP-01"]
        assert bkp01["status"] == "fail", bkp01
    finally:
        must_run(DB, "systemctl start postgresql")
    backup_now()
    findings = audit()
    assert {check: findings[check]["status"] for check in ("BKP-01", "BKP-02", "BKP-03")} == {
        "BKP-01": "pass",
        "BKP-02": "pass",
        "BKP-03": "pass",
    }
