"""The acme role and the certificate checks agree, for generated inputs.

Inputs come from the role's argument spec (certificates with per-entry key overrides, the
spec's key choices, the renewal window, the account settings) with valid, edge and
must-refuse values. The role's ``validate.yml`` decides. For every accepted input, each
certificate is made as certbot makes it from the role's own intent document (the key type,
curve and RSA size the role passes to certbot; 90-day lifetime; SHA-256), nginx serves it,
certbot's renewal conf carries the role's ``renew_before_expiry`` and the rendered deploy hook
sits in ``renewal-hooks/deploy``, and certbot.timer is in the state the role's own
``systemd_service`` task (renewal.yml) leaves it, with certbot.service not yet run. CRT-01
(expiry), CRT-04 (strength), CRT-05 (renewal scheduled) and CRT-06 (deploy hook) run on the
day it is issued and on the last day before certbot renews it: none may fail or be partial
(the role has no acknowledgement for certificates). Every refused input must name one
variable and its value.
"""

from __future__ import annotations

from typing import Any

from harness import RoleRun, bounded, intent_of, named_variable, run_checks, validated
from hypothesis import example, given
from hypothesis import strategies as st
from pki import issue

from ansible_collections.rampart.hardening.plugins.module_utils.model import Status

CHECKS = ("CRT-01", "CRT-04", "CRT-05", "CRT-06")
LIFETIME = 90  # Let's Encrypt (and pebble) certificates
CERT, KEY = "/etc/ssl/rampart/app.crt", "/etc/ssl/rampart/app.key"
LE = "/etc/letsencrypt"
NAMES = ["app.example.test", "www.example.test", "APP.example.test", "*.example.test", "10.0.0.5", "bad_name", "a..b"]
CURVES = ["secp256r1", "secp384r1"]
RSA_SIZES = [2048, 3072, 4096]
RENEWAL = """# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/{name}
cert = /etc/letsencrypt/live/{name}/cert.pem
privkey = /etc/letsencrypt/live/{name}/privkey.pem
fullchain = /etc/letsencrypt/live/{name}/fullchain.pem
renew_before_expiry = {days} days

[renewalparams]
account = 0123456789abcdef
authenticator = webroot
server = {server}
key_type = {key_type}
"""


@st.composite
def certificate(draw: st.DrawFn, valid: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "cert_name": draw(st.sampled_from(["app", "site.example-1"] if valid else ["app", "app", "-bad", "a/b"])),
        "names": draw(st.lists(st.sampled_from(NAMES[:2] if valid else NAMES), min_size=1, max_size=2, unique=True)),
    }
    key_type = draw(st.sampled_from([None, "ecdsa", "rsa"]))
    if key_type:
        entry["key_type"] = key_type
    if key_type == "ecdsa" or (not valid and draw(st.booleans())):
        entry["elliptic_curve"] = draw(st.sampled_from(CURVES))
    if key_type == "rsa" or (not valid and draw(st.booleans())):
        entry["rsa_key_size"] = draw(st.sampled_from(RSA_SIZES))
    return entry


@st.composite
def acme_input(draw: st.DrawFn) -> dict[str, Any]:
    valid = draw(st.booleans())
    certificates = draw(st.lists(certificate(valid), min_size=1 if valid else 0, max_size=2, unique_by=str))
    if valid:  # unique names, as the valid region needs
        certificates = [{**c, "cert_name": f"{c['cert_name']}{i}"} for i, c in enumerate(certificates)]
    window = st.integers(30, 60) if valid else st.one_of(st.integers(30, 60), st.integers(-1, 120))
    return {
        "rampart_acme_certificates": certificates,
        "rampart_acme_agree_tos": valid or draw(st.booleans()),
        "rampart_acme_key_type": draw(st.sampled_from(["ecdsa", "rsa"])),
        "rampart_acme_elliptic_curve": draw(st.sampled_from(CURVES)),
        "rampart_acme_rsa_key_size": draw(st.sampled_from(RSA_SIZES)),
        "rampart_acme_renew_before_expiry_days": draw(window),
        "rampart_acme_directory_url": draw(
            st.sampled_from(["https://acme-v02.api.letsencrypt.org/directory", "https://pebble:14000/dir"])
            if valid
            else st.sampled_from(["https://pebble:14000/dir", "http://pebble:14000/dir", "https://"])
        ),
        "rampart_acme_email": draw(st.sampled_from(["", "ops@example.test"] + ([] if valid else ["ops@", "a b@c.d"]))),
    }


