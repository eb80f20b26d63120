"""rampart-backup pull (the backup vault): verification against manifests, filters, retention."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from backup_script import NOW, name, rb


def plant(directory: Path, file: str, data: bytes, manifest: object | None = None) -> None:
    (directory / file).write_bytes(data)
    meta = (
        manifest
        if manifest is not None
        else {
            "file": file,
            "ciphertext": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
        }
    )
    (directory / f"{file}.manifest.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "store"
    incoming = store / ".incoming"
    incoming.mkdir(parents=True)
    return store, incoming


def test_a_copy_matching_its_manifest_enters_the_store(dirs: tuple[Path, Path]) -> None:
    store, incoming = dirs
    good = name("pg-appdb", 1)
    plant(incoming, good, b"ciphertext")
    stored, rejected = rb.verify_incoming(str(incoming), str(store))
    assert (stored, rejected) == ([good], [])
    assert (store / good).read_bytes() == b"ciphertext"
    assert (store / f"{good}.manifest.json").exists()
    assert not list(incoming.iterdir())


def test_a_copy_differing_from_its_manifest_is_rejected(dirs: tuple[Path, Path]) -> None:
    store, incoming = dirs
    bad = name("pg-appdb", 1)
    plant(incoming, bad, b"ciphertext")
    (incoming / bad).write_bytes(b"ciphertexT")  # same size, one bit off
    stored, rejected = rb.verify_incoming(str(incoming), str(store))
    assert stored == []
    assert len(rejected) == 1
    assert "differs from the manifest" in rejected[0]
    assert not (store / bad).exists()
    assert (store / ".rejected" / bad).exists()


@pytest.mark.parametrize(
    "manifest",
    ["{not json", {"ciphertext": {"sha256": "00"}}, {"ciphertext": "x"}, [], {"file": "other-name", "ciphertext": {}}],
)
def test_a_malformed_manifest_is_rejected(dirs: tuple[Path, Path], manifest: object) -> None:
    store, incoming = dirs
    bad = name("pg-appdb", 1)
    plant(incoming, bad, b"ciphertext", manifest=manifest)
    stored, rejected = rb.verify_incoming(str(incoming), str(store))
    assert stored == []
    assert len(rejected) == 1
    assert not (store / bad).exists()


def test_a_name_the_vault_holds_is_never_overwritten(dirs: tuple[Path, Path]) -> None:
    store, incoming = dirs
    held = name("pg-appdb", 2)
    (store / held).write_bytes(b"the original")
    plant(incoming, held, b"forged, with a matching manifest")
    stored, rejected = rb.verify_incoming(str(incoming), str(store))
    assert stored == []
    assert "never overwritten" in rejected[0]
    assert (store / held).read_bytes() == b"the original"


def test_a_copy_without_its_manifest_waits(dirs: tuple[Path, Path]) -> None:
    store, incoming = dirs
    waiting = name("redis", 0)
    (incoming / waiting).write_bytes(b"half-way")
    assert rb.verify_incoming(str(incoming), str(store)) == ([], [])
    assert (incoming / waiting).exists()


def test_filters_skip_held_and_pruned_names_and_take_only_backups() -> None:
    held = name("pg-appdb", 1)
    rules = rb.pull_filters({held, f"{held}.manifest.json", ".pruned", "noise.txt"})
    assert rules[:2] == [f"- /{held}", f"- /{held}.manifest.json"]
    assert "- /noise.txt" not in rules
    assert rules[-5:] == ["- .*", "+ *.gpg", "+ *.age", "+ *.manifest.json", "- *"]


def test_vault_retention_is_its_own_and_remembers_what_it_pruned(tmp_path: Path) -> None:
    cfg = rb.VaultConfig(
        vault_dir=str(tmp_path), state_dir=str(tmp_path), ssh_key="k", known_hosts="h", keep_min=2, keep_count=3
    )
    names = [name("pg-appdb", days) for days in (1, 2, 3, 4, 100)]
    for file in names:
        plant(tmp_path, file, b"x")
    pruned = rb.prune_vault(cfg, str(tmp_path), NOW)
    assert pruned == sorted(names[3:])
    assert rb.read_pruned(str(tmp_path)) == set(names[3:]) | {f"{n}.manifest.json" for n in names[3:]}
    rules = rb.pull_filters({p.name for p in tmp_path.iterdir()} | rb.read_pruned(str(tmp_path)))
    assert f"- /{names[4]}" in rules


def test_rsync_can_neither_delete_nor_follow_links(tmp_path: Path) -> None:
    cfg = rb.VaultConfig(vault_dir="/v", state_dir="/s", ssh_key="/s/id_ed25519", known_hosts="/s/known_hosts")
    argv = rb.rsync_argv(cfg, rb.Source(name="db1", host="db1.lab", port=2222), "/s/f", "/v/db1/.incoming")
    assert not [a for a in argv if a.startswith("--delete") or a in ("-l", "--links", "-a", "--archive")]
    assert "rampart-pull@db1.lab:./" in argv
    ssh = argv[argv.index("--rsh") + 1]
    assert "StrictHostKeyChecking=yes" in ssh
    assert "-p 2222" in ssh


def test_vault_config_refuses_a_bad_source_name(tmp_path: Path) -> None:
    config = tmp_path / "vault.json"
    base = {"vault_dir": "/v", "state_dir": "/s", "ssh_key": "k", "known_hosts": "h"}
    config.write_text(json.dumps({**base, "sources": [{"name": "../etc", "host": "db1"}]}))
    with pytest.raises(rb.BackupError):
        rb.load_vault_config(str(config))
    config.write_text(json.dumps({**base, "sources": [{"name": "db1", "host": "db1"}]}))
    assert rb.load_vault_config(str(config)).sources == [rb.Source(name="db1", host="db1")]


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({}, {"backup": (3, 14, 30), "vault": (3, 30, 90)}),  # each side's own defaults
        ({"retention": {"keep_count": 7}}, {"backup": (3, 7, 30), "vault": (3, 7, 90)}),
        ({"retention": {"keep_min": 1, "keep_count": 2, "keep_days": 5}}, {"backup": (1, 2, 5), "vault": (1, 2, 5)}),
    ],
)
def test_both_config_loaders_read_retention_the_same_way(tmp_path: Path, retention: dict, expected: dict) -> None:
    backup, vault = tmp_path / "config.json", tmp_path / "vault.json"
    backup.write_text(json.dumps({"backup_dir": "/b", "state_dir": "/s", "gpg_recipients": ["A"], **retention}))
    vault.write_text(json.dumps({"vault_dir": "/v", "state_dir": "/s", "ssh_key": "k", "known_hosts": "h"} | retention))
    for side, cfg in (("backup", rb.load_config(str(backup))), ("vault", rb.load_vault_config(str(vault)))):
        assert (cfg.keep_min, cfg.keep_count, cfg.keep_days) == expected[side], side
    backup.write_text("[1, 2]")
    vault.write_text("[1, 2]")
    for loader, path in ((rb.load_config, backup), (rb.load_vault_config, vault)):
        with pytest.raises(rb.BackupError, match="expected a JSON object"):
            loader(str(path))
