"""NET-07 judges each interface by the value the kernel acts on, not conf.all alone.

Kernel semantics (include/linux/inetdevice.h; net/ipv6/route.c rt6_do_redirect): an IPv4
interface that does not forward accepts redirects when conf.all OR conf.<iface> says so (AND
when it forwards); send_redirects and secure_redirects are OR; IPv6 reads only the interface's
own accept_redirects (none while it forwards); IPv4 forwarding is the receiving interface's flag.
The hardened fixture is what the baseline role leaves (its conf.* lines reach eth0); the stock
Debian kernel keeps eth0 at accept_redirects = 1 when only conf.all/default are set.
"""

from __future__ import annotations

from check_helpers import assert_status, fixture, lab_commands, run

from ansible_collections.rampart.hardening.plugins.module_utils.checks.network import NETWORK_SYSCTLS
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

HARDENED = fixture("sysctl/hardened.txt")


def sysctl_with(*changes: tuple[str, str]) -> str:
    """The hardened ``sysctl -a`` with lines replaced (each ``old`` must be there)."""
    text = HARDENED
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return text


def net07(make_facts, sysctl, **kwargs):
    return run("NET-07", make_facts(commands=lab_commands(sysctl=sysctl), **kwargs))


def test_hardened_interfaces_pass(make_facts):
    assert_status(net07(make_facts, HARDENED), Status.PASS)


def test_eth0_accepting_redirects_fails_although_conf_all_is_0(make_facts):
    """What roles/baseline left before: all/default = 0, eth0 = 1 (conf.all 0 OR eth0 1 = accepted)."""
    text = sysctl_with(("net.ipv4.conf.eth0.accept_redirects = 0", "net.ipv4.conf.eth0.accept_redirects = 1"))
    result = net07(make_facts, text)
    assert_status(result, Status.FAIL)
    assert "net.ipv4.conf.eth0.accept_redirects = 1" in result.message
    assert "conf.all 0 OR eth0 1" in result.message


def test_ipv6_redirects_read_the_interface_alone(make_facts):
    text = sysctl_with(("net.ipv6.conf.eth0.accept_redirects = 0", "net.ipv6.conf.eth0.accept_redirects = 1"))
    result = net07(make_facts, text)
    assert_status(result, Status.FAIL)
    assert "net.ipv6.conf.eth0.accept_redirects = 1" in result.message
    # An IPv6 interface that forwards ignores redirects whatever accept_redirects says.
    forwards = text.replace("net.ipv6.conf.eth0.forwarding = 0", "net.ipv6.conf.eth0.forwarding = 1")
    assert_status(net07(make_facts, forwards), Status.PASS)


def test_forwarding_interface_needs_both_for_redirects(make_facts):
    """On an interface that forwards the kernel ANDs conf.all with it: conf.all = 0 is enough."""
    text = sysctl_with(
        ("net.ipv4.conf.eth0.accept_redirects = 0", "net.ipv4.conf.eth0.accept_redirects = 1"),
        ("net.ipv4.conf.eth0.forwarding = 0", "net.ipv4.conf.eth0.forwarding = 1"),
    )
    declared = net07(make_facts, text, intent={"firewall": {"forwarding": True}})
    assert_status(declared, Status.PASS)


def test_one_interface_forwarding_fails_unless_declared(make_facts):
    """ip_forward = 0 but eth0.forwarding = 1: packets arriving on eth0 are routed (IN_DEV_FORWARD)."""
    text = sysctl_with(("net.ipv4.conf.eth0.forwarding = 0", "net.ipv4.conf.eth0.forwarding = 1"))
    result = net07(make_facts, text)
    assert_status(result, Status.FAIL)
    assert "net.ipv4.conf.eth0.forwarding = 1" in result.message
    assert_status(net07(make_facts, text, intent={"baseline": {"forwarding": True}}), Status.PASS)


def test_sending_redirects_on_one_interface_is_partial(make_facts):
    for param in ("send_redirects", "secure_redirects"):
        text = sysctl_with((f"net.ipv4.conf.eth0.{param} = 0", f"net.ipv4.conf.eth0.{param} = 1"))
        result = net07(make_facts, text)
        assert_status(result, Status.PARTIAL)
        assert f"net.ipv4.conf.eth0.{param} = 1" in result.message


def test_loopback_is_not_judged(make_facts):
    """Only this host's own packets arrive on lo: no router can redirect it there."""
    text = sysctl_with(
        ("net.ipv4.conf.lo.accept_redirects = 0", "net.ipv4.conf.lo.accept_redirects = 1"),
        ("net.ipv6.conf.lo.accept_redirects = 0", "net.ipv6.conf.lo.accept_redirects = 1"),
        ("net.ipv4.conf.lo.send_redirects = 0", "net.ipv4.conf.lo.send_redirects = 1"),
    )
    assert_status(net07(make_facts, text), Status.PASS)


def test_an_interface_with_a_dot_in_its_name(make_facts):
    """sysctl -a prints VLAN eth0.100 as net.ipv4.conf.eth0/100.*; the evidence names eth0.100."""
    vlan = "net.ipv4.conf.eth0/100.accept_redirects = 1\nnet.ipv4.conf.eth0/100.forwarding = 0\n"
    result = net07(make_facts, HARDENED + vlan)
    assert_status(result, Status.FAIL)
    assert "net.ipv4.conf.eth0.100.accept_redirects = 1" in result.message
    assert "on eth0.100" in result.message


