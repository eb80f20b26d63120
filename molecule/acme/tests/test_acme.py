"""Real ACME issuance against Pebble, seen from outside and from the proxy host.

The CA container (Pebble + challtestsrv) doubles as the outside client: it reaches the
proxy over the lab network exactly as a browser would, by SNI on port 443.
State at this point (see side_effect.yml): www was issued, expanded with
static.rampart.test, then renewed by certbot.service; api was issued once (RSA 3072);
ghost and the unresolvable expansion failed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from labhosts import lab_host, must_run

LAB = yaml.safe_load((Path(__file__).resolve().parents[1] / "vars" / "lab.yml").read_text())
PROXY = lab_host(LAB["acme_lab_proxy"])
CLIENT = lab_host(LAB["acme_lab_ca"])
CA_BUNDLE = LAB["acme_lab_ca_bundle_path"]
WWW_NAMES = LAB["acme_lab_expanded_www"]
API_NAMES = LAB["acme_lab_certificates"][1]["names"]
SERVED = dict.fromkeys(WWW_NAMES, "www") | dict.fromkeys(API_NAMES, "api")
ROOT = "/tmp/pebble-root.pem"
CERTBOT_ENV = "REQUESTS_CA_BUNDLE=/etc/rampart/acme/acme-server-ca.pem"
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@cache
def served_chain(name: str) -> tuple[x509.Certificate, ...]:
    """The certificates the proxy sends for SNI ``name`` (leaf first)."""
    out = must_run(
        CLIENT,
        f"openssl s_client -connect {LAB['acme_lab_proxy']}:443 -servername {name} -showcerts </dev/null 2>/dev/null",
    )
    return tuple(x509.load_pem_x509_certificate(block.encode()) for block in PEM.findall(out))


def on_disk(path: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(must_run(PROXY, f"cat {path}").encode())


def sans(cert: x509.Certificate) -> set[str]:
    extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return set(extension.value.get_values_for_type(x509.DNSName))


@pytest.fixture(scope="module")
def pebble_root() -> x509.Certificate:
    """Pebble's root, from its management API (it is random for every Pebble start)."""
    pem = must_run(CLIENT, f"curl -fsS --cacert {CA_BUNDLE} https://localhost:15000/roots/0 -o {ROOT} && cat {ROOT}")
    return x509.load_pem_x509_certificate(pem.encode())


@pytest.mark.parametrize("name", sorted(SERVED))
def test_served_certificate_chains_to_pebble_root_for_every_name(name: str, pebble_root: x509.Certificate) -> None:
    assert "Pebble" in pebble_root.subject.rfc4514_string()
    # openssl verifies the served chain against Pebble's root only, and the name against the SANs.
    result = CLIENT.run(
        f"openssl s_client -connect {LAB['acme_lab_proxy']}:443 -servername {name} -CAfile {ROOT} "
        f"-verify_return_error -verify_hostname {name} </dev/null"
    )
    assert result.rc == 0, result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout
    assert name in sans(served_chain(name)[0])


def test_certificates_cover_exactly_the_declared_names() -> None:
    assert sans(served_chain(WWW_NAMES[0])[0]) == set(WWW_NAMES)
    assert sans(served_chain(API_NAMES[0])[0]) == set(API_NAMES)


def test_key_types_are_as_declared() -> None:
    www_key = served_chain(WWW_NAMES[0])[0].public_key()
    assert isinstance(www_key, ec.EllipticCurvePublicKey)
    assert www_key.curve.name == "secp256r1"
    api_key = served_chain(API_NAMES[0])[0].public_key()
    assert isinstance(api_key, rsa.RSAPublicKey)
    assert api_key.key_size == 3072


@pytest.mark.parametrize("lineage", ["www", "api"])
def test_served_certificate_is_the_one_on_disk(lineage: str) -> None:
    # www was renewed by certbot.service after the role ran: only the deploy hook reloaded nginx.
    name = next(n for n, lin in SERVED.items() if lin == lineage)
    disk = on_disk(f"/etc/letsencrypt/live/{lineage}/cert.pem")
    assert served_chain(name)[0].fingerprint(hashes.SHA256()) == disk.fingerprint(hashes.SHA256())
    # nginx reads the rampart paths, which are links to certbot's live/ files.
    for item in ("fullchain.pem", "privkey.pem"):
        link = f"/etc/rampart/tls/{lineage}/{item}"
        assert PROXY.file(link).is_symlink
        assert must_run(PROXY, f"readlink {link}").strip() == f"/etc/letsencrypt/live/{lineage}/{item}"


