"""The ssh role and the SSH checks agree, for generated limits, forwarding, Match blocks and moduli.

The role's ``validate.yml`` decides; for every accepted input ``00-rampart.conf.j2`` is rendered
as the role renders it and laid over Debian 12's stock ``sshd -T`` the way sshd reads it (the
drop-in is included first and the first value of a keyword wins; Match blocks stay in the file,
where the audit reads them), ``/etc/ssh/moduli`` is filtered as the role's awk filters it, and
SSH-01, SSH-02 and SSH-03 run through the fixture runner: none may fail or be partial (the ssh
role has no accepted exceptions). Every refusal must name one variable and its value.

Not a real sshd (none on the test host): the overlay is the documented first-value-wins rule,
and the base is ``sshd -T`` captured on the lab image.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import PROPERTY_SETTINGS, RoleRun, intent_of, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import (
    GUIDE_CIPHERS,
    GUIDE_HOST_KEYS,
    GUIDE_KEX,
    GUIDE_MACS,
    POST_QUANTUM_KEX,
)

CHECKS = ("SSH-01", "SSH-02", "SSH-03")
KEYWORD = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\s+(.*)$")
MULTI = {"hostkey", "listenaddress", "subsystem", "acceptenv"}
WEAK = {
    "rampart_ssh_kex_algorithms": "ecdh-sha2-nistp256",
    "rampart_ssh_ciphers": "aes128-cbc",
    "rampart_ssh_macs": "hmac-sha1",
    "rampart_ssh_host_key_algorithms": "ecdsa-sha2-nistp256",
}

match_settings = st.dictionaries(
    st.sampled_from(
        ["PasswordAuthentication", "X11Forwarding", "AllowTcpForwarding", "MaxAuthTries", "PermitRootLogin",
         "PermitTTY", "ForceCommand", "DisableForwarding", "KbdInteractiveAuthentication", "Banner"]
    ),
    st.sampled_from(["no", "no", "no", "3", "yes", "10", "prohibit-password", "internal-sftp", "none"]),
    min_size=1,
    max_size=2,
)  # fmt: skip
match_block = st.builds(
    lambda criteria, settings: {"criteria": criteria, "settings": settings},
    st.sampled_from([{"group": "sftp-only"}, {"user": ["backup", "deploy"]}, {"address": "10.0.0.0/8"}]),
    match_settings,
)


@st.composite
def ssh_input(draw: st.DrawFn) -> dict[str, Any]:
    user: dict[str, Any] = {
        # valid values drawn more often than edge and must-refuse ones
        "rampart_ssh_permit_root_login": draw(st.sampled_from(["no", "prohibit-password", "no", "yes"])),
        "rampart_ssh_max_auth_tries": draw(st.one_of(st.integers(1, 4), st.integers(1, 4), st.integers(0, 8))),
        "rampart_ssh_log_level": draw(st.sampled_from(["VERBOSE"] * 6 + ["INFO", "DEBUG"])),
        "rampart_ssh_allowed_forwarding": draw(st.lists(st.sampled_from(["x11", "agent", "tcp"]), unique=True)),
        "rampart_ssh_moduli_min_bits": draw(st.sampled_from([3072, 4096, 3072, 4096, 2048])),
        "rampart_ssh_match_blocks": draw(st.lists(match_block, max_size=1)),
    }
    for name, weak in WEAK.items():
        if draw(st.integers(0, 9)) == 0:  # now and then one list with a weak algorithm, first or last
            defaults = list(RoleRun("ssh").variables[name])
            user[name] = draw(st.sampled_from([[weak, *defaults], [*defaults, weak]]))
    if draw(st.integers(0, 9)) == 0:  # a post-quantum key exchange offered, but not first
        user["rampart_ssh_kex_algorithms"] = ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com"]
    if draw(st.booleans()):
        user["rampart_ssh_extra_settings"] = draw(
            st.dictionaries(st.sampled_from(["PasswordAuthentication", "Banner", "PrintMotd", "MaxAuthTries"]),
                            st.sampled_from(["yes", "no", "none", "9"]), max_size=2)
        )  # fmt: skip
    return user


def algorithms(role: RoleRun) -> dict[str, Any]:
    """What stage.yml derives from the host's ``ssh -Q``: the lab image offers every default."""
    variables = role.variables
    return {
        "kex": variables["rampart_ssh_kex_algorithms"],
        "ciphers": variables["rampart_ssh_ciphers"],
        "macs": variables["rampart_ssh_macs"],
        "host_keys": variables["rampart_ssh_host_key_algorithms"],
        "required_rsa_size": True,
    }


def sshd_t(dropin: str) -> str:
    """Debian's stock ``sshd -T`` with the drop-in read first (first value wins; Match blocks left out)."""
    from check_helpers import fixture  # noqa: PLC0415

    stock: dict[str, list[str]] = {}
    for line in fixture("ssh/stock-debian.txt").splitlines():
        key, _sep, value = line.partition(" ")
        stock.setdefault(key, []).append(value)
    ours: dict[str, list[str]] = {}
    for line in dropin.splitlines():
        if line.strip().lower().startswith("match "):
            break
        found = KEYWORD.match(line.strip())
        if found and not line.startswith("#"):
            key, value = found.group(1).lower(), found.group(2).strip()
            if key in MULTI or key not in ours:
                ours.setdefault(key, []).append(value.lower() if value in ("yes", "no") else value)
    stock.update(ours)
    return "".join(f"{key} {value}\n" for key, values in stock.items() for value in values)


