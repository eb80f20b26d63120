"""SSH-01/02: settings that only a Match block applies, reached through ``Include``.

sshd_config(5): "An Include directive may appear inside a Match block to perform conditional
inclusion", and an included file cannot clobber the including file's Match state (OpenSSH
servconf.c: ``oactive = *activep`` ... ``*activep = oactive``): a Match in a drop-in ends with the
drop-in. ``sshd -T`` without ``-C`` evaluates no Match block but ``Match all``, so what such an
included file sets never shows in the fixture's sshd -T output (ssh/rampart.txt stays hardened).
"""

from __future__ import annotations

import pytest
from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.facts import ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.ssh_policy import match_overrides

RAMPART = fixture("ssh/rampart.txt")
MAIN = "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n"


def facts_with(make_facts, files: dict[str, str]):
    tree = {"/etc/ssh/sshd_config": MAIN, **files}
    return make_facts(commands=lab_commands(sshd=RAMPART), files=tree)


@pytest.mark.parametrize(
    ("files", "check_id", "where"),
    [
        (  # Include inside a Match block of the main file: the included file has no Match line of its own
            {
                "/etc/ssh/sshd_config": MAIN + "Match User deploy\n    Include /etc/ssh/deploy.conf\n",
                "/etc/ssh/deploy.conf": "PasswordAuthentication yes\n",
            },
            "SSH-01",
            "/etc/ssh/deploy.conf: Match User deploy: passwordauthentication yes",
        ),
        (  # relative Include inside Match (relative paths are under /etc/ssh), in a drop-in
            {
                "/etc/ssh/sshd_config.d/50-vendor.conf": "Match Address 10.0.0.0/8\n  Include vendor/*.conf\n",
                "/etc/ssh/vendor/root.conf": "PermitRootLogin yes\n",
            },
            "SSH-01",
            "/etc/ssh/vendor/root.conf: Match Address 10.0.0.0/8: permitrootlogin yes",
        ),
        (  # a drop-in including another file that holds the Match block (nested Include)
            {
                "/etc/ssh/sshd_config.d/60-site.conf": "Include /etc/ssh/site/*.conf\n",
                "/etc/ssh/site/forward.conf": "Match Group admins\n  AllowTcpForwarding yes\n",
            },
            "SSH-02",
            "/etc/ssh/site/forward.conf: Match Group admins: allowtcpforwarding yes",
        ),
        (  # quoted value (argv_split strips the quotes)
            {"/etc/ssh/sshd_config.d/70-q.conf": 'Match User ops\n  KbdInteractiveAuthentication "yes"\n'},
            "SSH-01",
            "/etc/ssh/sshd_config.d/70-q.conf: Match User ops: kbdinteractiveauthentication yes",
        ),
    ],
)
def test_match_settings_through_include_fail(make_facts, files, check_id, where):
    result = run(check_id, facts_with(make_facts, files))
    assert_status(result, Status.FAIL)
    assert where in result.evidence


def test_match_in_a_dropin_ends_with_the_dropin(make_facts):
    """A later global line of the main file is not inside the drop-in's Match (and sshd -T shows it)."""
    files = {
        "/etc/ssh/sshd_config": MAIN + "X11Forwarding no\n",
        "/etc/ssh/sshd_config.d/10-sftp.conf": "Match User backup\n  ForceCommand internal-sftp\n",
    }
    assert_status(run("SSH-02", facts_with(make_facts, files)), Status.PASS)


def test_harmless_include_inside_match_passes(make_facts):
    files = {
        "/etc/ssh/sshd_config": MAIN + "Match User backup\n  Include /etc/ssh/sftp.conf\n",
        "/etc/ssh/sftp.conf": "ForceCommand internal-sftp\nPasswordAuthentication no\n",
    }
    for check_id in ("SSH-01", "SSH-02"):
        assert_status(run(check_id, facts_with(make_facts, files)), Status.PASS)


def test_include_loop_does_not_hang_or_crash(make_facts):
    files = {
        "/etc/ssh/sshd_config.d/a.conf": "Match User x\n  Include /etc/ssh/sshd_config.d/a.conf\n",
    }
    assert_status(run("SSH-01", facts_with(make_facts, files)), Status.PASS)


def test_unreadable_included_file_inside_match_is_an_error(make_facts, monkeypatch):
    """A file sshd includes under a Match but the audit cannot read could hold any override."""
    files = {
        "/etc/ssh/sshd_config": MAIN + "Match User deploy\n    Include /etc/ssh/deploy.conf\n",
        "/etc/ssh/deploy.conf": "PasswordAuthentication no\n",
    }
    facts = facts_with(make_facts, files)
    read_text = facts.read_text

    def denied(path: str) -> str | None:
        if path == "/etc/ssh/deploy.conf":
            raise ProbeError(f"cannot read {path}: Permission denied")
        return read_text(path)

    monkeypatch.setattr(facts, "read_text", denied)
    result = run("SSH-01", facts)
    assert_status(result, Status.ERROR)
    assert "/etc/ssh/deploy.conf" in result.message


def test_match_overrides_strip_quotes():
    found = match_overrides('Match User a\n  PasswordAuthentication "no"\n', "x")
    assert [(o.key, o.value) for o in found] == [("passwordauthentication", "no")]


def test_match_all_overrides_for_every_connection(make_facts):
    """``Match all`` is a Match block like any other: sshd -T (no -C) keeps the first global value
    (the drop-in's ``PasswordAuthentication no``), but for every connection sshd re-reads the matching
    blocks and copies their settings over the globals (servconf.c parse_server_match_config /
    copy_set_server_options), so ``Match all`` / ``PasswordAuthentication yes`` is what logins get."""
    files = {
        "/etc/ssh/sshd_config": MAIN + "Match User backup\n  ForceCommand internal-sftp\nMatch all\n"
        "PasswordAuthentication yes\n",
    }
    result = run("SSH-01", facts_with(make_facts, files))
    assert_status(result, Status.FAIL)
    assert "/etc/ssh/sshd_config: Match all: passwordauthentication yes" in result.evidence


def test_match_all_with_hardened_values_passes(make_facts):
    files = {"/etc/ssh/sshd_config": MAIN + "Match User backup\n  X11Forwarding no\nMatch all\nMaxAuthTries 3\n"}
    for check_id in ("SSH-01", "SSH-02"):
        assert_status(run(check_id, facts_with(make_facts, files)), Status.PASS)
