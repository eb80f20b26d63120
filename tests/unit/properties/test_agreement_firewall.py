"""The firewall role and the NET checks agree, for generated services, sources, sets and acceptances.

The role's ``validate.yml`` decides; for every accepted input ``rampart.nft.j2`` is rendered as
the role renders it and loaded by the real ``nft`` into a private network namespace
(``unshare -rn``), and ``nft -j list ruleset`` (the spelling the audit reads on a host) goes
through the fixture runner with the role's own intent document: NET-01, NET-02 and NET-05
must pass, and NET-04 must pass or be an accepted exception that names what was accepted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from harness import PROPERTY_SETTINGS, RoleRun, intent_of, named_variable, run_checks, validated
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible_collections.rampart.hardening.plugins.module_utils.engine import load_builtin_checks, run_check
from ansible_collections.rampart.hardening.plugins.module_utils.model import Status
from ansible_collections.rampart.hardening.plugins.module_utils.registry import get_check

CHECKS = ("NET-01", "NET-02", "NET-04", "NET-05")
REASON = "public read replica, TLS and SCRAM"
SETS = {"app": ["10.1.0.0/16", "fd00:1::/64"], "world": ["10.2.0.0/16", "0.0.0.0/0"], "empty": []}
SOURCES = ["10.0.0.0/8", "fd00::/8", "192.168.1.5", "0.0.0.0/0", "::/0", "128.0.0.0/1", "@app", "@world", "@empty"]
PORTS = [5432, 6379, 6380, 3306, 5671, 9440, 443, 8443, "5000-5500", "9000-9001"]
# Each example loads a ruleset with the real nft: fewer in ``make unit`` (CI time), all in ``make fuzz``.
FIREWALL_SETTINGS = (
    PROPERTY_SETTINGS
    if os.environ.get("RAMPART_FUZZ")
    else settings(PROPERTY_SETTINGS, max_examples=min(PROPERTY_SETTINGS.max_examples, 60))
)
MGMT = {"ports": [22], "any_source": False, "sources": {"v4": ["10.0.0.0/8"], "v6": []}, "controller": ""}


def _nft_in_a_namespace() -> bool:
    if shutil.which("nft") is None or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rn", "nft", "list", "ruleset"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _nft_in_a_namespace(), reason="needs nft and unprivileged network namespaces")

service = st.builds(
    lambda name, ports, sources: {
        "name": name,
        **({"ports": ports} if ports is not None else {}),
        **({"sources": sources} if sources is not None else {}),
    },
    st.sampled_from(["postgresql", "redis", "redis-tls", "https", "api", "mq"]),
    st.one_of(st.none(), st.lists(st.sampled_from(PORTS), min_size=1, max_size=2, unique=True)),
    st.one_of(st.none(), st.lists(st.sampled_from(SOURCES), max_size=2, unique=True)),
)


@st.composite
def firewall_input(draw: st.DrawFn) -> dict[str, Any]:
    services = draw(st.lists(service, max_size=3, unique_by=lambda s: s["name"]))
    names = [s["name"] for s in services] or ["postgresql"]
    accepted = draw(
        st.sampled_from(
            [
                {},
                {"NET-04": {"reason": REASON}},
                [{"check": "NET-04", "target": f"service:{names[0]}", "reason": REASON}],
                [{"check": "NET-04", "target": f"service:{n}", "reason": REASON} for n in names],
                [{"check": "NET-04", "target": "service:nosuch", "reason": REASON}],
            ]
        )
    )
    return {
        "rampart_firewall_services": services,
        "rampart_firewall_sets": SETS,
        "rampart_firewall_accepted_exceptions": accepted,
    }


def loaded_ruleset(text: str) -> str:
    """The rendered ruleset as the kernel holds it, in the JSON the audit reads."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rampart.nft"
        path.write_text(text, encoding="utf-8")
        script = f'nft -f "{path}" && nft -j list ruleset'
        done = subprocess.run(["unshare", "-rn", "sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"nft refused the role's ruleset: {done.stderr}\n{text}"
    return done.stdout


def intent_document(role: RoleRun) -> dict[str, Any]:
    return intent_of(role, "_intent")


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import lab_commands  # noqa: PLC0415

    nft = loaded_ruleset(role.render("rampart.nft.j2"))
    facts = make_facts(commands=lab_commands(nft=nft), intent={"firewall": intent_document(role)})
    return run_checks(facts, CHECKS)


def agree(make_facts, user: dict[str, Any]) -> dict[str, Any] | None:
    role = RoleRun("firewall", {**user, "_rampart_firewall_mgmt": MGMT, "_rampart_firewall_docker": False})
    if not validated(role):
        return None
    results = audit(make_facts, role)
    for check_id, result in results.items():
        if check_id == "NET-04" and result.status is Status.NOT_APPLICABLE:
            assert result.message.startswith("accepted exception (rampart_firewall_accepted_exceptions[NET-04]")
            assert REASON in result.message
            continue
        assert result.status is Status.PASS, (check_id, result.message, result.evidence)
    return results


@FIREWALL_SETTINGS
@given(user=firewall_input())
@example(user={"rampart_firewall_services": [{"name": "postgresql", "sources": ["@world"]}],
               "rampart_firewall_sets": SETS, "rampart_firewall_accepted_exceptions": {}})  # fmt: skip
def test_role_and_audit_agree(make_facts, user) -> None:
    agree(make_facts, user)


# ----- counterexamples, kept as regression tests ----------------------------------------------
@pytest.mark.parametrize("sources", [["@world"], ["@empty"], ["@app", "@world"]])
def test_a_set_holding_the_world_or_nothing_is_refused(make_facts, sources) -> None:
    # Found by the property: the role compared the "@set" names, not their members, with the
    # world, so {sources: ["@world"]} (a set holding 0.0.0.0/0) and an empty set (rendered as
    # "from anywhere") opened 5432 to every address, and NET-04 failed the converged host.
    user = {"rampart_firewall_services": [{"name": "postgresql", "sources": sources}], "rampart_firewall_sets": SETS}
    role = RoleRun("firewall", {**user, "_rampart_firewall_mgmt": MGMT, "_rampart_firewall_docker": False})
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables) == ("rampart_firewall_services[0].sources", sources)
    assert "NET-04" in refusals[0]


def test_acceptance_per_service_accepts_only_that_service(make_facts) -> None:
    user = {
        "rampart_firewall_services": [{"name": "postgresql"}, {"name": "redis-tls", "sources": ["::/0"]}],
        "rampart_firewall_sets": SETS,
        "rampart_firewall_accepted_exceptions": [{"check": "NET-04", "target": "service:postgresql", "reason": REASON}],
    }
    role = RoleRun("firewall", {**user, "_rampart_firewall_mgmt": MGMT, "_rampart_firewall_docker": False})
    refusals = role.validate()
    assert named_variable(refusals[0], role.variables) == ("rampart_firewall_services[1].sources", ["::/0"])
    user["rampart_firewall_services"] = user["rampart_firewall_services"][:1]
    results = agree(make_facts, user)
    assert results is not None
    assert results["NET-04"].status is Status.NOT_APPLICABLE
    assert "on service:postgresql" in results["NET-04"].message


def test_the_real_nft_spellings_of_the_world_fail_net04(make_facts) -> None:
    from check_helpers import fixture, lab_commands  # noqa: PLC0415

    # Captured from nft 1.0.6: prefix /0, a named set holding it, ::/0, a full range and an
    # anonymous set nft merged into 0.0.0.0/1, each on another data port.
    facts = make_facts(commands=lab_commands(nft=fixture("firewall/world-open-nft.json")))
    load_builtin_checks()
    result = run_check(get_check("NET-04"), facts)
    assert result.status is Status.FAIL
    for port in ("5432", "6379", "3306", "9000", "8123"):
        assert any(port in line and "from any source" in line for line in result.evidence), port