def test_conf_all_1_still_fails_by_its_own_key(make_facts):
    text = sysctl_with(("net.ipv4.conf.all.accept_redirects = 0", "net.ipv4.conf.all.accept_redirects = 1"))
    result = net07(make_facts, text)
    assert_status(result, Status.FAIL)
    assert any(line.startswith("net.ipv4.conf.all.accept_redirects = 1") for line in result.evidence)
    assert any(line.startswith("net.ipv4.conf.eth0.accept_redirects = 0: ") for line in result.evidence)


# ----- malformed and unreadable ---------------------------------------------------------------
def test_a_non_numeric_interface_value_cannot_pass(make_facts):
    text = sysctl_with(("net.ipv4.conf.eth0.accept_redirects = 0", "net.ipv4.conf.eth0.accept_redirects = yes"))
    result = net07(make_facts, text)
    assert_status(result, Status.ERROR)
    assert "net.ipv4.conf.eth0.accept_redirects" in result.message


def test_an_unreadable_interface_key_cannot_pass(make_facts):
    text = sysctl_with(
        (
            "net.ipv6.conf.eth0.accept_redirects = 0\n",
            "sysctl: permission denied on key 'net.ipv6.conf.eth0.accept_redirects'\n",
        )
    )
    result = net07(make_facts, text)
    assert_status(result, Status.ERROR)
    assert "net.ipv6.conf.eth0.accept_redirects" in result.message
    # A real failure elsewhere still fails, and lists what could not be read.
    worse = text.replace("net.ipv4.conf.eth0.accept_redirects = 0", "net.ipv4.conf.eth0.accept_redirects = 1")
    result = net07(make_facts, worse)
    assert_status(result, Status.FAIL)
    assert any(item.startswith("unread: ") and "ipv6.conf.eth0" in item for item in result.evidence)


def _proc_sys(overrides: dict[str, str]) -> dict[str, str]:
    """/proc/sys files for the 17 keys NET-07 reads, hardened, plus per-interface overrides."""
    values = dict(line.split(" = ", 1) for line in HARDENED.splitlines() if " = " in line)
    files = {"/proc/sys/" + key.replace(".", "/"): values[key] + "\n" for key, _expected, _severe in NETWORK_SYSCTLS}
    files.update(overrides)
    return files


def test_without_sysctl_interfaces_come_from_proc_sys(make_facts):
    missing = (127, "", "sysctl: command not found")
    eth0 = {
        "/proc/sys/net/ipv4/conf/lo/accept_redirects": "1\n",  # never judged
        "/proc/sys/net/ipv6/conf/lo/accept_redirects": "1\n",
        "/proc/sys/net/ipv4/conf/eth0/accept_redirects": "1\n",
        "/proc/sys/net/ipv4/conf/eth0/forwarding": "0\n",
        "/proc/sys/net/ipv6/conf/eth0/accept_redirects": "0\n",
    }
    result = run("NET-07", make_facts(commands=lab_commands(sysctl=missing), files=_proc_sys(eth0)))
    assert_status(result, Status.FAIL)
    assert "net.ipv4.conf.eth0.accept_redirects = 1" in result.message
    fixed = {**eth0, "/proc/sys/net/ipv4/conf/eth0/accept_redirects": "0\n"}
    assert_status(run("NET-07", make_facts(commands=lab_commands(sysctl=missing), files=_proc_sys(fixed))), Status.PASS)


def test_without_any_interface_list_it_cannot_pass(make_facts):
    """/proc/sys answers the 17 keys but nothing lists an interface, not even lo (which every
    network namespace has): the interfaces were not looked at, so not a pass."""
    files = {k: v for k, v in _proc_sys({}).items() if "/conf/" not in k or "/conf/all/" in k or "/conf/default/" in k}
    missing = (127, "", "sysctl: command not found")
    result = run("NET-07", make_facts(commands=lab_commands(sysctl=missing), files=files))
    assert result.status is not Status.PASS
    assert_status(result, Status.ERROR)
    assert "interfaces" in result.message


def test_truncated_sysctl_output_without_lo_cannot_pass(make_facts):
    """sysctl -a cut off before the interface lines, /proc/sys not listable: not a pass."""
    cut = "".join(
        line for line in HARDENED.splitlines(keepends=True) if ".conf.eth0." not in line and ".conf.lo." not in line
    )
    result = net07(make_facts, cut)
    assert_status(result, Status.ERROR)
    assert "no list of interfaces under net.ipv4.conf" in result.message


def test_ipv6_disabled_at_boot_is_not_an_interface_error(make_facts):
    """No net.ipv6 keys at all (ipv6.disable=1): the IPv4 interfaces are judged, IPv6 has none."""
    text = "".join(line for line in HARDENED.splitlines(keepends=True) if not line.startswith("net.ipv6."))
    result = net07(make_facts, text)
    assert "no list of interfaces" not in result.message
    broken = text.replace("net.ipv4.conf.eth0.accept_redirects = 0", "net.ipv4.conf.eth0.accept_redirects = 1")
    assert "net.ipv4.conf.eth0.accept_redirects = 1" in net07(make_facts, broken).message