def intent_document(role: RoleRun) -> dict[str, Any]:
    """The intent the role writes: the very expressions of its intent.yml task."""
    return intent_of(role, "intent")


def key_spec(entry: dict[str, Any]) -> str:
    """What certbot generates for ``--key-type ecdsa --elliptic-curve C`` / ``--rsa-key-size N``."""
    return entry["elliptic_curve"] if entry["key_type"] == "ecdsa" else str(entry["rsa_key_size"])


def audit(make_facts, role: RoleRun, entry: dict[str, Any], days_left: float) -> dict[str, Any]:
    intent = intent_document(role)
    name, server = entry["cert_name"], role.variables["rampart_acme_directory_url"]
    leaf, key, _ca = issue(key_spec(entry), LIFETIME, days_left, entry["names"])
    renewal = RENEWAL.format(
        name=name, days=intent["renewal"]["renew_before_expiry_days"], server=server, key_type=entry["key_type"]
    )
    tree = {
        CERT: leaf,
        KEY: (key, 0o600),
        f"{LE}/live/{name}/cert.pem": leaf,
        f"{LE}/renewal/{name}.conf": renewal,
        role.variables["_rampart_acme_deploy_hook"]: (role.render("deploy-hook-reload-nginx.sh.j2"), 0o755),
    }
    facts = nginx_with_intent(make_facts, tree, intent, renewal_units(role))
    return run_checks(facts, CHECKS)


def renewal_units(role: RoleRun) -> str:
    """``systemctl show`` of the lab after the role: certbot.timer as its renewal.yml task leaves it
    (started: active; anything else: loaded but inactive), certbot.service loaded and not yet run."""
    from check_helpers import HARDENED_UNITS, systemctl_show  # noqa: PLC0415

    module = "ansible.builtin.systemd_service"
    task = next(t for t in role.load_tasks("renewal.yml") if (t.get(module) or {}).get("name") == "certbot.timer")
    state = role.templar().template(task[module].get("state", ""))
    timer = ["certbot.timer"] if state in ("started", "restarted", "reloaded") else []
    inactive = ["certbot.service"] + ([] if timer else ["certbot.timer"])
    return systemctl_show(active=[*HARDENED_UNITS, *timer], inactive=inactive)


def nginx_with_intent(make_facts, tree: dict[str, Any], intent: dict[str, Any], systemctl: str | None = None) -> Any:
    """The hardened lab nginx (serving CERT/KEY) with the acme intent (and ``systemctl show`` when given)."""
    from check_helpers import LAB_PASSWD, NGINX_FILES, lab_commands  # noqa: PLC0415

    files = {**dict.fromkeys(NGINX_FILES, "# nginx config\n"), "/etc/passwd": LAB_PASSWD, **tree}
    commands = lab_commands(systemctl=systemctl) if systemctl else lab_commands()
    return make_facts(commands=commands, files=files, intent={"acme": intent})


@bounded(60)
@given(user=acme_input())
@example(
    user={
        "rampart_acme_certificates": [{"cert_name": "app", "names": ["app.example.test"], "rsa_key_size": 2048,
                                       "key_type": "rsa"}],
        "rampart_acme_agree_tos": True, "rampart_acme_key_type": "ecdsa", "rampart_acme_elliptic_curve": "secp384r1",
        "rampart_acme_rsa_key_size": 4096, "rampart_acme_renew_before_expiry_days": 30,
        "rampart_acme_directory_url": "https://pebble:14000/dir", "rampart_acme_email": "",
    }
)  # fmt: skip
def test_role_and_audit_agree(make_facts, user) -> None:
    role = RoleRun("acme", user)
    if not validated(role):
        return
    window = int(user["rampart_acme_renew_before_expiry_days"])
    for entry in intent_document(role)["certificates"]:
        # Issued today; and the last moment certbot keeps it (the renewal window, plus a
        # minute of slack for the clock running between issuing the fixture and the check).
        for moment in (LIFETIME, window + 0.001):
            for check_id, result in audit(make_facts, role, entry, moment).items():
                assert result.status is Status.PASS, (entry, moment, check_id, result.message, result.evidence)


def test_renewal_window_under_30_days_is_refused() -> None:
    # Counterexample: a window of 10 days was accepted (1..60); certbot then keeps the
    # certificate until 10 days are left and CRT-01 reports it (high under 14 days).
    role = RoleRun("acme", {"rampart_acme_renew_before_expiry_days": 10})
    refusals = role.validate()
    assert refusals
    assert named_variable(refusals[0], role.variables) == ("rampart_acme_renew_before_expiry_days", 10)
    assert "CRT-01" in refusals[0]
