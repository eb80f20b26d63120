#!/usr/bin/python3
"""rampart-backup: encrypted PostgreSQL and Redis backups (installed by rampart.hardening.backup).

Usage:
  rampart-backup run [--only KIND:NAME ...] [--label LABEL] [--no-prune]
                                                              back up, then prune (only on success)
  rampart-backup record-failure [--unit UNIT]                 called by OnFailure=: mark the failure
  rampart-backup prune                                        apply the retention now
  rampart-backup pull                                         on a backup vault: pull the sources' backups

Every stream goes producer -> (sha256, size, pg_restore --list) -> encryptor -> temporary file;
every exit status is checked, the file is fsynced and renamed, and a plaintext manifest
(metadata only) is written beside it. Plaintext never touches the backup directory. The host
holds public keys only: the encryptor refuses to run when secret key material is present.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

DEFAULT_CONFIG = "/etc/rampart/backup/config.json"
TS_FORMAT = "%Y%m%dT%H%M%SZ"
NAME_RE = re.compile(r"^(?P<series>[A-Za-z0-9_.-]+?)-(?P<ts>\d{8}T\d{6}Z)(?P<ext>(?:\.[a-z0-9]+)+)$")
PRERESTORE_RE = re.compile(r"^(?P<db>.+)__prerestore_(?P<ts>\d{8}T\d{6}Z)$")
TMP_PREFIX = ".tmp-"
MANIFEST_EXT = ".manifest.json"
CHUNK = 1 << 16
FORMAT = "rampart-backup/1"


class BackupError(Exception):
    """One backup item failed; the message says which step and why."""


# ----- configuration -------------------------------------------------------------------------


@dataclass
class Config:
    backup_dir: str
    state_dir: str
    encryption: str = "gpg"
    gnupghome: str = ""
    gpg_recipients: list[str] = field(default_factory=list)
    age_recipients: list[str] = field(default_factory=list)
    postgresql: dict[str, Any] = field(default_factory=dict)
    redis: dict[str, Any] = field(default_factory=dict)
    keep_min: int = 3
    keep_count: int = 14
    keep_days: int = 30
    prerestore_keep_hours: int = 72


def read_config_object(path: str) -> dict[str, Any]:
    """The JSON object of a configuration file (the backup's or the vault's)."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise BackupError(f"{path}: expected a JSON object")
    return data


def retention_of(data: dict[str, Any], keep_min: int, keep_count: int, keep_days: int) -> dict[str, int]:
    """keep_min/keep_count/keep_days from the ``retention`` object, with these defaults."""
    retention = data.get("retention") or {}
    return {
        "keep_min": int(retention.get("keep_min", keep_min)),
        "keep_count": int(retention.get("keep_count", keep_count)),
        "keep_days": int(retention.get("keep_days", keep_days)),
    }


def load_config(path: str) -> Config:
    data = read_config_object(path)
    cfg = Config(
        backup_dir=str(data["backup_dir"]),
        state_dir=str(data["state_dir"]),
        encryption=str(data.get("encryption", "gpg")),
        gnupghome=str(data.get("gnupghome", "")),
        gpg_recipients=[str(r) for r in data.get("gpg_recipients") or []],
        age_recipients=[str(r) for r in data.get("age_recipients") or []],
        postgresql=dict(data.get("postgresql") or {}),
        redis=dict(data.get("redis") or {}),
        **retention_of(data, keep_min=3, keep_count=14, keep_days=30),
        prerestore_keep_hours=int(data.get("prerestore_keep_hours", 72)),
    )
    if cfg.encryption not in ("gpg", "age"):
        raise BackupError(f"{path}: encryption must be gpg or age, not {cfg.encryption!r}")
    if not recipients(cfg):
        raise BackupError(f"{path}: no {cfg.encryption} recipients: refusing to write unencrypted backups")
    return cfg


