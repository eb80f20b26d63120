"""Per-line degradation of the ss, sysctl, systemctl show, ps and nft parsers (issue #14).

Each lenient parser keeps the good records and names the lines it skipped; output with no good
line at all is still refused whole. Inputs are real-world spellings of each tool's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.nftables import (
    parse_ruleset,
    parse_ruleset_lenient,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sockets import parse_ss, parse_ss_lenient
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.sysctl import (
    parse_sysctl_lenient,
    unreadable_keys,
)
from ansible_collections.rampart.hardening.plugins.module_utils.parsers.system import (
    parse_ps_lenient,
    parse_systemctl_show,
    parse_systemctl_show_lenient,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def read(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")


# ----- ss -------------------------------------------------------------------------------------
SS_SPELLINGS = (
    'tcp   LISTEN 0      511          0.0.0.0:80         0.0.0.0:*    users:(("nginx",pid=1892,fd=5))\n'
    "tcp   LISTEN 0      4096         127.0.0.53%lo:53   0.0.0.0:*\n"  # no process column (not root)
    'tcp   LISTEN 0      128             [::]:22            [::]:*    users:(("sshd",pid=2355,fd=4))\n'
    "tcp   LISTEN 0      128                *:9100             *:*\n"  # dual-stack wildcard
    "tcp   LISTEN 0      244    [::ffff:127.0.0.1]:5432       *:*\n"
    "udp   UNCONN 0      0      [fe80::1%eth0]:546          [::]:*\n"
    "tcp6  LISTEN 0      128               :::8080            :::*\n"  # old ss: IPv6 without brackets
    'tcp   LISTEN 0      511          0.0.0.0:443        0.0.0.0:*    users:(("php-fpm: pool www",pid=7,fd=3))\n'
)


def test_ss_real_world_spellings():
    listeners = {item.endpoint: item for item in parse_ss(SS_SPELLINGS)}
    assert set(listeners) == {
        "tcp/0.0.0.0:80",
        "tcp/127.0.0.53:53",
        "tcp/[::]:22",
        "tcp/*:9100",
        "tcp/[::ffff:127.0.0.1]:5432",
        "udp/[fe80::1]:546",
        "tcp/[::]:8080",
        "tcp/0.0.0.0:443",
    }
    assert listeners["tcp/127.0.0.53:53"].is_loopback
    assert listeners["tcp/127.0.0.53:53"].process is None
    assert listeners["tcp/[::ffff:127.0.0.1]:5432"].is_loopback
    assert listeners["udp/[fe80::1]:546"].interface == "eth0"
    assert listeners["tcp/*:9100"].is_wildcard
    assert not listeners["tcp/*:9100"].is_loopback
    assert listeners["tcp/0.0.0.0:443"].process == "php-fpm: pool www"


def test_ss_without_netid_column():
    """``ss -Hltnp`` (one protocol) prints no Netid column: the state tells tcp from udp."""
    listeners = parse_ss("LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nUNCONN 0 0 0.0.0.0:123 0.0.0.0:*\n")
    assert [item.endpoint for item in listeners] == ["tcp/0.0.0.0:22", "udp/0.0.0.0:123"]


def test_ss_malformed_line_in_the_middle_keeps_the_others():
    lines = read("sockets/lab.txt").splitlines()
    bad = "tcp LISTEN 0 511 0.0.0.0:http 0.0.0.0:*"  # a port ss would never print by name with -n
    text = "\n".join([*lines[:2], bad, *lines[2:]]) + "\n"
    listeners, unparsed = parse_ss_lenient(text)
    assert len(listeners) == len([line for line in lines if line.strip()])
    assert [(u.number, u.text) for u in unparsed] == [(3, bad)]
    assert "0.0.0.0:http" in str(unparsed[0])
    with pytest.raises(ParseError, match="line 3"):
        parse_ss(text)


@pytest.mark.parametrize("text", ["Netid State Recv-Q Send-Q\n", "\x00garbage\nmore garbage\n"])
def test_ss_with_no_good_line_is_refused_whole(text):
    with pytest.raises(ParseError, match="no line could be parsed"):
        parse_ss_lenient(text)


# ----- sysctl ---------------------------------------------------------------------------------
def test_sysctl_spellings_and_permission_denied():
    text = (
        "kernel.randomize_va_space = 2\n"
        "net.ipv4.ip_forward=0\n"  # busybox / hand-written spelling without spaces
        "sysctl: permission denied on key 'fs.protected_regular'\n"
        "kernel.core_pattern = |/usr/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h\n"
        "this line is garbage\n"
        "net.ipv4.tcp_syncookies = 1\n"
    )
    values, unparsed = parse_sysctl_lenient(text)
    assert values["net.ipv4.ip_forward"] == "0"
    assert values["kernel.core_pattern"].startswith("|/usr/lib/systemd/systemd-coredump %P")
    assert values["net.ipv4.tcp_syncookies"] == "1"
    assert [(u.number, u.key) for u in unparsed] == [(3, "fs.protected_regular"), (5, None)]
    assert unparsed[0].reason == "permission denied"


def test_sysctl_stderr_names_unreadable_keys():
    stderr = (
        'sysctl: reading key "net.ipv6.conf.all.stable_secret"\n'
        "sysctl: permission denied on key 'vm.mmap_rnd_bits'\n"
        "some other warning\n"
    )
    assert [u.key for u in unreadable_keys(stderr)] == ["net.ipv6.conf.all.stable_secret", "vm.mmap_rnd_bits"]


def test_sysctl_lab_output_parses_whole():
    values, unparsed = parse_sysctl_lenient(read("sysctl/hardened.txt"))
    assert not unparsed
    assert values["net.ipv4.tcp_syncookies"] == "1"


# ----- systemctl show -------------------------------------------------------------------------
def test_systemctl_show_bad_block_is_named_by_its_id():
    blocks = read("systemd/show-lab.txt").strip().split("\n\n")
    broken = "● chrony.service - chrony, an NTP client/server\nId=chrony.service\nLoadState=loaded"
    text = "\n\n".join([blocks[0], broken, *blocks[1:]]) + "\n"
    units, unparsed = parse_systemctl_show_lenient(text)
    assert len(units) == len(blocks)
    assert [(u.number, u.key) for u in unparsed] == [(2, "chrony.service")]
    assert "●" in str(unparsed[0])


def test_systemctl_show_not_found_unit_and_block_without_id():
    text = (
        "Id=ntp.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n\n"
        "LoadState=loaded\nActiveState=active\n\n"
        "Id=ssh.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
    )
    units, unparsed = parse_systemctl_show_lenient(text)
    assert not units["ntp.service"].exists
    assert units["ssh.service"].active
    assert [(u.number, u.key, u.reason) for u in unparsed] == [(2, None, "missing Id")]
    with pytest.raises(ParseError, match="block 2"):
        parse_systemctl_show(text)


# ----- ps -------------------------------------------------------------------------------------
def test_ps_malformed_line_in_the_middle():
    lines = read("systemd/ps-lab.txt").splitlines()
    text = "\n".join([*lines[:3], "redis 3925 /usr/bin/redis-server *:6379", *lines[3:]]) + "\n"
    processes, unparsed = parse_ps_lenient(text)
    assert len(processes) == len([line for line in lines if line.strip()])
    assert [(u.number, u.text) for u in unparsed] == [(4, "redis 3925 /usr/bin/redis-server *:6379")]


def test_ps_process_without_args_is_fine():
    processes, unparsed = parse_ps_lenient("    0       1 /sbin/init\n  102     77\n")
    assert [(p.pid, p.args) for p in processes] == [(1, "/sbin/init"), (77, "")]
    assert not unparsed


# ----- nft ------------------------------------------------------------------------------------
def _default_drop() -> dict:
    return json.loads(read("firewall/default-drop.json"))


def test_nft_bad_item_in_the_middle_keeps_the_rest():
    document = _default_drop()
    items = document["nftables"]
    rule_at = next(i for i, item in enumerate(items) if "rule" in item)
    items.insert(rule_at + 1, {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": "oops"}})
    items.insert(rule_at + 2, {"rule": {"family": "inet", "table": "nope", "chain": "ghost", "expr": []}})
    good = parse_ruleset(read("firewall/default-drop.json"))
    rules, unparsed = parse_ruleset_lenient(json.dumps(document))
    assert rules.rule_count == good.rule_count
    assert [u.key for u in unparsed] == ["inet filter input", "inet nope ghost"]
    assert "unknown chain" in unparsed[1].reason
    with pytest.raises(ParseError):
        parse_ruleset(json.dumps(document))


def test_nft_text_format_is_refused_whole_with_a_reason():
    text = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n"
    with pytest.raises(ParseError, match="text format"):
        parse_ruleset_lenient(text)


def test_nft_document_with_nothing_usable_is_refused_whole():
    with pytest.raises(ParseError, match="no line could be parsed"):
        parse_ruleset_lenient('{"nftables": [{"metainfo": {"json_schema_version": 1}}, {"rule": {"family": 1}}]}')
