"""SSH-03 (config side) and the Match-block view of SSH-01/02, on real sshd -T outputs and files."""

from __future__ import annotations

import pytest
from check_helpers import GARBAGE, assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.engine import merge_live
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status, failed, passed
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import rsa_bits

RAMPART = fixture("ssh/rampart.txt")  # sshd -T of the molecule ssh scenario's converged server
STOCK = fixture("ssh/stock-debian.txt")
RSA_4096 = fixture("ssh/host_rsa_4096.pub")
ED25519 = fixture("ssh/host_ed25519.pub")
HARDENED_FILES = {
    "/etc/ssh/ssh_host_rsa_key.pub": RSA_4096,
    "/etc/ssh/ssh_host_ed25519_key.pub": ED25519,
    "/etc/ssh/moduli": fixture("ssh/moduli-hardened.txt"),
    "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n",
}


def ssh_facts(make_facts, sshd=RAMPART, **files):
    tree = {**HARDENED_FILES, **{k.replace("__", "/").replace("_dot_", "."): v for k, v in files.items()}}
    return make_facts(commands=lab_commands(sshd=sshd), files=tree)


def test_rsa_bits_reads_the_modulus_size():
    assert rsa_bits(RSA_4096) == 4096
    assert rsa_bits(fixture("ssh/host_rsa_3072.pub")) == 3072
    assert rsa_bits(fixture("ssh/host_rsa_2048.pub")) == 2048
    assert rsa_bits(ED25519) is None
    assert rsa_bits("ssh-rsa not-base64!") is None


def test_ssh03_passes_on_the_converged_server(make_facts):
    assert_status(run("SSH-03", ssh_facts(make_facts)), Status.PASS)


def test_ssh03_fails_on_stock_debian(make_facts):
    result = run("SSH-03", ssh_facts(make_facts, sshd=STOCK))
    assert_status(result, Status.FAIL)
    assert any("ecdh-sha2-nistp256" in line for line in result.evidence)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hmac-sha2-256-etm@openssh.com,", "hmac-sha1,hmac-sha2-256-etm@openssh.com,"),
        ("aes128-ctr", "aes128-ctr,aes256-cbc"),
        ("kexalgorithms sntrup761x25519-sha512,", "kexalgorithms diffie-hellman-group14-sha1,sntrup761x25519-sha512,"),
        ("hostkeyalgorithms sk-ssh", "hostkeyalgorithms ecdsa-sha2-nistp256,sk-ssh"),
    ],
)
def test_ssh03_fails_on_any_algorithm_outside_the_guide(make_facts, old, new):
    assert old in RAMPART
    assert_status(run("SSH-03", ssh_facts(make_facts, sshd=RAMPART.replace(old, new, 1))), Status.FAIL)


def test_ssh03_partial_when_post_quantum_kex_is_not_first(make_facts):
    sshd = RAMPART.replace(
        "kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,",
        "kexalgorithms curve25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,",
    )
    assert sshd != RAMPART
    assert_status(run("SSH-03", ssh_facts(make_facts, sshd=sshd)), Status.PARTIAL)


def test_ssh03_fails_on_a_small_rsa_host_key(make_facts):
    facts = ssh_facts(make_facts, **{"__etc__ssh__ssh_host_rsa_key_dot_pub": fixture("ssh/host_rsa_2048.pub")})
    result = run("SSH-03", facts)
    assert_status(result, Status.FAIL)
    assert "2048" in result.message


def test_ssh03_fails_on_small_moduli(make_facts):
    facts = ssh_facts(make_facts, **{"__etc__ssh__moduli": fixture("ssh/moduli-stock.txt")})
    assert_status(run("SSH-03", facts), Status.FAIL)


@pytest.mark.parametrize(
    ("output", "expected"),
    [(None, Status.NOT_APPLICABLE), (GARBAGE, Status.ERROR), (RAMPART[:300], Status.ERROR)],
)
def test_ssh03_missing_or_malformed(make_facts, output, expected):
    assert_status(run("SSH-03", ssh_facts(make_facts, sshd=output)), expected)


def test_ssh03_live_failure_overrides_a_clean_config(make_facts):
    live = {"SSH-03": failed("10.0.0.5:22: ssh-audit fails 1 algorithm(s)", ["kex ecdh-sha2-nistp256: NSA curve"])}
    result, sources = merge_live(run("SSH-03", ssh_facts(make_facts)), live["SSH-03"])
    assert_status(result, Status.FAIL)
    assert "the network says" in result.message
    assert sources == ["config", "live"]


def test_ssh03_live_and_config_agree(make_facts):
    live = passed("10.0.0.5:22: no failed algorithm; policy passed")
    result, _unused = merge_live(run("SSH-03", ssh_facts(make_facts)), live)
    assert_status(result, Status.PASS)
    stock, _unused = merge_live(run("SSH-03", ssh_facts(make_facts, sshd=STOCK)), live)
    assert_status(stock, Status.FAIL)
    assert "config says" in stock.message


# ----- Match blocks (sshd -T prints the global values only) -----------------------------------

MATCH_PASSWORD = "Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n"
MATCH_FORWARD = "Match Group admins\n  AllowTcpForwarding yes\n  MaxAuthTries 10\n"
MATCH_HARMLESS = "Match User backup\n    ForceCommand internal-sftp\n    PasswordAuthentication no\n"


@pytest.mark.parametrize(
    ("dropin", "check_id", "expected"),
    [
        (MATCH_PASSWORD, "SSH-01", Status.FAIL),
        (
            MATCH_PASSWORD.lower().replace("passwordauthentication yes", "passwordauthentication=yes"),
            "SSH-01",
            Status.FAIL,
        ),
        ("Match User ops\n PermitRootLogin yes\n", "SSH-01", Status.FAIL),
        (MATCH_HARMLESS, "SSH-01", Status.PASS),
        (MATCH_FORWARD, "SSH-02", Status.FAIL),
        ("Match Address 192.0.2.0/24\n  DisableForwarding no\n  X11Forwarding yes\n", "SSH-02", Status.FAIL),
        (MATCH_HARMLESS, "SSH-02", Status.PASS),
    ],
)
def test_match_blocks_in_a_dropin_are_judged(make_facts, dropin, check_id, expected):
    facts = ssh_facts(make_facts, **{"__etc__ssh__sshd_config_dot_d__90-site_dot_conf": dropin})
    result = run(check_id, facts)
    assert_status(result, expected)
    if expected is Status.FAIL:
        assert any("90-site.conf: Match" in line for line in result.evidence)


def test_disableforwarding_turns_every_kind_off(make_facts):
    # The converged server says x11forwarding no anyway; a stock-looking one relies on DisableForwarding.
    sshd = RAMPART.replace("allowtcpforwarding no", "allowtcpforwarding yes")
    assert sshd != RAMPART
    assert_status(run("SSH-02", ssh_facts(make_facts, sshd=sshd)), Status.PASS)
    sshd = sshd.replace("disableforwarding yes", "disableforwarding no")
    assert_status(run("SSH-02", ssh_facts(make_facts, sshd=sshd)), Status.FAIL)