def recipients(cfg: Config) -> list[str]:
    return cfg.gpg_recipients if cfg.encryption == "gpg" else cfg.age_recipients


# ----- encryption ----------------------------------------------------------------------------


def encryptor_argv(cfg: Config) -> list[str]:
    """The encrypting filter (stdin -> stdout) to the pinned public keys."""
    if cfg.encryption == "age":
        argv = ["age", "--encrypt"]
        for recipient in cfg.age_recipients:
            argv += ["--recipient", recipient]
        return argv
    argv = [
        "gpg",
        "--homedir",
        cfg.gnupghome,
        "--batch",
        "--no-tty",
        "--quiet",
        "--no-options",
        "--trust-model",
        "always",
        "--compress-algo",
        "none",
        "--no-random-seed-file",
        "--encrypt",
    ]
    for fingerprint in cfg.gpg_recipients:
        argv += ["--recipient", fingerprint]
    return argv


def refuse_secret_keys(cfg: Config) -> None:
    """The host may write backups but never read them: no secret key in GNUPGHOME."""
    if cfg.encryption != "gpg":
        return
    out = subprocess.run(
        ["gpg", "--homedir", cfg.gnupghome, "--batch", "--no-tty", "--with-colons", "--list-secret-keys"],
        capture_output=True,
        text=True,
        check=False,
    )
    if any(line.startswith(("sec:", "ssb:")) for line in out.stdout.splitlines()):
        raise BackupError(f"secret key material in {cfg.gnupghome}: refusing to run")
    listed = subprocess.run(
        [
            "gpg",
            "--homedir",
            cfg.gnupghome,
            "--batch",
            "--no-tty",
            "--with-colons",
            "--list-keys",
            "--",
            *cfg.gpg_recipients,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise BackupError(f"a pinned recipient is missing from {cfg.gnupghome}: {listed.stderr.strip()[:300]}")


# ----- names, timestamps and retention -------------------------------------------------------


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TS_FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One backup file (not a manifest, not a temporary) recognised by its name."""

    name: str
    series: str
    time: datetime


def entries(names: Iterable[str]) -> list[Entry]:
    found = []
    for name in names:
        if name.startswith(TMP_PREFIX) or name.endswith(MANIFEST_EXT):
            continue
        match = NAME_RE.match(name)
        if not match:
            continue
        try:
            moment = parse_stamp(match["ts"])
        except ValueError:
            continue
        found.append(Entry(name=name, series=match["series"], time=moment))
    return found


def to_prune(names: Iterable[str], now: datetime, keep_min: int, keep_count: int, keep_days: int) -> list[str]:
    """Backup files to delete: per series, beyond keep_count or older than keep_days, never below keep_min.

    Only the timestamps in the names count (mtimes can lie: copies, restores, touch).
    """
    by_series: dict[str, list[Entry]] = {}
    for entry in entries(names):
        by_series.setdefault(entry.series, []).append(entry)
    doomed: list[str] = []
    oldest_allowed = now - timedelta(days=keep_days)
    for series in by_series.values():
        series.sort(key=lambda e: e.time, reverse=True)
        for index, entry in enumerate(series):
            if index < keep_min:
                continue
            if index >= keep_count or entry.time < oldest_allowed:
                doomed.append(entry.name)
    return sorted(doomed)


def prune(cfg: Config, now: datetime) -> list[str]:
    names = os.listdir(cfg.backup_dir)
    doomed = to_prune(names, now, cfg.keep_min, cfg.keep_count, cfg.keep_days)
    for name in doomed:
        for path in (name, manifest_name(name)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(cfg.backup_dir, path))
    fsync_dir(cfg.backup_dir)
    return doomed


def sweep_temporaries(directory: str) -> list[str]:
    swept = [name for name in os.listdir(directory) if name.startswith(TMP_PREFIX)]
    for name in swept:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, name))
    return swept


def manifest_name(name: str) -> str:
    return name + MANIFEST_EXT


# ----- files ---------------------------------------------------------------------------------


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_atomic(directory: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(directory, name))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


# ----- the streaming pipeline ------------------------------------------------------------------


@dataclass
class StreamResult:
    sha256: str
    size: int
    toc_entries: int | None


def as_user(name: str | None) -> dict[str, Any]:
    """Popen arguments that drop to ``name`` (uid, primary group, no supplementary groups)."""
    if not name or os.geteuid() != 0:
        return {}
    return {"user": name, "group": name, "extra_groups": []}


def _stderr(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace").strip()[-400:]


def _feed(source: IO[bytes], outputs: Sequence[IO[bytes] | None], digest: Any) -> int:
    """Copy source to every open sink; a sink that closes early (pg_restore --list) is dropped."""
    sinks = list(outputs)
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        for index, sink in enumerate(sinks):
            if sink is None:
                continue
            try:
                sink.write(chunk)
            except BrokenPipeError:
                sinks[index] = None
    for sink in sinks:
        if sink is not None:
            with contextlib.suppress(BrokenPipeError):
                sink.close()
    return size


def _count_toc(toc: IO[bytes]) -> int:
    """Entries listed by pg_restore --list (0 for an empty database); -1 when it read no archive header."""
    toc.seek(0)
    lines = toc.read().decode("utf-8", "replace").splitlines()
    if not any(re.match(r"^;\s+Format: CUSTOM", line) for line in lines):
        return -1
    return sum(1 for line in lines if line.strip() and not line.startswith(";"))


def _check_statuses(statuses: dict[str, int], errors: list[IO[bytes]]) -> None:
    failures = [f"{what} exited {rc}" for what, rc in statuses.items() if rc != 0]
    if failures:
        details = next((text for text in map(_stderr, errors) if text), "no error output")
        raise BackupError(f"{'; '.join(failures)}: {details}")


def stream_encrypted(
    producer: Sequence[str],
    cfg: Config,
    out: IO[bytes],
    *,
    producer_user: str | None = None,
    producer_env: dict[str, str] | None = None,
    list_toc: bool = False,
) -> StreamResult:
    """Run producer | tee(sha256, size[, pg_restore --list]) | encryptor > out; check every status."""
    with contextlib.ExitStack() as stack:
        err_p, err_e, err_l, toc = (stack.enter_context(tempfile.TemporaryFile()) for _unused in range(4))
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            procs["producer"] = subprocess.Popen(
                list(producer),
                stdout=subprocess.PIPE,
                stderr=err_p,
                stdin=subprocess.DEVNULL,
                env=producer_env,
                cwd="/",
                **as_user(producer_user),
            )
            procs["encryptor"] = subprocess.Popen(encryptor_argv(cfg), stdin=subprocess.PIPE, stdout=out, stderr=err_e)
            if list_toc:
                procs["pg_restore --list"] = subprocess.Popen(
                    ["pg_restore", "--list"], stdin=subprocess.PIPE, stdout=toc, stderr=err_l
                )
            digest = hashlib.sha256()
            source = procs["producer"].stdout
            assert source is not None
            sinks = [proc.stdin for what, proc in procs.items() if what != "producer"]
            size = _feed(source, sinks, digest)
            source.close()
            statuses = {what: proc.wait() for what, proc in procs.items()}
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        _check_statuses(statuses, [err_p, err_e, err_l])
        if size == 0:
            raise BackupError("the producer wrote nothing")
        entries_count = _count_toc(toc) if list_toc else None
        if entries_count == -1:
            raise BackupError("pg_restore --list did not recognise the dump as a custom-format archive")
        return StreamResult(sha256=digest.hexdigest(), size=size, toc_entries=entries_count)


def write_backup(
    cfg: Config,
    name: str,
    producer: Sequence[str],
    manifest: dict[str, Any],
    **kwargs: Any,
) -> dict[str, Any]:
    """Stream into a temporary file, fsync, rename, then write the manifest the same way."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=cfg.backup_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            result = stream_encrypted(producer, cfg, handle, **kwargs)
            handle.flush()
            os.fsync(handle.fileno())
        cipher_sha, cipher_size = sha256_file(tmp)
        if cipher_size == 0:
            raise BackupError("the encryptor wrote nothing")
        final = os.path.join(cfg.backup_dir, name)
        if os.path.exists(final):
            raise BackupError(f"{final} already exists")
        os.replace(tmp, final)
        fsync_dir(cfg.backup_dir)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    manifest = {
        **manifest,
        "format": FORMAT,
        "file": name,
        "encryption": cfg.encryption,
        "recipients": recipients(cfg),
        "ciphertext": {"sha256": cipher_sha, "size": cipher_size},
        "plaintext": {"sha256": result.sha256, "size": result.size},
    }
    if result.toc_entries is not None:
        manifest["toc_entries"] = result.toc_entries
    write_atomic(cfg.backup_dir, manifest_name(name), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return manifest


# ----- PostgreSQL ----------------------------------------------------------------------------------


def pg_base(cfg: Config) -> list[str]:
    pg = cfg.postgresql
    return ["--host", str(pg.get("socket_dir", "/var/run/postgresql")), "--port", str(pg.get("port", 5432))]


def pg_user(cfg: Config) -> str:
    return str(cfg.postgresql.get("os_user", "postgres"))


def psql(cfg: Config, database: str, sql: str) -> list[list[str]]:
    argv = ["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1", *pg_base(cfg), "-d", database]
    out = subprocess.run(
        [*argv, "-c", sql], capture_output=True, text=True, cwd="/", check=False, **as_user(pg_user(cfg))
    )
    if out.returncode != 0:
        raise BackupError(f"psql on {database} exited {out.returncode}: {out.stderr.strip()[:300]}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def pg_databases(cfg: Config) -> list[str]:
    declared = [str(d) for d in cfg.postgresql.get("databases") or []]
    if declared:
        return declared
    rows = psql(
        cfg,
        "postgres",
        "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn "
        "AND datname <> 'postgres' AND datname !~ '__prerestore_' ORDER BY 1",
    )
    return [row[0] for row in rows]


TABLES_SQL = (
    "SELECT n.nspname || '.' || c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' ORDER BY 1"
)


def backup_pg_database(cfg: Config, database: str, label: str, when: datetime) -> dict[str, Any]:
    tables = {row[0]: int(row[1]) for row in psql(cfg, database, TABLES_SQL)}
    level = int(cfg.postgresql.get("compress", 6))
    name = f"pg-{database}{label}-{stamp(when)}.dump.{ext(cfg)}"
    producer = ["pg_dump", "--format=custom", f"--compress={level}", *pg_base(cfg), "--dbname", database]
    manifest = {
        "kind": "postgresql",
        "database": database,
        "created": when.isoformat(),
        "tables": tables,
        "row_estimates_total": sum(tables.values()),
        "pg_dump_compression": level,
    }
    return write_backup(cfg, name, producer, manifest, producer_user=pg_user(cfg), list_toc=True)


def backup_pg_globals(cfg: Config, label: str, when: datetime) -> dict[str, Any]:
    name = f"pg-globals{label}-{stamp(when)}.sql.{ext(cfg)}"
    producer = ["pg_dumpall", "--globals-only", *pg_base(cfg)]
    manifest = {"kind": "postgresql-globals", "created": when.isoformat()}
    return write_backup(cfg, name, producer, manifest, producer_user=pg_user(cfg))


def drop_expired_prerestore(cfg: Config, now: datetime) -> list[str]:
    """Databases kept by restore.yml as <db>__prerestore_<ts> are dropped after their keep time."""
    rows = psql(cfg, "postgres", "SELECT datname FROM pg_database WHERE datname ~ '__prerestore_'")
    dropped = []
    for (name,) in rows:
        match = PRERESTORE_RE.match(name)
        if not match:
            continue
        if parse_stamp(match["ts"]) + timedelta(hours=cfg.prerestore_keep_hours) < now:
            quoted = '"' + name.replace('"', '""') + '"'
            psql(cfg, "postgres", f"DROP DATABASE IF EXISTS {quoted}")
            dropped.append(name)
    return dropped


# ----- Redis ------------------------------------------------------------------------------------------


def redis_env(cfg: Config) -> dict[str, str]:
    """redis-cli reads the password from REDISCLI_AUTH: never a process argument."""
    path = str(cfg.redis.get("credentials_file", ""))
    with open(path, encoding="utf-8") as handle:
        creds = json.load(handle)
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C"}
    env["REDISCLI_AUTH"] = str(creds["password"])
    return env


def redis_cli(cfg: Config) -> list[str]:
    argv = ["redis-cli", "-s", str(cfg.redis.get("socket", "/run/redis/redis-server.sock"))]
    user = str(cfg.redis.get("user", ""))
    return [*argv, "--user", user] if user else argv


def redis_keys(cfg: Config, env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run([*redis_cli(cfg), "INFO", "keyspace"], capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0 or out.stdout.startswith(("NOAUTH", "WRONGPASS", "NOPERM", "ERR")):
        raise BackupError(f"redis-cli INFO keyspace failed: {(out.stderr or out.stdout).strip()[:300]}")
    keys = {}
    for line in out.stdout.splitlines():
        match = re.match(r"^(db\d+):keys=(\d+)", line.strip())
        if match:
            keys[match[1]] = int(match[2])
    return keys


def backup_redis(cfg: Config, label: str, when: datetime) -> dict[str, Any]:
    """redis-cli --rdb into a private temporary directory, redis-check-rdb, encrypt, remove."""
    env = redis_env(cfg)
    keys = redis_keys(cfg, env)
    with tempfile.TemporaryDirectory(prefix="rampart-redis-") as private:
        os.chmod(private, 0o700)
        rdb = os.path.join(private, "dump.rdb")
        got = subprocess.run([*redis_cli(cfg), "--rdb", rdb], capture_output=True, text=True, env=env, check=False)
        if got.returncode != 0 or not os.path.exists(rdb):
            raise BackupError(f"redis-cli --rdb exited {got.returncode}: {(got.stderr or got.stdout).strip()[:300]}")
        checked = subprocess.run(["redis-check-rdb", rdb], capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise BackupError(f"redis-check-rdb rejected the snapshot: {checked.stdout.strip()[-300:]}")
        name = f"redis{label}-{stamp(when)}.rdb.{ext(cfg)}"
        keyspace = sorted(f"{db}={count}" for db, count in keys.items())
        manifest = {"kind": "redis", "created": when.isoformat(), "keys": keys, "keyspace": keyspace}
        try:
            return write_backup(cfg, name, ["cat", rdb], manifest)
        finally:
            os.unlink(rdb)


def ext(cfg: Config) -> str:
    return "gpg" if cfg.encryption == "gpg" else "age"


# ----- commands ------------------------------------------------------------------------------------------


def write_state(cfg: Config, name: str, data: dict[str, Any]) -> None:
    write_atomic(cfg.state_dir, name, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def plan(cfg: Config, only: list[str]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if cfg.postgresql.get("enabled"):
        items += [("pg", db) for db in pg_databases(cfg)]
        if cfg.postgresql.get("globals", True):
            items.append(("pg-globals", "globals"))
    if cfg.redis.get("enabled"):
        items.append(("redis", "redis"))
    if only:
        wanted = {tuple(o.split(":", 1)) if ":" in o else (o, o) for o in only}
        items = [item for item in items if item in wanted]
        if not items:
            raise BackupError(f"nothing matches --only {' '.join(only)}")
    return items


def run_item(cfg: Config, item: tuple[str, str], label: str, when: datetime) -> dict[str, Any]:
    kind, name = item
    if kind == "pg":
        return backup_pg_database(cfg, name, label, when)
    if kind == "pg-globals":
        return backup_pg_globals(cfg, label, when)
    return backup_redis(cfg, label, when)


def cmd_run(cfg: Config, only: list[str], label: str, prune_after: bool = True) -> int:
    when = datetime.now(UTC).replace(microsecond=0)
    suffix = f"-{label}" if label else ""
    sweep_temporaries(cfg.backup_dir)
    refuse_secret_keys(cfg)
    done, failed = [], []
    for item in plan(cfg, only):
        try:
            manifest = run_item(cfg, item, suffix, when)
        except BackupError as exc:
            failed.append(f"{item[0]}:{item[1]}: {exc}")
            print(f"rampart-backup: FAILED {item[0]}:{item[1]}: {exc}", file=sys.stderr)
            continue
        done.append(manifest["file"])
        print(f"rampart-backup: wrote {manifest['file']} ({manifest['ciphertext']['size']} bytes)")
    sweep_temporaries(cfg.backup_dir)
    if failed:
        # A failed run prunes nothing: the old backups may be the only good ones.
        print(f"rampart-backup: {len(failed)} item(s) failed; nothing pruned", file=sys.stderr)
        return 1
    # A restore's safety backup must not prune: the backup being restored may be the oldest one.
    pruned = prune(cfg, when) if prune_after else []
    for name in pruned:
        print(f"rampart-backup: pruned {name}")
    if cfg.postgresql.get("enabled"):
        for name in drop_expired_prerestore(cfg, when):
            print(f"rampart-backup: dropped expired pre-restore database {name}")
    if not label:
        write_state(
            cfg,
            "last-success.json",
            {"time": when.isoformat(), "epoch": int(when.timestamp()), "files": done, "pruned": pruned},
        )
    return 0


def cmd_record_failure(cfg: Config, unit: str) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    write_state(cfg, "last-failure.json", {"time": now.isoformat(), "epoch": int(now.timestamp()), "unit": unit})
    return 0


# ----- pull to a second location (run on the backup vault, rampart.hardening.backup_vault) ---------------

DEFAULT_VAULT_CONFIG = "/etc/rampart/backup/vault.json"
PRUNED_FILE = ".pruned"
INCOMING_DIR = ".incoming"
REJECTED_DIR = ".rejected"


@dataclass
class Source:
    """A database host whose backups the vault pulls (read-only rrsync behind a forced command)."""

    name: str
    host: str
    port: int = 22
    user: str = "rampart-pull"


@dataclass
class VaultConfig:
    vault_dir: str
    state_dir: str
    ssh_key: str
    known_hosts: str
    sources: list[Source] = field(default_factory=list)
    keep_min: int = 3
    keep_count: int = 30
    keep_days: int = 90


def load_vault_config(path: str) -> VaultConfig:
    data = read_config_object(path)
    sources = []
    for item in data.get("sources") or []:
        source = Source(
            name=str(item["name"]),
            host=str(item["host"]),
            port=int(item.get("port", 22)),
            user=str(item.get("user", "rampart-pull")),
        )
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", source.name) or source.name.startswith("."):
            raise BackupError(f"{path}: bad source name {source.name!r}")
        sources.append(source)
    return VaultConfig(
        vault_dir=str(data["vault_dir"]),
        state_dir=str(data["state_dir"]),
        ssh_key=str(data["ssh_key"]),
        known_hosts=str(data["known_hosts"]),
        sources=sources,
        **retention_of(data, keep_min=3, keep_count=30, keep_days=90),
    )


def read_pruned(directory: str) -> set[str]:
    try:
        with open(os.path.join(directory, PRUNED_FILE), encoding="utf-8") as handle:
            return {line.strip() for line in handle if line.strip()}
    except FileNotFoundError:
        return set()


def pull_filters(known: Iterable[str]) -> list[str]:
    """rsync filter rules: skip what the vault holds or pruned, take only final backups and manifests.

    A name the vault already has is never fetched again, so a compromised source cannot
    overwrite an older copy; nothing is ever deleted here because the source lost it.
    """
    rules = [f"- /{name}" for name in sorted(known) if NAME_RE.match(name.removesuffix(MANIFEST_EXT))]
    rules += ["- .*", "+ *.gpg", "+ *.age", f"+ *{MANIFEST_EXT}", "- *"]
    return rules


def rsync_argv(cfg: VaultConfig, source: Source, filters: str, dest: str) -> list[str]:
    ssh = (
        f"ssh -F none -i {cfg.ssh_key} -p {source.port} -o BatchMode=yes -o IdentitiesOnly=yes"
        f" -o StrictHostKeyChecking=yes -o UserKnownHostsFile={cfg.known_hosts} -o GlobalKnownHostsFile=/dev/null"
    )
    # No --delete, no -l/-D/-p: regular files only, new names only, modes from our umask.
    return [
        "rsync",
        "--recursive",
        "--times",
        "--timeout=600",
        f"--filter=merge {filters}",
        "--rsh",
        ssh,
        f"{source.user}@{source.host}:./",
        dest + "/",
    ]


def verify_incoming(incoming: str, store: str) -> tuple[list[str], list[str]]:
    """Move every backup whose ciphertext matches its manifest (sha256, size) into the store.

    Returns (stored, rejected). A backup without its manifest yet stays for the next run; a
    name the store already holds is rejected (never overwritten).
    """
    stored: list[str] = []
    rejected: list[str] = []
    names = set(os.listdir(incoming))
    for entry in entries(names):
        meta_name = manifest_name(entry.name)
        if meta_name not in names:
            continue
        problem = check_against_manifest(os.path.join(incoming, entry.name), os.path.join(incoming, meta_name))
        if not problem and (
            os.path.exists(os.path.join(store, entry.name)) or os.path.exists(os.path.join(store, meta_name))
        ):
            problem = "the vault already holds this name (never overwritten)"
        if problem:
            quarantine = os.path.join(store, REJECTED_DIR)
            os.makedirs(quarantine, mode=0o700, exist_ok=True)
            for name in (entry.name, meta_name):
                os.replace(os.path.join(incoming, name), os.path.join(quarantine, name))
            rejected.append(f"{entry.name}: {problem}")
            continue
        os.rename(os.path.join(incoming, entry.name), os.path.join(store, entry.name))
        os.rename(os.path.join(incoming, meta_name), os.path.join(store, meta_name))
        stored.append(entry.name)
    fsync_dir(store)
    return stored, rejected


def check_against_manifest(path: str, meta_path: str) -> str:
    """'' when the file's sha256 and size equal the manifest's ciphertext entry, else why not."""
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        want_sha = str(meta["ciphertext"]["sha256"]).lower()
        want_size = int(meta["ciphertext"]["size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable manifest ({exc.__class__.__name__})"
    if meta.get("file") not in (None, os.path.basename(path)):
        return f"the manifest names {meta.get('file')!r}"
    sha, size = sha256_file(path)
    if (sha, size) != (want_sha, want_size):
        return f"sha256 {sha} / {size} bytes differs from the manifest ({want_sha} / {want_size})"
    return ""


def prune_vault(cfg: VaultConfig, store: str, now: datetime) -> list[str]:
    """The vault's own retention (independent of the source's); pruned names are never pulled again."""
    doomed = to_prune(os.listdir(store), now, cfg.keep_min, cfg.keep_count, cfg.keep_days)
    if doomed:
        with open(os.path.join(store, PRUNED_FILE), "a", encoding="utf-8") as handle:
            for name in doomed:
                handle.write(f"{name}\n{manifest_name(name)}\n")
            handle.flush()
            os.fsync(handle.fileno())
    for name in doomed:
        for path in (name, manifest_name(name)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(store, path))
    fsync_dir(store)
    return doomed


def pull_source(cfg: VaultConfig, source: Source, now: datetime) -> dict[str, Any]:
    store = os.path.join(cfg.vault_dir, source.name)
    incoming = os.path.join(store, INCOMING_DIR)
    os.makedirs(incoming, mode=0o700, exist_ok=True)
    known = set(os.listdir(store)) | read_pruned(store)
    with tempfile.NamedTemporaryFile("w", prefix=TMP_PREFIX, dir=cfg.state_dir, encoding="utf-8") as filters:
        filters.write("\n".join(pull_filters(known)) + "\n")
        filters.flush()
        got = subprocess.run(
            rsync_argv(cfg, source, filters.name, incoming), capture_output=True, text=True, check=False
        )
    if got.returncode != 0:
        raise BackupError(
            f"rsync from {source.host} exited {got.returncode}: {(got.stderr or got.stdout).strip()[-300:]}"
        )
    stored, rejected = verify_incoming(incoming, store)
    if rejected:
        raise BackupError(f"rejected {len(rejected)} file(s): {'; '.join(rejected)[:600]}; nothing pruned")
    pruned = prune_vault(cfg, store, now)
    return {"time": now.isoformat(), "epoch": int(now.timestamp()), "stored": stored, "pruned": pruned}


def cmd_pull(cfg: VaultConfig) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    failed = 0
    for source in cfg.sources:
        try:
            result = pull_source(cfg, source, now)
        except (BackupError, OSError) as exc:
            failed += 1
            print(f"rampart-backup: pull FAILED {source.name}: {exc}", file=sys.stderr)
            continue
        write_atomic(cfg.state_dir, f"pull-{source.name}.json", (json.dumps(result, indent=2) + "\n").encode())
        stored, pruned = len(result["stored"]), len(result["pruned"])
        print(f"rampart-backup: pulled {stored} new backup(s) from {source.name}, pruned {pruned}")
    return 1 if failed else 0


def main_pull(config: str) -> int:
    cfg = load_vault_config(config)
    with open(os.path.join(cfg.state_dir, "lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return cmd_pull(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rampart-backup")
    parser.add_argument("--config", default=None, help=f"default {DEFAULT_CONFIG} ({DEFAULT_VAULT_CONFIG} for pull)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--only", action="append", default=[], help="KIND:NAME, e.g. pg:appdb, pg-globals, redis")
    run.add_argument("--label", default="", help="a series label, e.g. safety (kept apart by retention)")
    run.add_argument("--no-prune", action="store_true", help="keep every existing backup (safety copies)")
    failure = sub.add_parser("record-failure")
    failure.add_argument("--unit", default="rampart-backup.service")
    sub.add_parser("prune")
    sub.add_parser("pull", help="on a backup vault: pull, verify and prune the sources' backups")
    args = parser.parse_args(argv)
    if getattr(args, "label", "") and not re.fullmatch(r"[a-z0-9]+", args.label):
        parser.error("--label: lowercase letters and digits only")
    os.umask(0o077)
    try:
        if args.command == "pull":
            return main_pull(args.config or DEFAULT_VAULT_CONFIG)
        cfg = load_config(args.config or DEFAULT_CONFIG)
        if args.command == "record-failure":
            return cmd_record_failure(cfg, args.unit)
        with open(os.path.join(cfg.state_dir, "lock"), "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if args.command == "prune":
                for name in prune(cfg, datetime.now(UTC)):
                    print(f"rampart-backup: pruned {name}")
                return 0
            return cmd_run(cfg, args.only, args.label, prune_after=not args.no_prune)
    except (BackupError, OSError, KeyError, ValueError) as exc:
        print(f"rampart-backup: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"rampart-backup: finished with status {code} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    sys.exit(code)
