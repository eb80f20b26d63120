"""SSH-03 from the outside (ssh-audit JSON, real outputs from the lab) and the ssh role's lock-out filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rampart.hardening.plugins.filter.sshd_access import sshd_login_problems
from ansible_collections.rampart.hardening.plugins.module_utils.live_ssh import ssh03_live
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import (
    failed_algorithms,
    match_overrides,
    parse_scan,
    policy_verdict,
    small_moduli,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


SCAN_OK = read("ssh_audit/scan-hardened.json")  # the molecule ssh scenario's converged server
SCAN_STOCK = read("ssh_audit/scan-stock-debian.json")  # a stock Debian 12 sshd
POLICY_OK = read("ssh_audit/policy-hardened.json")
POLICY_STOCK = read("ssh_audit/policy-stock-debian.json")
MALFORMED = read("ssh_audit/scan-malformed.json")
RAMPART_T = read("ssh/rampart.txt")


class FakeAudit:
    """Stands in for the ssh-audit process: (rc, stdout, stderr) per mode, and records the argv."""

    def __init__(self, scan: tuple[int, str, str], policy: tuple[int, str, str]) -> None:
        self.scan, self.policy, self.calls = scan, policy, []

    def __call__(self, argv, timeout):
        self.calls.append(list(argv))
        return self.policy if "-P" in argv else self.scan


def test_failed_algorithms_of_a_stock_server():
    failed = failed_algorithms(parse_scan(SCAN_STOCK))
    assert any("ecdh-sha2-nistp256" in line for line in failed)
    assert any(line.startswith("MAC ") and "sha1" in line for line in failed)
    assert failed_algorithms(parse_scan(SCAN_OK)) == []


@pytest.mark.parametrize("text", [MALFORMED, "", "[]", '{"kex": [], "key": [], "enc": [], "mac": []}'])
def test_parse_scan_rejects_malformed(text):
    with pytest.raises(ParseError):
        parse_scan(text)


def test_policy_verdicts():
    assert policy_verdict(POLICY_OK) == (True, [])
    passed, differences = policy_verdict(POLICY_STOCK)
    assert passed is False
    assert any(d.startswith("Key exchanges") for d in differences)
    with pytest.raises(ParseError):
        policy_verdict('{"errors": []}')


def test_live_pass():
    fake = FakeAudit((2, SCAN_OK, ""), (0, POLICY_OK, ""))
    result = ssh03_live("10.89.3.2", 22, runner=fake)
    assert result.status is Status.PASS, result
    assert [c[-1] for c in fake.calls] == ["10.89.3.2", "10.89.3.2"]
    assert any("-P" in c for c in fake.calls)
    # The DHEat rate test runs once per host, in the scan; the policy run does not repeat it.
    scan, policy = fake.calls
    assert "-P" not in scan
    assert "--skip-rate-test" not in scan
    assert "-P" in policy
    assert "--skip-rate-test" in policy


def test_live_fail_names_the_algorithms_and_the_policy():
    result = ssh03_live("10.89.3.3", 22, runner=FakeAudit((3, SCAN_STOCK, ""), (3, POLICY_STOCK, "")))
    assert result.status is Status.FAIL
    assert "not met" in result.message
    assert any("ecdh-sha2-nistp256" in e for e in result.evidence)


def test_live_policy_alone_can_fail():
    # No algorithm ssh-audit fails outright, but RSA 3072 and extra KEX break the guide's policy.
    result = ssh03_live("h", 22, runner=FakeAudit((2, SCAN_OK, ""), (3, POLICY_STOCK, "")))
    assert result.status is Status.FAIL


@pytest.mark.parametrize(
    "scan",
    [
        (1, "", "Connection refused"),
        (3, MALFORMED, ""),
        (127, "", "ssh-audit: not installed"),
    ],
)
def test_live_cannot_look_is_an_error(scan):
    result = ssh03_live("h", 22, runner=FakeAudit(scan, (0, POLICY_OK, "")))
    assert result.status is Status.ERROR


def test_live_policy_output_malformed_is_an_error():
    result = ssh03_live("h", 22, runner=FakeAudit((2, SCAN_OK, ""), (0, "garbage", "")))
    assert result.status is Status.ERROR


def test_small_moduli_counts_groups_under_3072_bits():
    assert small_moduli(read("ssh/moduli-stock.txt")) == 1
    assert small_moduli(read("ssh/moduli-hardened.txt")) == 0


def test_match_overrides_any_spelling():
    text = (
        "# comment\nPasswordAuthentication no\nmatch  user  bob,alice\n"
        "\tPASSWORDAUTHENTICATION=yes # why\nMatch all\nX11Forwarding yes\n"
    )
    found = match_overrides(text, "/etc/ssh/sshd_config")
    # "Match all" is a block that matches every connection: its settings override the globals
    # per connection (servconf.c parse_server_match_config), so they are overrides too.
    assert [(o.criteria, o.key, o.value) for o in found] == [
        ("user bob,alice", "passwordauthentication", "yes"),
        ("all", "x11forwarding", "yes"),
    ]


# ----- the ssh role's lock-out filter (input: sshd -T -C of the staged configuration) ----------


def test_login_allowed_on_the_converged_config():
    assert sshd_login_problems(RAMPART_T, "rampart", ["rampart", "ssh-users"]) == []


@pytest.mark.parametrize(
    ("old", "new", "groups", "reason"),
    [
        ("pubkeyauthentication yes", "pubkeyauthentication no", ["ssh-users"], "PubkeyAuthentication"),
        ("authenticationmethods publickey", "authenticationmethods password", ["ssh-users"], "AuthenticationMethods"),
        ("allowgroups ssh-users", "allowgroups admins", ["ssh-users"], "AllowGroups"),
        ("allowgroups ssh-users", "allowgroups ssh-users\ndenygroups ssh-*", ["ssh-users"], "DenyGroups"),
        ("allowgroups ssh-users", "allowgroups ssh-users\ndenyusers ramp*", ["ssh-users"], "DenyUsers"),
        ("allowgroups ssh-users", "allowgroups ssh-users\nallowusers alice bob@10.0.0.1", ["ssh-users"], "AllowUsers"),
        ("allowgroups ssh-users", "allowgroups ssh-users", ["users"], "AllowGroups"),
    ],
)
def test_login_refused_and_why(old, new, groups, reason):
    assert old in RAMPART_T
    problems = sshd_login_problems(RAMPART_T.replace(old, new), "rampart", groups)
    assert problems
    assert reason in problems[0]


def test_login_allowed_with_key_then_second_factor_list_and_negation():
    text = RAMPART_T.replace("authenticationmethods publickey", "authenticationmethods password publickey")
    assert sshd_login_problems(text, "rampart", ["ssh-users"]) == []
    text = RAMPART_T.replace("allowgroups ssh-users", "allowgroups ssh-users\ndenyusers * !rampart")
    assert sshd_login_problems(text, "rampart", ["ssh-users"]) == []


def test_filter_rejects_garbage():
    with pytest.raises(AnsibleFilterError):
        sshd_login_problems("not sshd output", "rampart", [])
    with pytest.raises(AnsibleFilterError):
        sshd_login_problems(RAMPART_T, "", [])
