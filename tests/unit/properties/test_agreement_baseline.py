"""The baseline role's sysctls and NET-07/SYS-02 agree, for generated overrides and forwarding.

The role's ``validate.yml`` decides; for every accepted input ``sysctl.conf.j2`` is rendered for
the network and the kernel file exactly as ``sysctl.yml`` renders them, applied over the lab
container's ``sysctl -a`` (later files win, as ``sysctl --system`` applies them), and NET-07 and
SYS-02 run through the fixture runner with the role's own intent: neither may fail or be partial.
LOG-03 is judged on the same intent: with no log host the role refuses unless
``rampart_baseline_accepted_exceptions`` accepts LOG-03 with a reason, and then the audit must
report that accepted exception (never a pass, never a failure).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from harness import PROPERTY_SETTINGS, RoleRun, intent_of, named_variable, run_checks, validated
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible_collections.rampart.hardening.plugins.module_utils.checks.network import NETWORK_SYSCTLS
from ansible_collections.rampart.hardening.plugins.module_utils.checks.ssh_system import KERNEL_SYSCTLS
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

CHECKS = ("NET-07", "SYS-02", "LOG-03")
ACCEPTED = {"LOG-03"}  # judged as accepted exceptions when the input accepts them
ACCEPT = {"reason": "no central log host yet"}
# The validation walks ~20 audited sysctls per input: fewer examples in ``make unit``, all in ``make fuzz``.
BASELINE_SETTINGS = (
    PROPERTY_SETTINGS
    if os.environ.get("RAMPART_FUZZ")
    else settings(PROPERTY_SETTINGS, max_examples=min(PROPERTY_SETTINGS.max_examples, 60))
)
LINE = re.compile(r"^([a-z0-9_.]+) = (.*)$")


def overrides(defaults: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The role's defaults with a few keys changed, left out, or added."""
    keys = sorted(defaults)
    return st.builds(
        lambda changed, dropped: {k: changed.get(k, v) for k, v in defaults.items() if k not in dropped},
        st.dictionaries(st.sampled_from(keys), st.sampled_from([0, 1, 2, "1", "0"]), max_size=2),
        st.lists(st.sampled_from(keys), max_size=1),
    )


@st.composite
def baseline_input(draw: st.DrawFn) -> dict[str, Any]:
    defaults = RoleRun("baseline").variables
    user: dict[str, Any] = {"rampart_baseline_forwarding": draw(st.sampled_from(["auto", True, False]))}
    # No log host (the default): accepted with a reason, or not (refused), or with a malformed acceptance.
    acceptance = draw(st.sampled_from([ACCEPT] * 5 + [None, {"reason": " "}, {}, "no mapping"]))
    if acceptance is not None:
        key = draw(st.sampled_from(["LOG-03"] * 4 + ["LOG-02"]))
        user["rampart_baseline_accepted_exceptions"] = {key: acceptance}
    if draw(st.booleans()):
        user["rampart_baseline_sysctl_network"] = draw(overrides(defaults["rampart_baseline_sysctl_network"]))
    if draw(st.booleans()):
        user["rampart_baseline_sysctl_kernel"] = draw(overrides(defaults["rampart_baseline_sysctl_kernel"]))
    return user


def applied(role: RoleRun) -> str:
    """The lab's ``sysctl -a`` after the role's two files (network, then kernel), line by line as
    ``sysctl -p`` applies them: a ``conf.*`` line sets that parameter on all, default and every
    interface, and forwarding written on ``all`` (``ip_forward`` is the same switch) is copied by
    the kernel to default and every interface (devinet.c inet_forward_change, addrconf.c)."""
    from check_helpers import fixture  # noqa: PLC0415

    values = dict(LINE.match(line).groups() for line in fixture("sysctl/lab.txt").splitlines() if LINE.match(line))
    files = (
        ("_rampart_baseline_net_wanted | combine(_rampart_baseline_net_globbed)"),
        ("rampart_baseline_sysctl_kernel"),
    )
    for wanted in files:
        extra = {"_rampart_baseline_sysctl_what": "test", "_rampart_baseline_sysctl_values": role.expr(wanted)}
        for line in role.render("sysctl.conf.j2", extra).splitlines():
            found = GLOB_LINE.match(line)
            if found:
                for key in _matching(values, found.group(1)):
                    values[key] = found.group(2)
    return "".join(f"{key} = {value}\n" for key, value in values.items())


