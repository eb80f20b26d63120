"""PEM certificate and DH parameter parsing with cryptography."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checks"))
from check_helpers import make_cert

from ansible_collections.rampart.hardening.plugins.module_utils.facts import ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import x509 as parser


def test_chain_details_and_issuer_verification():
    ca_pem, _unused, ca = make_cert(names=(), days_left=3000, lifetime=3650)
    leaf_pem, _unused, _unused = make_cert(
        names=("app.example.test", "*.api.example.test"), issuer=ca, ocsp="http://ocsp.test"
    )
    leaf, root = parser.parse_pem_chain(leaf_pem + ca_pem)
    assert leaf.sans == ["app.example.test", "*.api.example.test"]
    assert (leaf.key_type, leaf.curve, leaf.signature_hash) == ("EC", "secp256r1", "sha256")
    assert leaf.ocsp_urls == ["http://ocsp.test"]
    assert root.is_ca
    assert root.self_signed
    assert not leaf.self_signed
    assert 59 < leaf.days_left() <= 60
    assert round(leaf.lifetime_days) == 90
    assert len(leaf.fingerprint_sha256) == 64
    assert parser.issued_by(leaf, root)
    other_pem, _unused, _unused = make_cert(names=(), days_left=3000, lifetime=3650)
    (other,) = parser.parse_pem_chain(other_pem)
    assert not parser.issued_by(leaf, other)
    same_name = parser.find_subjects(other_pem + ca_pem, root.subject)  # both CAs are called CN=ca
    assert len(same_name) == 2
    assert [parser.issued_by(leaf, candidate) for candidate in same_name] == [False, True]


def test_rsa_key_facts():
    pem, _unused, _unused = make_cert(key="2048")
    (info,) = parser.parse_pem_chain(pem)
    assert (info.key_type, info.key_size, info.curve) == ("RSA", 2048, None)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("app.example.test", "APP.example.test.", True),
        ("*.example.test", "www.example.test", True),
        ("*.example.test", "example.test", False),
        ("*.example.test", "a.b.example.test", False),
    ],
)
def test_hostname_matching(pattern, name, matches):
    assert parser.hostname_matches(pattern, name) is matches


@pytest.mark.parametrize("text", ["", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_garbage_pem(text):
    with pytest.raises(ParseError):
        parser.parse_pem_chain(text)


def test_dh_params():
    with pytest.raises(ParseError):
        parser.dh_param_bits("not pem")


def test_missing_cryptography_is_a_probe_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ProbeError, match="cryptography"):
        parser.parse_pem_chain("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
