"""The internal_ca role and the certificate checks agree, for generated inputs.

The role's ``validate.yml`` decides. For every accepted input a real certificate is made with
``cryptography`` (pki.py) the way the role makes it (community.crypto: ECC = P-256, RSA = 3072 bits,
SHA-256, ``ownca_not_after: +<cert_validity_days>d``, key file with the role's mode and group),
nginx serves it for the names it was issued for, and CRT-01 (expiry), CRT-03 (chain and names),
CRT-04 (key, hash, lifetime) and CRT-07 (key file mode) run through the fixture runner twice:
on the day it is issued and on the last day before the role re-issues it (``renew_days``
left). None may fail or be partial: the role has no acknowledgement for certificates. The CA
is private by design (not in the system bundle): CRT-03 trusts it because the calling role's
intent declares it, as the postgresql role declares the CA it has internal_ca install
(``tls.ca_file``, rendered from its intent.yml). Every refused input must name one variable
and its value.
"""

from __future__ import annotations

import json
import os
from typing import Any

from harness import RoleRun, bounded, intent_of, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st
from pki import issue

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

CHECKS = ("CRT-01", "CRT-03", "CRT-04", "CRT-07")
CERT, KEY, CA = "/etc/ssl/rampart/app.crt", "/etc/ssl/rampart/app.key", "/etc/ssl/rampart/ca.crt"
GROUPS = {"root": 0, "staff": 50, "users": 100, "ssl-cert": 112, "postgres": 110, "redis": 111}
GROUP_FILE = "".join(f"{name}:x:{gid}:\n" for name, gid in GROUPS.items())
MODES = ["0600", "600", "0400", "0640", "640", "0660", "0644", "0700", "0750", "0620", "0604", "0000", "0440"]
SANS = ["DNS:app.example.test", "IP:10.0.2.10", "IP:fd00::5", "DNS:lab-host", "app.example.test", "DNS:a..b", "IP:1.2"]
DAYS = [1, 13, 14, 29, 30, 31, 90, 397, 398, 399, 400, 825, 3650]

# Half of the draws near the valid region (so many inputs are accepted and audited), half anywhere.
modes = st.one_of(
    st.sampled_from(["0600", "600", "0400", "0640"]),
    st.sampled_from(MODES),
    st.integers(0, 0o777).map("0{:03o}".format),
)
renew_days = st.one_of(st.integers(30, 120), st.integers(30, 120), st.sampled_from(DAYS), st.integers(1, 900))
lifetimes = st.one_of(st.integers(31, 398), st.integers(31, 398), st.sampled_from(DAYS), st.integers(1, 900))