GLOB_LINE = re.compile(r"^([a-z0-9_.*]+) = (.*)$")
FORWARDING = {
    "net.ipv4.ip_forward": re.compile(r"^net\.ipv4\.(ip_forward|conf\.[^.]+\.forwarding)$"),
    "net.ipv4.conf.all.forwarding": re.compile(r"^net\.ipv4\.(ip_forward|conf\.[^.]+\.forwarding)$"),
    "net.ipv6.conf.all.forwarding": re.compile(r"^net\.ipv6\.conf\.[^.]+\.forwarding$"),
}


def _matching(values: dict[str, str], pattern: str) -> list[str]:
    """The keys one line of a sysctl file writes (a ``*`` is one path component)."""
    if pattern in FORWARDING:
        return [key for key in values if FORWARDING[pattern].match(key)] or [pattern]
    if "*" not in pattern:
        return [pattern]
    glob = re.compile("^" + re.escape(pattern).replace(r"\*", "[^.]+") + "$")
    return [key for key in values if glob.match(key)]


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import lab_commands  # noqa: PLC0415

    intent = intent_of(role, "_intent")
    facts = make_facts(commands=lab_commands(sysctl=applied(role)), intent={"baseline": intent})
    return run_checks(facts, CHECKS)


def agree(make_facts, user: dict[str, Any]) -> None:
    routes = str(user.get("rampart_baseline_forwarding")).lower() == "true"
    role = RoleRun("baseline", {**user, "_rampart_baseline_routes": routes, "_rampart_baseline_container": False})
    if not validated(role):
        return
    for check_id, result in audit(make_facts, role).items():
        if check_id in ACCEPTED and check_id in role.variables["rampart_baseline_accepted_exceptions"]:
            assert result.status is Status.NOT_APPLICABLE, (check_id, result.message, result.evidence)
            assert result.message.startswith("accepted exception (rampart_baseline_accepted_exceptions["), result
        else:
            assert result.status is Status.PASS, (check_id, result.message, result.evidence)


@BASELINE_SETTINGS
@given(user=baseline_input())
@example(user={"rampart_baseline_forwarding": True, "rampart_baseline_accepted_exceptions": {"LOG-03": ACCEPT}})
@example(user={"rampart_baseline_forwarding": "auto"})  # the default: refused (LOG-03)
def test_role_and_audit_agree(make_facts, user) -> None:
    agree(make_facts, user)


def test_the_role_table_is_the_checks_table() -> None:
    """The values the role refuses are exactly what NET-07 and SYS-02 judge (forwarding aside)."""
    role = RoleRun("baseline")
    network = {k: sorted(v) for k, v, _severe in NETWORK_SYSCTLS if "forward" not in k}
    assert {k: sorted(v) for k, v in role.expr("_rampart_baseline_audited_network").items()} == network
    kernel = {k: sorted(v) for k, v in KERNEL_SYSCTLS}
    assert {k: sorted(v) for k, v in role.expr("_rampart_baseline_audited_kernel").items()} == kernel


# ----- counterexamples found by the property above, kept as regression tests ------------------
NET = "rampart_baseline_sysctl_network"
KERNEL = "rampart_baseline_sysctl_kernel"


@pytest.mark.parametrize(
    ("variable", "change", "key"),
    [
        # NET-07 fails redirects accepted: the role wrote accept_redirects = 1
        (NET, {"net.ipv4.conf.all.accept_redirects": 1}, "net.ipv4.conf.all.accept_redirects"),
        # NET-07 is partial with rp_filter off
        (NET, {"net.ipv4.conf.default.rp_filter": "0"}, "net.ipv4.conf.default.rp_filter"),
        # a key left out of the user's dict kept Debian's default (default.accept_redirects = 1)
        (NET, {"net.ipv4.conf.default.accept_redirects": None}, "net.ipv4.conf.default.accept_redirects"),
        # SYS-02 fails ASLR off: the role wrote randomize_va_space = 0
        (KERNEL, {"kernel.randomize_va_space": 0}, "kernel.randomize_va_space"),
    ],
)
def test_counterexamples_are_refused_by_name(variable, change, key) -> None:
    merged = {**RoleRun("baseline").variables[variable], **change}
    role = RoleRun("baseline", {variable: {k: v for k, v in merged.items() if v is not None}})
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables)[0] == f"{variable}['{key}']"
    assert re.search(r"NET-07|SYS-02", refusals[0])
