#!/usr/bin/python3
"""Read-only facts the ssh role needs, in one round trip: printed as one JSON object.

Usage: sshd_facts.py <management user> <moduli min bits>
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import pwd
import subprocess
import sys
from pathlib import Path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def offered() -> dict[str, list[str]]:
    return {query: run("ssh", "-Q", query).stdout.split() for query in ("kex", "cipher", "mac", "key-sig")}


def rsa_bits() -> int:
    out = run("ssh-keygen", "-l", "-f", "/etc/ssh/ssh_host_rsa_key.pub")
    words = out.stdout.split()
    return int(words[0]) if out.returncode == 0 and words and words[0].isdigit() else 0


def small_moduli(min_bits: int) -> int:
    try:
        lines = Path("/etc/ssh/moduli").read_text().splitlines()
    except OSError:
        return 0
    fields = [line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return sum(1 for f in fields if len(f) >= 7 and f[4].isdigit() and int(f[4]) < min_bits - 1)


def account(name: str) -> dict[str, object]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False, "groups": [], "keys": 0}
    groups = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    with contextlib.suppress(KeyError):
        groups.add(grp.getgrgid(entry.pw_gid).gr_name)
    try:
        text = Path(entry.pw_dir, ".ssh", "authorized_keys").read_text()
    except OSError:
        text = ""
    keys = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return {"exists": True, "home": entry.pw_dir, "groups": sorted(groups), "keys": len(keys)}


def text_of(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def sha1_of(path: str) -> str | None:
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()  # the checksum Ansible reports
    except OSError:
        return None


def network() -> dict[str, str]:
    """Default gateway and this host's address towards it (``ip -j route get``)."""
    routes = run("ip", "-j", "route", "show", "default")
    try:
        default = (json.loads(routes.stdout or "[]") or [{}])[0]
        route = json.loads(run("ip", "-j", "route", "get", default.get("gateway", "1.1.1.1")).stdout or "[]")
    except (ValueError, IndexError):
        return {}
    return {"gateway": default.get("gateway", ""), "address": (route or [{}])[0].get("prefsrc", "")}


def main() -> None:
    user, min_bits = sys.argv[1], int(sys.argv[2])
    version = run("/usr/sbin/sshd", "-V").stderr.strip()
    print(
        json.dumps(
            {
                "offered": offered(),
                "version": version,
                "rsa_bits": rsa_bits(),
                "small_moduli": small_moduli(min_bits),
                "user": account(user),
                "main": text_of("/etc/ssh/sshd_config"),
                "dropin_sha1": sha1_of("/etc/ssh/sshd_config.d/00-rampart.conf"),
                "ed25519_pub": (text_of("/etc/ssh/ssh_host_ed25519_key.pub") or "").strip(),
                "network": network(),
            }
        )
    )


if __name__ == "__main__":
    main()