def moduli(min_bits: int) -> str:
    """/etc/ssh/moduli after the role's awk filter ($5 >= min - 1)."""
    from check_helpers import fixture  # noqa: PLC0415

    kept = []
    for line in fixture("ssh/moduli-stock.txt").splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) < 7 or int(fields[4]) >= min_bits - 1:
            kept.append(line)
    return "\n".join(kept) + "\n"


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import fixture, lab_commands  # noqa: PLC0415

    dropin = role.render("00-rampart.conf.j2")
    files = {
        "/etc/ssh/sshd_config": "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n",
        "/etc/ssh/sshd_config.d/00-rampart.conf": dropin,
        "/etc/ssh/ssh_host_rsa_key.pub": fixture("ssh/host_rsa_4096.pub"),
        "/etc/ssh/ssh_host_ed25519_key.pub": fixture("ssh/host_ed25519.pub"),
        "/etc/ssh/moduli": moduli(int(role.variables["rampart_ssh_moduli_min_bits"])),
    }
    intent = intent_of(role, "_intent")
    facts = make_facts(commands=lab_commands(sshd=sshd_t(dropin)), files=files, intent={"ssh": intent})
    return run_checks(facts, CHECKS)


def agree(make_facts, user: dict[str, Any]) -> None:
    role = RoleRun("ssh", user)
    role.variables["_rampart_ssh_algorithms"] = algorithms(role)
    if not validated(role):
        return
    for check_id, result in audit(make_facts, role).items():
        assert result.status is Status.PASS, (check_id, result.message, result.evidence)


@PROPERTY_SETTINGS
@given(user=ssh_input())
@example(user={"rampart_ssh_max_auth_tries": 3})
def test_role_and_audit_agree(make_facts, user) -> None:
    agree(make_facts, user)


def test_the_role_guide_is_the_audit_guide() -> None:
    """The algorithms the role accepts are exactly those SSH-03 accepts."""
    guide = RoleRun("ssh").expr("_rampart_ssh_guide")
    assert [tuple(guide[f"rampart_ssh_{n}"]) for n in ("kex_algorithms", "ciphers", "macs", "host_key_algorithms")] == [
        GUIDE_KEX,
        GUIDE_CIPHERS,
        GUIDE_MACS,
        GUIDE_HOST_KEYS,
    ]
    assert tuple(RoleRun("ssh").expr("_rampart_ssh_post_quantum_kex")) == POST_QUANTUM_KEX


# ----- counterexamples found by the property above, kept as regression tests ------------------
@pytest.mark.parametrize(
    ("user", "path"),
    [
        # SSH-02 fails MaxAuthTries above 4; the role took 5 and 6
        ({"rampart_ssh_max_auth_tries": 5}, "rampart_ssh_max_auth_tries"),
        # SSH-02 is partial below VERBOSE (no key fingerprints in the log); the role took INFO
        ({"rampart_ssh_log_level": "INFO"}, "rampart_ssh_log_level"),
        ({"rampart_ssh_log_level": "DEBUG"}, "rampart_ssh_log_level"),
        # SSH-03 fails moduli under 3072 bits; the role kept 2048-bit groups
        ({"rampart_ssh_moduli_min_bits": 2048}, "rampart_ssh_moduli_min_bits"),
        # SSH-03 fails algorithms outside the ssh-audit guide; the role rendered any syntactically valid name
        ({"rampart_ssh_ciphers": ["aes256-ctr", "aes128-cbc"]}, "rampart_ssh_ciphers[1]"),
        ({"rampart_ssh_macs": ["hmac-sha1"]}, "rampart_ssh_macs[0]"),
        # SSH-03 is partial when a post-quantum KEX is offered but not preferred
        (
            {"rampart_ssh_kex_algorithms": ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com"]},
            "rampart_ssh_kex_algorithms[0]",
        ),
        # SSH-01/SSH-02 read Match blocks: a block turning passwords or forwarding back on
        (
            {"rampart_ssh_match_blocks": [{"criteria": {"group": "x"}, "settings": {"PasswordAuthentication": "yes"}}]},
            "rampart_ssh_match_blocks[0].settings.PasswordAuthentication",
        ),
        (
            {"rampart_ssh_match_blocks": [{"criteria": {"user": "a"}, "settings": {"X11Forwarding": "yes"}}]},
            "rampart_ssh_match_blocks[0].settings.X11Forwarding",
        ),
        (
            {"rampart_ssh_match_blocks": [{"criteria": {"user": "a"}, "settings": {"MaxAuthTries": "10"}}]},
            "rampart_ssh_match_blocks[0].settings.MaxAuthTries",
        ),
        # found by make fuzz: DisableForwarding "3" in a Match block (forwarding allowed globally)
        (
            {
                "rampart_ssh_allowed_forwarding": ["x11"],
                "rampart_ssh_match_blocks": [{"criteria": {"group": "g"}, "settings": {"DisableForwarding": "3"}}],
            },
            "rampart_ssh_match_blocks[0].settings.DisableForwarding",
        ),
    ],
)
def test_counterexamples_are_refused_by_name(make_facts, user, path) -> None:
    role = RoleRun("ssh", user)
    role.variables["_rampart_ssh_algorithms"] = algorithms(role)
    refusals = role.validate()
    assert refusals, user
    assert named_variable(refusals[0], role.variables)[0] == path
    assert re.search(r"SSH-0[123]", refusals[0])
