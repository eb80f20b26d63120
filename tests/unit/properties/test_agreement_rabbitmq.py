"""The rabbitmq role and ODB-01/ODB-04 agree, for generated inputs.

Inputs come from the role's argument spec (AMQPS listen addresses and port, TLS versions and
cipher suites, the management listener, the Erlang distribution address, accepted exceptions)
with valid, edge and must-refuse values. The role's ``validate.yml`` decides. For every accepted
input ``rabbitmq.conf.j2`` and ``advanced.config.j2`` are rendered as the role renders them, the
listening sockets are the ones that configuration opens (AMQPS on each listen address, management
HTTPS when enabled, epmd on the role's epmd addresses, the distribution port), the guest user is
gone and the cookie is 0400 (what the role converges), the intent is the role's own
``__rampart_rabbitmq_intent``, and ODB-01 and ODB-04 run through the fixture runner: neither may
fail or be partial unless the input accepts that check. Every refused input must name one variable
and its value.
"""

from __future__ import annotations

import json
from typing import Any

from harness import RoleRun, assert_agrees, bounded, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st

CHECKS = ("ODB-01", "ODB-04")
REASON = {"reason": "broker behind the partner VPN"}
ADDRESSES = ["127.0.0.1", "::1", "10.89.5.2", "192.168.7.7", "fd00::5", "0.0.0.0", "::", "8.8.8.8"]
STRONG = ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
          "ECDHE-RSA-CHACHA20-POLY1305"]  # fmt: skip
WEAK = ["ECDHE-RSA-AES128-SHA", "AES256-GCM-SHA384", "DES-CBC3-SHA"]
LIST_USERS = ("rabbitmqctl", "-q", "list_users", "--formatter", "json")


@st.composite
def rabbitmq_input(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "rampart_rabbitmq_listen_addresses": draw(
            st.one_of(
                st.lists(st.sampled_from(ADDRESSES[:5]), min_size=1, max_size=3, unique=True),
                st.lists(st.sampled_from(ADDRESSES), max_size=3, unique=True),
            )
        ),
        "rampart_rabbitmq_tls_versions": draw(
            st.sampled_from(
                [["TLSv1.3", "TLSv1.2"]] * 3 + [["TLSv1.2"], ["TLSv1.3"], ["TLSv1.2", "TLSv1.1"], ["tlsv1"], []]
            )
        ),
        "rampart_rabbitmq_tls_ciphers": draw(
            st.one_of(
                st.tuples(
                    st.lists(st.sampled_from(STRONG[:2]), min_size=1, max_size=2, unique=True),
                    st.lists(st.sampled_from(STRONG[2:]), min_size=1, max_size=2, unique=True),
                ).map(lambda pair: pair[0] + pair[1]),
                st.lists(st.sampled_from(STRONG + WEAK), max_size=3, unique=True),
            )
        ),
        "rampart_rabbitmq_management_enabled": draw(st.booleans()),
        "rampart_rabbitmq_management_address": draw(st.sampled_from(["127.0.0.1", "10.89.5.2", "0.0.0.0", "8.8.8.8"])),
        "rampart_rabbitmq_distribution_address": draw(
            st.sampled_from(["127.0.0.1", "10.89.5.2", "0.0.0.0", "8.8.8.8"])
        ),
        "rampart_rabbitmq_accepted_exceptions": draw(
            st.sampled_from(
                [{}, {}, {}, {"ODB-01": REASON}, {"ODB-01": REASON}, {"ODB-04": REASON}, {"ODB-01": {"reason": ""}}]
            )
        ),
    }


def listener(address: str, port: int) -> str:
    shown = f"[{address}]" if ":" in address else address
    return f"tcp LISTEN 0      128    {shown}:{port} 0.0.0.0:*\n"


def sockets(role: RoleRun) -> str:
    """The listening sockets the rendered configuration opens (ss -Hltnup lines)."""
    variables = role.variables
    lines = [
        listener(a, int(variables["rampart_rabbitmq_tls_port"])) for a in variables["rampart_rabbitmq_listen_addresses"]
    ]
    if variables["rampart_rabbitmq_management_enabled"]:
        lines.append(
            listener(
                variables["rampart_rabbitmq_management_address"], int(variables["rampart_rabbitmq_management_port"])
            )
        )
    lines += [listener(a, 4369) for a in role.expr("__rampart_rabbitmq_epmd_addresses")]
    lines.append(listener(variables["rampart_rabbitmq_distribution_address"], 25672))
    return "".join(lines)


def audit(make_facts, role: RoleRun) -> dict[str, Any]:
    from check_helpers import fixture, lab_commands, systemctl_show  # noqa: PLC0415

    files = {
        "/etc/rabbitmq/rabbitmq.conf": (role.render("rabbitmq.conf.j2"), 0o640),
        "/etc/rabbitmq/advanced.config": (role.render("advanced.config.j2"), 0o640),
        "/var/lib/rabbitmq/.erlang.cookie": ("COOKIE", 0o400),
    }
    commands = lab_commands(systemctl=systemctl_show(active=["rabbitmq-server.service"]), ss=sockets(role))
    commands[LIST_USERS] = fixture("rabbitmq/list_users.json")  # the role deletes guest
    intent = json.loads(json.dumps(role.expr("__rampart_rabbitmq_intent")))
    facts = make_facts(commands=commands, files=files, intent={"rabbitmq": intent})
    return run_checks(facts, CHECKS)


@bounded(80)
@given(user=rabbitmq_input())
@example(
    user={
        "rampart_rabbitmq_listen_addresses": ["127.0.0.1", "10.89.5.2"],
        "rampart_rabbitmq_tls_versions": ["TLSv1.3", "TLSv1.2"],
        "rampart_rabbitmq_tls_ciphers": STRONG,
        "rampart_rabbitmq_management_enabled": True,
        "rampart_rabbitmq_management_address": "10.89.5.2",
        "rampart_rabbitmq_distribution_address": "10.89.5.2",
        "rampart_rabbitmq_accepted_exceptions": {},
    }
)
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("rabbitmq", user)
    if not validated(role):
        return
    assert_agrees(audit(make_facts, role), accepted=user["rampart_rabbitmq_accepted_exceptions"])
