"""The hardened sshd, tested over real SSH from the client container and from the controller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from labhosts import lab_host, must_run

SERVER = "rampart-ssh-server"
POLICY = "Hardened Debian 12 (version 3)"
# Options that keep each attempt independent of the others: no known-hosts prompt, no
# connection sharing, never an interactive prompt.
BASE = (
    "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlMaster=no "
    "-o ControlPath=none -o BatchMode=yes -o ConnectTimeout=10"
)


@pytest.fixture(scope="module")
def client():
    return lab_host("rampart-ssh-client")


@pytest.fixture(scope="module")
def server():
    return lab_host(SERVER)


@pytest.fixture(scope="module")
def server_ip() -> str:
    out = subprocess.run(
        ["podman", "inspect", SERVER, "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def attempt(client, user: str, *options: str, env: str = ""):
    return client.run(f"{env} {BASE} {' '.join(options)} {user}@{SERVER} id -un")


def test_key_login_as_management_user(client) -> None:
    result = attempt(client, "rampart")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "rampart"


def test_sftp_works_for_the_management_user(client) -> None:
    out = must_run(
        client,
        "echo 'pwd' | sftp -b - -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null rampart@%s",
        SERVER,
    )
    assert "/home/rampart" in out


@pytest.mark.parametrize("user", ["root", "outsider"])
def test_key_login_refused_for_root_and_users_outside_allowgroups(client, user: str) -> None:
    # Both hold the same authorized key as the management user (prepare.yml).
    result = attempt(client, user)
    assert result.rc == 255
    assert "Permission denied" in result.stderr


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_correct_password_refused(client, method: str) -> None:
    # pwuser is in the allowed group and its password is right: the stock server accepted it
    # in prepare.yml, even after cloud-init's drop-in (PasswordAuthentication yes) stays in place.
    result = client.run(
        f"SSH_ASKPASS=/usr/local/bin/lab-askpass SSH_ASKPASS_REQUIRE=force "
        f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no "
        f"-o PreferredAuthentications={method} -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 "
        f"pwuser@{SERVER} id -un"
    )
    assert result.rc == 255
    assert "Permission denied (publickey)" in result.stderr


def test_cloud_init_dropin_is_still_there(server) -> None:
    assert server.file("/etc/ssh/sshd_config.d/50-cloud-init.conf").contains("PasswordAuthentication yes")


def test_weak_client_kex_refused(client) -> None:
    result = attempt(client, "rampart", "-o KexAlgorithms=diffie-hellman-group14-sha1,ecdh-sha2-nistp256")
    assert result.rc == 255
    assert "no matching key exchange method" in result.stderr


def test_only_ed25519_and_large_rsa_host_keys(client) -> None:
    out = must_run(client, "ssh-keyscan -t rsa,ecdsa,ed25519 %s 2>/dev/null | ssh-keygen -l -f -", SERVER)
    kinds = {line.split()[-1]: int(line.split()[0]) for line in out.splitlines()}
    assert set(kinds) == {"(ED25519)", "(RSA)"}
    assert kinds["(RSA)"] >= 4096


def test_sshd_was_reloaded_never_restarted(server) -> None:
    before = server.file("/root/sshd-pid-before").content_string.strip()
    assert server.run("systemctl show -p MainPID --value ssh").stdout.strip() == before


def test_ssh_audit_policy_passes_from_outside(server_ip: str) -> None:
    audit = str(Path(sys.executable).parent / "ssh-audit")
    policy = subprocess.run(
        [audit, "-P", POLICY, "-j", server_ip], capture_output=True, text=True, timeout=180, check=False
    )
    assert policy.returncode == 0, policy.stdout[-2000:]
    assert json.loads(policy.stdout)["passed"] is True


def test_ssh_audit_scan_lists_no_failed_algorithm(server_ip: str) -> None:
    audit = str(Path(sys.executable).parent / "ssh-audit")
    scan = subprocess.run([audit, "-j", server_ip], capture_output=True, text=True, timeout=180, check=False)
    report = json.loads(scan.stdout)
    failed = [
        f"{kind} {entry['algorithm']}: {entry['notes']['fail']}"
        for kind in ("kex", "key", "enc", "mac")
        for entry in report[kind]
        if entry.get("notes", {}).get("fail")
    ]
    assert report["kex"], "ssh-audit saw no key exchange at all"
    assert not failed
    assert report["kex"][0]["algorithm"].startswith("sntrup761x25519")


def test_lockout_guards_left_the_log(server) -> None:
    log = server.file("/var/lib/rampart/ssh/rollback.log").content_string
    assert "timer: restored" in log


def test_distro_sshd_config_only_loses_its_sftp_line(server) -> None:
    # Debian ships the pristine file in /usr/share/openssh; the role may only comment lines out
    # (here the sftp Subsystem, which internal-sftp in the drop-in replaces).
    diff = server.run("diff /usr/share/openssh/sshd_config /etc/ssh/sshd_config")
    removed = [line[2:] for line in diff.stdout.splitlines() if line.startswith("< ")]
    added = [line[2:] for line in diff.stdout.splitlines() if line.startswith("> ")]
    assert [line.split()[:2] for line in removed] == [["Subsystem", "sftp"]]
    assert added == [f"# replaced by internal-sftp (rampart.hardening.ssh): {removed[0]}"]
    text = server.file("/etc/ssh/sshd_config").content_string
    directives = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert directives[0] == "Include /etc/ssh/sshd_config.d/*.conf"