@st.composite
def valid_input(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs from the region the role should accept, edges included."""
    renew = draw(st.integers(30, 200))
    return {
        "rampart_internal_ca_cert_path": CERT,
        "rampart_internal_ca_key_path": KEY,
        "rampart_internal_ca_ca_path": CA,
        "rampart_internal_ca_key_type": draw(st.sampled_from(["ECC", "RSA"])),
        "rampart_internal_ca_key_mode": draw(st.sampled_from(["0600", "600", "0400", "0000", "0640", "0700"])),
        "rampart_internal_ca_group": draw(st.sampled_from(sorted(GROUPS))),
        "rampart_internal_ca_renew_days": renew,
        "rampart_internal_ca_cert_validity_days": draw(st.integers(renew + 1, 398)),
        "rampart_internal_ca_validity_days": draw(st.sampled_from([3650, 399])),
    }


@st.composite
def any_input(draw: st.DrawFn) -> dict[str, Any]:
    user: dict[str, Any] = {
        "rampart_internal_ca_cert_path": CERT,
        "rampart_internal_ca_key_path": draw(st.sampled_from([KEY] * 8 + [CERT, "app.key"])),
        "rampart_internal_ca_ca_path": draw(st.sampled_from([CA] * 8 + [KEY, CERT])),
        "rampart_internal_ca_key_type": draw(st.sampled_from(["ECC", "RSA"])),
        "rampart_internal_ca_key_mode": draw(modes),
        "rampart_internal_ca_group": draw(st.sampled_from(sorted(GROUPS))),
        "rampart_internal_ca_renew_days": draw(renew_days),
        "rampart_internal_ca_cert_validity_days": draw(lifetimes),
        "rampart_internal_ca_validity_days": draw(st.sampled_from([3650, 400, 90])),
    }
    if draw(st.integers(0, 3)) == 0:
        user["rampart_internal_ca_subject_alt_names"] = draw(st.lists(st.sampled_from(SANS), max_size=3))
    return user


ca_input = st.one_of(valid_input(), any_input())


def audit(make_facts, role: RoleRun, days_left: float) -> dict[str, Any]:
    from check_helpers import nginx_facts  # noqa: PLC0415

    variables = role.variables
    sans = list(role.expr("rampart_internal_ca_subject_alt_names"))
    # community.crypto: ECC is P-256, RSA is 3072 bits (tasks/issue.yml).
    spec = "ECC" if variables["rampart_internal_ca_key_type"] == "ECC" else "3072"
    leaf, key, ca = issue(spec, int(variables["rampart_internal_ca_cert_validity_days"]), days_left, sans)
    mode = int(variables["rampart_internal_ca_key_mode"], 8)
    files = {CERT: leaf, KEY: (key, mode), CA: ca, "/etc/group": GROUP_FILE, DECLARED: declared_ca()}
    facts = nginx_facts(make_facts, text=served_for(sans), files=files)
    os.chown(facts.host_path(KEY), 0, GROUPS[variables["rampart_internal_ca_group"]])
    return run_checks(facts, CHECKS)


DECLARED = "/etc/rampart/intent/postgresql.json"


def declared_ca() -> str:
    """The postgresql role's intent (its ``tls`` part, as its intent.yml renders it) when it has
    internal_ca install its CA at CA (rampart_postgresql_tls_dir = the directory of CA)."""
    role = RoleRun("postgresql", {"rampart_postgresql_tls_dir": os.path.dirname(CA)})
    tls = intent_of(role, "__rampart_postgresql_intent")["tls"]
    assert tls["ca_file"] == CA, tls
    return json.dumps({"role": "postgresql", "tls": tls})


def served_for(sans: list[str]) -> str:
    """The hardened nginx config with its TLS server named for the certificate's DNS names."""
    from check_helpers import HARDENED, replace  # noqa: PLC0415

    names = [n.removeprefix("DNS:") for n in sans if not n.startswith("IP:")] or ["_"]
    return replace("server_name app.example.test www.example.test;", f"server_name {' '.join(names)};")(HARDENED)


@bounded(50)
@given(user=ca_input)
@example(user={"rampart_internal_ca_cert_path": CERT, "rampart_internal_ca_key_path": KEY,
               "rampart_internal_ca_ca_path": CA, "rampart_internal_ca_key_type": "RSA",
               "rampart_internal_ca_key_mode": "0640", "rampart_internal_ca_group": "ssl-cert",
               "rampart_internal_ca_renew_days": 30, "rampart_internal_ca_cert_validity_days": 398,
               "rampart_internal_ca_validity_days": 3650})  # fmt: skip
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("internal_ca", user)
    if not validated(role):
        return
    lifetime, renew = user["rampart_internal_ca_cert_validity_days"], user["rampart_internal_ca_renew_days"]
    # Issued today; and the last moment the role keeps it (renew_days left, plus a minute of
    # slack for the clock running between issuing the fixture and the check).
    for moment in (lifetime, renew + 0.001):
        for check_id, result in audit(make_facts, role, moment).items():
            assert result.status is Status.PASS, (moment, check_id, result.message, result.evidence)


# Counterexamples of the property, each refused now and naming its variable.
def refused(user: dict[str, Any]) -> tuple[str, Any]:
    base = {
        "rampart_internal_ca_cert_path": CERT,
        "rampart_internal_ca_key_path": KEY,
        "rampart_internal_ca_ca_path": CA,
    }
    role = RoleRun("internal_ca", {**base, **user})
    refusals = role.validate()
    assert refusals, user
    return named_variable(refusals[0], role.variables)


def test_key_mode_open_to_group_is_refused() -> None:
    # 0660 / 0750 / 0620 passed the old rule ("nothing to others"); CRT-07 failed the key.
    for mode in ("0660", "0750", "0620"):
        assert refused({"rampart_internal_ca_key_mode": mode}) == ("rampart_internal_ca_key_mode", mode)


def test_key_mode_0640_needs_a_dedicated_group() -> None:
    # 0640 root:root was accepted; CRT-07 accepts 0640 only to a dedicated group.
    assert refused({"rampart_internal_ca_key_mode": "0640"}) == ("rampart_internal_ca_key_mode", "0640")
    role = RoleRun(
        "internal_ca",
        {"rampart_internal_ca_cert_path": CERT, "rampart_internal_ca_key_path": KEY, "rampart_internal_ca_ca_path": CA,
         "rampart_internal_ca_key_mode": "0640", "rampart_internal_ca_group": "ssl-cert"},
    )  # fmt: skip
    assert role.validate() == []


def test_lifetime_over_398_days_is_refused() -> None:
    # cert_validity_days 825 was accepted (it only had to exceed renew_days); CRT-04 failed it.
    assert refused({"rampart_internal_ca_cert_validity_days": 825}) == ("rampart_internal_ca_cert_validity_days", 825)


def test_renewal_margin_under_30_days_is_refused() -> None:
    # renew_days 10 was accepted; the certificate then lives with 10 days left and CRT-01 fails it.
    assert refused({"rampart_internal_ca_renew_days": 10}) == ("rampart_internal_ca_renew_days", 10)