def test_issuance_count_issue_expand_renew_and_nothing_more() -> None:
    # www: issued (converge), expanded (side effect), renewed (certbot.service).
    # api: issued once; the idempotence run and later role runs issued nothing new.
    listing = must_run(PROXY, "cd /etc/letsencrypt/archive && ls www api").split()
    assert sorted(f for f in listing if f.startswith("cert")) == ["cert1.pem", "cert1.pem", "cert2.pem", "cert3.pem"]


def test_deploy_hook_reloaded_nginx_after_the_timer_renewal() -> None:
    log = must_run(PROXY, "journalctl -t rampart-acme --no-pager -o cat")
    assert "reloaded nginx for /etc/letsencrypt/live/www" in log
    assert PROXY.file("/etc/letsencrypt/renewal-hooks/deploy/50-rampart-reload-nginx").mode == 0o755


def test_renew_dry_run_succeeds() -> None:
    out = must_run(
        PROXY,
        f"env {CERTBOT_ENV} certbot renew --dry-run --non-interactive --no-random-sleep-on-renew "
        f"--server {LAB['acme_lab_directory_url']} 2>&1",
    )
    assert "all simulated renewals succeeded" in out
    assert "live/www/fullchain.pem (success)" in out
    assert "live/api/fullchain.pem (success)" in out


def test_renewal_is_the_distro_timer_not_cron() -> None:
    assert PROXY.service("certbot.timer").is_enabled
    assert PROXY.service("certbot.timer").is_running
    # certbot.service trusts the ACME server's CA through the role's drop-in.
    env = must_run(PROXY, "systemctl show certbot.service -p Environment")
    assert "REQUESTS_CA_BUNDLE=/etc/rampart/acme/acme-server-ca.pem" in env
    # The only cron entry is the distro's, which stands down when systemd runs.
    cron = must_run(PROXY, "grep -rls certbot /etc/cron* /var/spool/cron 2>/dev/null || true").split()
    assert cron == ["/etc/cron.d/certbot"]
    assert "! -d /run/systemd/system" in PROXY.file("/etc/cron.d/certbot").content_string


def test_key_and_directory_permissions() -> None:
    for directory in ("accounts", "archive", "live"):
        item = PROXY.file(f"/etc/letsencrypt/{directory}")
        assert (item.mode, item.user, item.group) == (0o700, "root", "root"), directory
    keys = must_run(PROXY, "find /etc/letsencrypt/archive -name 'privkey*.pem' -printf '%m %u %p\\n'").splitlines()
    assert len(keys) == 4
    assert all(line.startswith("600 root ") for line in keys), keys


def test_private_key_matches_the_served_certificate() -> None:
    key = serialization.load_pem_private_key(must_run(PROXY, "cat /etc/rampart/tls/www/privkey.pem").encode(), None)
    served = served_chain(WWW_NAMES[0])[0].public_key()
    assert key.public_key() == served


def test_intent_records_names_ca_key_type_and_renewal() -> None:
    intent_file = PROXY.file("/etc/rampart/intent/acme.json")
    assert (intent_file.mode, intent_file.user) == (0o600, "root")
    intent = json.loads(intent_file.content_string)
    assert intent["directory_url"] == LAB["acme_lab_directory_url"]
    assert intent["external_account_binding"] is True
    assert intent["renewal"]["scheduler"] == "certbot.timer"
    assert intent["renewal"]["renew_before_expiry_days"] == 30
    certs = {c["cert_name"]: c for c in intent["certificates"]}
    assert certs["www"]["names"] == WWW_NAMES
    assert (certs["www"]["key_type"], certs["www"]["elliptic_curve"]) == ("ecdsa", "secp256r1")
    assert (certs["api"]["key_type"], certs["api"]["rsa_key_size"]) == ("rsa", 3072)


def test_failed_names_left_the_placeholder_and_nginx_serving(pebble_root: x509.Certificate) -> None:
    # ghost.rampart.test never resolved to the proxy: no lineage, the placeholder is still
    # served, and nginx kept serving every site.
    assert PROXY.service("nginx").is_running
    assert not PROXY.file("/etc/letsencrypt/live/ghost").exists
    ghost = served_chain(LAB["acme_lab_ghost"]["names"][0])[0]
    assert ghost.issuer == ghost.subject  # self-signed placeholder
    assert not PROXY.file("/etc/rampart/tls/ghost/fullchain.pem").is_symlink
    # The failed expansion with an unresolvable name left www as it was.
    assert LAB["acme_lab_unresolvable"] not in sans(served_chain(WWW_NAMES[0])[0])
    # A real HTTPS client that trusts only Pebble's root still completes requests.
    address = must_run(CLIENT, f"getent hosts {LAB['acme_lab_proxy']}").split()[0]
    code = must_run(
        CLIENT,
        f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert {ROOT} "
        f"--resolve {WWW_NAMES[1]}:443:{address} https://{WWW_NAMES[1]}/",
    )
    assert code.isdigit(), code
    assert int(code) < 500, code
