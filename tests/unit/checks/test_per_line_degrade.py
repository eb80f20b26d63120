"""Checks on probes that degrade per line (issue #14): one unreadable ss/ps/sysctl/systemctl/nft line
is one doubt, not thirty errors; the good records are still judged, a fail stays a fail, and a
verdict the bad line could have hidden becomes ``error`` naming it (never a pass on less data).
"""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_status, fixture, lab_commands, run, systemctl_show

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

SS_LAB = fixture("sockets/lab.txt")
PS_LAB = fixture("systemd/ps-lab.txt")
SYSCTL = fixture("sysctl/hardened.txt")
NFT = json.loads(fixture("firewall/default-drop.json"))
REDIS_PUBLIC = 'tcp LISTEN 0 511 0.0.0.0:6379 0.0.0.0:* users:(("redis-server",pid=9,fd=6))'
BAD_SS = "tcp LISTEN 0 511 0.0.0.0:http 0.0.0.0:*"
# Never better than fail: pass > partial > not_applicable > fail = error (rampart-score/2).
RANK = {Status.PASS: 3, Status.PARTIAL: 2, Status.NOT_APPLICABLE: 1, Status.FAIL: 0, Status.ERROR: 0}


def facts(make_facts, files=None, **commands):
    return make_facts(commands=lab_commands(**commands), files=files)


def insert(text: str, at: int, line: str) -> str:
    lines = text.splitlines()
    return "\n".join([*lines[:at], line, *lines[at:]]) + "\n"


def corrupt(line: str) -> str:
    """What a torn or foreign line looks like: the same text with its numeric fields garbled."""
    return "?" + line.strip().replace(" ", "\t", 1).replace("0", "O")


def nft(items: list) -> str:
    return json.dumps({"nftables": items})


def with_policy(policy: str) -> list:
    items = json.loads(json.dumps(NFT["nftables"]))
    for item in items:
        if item.get("chain", {}).get("hook") == "input":
            item["chain"]["policy"] = policy
    return items


# ----- ss -------------------------------------------------------------------------------------
def test_ss_bad_line_turns_a_pass_into_an_error_naming_it(make_facts):
    assert_status(run("NET-03", facts(make_facts)), Status.PASS)
    result = run("NET-03", facts(make_facts, ss=insert(SS_LAB, 2, BAD_SS)))
    assert_status(result, Status.ERROR)
    assert "ss -Htulpn line 3" in result.message
    assert "0.0.0.0:http" in result.message


def test_ss_bad_line_keeps_a_fail_found_in_the_good_lines(make_facts):
    result = run("NET-03", facts(make_facts, ss=insert(insert(SS_LAB, 1, REDIS_PUBLIC), 3, BAD_SS)))
    assert_status(result, Status.FAIL)
    assert "6379" in result.message
    assert any(item.startswith("unread: ss -Htulpn line 4") for item in result.evidence)


@pytest.mark.parametrize("check_id", ["NET-03", "NET-04"])
def test_ss_any_corrupted_line_never_scores_better(make_facts, check_id):
    """Corrupt each line in turn (the finding's own line too): never better than with full data."""
    text = insert(SS_LAB, 1, REDIS_PUBLIC)
    full = run(check_id, facts(make_facts, ss=text, nft=nft(with_policy("accept"))))
    assert_status(full, Status.FAIL)
    lines = text.splitlines()
    for index, line in enumerate(lines):
        broken = "\n".join([*lines[:index], corrupt(line), *lines[index + 1 :]]) + "\n"
        result = run(check_id, facts(make_facts, ss=broken, nft=nft(with_policy("accept"))))
        assert RANK[result.status] <= RANK[full.status], (index, result)


# ----- nft ------------------------------------------------------------------------------------
BAD_RULE = {"rule": {"family": "inet", "table": "rampart", "chain": "input", "expr": "oops"}}


def test_nft_bad_item_turns_a_pass_into_an_error(make_facts):
    items = json.loads(json.dumps(NFT["nftables"]))
    items.insert(8, BAD_RULE)
    result = run("NET-02", facts(make_facts, nft=nft(items)))
    assert_status(result, Status.ERROR)
    assert "nft -j item 9 (inet rampart input)" in result.message


def test_nft_bad_item_keeps_a_fail(make_facts):
    items = with_policy("accept")
    items.insert(8, BAD_RULE)
    result = run("NET-02", facts(make_facts, nft=nft(items)))
    assert_status(result, Status.FAIL)
    assert "inbound default is accept" in result.message


def test_nft_each_corrupted_item_never_scores_better(make_facts):
    full = run("NET-02", facts(make_facts, nft=nft(with_policy("accept"))))
    assert_status(full, Status.FAIL)
    for index in range(1, len(NFT["nftables"])):
        items = with_policy("accept")
        body = next(iter(items[index].values()))
        body.pop("name", None) if "chain" in items[index] else body.update(expr="torn")
        result = run("NET-02", facts(make_facts, nft=nft(items)))
        assert RANK[result.status] <= RANK[full.status], (index, result)


