"""roles/backup/files/rampart_backup.py: retention by names, atomic encrypted writes, failure handling.

The streaming tests use the real ``age`` binary (installed on the controller by
scripts/bootstrap.sh) with a throwaway identity; they are skipped where it is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from backup_script import NOW, name, rb

needs_age = pytest.mark.skipif(shutil.which("age") is None or shutil.which("age-keygen") is None, reason="no age")


# --- retention ---------------------------------------------------------------------------------


def test_prune_by_count_and_age_never_below_the_minimum() -> None:
    recent = [name("pg-appdb", d) for d in (0.1, 1, 2, 3, 5, 6, 12, 40)]
    stale = [name("pg-old", d) for d in (20, 30, 40)]
    doomed = rb.to_prune(recent + stale, NOW, keep_min=2, keep_count=4, keep_days=10)
    assert set(doomed) == {*recent[4:], stale[2]}


def test_prune_keeps_series_apart_and_ignores_other_files() -> None:
    names = [
        name("pg-appdb", 1),
        name("pg-appdb-safety", 50),
        name("redis", 50, ".rdb.age"),
        name("pg-appdb", 50) + ".manifest.json",
        ".tmp-abc123",
        "README",
        "pg-appdb-20261399T000000Z.dump.gpg",  # not a real time
    ]
    assert rb.to_prune(names, NOW, keep_min=1, keep_count=1, keep_days=10) == []


def test_prune_uses_names_not_mtimes(tmp_path: Path) -> None:
    names = [name("pg-appdb", d) for d in (1, 2, 3, 30)]
    for index, entry in enumerate(names):
        for path in (tmp_path / entry, tmp_path / f"{entry}.manifest.json"):
            path.write_text("x")
            # Newest name gets the oldest mtime and the other way round.
            stamp = (NOW - timedelta(days=400 - 100 * index)).timestamp()
            os.utime(path, (stamp, stamp))
    cfg = rb.Config(backup_dir=str(tmp_path), state_dir=str(tmp_path), keep_min=2, keep_count=3, keep_days=10)
    assert rb.prune(cfg, NOW) == [names[3]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[:3], *(f"{n}.manifest.json" for n in names[:3])]
    )


def test_sweep_removes_only_temporaries(tmp_path: Path) -> None:
    (tmp_path / ".tmp-x1").write_text("partial")
    (tmp_path / name("redis", 1)).write_text("keep")
    assert rb.sweep_temporaries(str(tmp_path)) == [".tmp-x1"]
    assert [p.name for p in tmp_path.iterdir()] == [name("redis", 1)]


# --- configuration and encryption ---------------------------------------------------------------


def test_config_refuses_no_recipients(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"backup_dir": "/b", "state_dir": "/s", "encryption": "gpg", "gpg_recipients": []}))
    with pytest.raises(rb.BackupError, match="no gpg recipients"):
        rb.load_config(str(path))
    path.write_text(json.dumps({"backup_dir": "/b", "state_dir": "/s", "encryption": "rot13", "gpg_recipients": ["A"]}))
    with pytest.raises(rb.BackupError, match="gpg or age"):
        rb.load_config(str(path))


def test_gpg_encrypts_to_every_pinned_fingerprint_without_compression() -> None:
    cfg = rb.Config(backup_dir="/b", state_dir="/s", gnupghome="/s/gnupg", gpg_recipients=["A" * 40, "B" * 40])
    argv = rb.encryptor_argv(cfg)
    assert argv[:3] == ["gpg", "--homedir", "/s/gnupg"]
    assert argv.count("--recipient") == 2
    assert argv[argv.index("--compress-algo") + 1] == "none"
    assert "--encrypt" in argv
    assert "--symmetric" not in argv


@pytest.fixture
def age_cfg(tmp_path: Path) -> tuple[object, Path]:
    if shutil.which("age-keygen") is None:
        pytest.skip("no age-keygen")
    identity = tmp_path / "identity.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True)
    backups = tmp_path / "backups"
    backups.mkdir()
    cfg = rb.Config(
        backup_dir=str(backups), state_dir=str(tmp_path), encryption="age", age_recipients=[recipient.stdout.strip()]
    )
    return cfg, identity


def decrypt(identity: Path, path: Path) -> bytes:
    return subprocess.run(["age", "--decrypt", "-i", str(identity), str(path)], check=True, capture_output=True).stdout


@needs_age
def test_write_backup_encrypts_and_describes_the_plaintext(age_cfg) -> None:
    cfg, identity = age_cfg
    payload = b"row-1 SECRET-MARKER\n" * 5000
    producer = ["python3", "-c", f"import sys; sys.stdout.buffer.write({payload!r})"]
    manifest = rb.write_backup(cfg, "pg-test-20261201T120000Z.dump.age", producer, {"kind": "test"})
    target = Path(cfg.backup_dir) / "pg-test-20261201T120000Z.dump.age"
    ciphertext = target.read_bytes()
    assert b"SECRET-MARKER" not in ciphertext
    assert decrypt(identity, target) == payload
    assert manifest["plaintext"]["size"] == len(payload)
    assert manifest["ciphertext"]["size"] == len(ciphertext)
    on_disk = json.loads((Path(cfg.backup_dir) / "pg-test-20261201T120000Z.dump.age.manifest.json").read_text())
    assert on_disk == manifest
    assert "SECRET-MARKER" not in json.dumps(on_disk)
    assert sorted(p.name for p in Path(cfg.backup_dir).iterdir()) == [target.name, f"{target.name}.manifest.json"]


@needs_age
@pytest.mark.parametrize(
    ("producer", "needle"),
    [
        (["sh", "-c", "printf 'half a dump'; exit 3"], "producer exited 3"),
        (["sh", "-c", "exit 0"], "wrote nothing"),
        (["/nonexistent/pg_dump"], "No such file"),
    ],
)
def test_a_failing_producer_leaves_nothing_behind(age_cfg, producer, needle) -> None:
    cfg, _unused = age_cfg
    with pytest.raises((rb.BackupError, OSError), match=needle):
        rb.write_backup(cfg, "pg-test-20261201T120000Z.dump.age", producer, {})
    assert list(Path(cfg.backup_dir).iterdir()) == []


@needs_age
def test_a_failing_encryptor_leaves_nothing_behind(age_cfg) -> None:
    cfg, _unused = age_cfg
    cfg.age_recipients = ["age1notavalidrecipient"]
    with pytest.raises(rb.BackupError, match="encryptor exited"):
        rb.write_backup(cfg, "pg-test-20261201T120000Z.dump.age", ["printf", "data"], {})
    assert list(Path(cfg.backup_dir).iterdir()) == []


@needs_age
def test_pg_restore_list_counts_entries_of_the_stream(age_cfg, tmp_path: Path) -> None:
    if shutil.which("pg_restore") is None:
        pytest.skip("no pg_restore")
    cfg, _unused = age_cfg
    with pytest.raises(rb.BackupError, match="pg_restore --list exited"):
        rb.write_backup(cfg, "pg-x-20261201T120000Z.dump.age", ["printf", "not a dump"], {}, list_toc=True)
    assert list(Path(cfg.backup_dir).iterdir()) == []


# --- a run with a failed item -----------------------------------------------------------------------


@needs_age
def test_a_failed_item_fails_the_run_and_prunes_nothing(age_cfg, monkeypatch) -> None:
    cfg, _unused = age_cfg
    old = [name("pg-appdb", d, ".dump.age") for d in (40, 50, 60, 70)]
    for entry in old:
        (Path(cfg.backup_dir) / entry).write_text("x")
    (Path(cfg.backup_dir) / ".tmp-crashed").write_text("partial")
    monkeypatch.setattr(rb, "plan", lambda _cfg, _only: [("pg", "appdb"), ("redis", "redis")])

    def run_item(_cfg, item, _label, _when):
        if item[0] == "redis":
            raise rb.BackupError("redis-cli --rdb exited 1")
        return {"file": "pg-appdb-new.dump.age", "ciphertext": {"size": 1}}

    monkeypatch.setattr(rb, "run_item", run_item)
    monkeypatch.setattr(rb, "refuse_secret_keys", lambda _cfg: None)
    assert rb.cmd_run(cfg, [], "") == 1
    assert sorted(p.name for p in Path(cfg.backup_dir).iterdir()) == sorted(old)
    assert not (Path(cfg.state_dir) / "last-success.json").exists()


@needs_age
def test_a_good_run_prunes_and_records_success(age_cfg, monkeypatch) -> None:
    cfg, _unused = age_cfg
    cfg.keep_min, cfg.keep_count, cfg.keep_days = 1, 2, 10
    old = [name("pg-appdb", d, ".dump.age") for d in (40, 50)]
    for entry in old:
        (Path(cfg.backup_dir) / entry).write_text("x")
    monkeypatch.setattr(rb, "plan", lambda _cfg, _only: [("pg", "appdb")])
    monkeypatch.setattr(rb, "run_item", lambda *_a: {"file": "new", "ciphertext": {"size": 1}})
    monkeypatch.setattr(rb, "refuse_secret_keys", lambda _cfg: None)
    assert rb.cmd_run(cfg, [], "") == 0
    assert sorted(p.name for p in Path(cfg.backup_dir).iterdir()) == [old[0]]
    assert json.loads((Path(cfg.state_dir) / "last-success.json").read_text())["files"] == ["new"]


@needs_age
def test_a_safety_run_with_no_prune_keeps_every_old_backup(age_cfg, monkeypatch) -> None:
    # restore.yml takes a safety backup before it fetches the chosen (possibly oldest) backup.
    cfg, _unused = age_cfg
    cfg.keep_min, cfg.keep_count, cfg.keep_days = 1, 2, 10
    old = [name("pg-appdb", d, ".dump.age") for d in (40, 50, 60)]
    for entry in old:
        (Path(cfg.backup_dir) / entry).write_text("x")
    monkeypatch.setattr(rb, "plan", lambda _cfg, _only: [("pg", "appdb")])
    monkeypatch.setattr(rb, "run_item", lambda *_a: {"file": "new", "ciphertext": {"size": 1}})
    monkeypatch.setattr(rb, "refuse_secret_keys", lambda _cfg: None)
    assert rb.cmd_run(cfg, [], "safety", prune_after=False) == 0
    assert sorted(p.name for p in Path(cfg.backup_dir).iterdir()) == sorted(old)


def test_record_failure_writes_the_marker(tmp_path: Path) -> None:
    cfg = rb.Config(backup_dir=str(tmp_path), state_dir=str(tmp_path), age_recipients=["x"], encryption="age")
    assert rb.cmd_record_failure(cfg, "rampart-backup.service") == 0
    data = json.loads((tmp_path / "last-failure.json").read_text())
    assert data["unit"] == "rampart-backup.service"
    assert isinstance(data["epoch"], int)


def test_secret_keys_in_gnupghome_stop_the_run(tmp_path: Path) -> None:
    if shutil.which("gpg") is None:
        pytest.skip("no gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "t@example.invalid",
            "future-default",
            "default",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    cfg = rb.Config(backup_dir=str(tmp_path), state_dir=str(tmp_path), gnupghome=str(home), gpg_recipients=["A" * 40])
    try:
        with pytest.raises(rb.BackupError, match="secret key material"):
            rb.refuse_secret_keys(cfg)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)


def test_main_record_failure_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"backup_dir": str(tmp_path), "state_dir": str(tmp_path), "encryption": "age", "age_recipients": ["a"]}
        )
    )
    assert rb.main(["--config", str(config), "record-failure"]) == 0
    assert (tmp_path / "last-failure.json").exists()
