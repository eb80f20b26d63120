"""Real keys and certificates, made the way the certificate roles make them.

``key(spec)`` is one cached private key per spec (``"ECC"``/``"secp256r1"``/``"secp384r1"`` or an
RSA size such as ``"3072"``): RSA generation is slow, and the checks judge the key's type and
size, not its randomness. ``issue`` signs a leaf with a CA of the same key spec and SHA-256 (the
community.crypto ownca default; Let's Encrypt signs with SHA-256 too).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CURVES = {"ECC": ec.SECP256R1, "secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1}


@functools.cache
def key(spec: str, purpose: str = "leaf") -> Any:
    """One private key per spec and purpose (CA or leaf)."""
    del purpose  # part of the cache key only
    if spec in CURVES:
        return ec.generate_private_key(CURVES[spec]())
    return rsa.generate_private_key(65537, int(spec))


def _general_name(name: str) -> x509.GeneralName:
    if name.startswith("IP:"):
        return x509.IPAddress(ipaddress.ip_address(name[3:]))
    return x509.DNSName(name.removeprefix("DNS:"))


def issue(spec: str, lifetime: float, days_left: float, names: list[str]) -> tuple[str, str, str]:
    """(leaf PEM, leaf key PEM, CA PEM): a leaf valid ``lifetime`` days with ``days_left`` to go."""
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = key(spec, "ca"), key(spec)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rampart Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days_left - lifetime))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem).decode(), key_pem.decode(), ca.public_bytes(pem).decode()