def test_nft_bad_item_only_doubts_checks_it_could_hide(make_facts):
    """NET-06 looks for Docker chains: a bad rule of the rampart table cannot hide one, a bad DOCKER one can."""
    items = [*NFT["nftables"], BAD_RULE]
    assert_status(run("NET-06", facts(make_facts, nft=nft(items))), Status.NOT_APPLICABLE)
    docker = {"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "expr": []}}
    result = run("NET-06", facts(make_facts, nft=nft([*NFT["nftables"], docker])))
    assert_status(result, Status.ERROR)
    assert "DOCKER-USER" in result.message


# ----- sysctl ---------------------------------------------------------------------------------
DENIED = SYSCTL.replace("net.ipv4.tcp_syncookies = 1\n", "sysctl: permission denied on key 'net.ipv4.tcp_syncookies'\n")


def test_sysctl_permission_denied_is_an_error_for_that_key_only(make_facts):
    assert DENIED != SYSCTL
    result = run("NET-07", facts(make_facts, sysctl=DENIED))
    assert_status(result, Status.ERROR)
    assert "net.ipv4.tcp_syncookies" in result.message
    assert "permission denied" in result.message
    assert_status(run("SYS-02", facts(make_facts, sysctl=DENIED)), Status.PASS)  # other keys: unaffected


def test_sysctl_permission_denied_keeps_a_fail_on_other_keys(make_facts):
    text = DENIED.replace("net.ipv4.ip_forward = 0", "net.ipv4.ip_forward=1")
    assert text != DENIED
    result = run("NET-07", facts(make_facts, sysctl=text))
    assert_status(result, Status.FAIL)
    assert "ip_forward" in result.message
    assert any(item.startswith("unread: ") and "tcp_syncookies" in item for item in result.evidence)


def test_sysctl_unreadable_key_falls_back_to_proc_sys(make_facts):
    files = {"/proc/sys/net/ipv4/tcp_syncookies": "1\n"}
    assert_status(run("NET-07", facts(make_facts, files=files, sysctl=DENIED)), Status.PASS)
    files = {"/proc/sys/net/ipv4/tcp_syncookies": "0\n"}
    assert_status(run("NET-07", facts(make_facts, files=files, sysctl=DENIED)), Status.FAIL)


def test_sysctl_stderr_permission_denied_names_the_key(make_facts):
    text = SYSCTL.replace("net.ipv4.tcp_syncookies = 1\n", "")
    stderr = "sysctl: permission denied on key 'net.ipv4.tcp_syncookies'\n"
    result = run("NET-07", facts(make_facts, sysctl=(255, text, stderr)))
    assert_status(result, Status.ERROR)
    assert "stderr" in result.message
    assert "tcp_syncookies" in result.message


# ----- systemctl show -------------------------------------------------------------------------
def _with_block(text: str, unit: str, block: str) -> str:
    blocks = text.strip().split("\n\n")
    index = next(i for i, b in enumerate(blocks) if f"Id={unit}\n" in b)
    blocks[index] = block
    return "\n\n".join(blocks) + "\n"


def test_systemctl_bad_block_errors_only_checks_asking_for_that_unit(make_facts):
    show = systemctl_show(active=["chrony.service", "fail2ban.service"])
    assert_status(run("SYS-03", facts(make_facts, systemctl=show)), Status.PASS)
    marker = "● fail2ban.service - Fail2Ban Service\nId=fail2ban.service\nLoadState=loaded\nActiveState=active"
    unrelated = _with_block(show, "fail2ban.service", marker)
    assert_status(run("SYS-03", facts(make_facts, systemctl=unrelated)), Status.PASS)
    marker = "● chrony.service - chrony\nId=chrony.service\nLoadState=loaded\nActiveState=active"
    result = run("SYS-03", facts(make_facts, systemctl=_with_block(show, "chrony.service", marker)))
    assert_status(result, Status.ERROR)
    assert "chrony.service" in result.message


def test_systemctl_block_without_id_could_be_any_missing_unit(make_facts):
    show = systemctl_show(inactive=["systemd-timesyncd.service"])
    assert_status(run("SYS-03", facts(make_facts, systemctl=show)), Status.FAIL)
    anonymous = _with_block(show, "chrony.service", "LoadState=loaded\nActiveState=active")
    assert_status(run("SYS-03", facts(make_facts, systemctl=anonymous)), Status.ERROR)


# ----- ps -------------------------------------------------------------------------------------
def test_ps_bad_line_that_could_be_redis_is_an_error(make_facts):
    files = {"/etc/redis/redis.conf": (fixture("redis/hardened.conf"), 0o640)}
    assert_status(run("RDS-06", facts(make_facts, files=files)), Status.PASS)
    hidden = insert(PS_LAB, 5, "root 4100 /usr/bin/redis-server *:6379 --requirepass Zt8kq2LmW9pXv4r")
    result = run("RDS-06", facts(make_facts, files=files, ps=hidden))
    assert_status(result, Status.ERROR)
    assert "ps line 6" in result.message
    assert "Zt8kq2LmW9pXv4r" not in result.message + " ".join(result.evidence)
    harmless = insert(PS_LAB, 5, "root 4100 /usr/sbin/cron -f")
    assert_status(run("RDS-06", facts(make_facts, files=files, ps=harmless)), Status.PASS)


def test_ps_bad_line_is_still_scanned_for_secrets(make_facts):
    assert_status(run("SEC-03", facts(make_facts)), Status.PASS)
    leaked = insert(PS_LAB, 5, "root 4100 /usr/bin/psql postgresql://app:Zt8kq2LmW9pXv4r@db.internal/app")
    result = run("SEC-03", facts(make_facts, ps=leaked))
    assert_status(result, Status.FAIL)
    assert "ps line 6 (unparsed)" in result.message
    assert "Zt8kq2LmW9pXv4r" not in result.message + " ".join(result.evidence)
    assert_status(run("SEC-03", facts(make_facts, ps=insert(PS_LAB, 5, "root 4100 /usr/sbin/cron -f"))), Status.PASS)
