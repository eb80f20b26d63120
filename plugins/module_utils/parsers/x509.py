"""Describe PEM certificates (and DH parameters) with the ``cryptography`` library.

``cryptography`` is imported lazily: the audit still runs on a host without it, and only
the certificate checks report an error naming the missing package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType

from ansible_collections.rampart.hardening.plugins.module_utils.facts import ProbeError
from ansible_collections.rampart.hardening.plugins.module_utils.parsers import ParseError

PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sans: list[str]
    key_type: str  # RSA, EC, Ed25519, Ed448, DSA
    key_size: int
    curve: str | None
    signature_hash: str | None  # None for EdDSA (hash is built in)
    fingerprint_sha256: str
    ocsp_urls: list[str] = field(default_factory=list)
    is_ca: bool = False
    self_signed: bool = False
    der: bytes = b""

    @property
    def lifetime_days(self) -> float:
        return (self.not_after - self.not_before).total_seconds() / 86400

    def days_left(self, now: datetime | None = None) -> float:
        return (self.not_after - (now or datetime.now(UTC))).total_seconds() / 86400

    def summary(self) -> str:
        key = f"{self.key_type}-{self.curve or self.key_size}"
        return f"{self.subject} (issuer {self.issuer}; {key}; not after {self.not_after:%Y-%m-%d})"


def _crypto() -> tuple[ModuleType, ModuleType]:
    try:
        from cryptography import x509  # noqa: PLC0415 - optional dependency, imported lazily
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    except ImportError as exc:
        raise ProbeError("python cryptography is not installed on the host (apt install python3-cryptography)") from exc
    return x509, hashes


def _utc(cert: object, name: str) -> datetime:
    value = getattr(cert, f"{name}_utc", None)  # cryptography >= 42
    if value is None:
        value = getattr(cert, name).replace(tzinfo=UTC)
    return value


def _key_facts(public_key: object) -> tuple[str, int, str | None]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa  # noqa: PLC0415

    kinds = (
        (rsa.RSAPublicKey, "RSA"),
        (ec.EllipticCurvePublicKey, "EC"),
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ed448.Ed448PublicKey, "Ed448"),
        (dsa.DSAPublicKey, "DSA"),
    )
    kind = next((label for cls, label in kinds if isinstance(public_key, cls)), type(public_key).__name__)
    size = int(getattr(public_key, "key_size", 0) or 0)
    curve = getattr(getattr(public_key, "curve", None), "name", None)
    return kind, size, curve


def _describe(x509: ModuleType, hashes: ModuleType, cert: object) -> CertInfo:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        sans = []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        ocsp = [d.access_location.value for d in aia if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP]
    except x509.ExtensionNotFound:
        ocsp = []
    try:
        is_ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        is_ca = False
    key_type, key_size, curve = _key_facts(cert.public_key())
    algorithm = cert.signature_hash_algorithm
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=_utc(cert, "not_valid_before"),
        not_after=_utc(cert, "not_valid_after"),
        sans=list(sans),
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_hash=algorithm.name if algorithm is not None else None,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        ocsp_urls=ocsp,
        is_ca=is_ca,
        self_signed=cert.subject == cert.issuer,
        der=cert.public_bytes(_serialization().Encoding.DER),
    )


def _serialization() -> ModuleType:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    return serialization


def parse_pem_chain(text: str) -> list[CertInfo]:
    """All certificates of a PEM file, in file order (leaf first for a fullchain)."""
    x509, hashes = _crypto()
    blocks = PEM_CERT.findall(text or "")
    if not blocks:
        raise ParseError("no PEM certificate found")
    infos = []
    for index, block in enumerate(blocks):
        try:
            cert = x509.load_pem_x509_certificate(block.encode())
        except ValueError as exc:
            raise ParseError(f"certificate #{index + 1} is not valid PEM/DER: {exc}") from exc
        infos.append(_describe(x509, hashes, cert))
    return infos


def find_subjects(text: str, subject: str) -> list[CertInfo]:
    """Certificates of a (large) PEM bundle whose subject is ``subject`` (RFC 4514 string).

    Only matching certificates are fully described, so scanning the system CA bundle for
    one issuer stays cheap.
    """
    x509, hashes = _crypto()
    found = []
    for block in PEM_CERT.findall(text or ""):
        try:
            cert = x509.load_pem_x509_certificate(block.encode())
        except ValueError:
            continue  # one broken entry in a CA bundle must not hide the others
        if cert.subject.rfc4514_string() == subject:
            found.append(_describe(x509, hashes, cert))
    return found


def issued_by(child: CertInfo, parent: CertInfo) -> bool:
    """True when ``parent`` signed ``child`` (signature verified when cryptography >= 40)."""
    x509, _unused = _crypto()
    if child.issuer != parent.subject:
        return False
    child_cert = x509.load_der_x509_certificate(child.der)
    parent_cert = x509.load_der_x509_certificate(parent.der)
    verify = getattr(child_cert, "verify_directly_issued_by", None)
    if verify is None:
        return True  # old cryptography: names match, signature not checked
    try:
        verify(parent_cert)
    except Exception:  # InvalidSignature, ValueError, TypeError: not this issuer
        return False
    return True


def hostname_matches(pattern: str, name: str) -> bool:
    """RFC 6125 matching of one SAN ``pattern`` (wildcard only in the left-most label)."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if pattern.startswith("*."):
        head, _unused, tail = name.partition(".")
        return bool(head) and tail == pattern[2:]
    return False


def dh_param_bits(text: str) -> int:
    """Size in bits of PEM DH parameters (nginx ``ssl_dhparam``)."""
    _crypto()
    serialization = _serialization()
    try:
        params = serialization.load_pem_parameters(text.encode())
    except ValueError as exc:
        raise ParseError(f"not PEM DH parameters: {exc}") from exc
    return int(params.parameter_numbers().p.bit_length())
